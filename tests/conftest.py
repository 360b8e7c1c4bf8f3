"Shared test settings: data directory, thread counts."
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault('MING_DATA_DIR', str(ROOT.parent / 'shared' / 'data'))
os.environ.setdefault('MING_CACHE_DIR', str(ROOT / '.cache' / 'ming'))
os.environ.setdefault('OMP_NUM_THREADS', '2')


import pytest

@pytest.fixture(scope='module')
def one_thread():
    """One torch thread for a test module whose tensors are tiny: it avoids OpenMP barrier stalls on a shared,
    oversubscribed CPU (up to 30x here), and gives resumed runs the same arithmetic as their subprocesses."""
    import torch
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
