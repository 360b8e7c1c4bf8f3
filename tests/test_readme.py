"""The README's commands, verbatim, in a fresh clone: the main job (with a tiny preset appended so that it fits CI) and
the step-by-step command line (with tiny options appended). The README can then never drift from what works."""
import os, re, shlex, subprocess, sys, json
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_NB = "-p preset tiny -p max_steps 4 -p n_samples 16 -p sample_batch 16 -p subset 256"
TINY_CLI = {'train': '--preset tiny --max-steps 4 --quiet', 'sample': '--n 16 --reps 1 --batch-size 16 --quiet',
            'evaluate': '--n-jobs 1', 'data': '--quick'}


def _blocks(section):
    "The ```sh blocks of README section `section` (a heading's text)."
    text = (ROOT / 'README.md').read_text()
    part = text.split(f'## {section}', 1)[1].split('\n## ', 1)[0]
    return re.findall(r'```sh\n(.*?)```', part, re.S)


def _run(cmd, cwd, env, timeout=900):
    r = subprocess.run(['bash', '-c', cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f'`{cmd}` failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}'
    return r


@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    "A fresh clone of this checkout (what a newcomer gets); the editable install is pointed back here afterwards."
    d = tmp_path_factory.mktemp('readme') / 'ming'
    subprocess.run(['git', 'clone', '-q', str(ROOT), str(d)], check=True)
    env = {**os.environ, 'PATH': f'{Path(sys.executable).parent}:{os.environ["PATH"]}', 'PIP_DISABLE_PIP_VERSION_CHECK': '1'}
    yield d, env
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '-e', str(ROOT)], check=True, env=env,
                   capture_output=True)


def test_readme_main_job_verbatim(clone):
    d, env = clone
    main = [l for l in _blocks('The two commands')[0].splitlines() if l.strip()]
    assert len(main) == 1 and main[0].startswith("pip install -c constraints.txt -e '.[dev]' && papermill"), main
    _run(f'{main[0]} {TINY_NB}', d, env)
    out = d / shlex.split(main[0].split('&&')[1])[4]                    # papermill's output notebook, as the README names it
    nb = json.loads(out.read_text())
    assert any('injected-parameters' in c.get('metadata', {}).get('tags', []) for c in nb['cells'])
    metrics = next(d.glob('runs/nb-ming-qm9-tiny/metrics.json'))
    assert 'Strictly valid (% of samples)' in json.loads(metrics.read_text())


def test_readme_cli_verbatim(clone):
    "Each line of the README's step-by-step block, verbatim, with tiny options appended (they override the line's)."
    d, env = clone
    block = _blocks('The two commands')[2]
    lines = [l.split('  #')[0].strip() for l in block.splitlines() if l.strip() and not l.startswith('#')]
    assert [l.split()[1] for l in lines][:2] == ['data', 'train'], lines
    for line in lines:
        assert line.startswith('ming '), line
        _run(f'{line} {TINY_CLI[line.split()[1]]}', d, env)
    assert list(d.glob('runs/**/samples*_eval_gdss/results.md')) or list(d.glob('runs/**/*_eval_gdss/results.md'))
