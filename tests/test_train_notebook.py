"The main job's papermill notebook, run as users run it, with smoke-test parameters."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_train_notebook_runs(tmp_path):
    out = tmp_path / 'out.ipynb'
    cmd = [sys.executable, '-m', 'papermill', '-k', 'python3', str(ROOT / 'nbs/train.ipynb'), str(out),
           '-p', 'dataset', 'qm9', '-p', 'preset', 'tiny', '-p', 'max_steps', '4', '-p', 'n_samples', '16',
           '-p', 'sample_batch', '16', '-p', 'subset', '256', '-p', 'out_dir', str(tmp_path / 'run')]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((tmp_path / 'run' / 'metrics.json').read_text())
    assert set(metrics) >= {'Valid w/o corr (% of valid, GDSS)', 'Strictly valid (% of samples)', 'Unique (% of valid)', 'Novel (% of unique)'}
    assert json.loads((tmp_path / 'run' / 'timing.json').read_text())['steps'] == 4
    assert (tmp_path / 'run' / 'samples.csv').exists()
    nb = json.loads(out.read_text())
    injected = [c for c in nb['cells'] if 'injected-parameters' in c.get('metadata', {}).get('tags', [])]
    assert injected, 'papermill did not find the parameters cell (cell tags stripped?)'


def test_train_notebook_second_model(tmp_path):
    "The same notebook with `-p model template_copy`: the trainer, sampler and plots go through the model interface only."
    out = tmp_path / 'out.ipynb'
    cmd = [sys.executable, '-m', 'papermill', '-k', 'python3', str(ROOT / 'nbs/train.ipynb'), str(out),
           '-p', 'model', 'template_copy', '-p', 'dataset', 'qm9', '-p', 'preset', 'tiny', '-p', 'max_steps', '4',
           '-p', 'n_samples', '16', '-p', 'sample_batch', '16', '-p', 'subset', '256', '-p', 'out_dir', str(tmp_path / 'run')]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((tmp_path / 'run' / 'metrics.json').read_text())
    assert metrics['Valid w/o corr (% of valid, GDSS)'] == 1.0          # copies of training molecules are valid
