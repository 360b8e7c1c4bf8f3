"Run every notebook in `nbs/` the way `nbdev-test` does (same directives and flags), one pytest case per notebook."
import os, pytest
from pathlib import Path
from nbdev.test import test_nb as run_nb   # aliased so pytest does not collect nbdev's own function

NBS = Path(__file__).resolve().parents[1] / 'nbs'

def _notebooks():
    skip = {p.parent for p in NBS.rglob('.notest')}
    for p in sorted(NBS.rglob('*.ipynb')):
        if any(s in p.parents for s in skip) or p.name.startswith('_') or '.ipynb_checkpoints' in p.parts: continue
        if '"parameters"' in p.read_text(): continue      # papermill notebooks run with small parameters in their own tests
        yield p

@pytest.mark.parametrize('nb', list(_notebooks()), ids=lambda p: str(p.relative_to(NBS)))
def test_notebook(nb):
    force = os.environ.get('MING_TEST_FLAGS', '').split()          # e.g. MING_TEST_FLAGS=slow runs the slow cells too
    skip = [f for f in ('slow', 'gpu') if f not in force]
    try: ok, secs = run_nb(nb, skip_flags=skip, force_flags=force, basepath=NBS)
    finally: _close_widgets()
    assert ok, f'{nb.name} failed (run it with `nbdev-test --path {nb}` to see the cell)'


def _close_widgets():
    "Close the widgets a notebook made (progress bars, sliders) now, so none is left to fail at interpreter exit."
    try: from ipywidgets.widgets.widget import _instances
    except ImportError: return
    for w in list(_instances.values()):
        try: w.close()
        except KeyError: _instances.pop(w.model_id, None); w.comm = None     # its comm is already unregistered
