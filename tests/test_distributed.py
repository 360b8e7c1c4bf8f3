"Two gloo processes on CPU (torchrun) follow the single-process trajectory; their checkpoint resumes on one process."
import os, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest

ROOT = Path(__file__).resolve().parents[1]
ARGS = ['train', '--preset', 'tiny', '--batch-size', '32', '--val-every', '0', '--val-samples', '8', '--log-every', '1',
        '--quiet', '--device', 'cpu']

def _run(cmd, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]

def _losses(run): return pd.read_csv(run / 'train_log.csv').set_index('step')['loss']

def test_two_gloo_processes_match_one(tmp_path):
    one = [sys.executable, '-m', 'ming.cli']
    two = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m', 'ming.cli']
    _run(one + ARGS + ['--max-steps', '6', '--out', 'single'], tmp_path)
    _run(two + ARGS + ['--max-steps', '6', '--out', 'ddp'], tmp_path)
    a, b = _losses(tmp_path / 'single'), _losses(tmp_path / 'ddp')
    assert list(b.index) == [1, 2, 3, 4, 5, 6]                      # rank 0 alone writes the log: one line per step
    np.testing.assert_allclose(b.values, a.values, rtol=1e-2)       # same global batch, same randomness, same gradient
    np.testing.assert_allclose(b.values[:2], a.values[:2], rtol=1e-5)
    # the 2-process checkpoint resumes on one process, and continues like the single-process run
    _run(one + ARGS + ['--max-steps', '9', '--out', 'ddp', '--resume'], tmp_path)
    _run(one + ARGS + ['--max-steps', '9', '--out', 'single', '--resume'], tmp_path)
    a, b = _losses(tmp_path / 'single'), _losses(tmp_path / 'ddp')
    assert list(b.index) == list(range(1, 10))
    np.testing.assert_allclose(b.values, a.values, rtol=2e-2)

def test_two_gloo_processes_select_by_loss(tmp_path):
    "--val-metric loss under torchrun: rank 0 scores the fixed validation molecules; the others wait, and all keep best.ckpt."
    one = [sys.executable, '-m', 'ming.cli']
    two = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m', 'ming.cli']
    args = ARGS + ['--max-steps', '3', '--val-metric', 'loss']
    _run(one + args + ['--out', 'single'], tmp_path)
    _run(two + args + ['--out', 'ddp'], tmp_path)
    a, b = (pd.read_csv(tmp_path / r / 'val_log.csv') for r in ('single', 'ddp'))
    assert list(b.step) == [3] and b.best.tolist() == [1] and (tmp_path / 'ddp' / 'best.ckpt').exists()
    np.testing.assert_allclose(b.loss.values, a.loss.values, rtol=1e-2)   # the same molecules and draws, near-equal weights
