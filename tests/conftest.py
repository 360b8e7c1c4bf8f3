"Shared test settings: data directory, thread counts."
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault('MING_DATA_DIR', str(ROOT.parent / 'shared' / 'data'))
os.environ.setdefault('MING_CACHE_DIR', str(ROOT / '.cache' / 'ming'))
os.environ.setdefault('OMP_NUM_THREADS', '2')
