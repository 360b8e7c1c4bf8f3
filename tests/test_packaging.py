"""What `pip install .` (not editable) gives a user: the wheel built from this checkout holds every module of `ming/`,
and the installed copy imports on its own, away from the checkout. (The other tests use the editable install, which
reads `ming/` in place and so cannot see a module left out of the wheel.)"""
import os, subprocess, sys, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules(names):
    "Dotted module names of the .py files among `names` (paths relative to the package root's parent)."
    return sorted(n[:-3].replace('/', '.').removesuffix('.__init__') for n in names if n.endswith('.py'))


def test_wheel_holds_every_module_and_imports(tmp_path):
    env = {**os.environ, 'PIP_DISABLE_PIP_VERSION_CHECK': '1'}
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path / 'w'),
                    str(ROOT)], check=True, env=env, capture_output=True)
    whl, = (tmp_path / 'w').glob('ming-*.whl')
    in_wheel = _modules(n for n in zipfile.ZipFile(whl).namelist() if n.startswith('ming/'))
    in_tree = _modules(str(p.relative_to(ROOT)) for p in (ROOT / 'ming').rglob('*.py') if '__pycache__' not in p.parts)
    assert in_wheel == in_tree, f'modules of ming/ missing from the wheel: {sorted(set(in_tree) - set(in_wheel))}'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(tmp_path / 'site'), str(whl)],
                   check=True, env=env, capture_output=True)
    code = ('import importlib, ming, pathlib; assert pathlib.Path(ming.__file__).is_relative_to(pathlib.Path(r"%s")), ming.__file__\n'
            'for m in %r: importlib.import_module(m)\n'
            'from ming.cli import _entry' % (tmp_path / 'site', in_tree))
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env={**env, 'PYTHONPATH': str(tmp_path / 'site')},
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
