"""The docs: README in sync with `nbs/index.ipynb`; the offline build (tools/build_docs.py) on a small fixture and on the
real notebooks (stored outputs, no execution); every page present, internal links resolving, no traceback
(tools/check_docs.py); headless Chromium screenshots (skipped only when `chromium` is not installed)."""
import json, sys, shutil
from pathlib import Path
import nbformat, pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs, check_docs   # noqa: E402

# ------------------------------------------------------------------------------------------------------------ README

def test_readme_in_sync():
    assert (ROOT / 'README.md').read_text() == build_docs.readme_text(), \
        'README.md differs from nbs/index.ipynb: edit the notebook, then run `python tools/build_docs.py --readme`'

def test_readme_commands():
    r = (ROOT / 'README.md').read_text()
    for cmd in ("pip install -c constraints.txt -e '.[dev]' && papermill -k python3 nbs/train.ipynb runs/train-qm9.ipynb -p dataset qm9",
                'bash .ci/run', 'python tools/build_docs.py', 'python tools/check_docs.py'):
        assert cmd in r, cmd

# ----------------------------------------------------------------------------------------------------------- helpers

def test_page_names_and_directives():
    assert build_docs.html_name('03_spectral.ipynb') == 'spectral.html'
    assert build_docs.html_name('06a_moses_metrics.ipynb') == 'moses_metrics.html'
    assert build_docs.html_name('explanations/em_objective.ipynb') == 'explanations/em_objective.html'
    pages, clashes = build_docs.page_map([Path('40_train.ipynb'), Path('train.ipynb')])
    assert len(set(pages.values())) == 2 and len(clashes) == 1
    d, code = build_docs.split_directives('#| echo: false\n#|output: asis\n\nx = 1\n#| export\ny = 2')
    assert d == {'echo': 'false', 'output': 'asis'} and code == 'x = 1\ny = 2'

def test_papermill_jobs_not_executed_by_default():
    assert build_docs.is_papermill(ROOT / 'nbs' / 'train.ipynb') and not build_docs.is_papermill(ROOT / 'nbs' / 'index.ipynb')

def test_papermill_sees_every_parameter():
    "papermill's inspector (`papermill --help-notebook`, the warnings of a run) reads each assignment of a parameters cell; an `=` in a comment hides it."
    from papermill.translators import PythonTranslator
    nbs = [p for p in sorted((ROOT / 'nbs').rglob('*.ipynb')) if build_docs.is_papermill(p)]
    assert ROOT / 'nbs' / 'train.ipynb' in nbs
    for p in nbs:
        for c in nbformat.read(p, as_version=4).cells:
            if 'parameters' not in c.metadata.get('tags', []): continue
            names = [l.split('=', 1)[0].strip() for l in c.source.splitlines() if l.strip() and not l.lstrip().startswith('#')]
            assert [q.name for q in PythonTranslator.inspect(c)] == names, f'{p.name}: papermill cannot read every parameter'

def test_mermaid_boxes():
    h = build_docs._mermaid_html('flowchart LR\n  a["one<br/>1"] --> b[two]\n  b --> c(three)\n  click a "one.html" "tip"')
    assert '<a class="flow-node" href="one.html" title="tip">one<br/>1</a>' in h
    assert h.index('one') < h.index('two') < h.index('three') and h.count('flow-arrow') == 2

# ----------------------------------------------------------------------------------------- a small fixture site

def _nb(cells):
    nb = nbformat.v4.new_notebook(metadata={'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}})
    nb.cells = cells
    return nb

def _md(s): return nbformat.v4.new_markdown_cell(s)
def _code(s, outputs=()):
    c = nbformat.v4.new_code_cell(s); c.outputs = [nbformat.from_dict(o) for o in outputs]
    return c

@pytest.fixture(scope='module')
def fixture_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('docs')
    nbs = tmp / 'nbs'; (nbs / 'sub').mkdir(parents=True)
    nbformat.write(_nb([_md('# Home\n> The fixture home page.'),
                        _md('See [other](01_other.ipynb#a-section) and [sub](sub/page.ipynb).\n\n$$a^2+b^2$$\n\n'
                            '```{mermaid}\nflowchart LR\n  x[one] --> y[two]\n  click y "other.html"\n```'),
                        _code('#| hide\nsecret_hidden_cell = 1'),
                        _code('#| export\ndef add(a:int, # first\n        b:int=1): # second\n    "Add `a` and `b`."\n    return a + b'),
                        _code('#| echo: false\nprint("only the output")', [dict(output_type='stream', name='stdout', text='only the output\n')]),
                        _code('add(1)', [dict(output_type='execute_result', execution_count=1, metadata={}, data={'text/plain': '2'})])]),
                   nbs / 'index.ipynb')
    nbformat.write(_nb([_md('# Other\n> Second page.'), _md('## A section\nBack [home](index.ipynb).'),
                        _code('1/0', [dict(output_type='error', ename='ZeroDivisionError', evalue='division by zero',
                                           traceback=['Traceback (most recent call last):', 'ZeroDivisionError: division by zero'])])]),
                   nbs / '01_other.ipynb')
    nbformat.write(_nb([_md('# Sub page\n> In a folder.'), _md('Up to [home](../index.ipynb), and [a missing page](missing.ipynb).'),
                        _code('print(6 * 7)')]), nbs / 'sub' / 'page.ipynb')
    out = tmp / '_site'
    rep = build_docs.build(out, execute_globs=['sub/*'], nbs=nbs, log=lambda *a: None, cache=tmp / 'cache')
    return out, rep

def test_fixture_build(fixture_site):
    out, rep = fixture_site
    assert rep['pages'] == {'01_other.ipynb': 'other.html', 'index.ipynb': 'index.html', 'sub/page.ipynb': 'sub/page.html'}
    assert rep['executed'] == ['sub/page.ipynb'] and rep['problems'] == []
    home = (out / 'index.html').read_text()
    assert 'secret_hidden_cell' not in home and '#|' not in home             # hidden cell and directives dropped
    assert 'only the output' in home and 'print(' not in home               # echo: false
    assert '<h3 id="add">add</h3>' in home and 'first' in home              # nbdev's show_doc with docments
    assert 'href="other.html#a-section"' in home and 'href="sub/page.html"' in home
    assert '\\[a^2+b^2\\]' in home and 'class="flow-node" href="other.html"' in home
    sub = (out / 'sub' / 'page.html').read_text()
    assert '42' in sub and 'href="../index.html"' in sub                    # executed; link up a folder
    assert 'href="../_static/site.css"' in sub

def test_fixture_check(fixture_site):
    out, _ = fixture_site
    problems, parsed = check_docs.check_static(out)
    assert len(parsed) == 3
    assert any('other.html: shows a Python traceback' in p for p in problems)
    assert any('other.html: 1 error output cell' in p for p in problems)
    assert any('sub/page.html: broken link <a> missing.ipynb' in p for p in problems)
    assert len(problems) == 3, problems

# --------------------------------------------------------------------------------------------- the real site

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The real notebooks, stored outputs only (what CI can afford); processed notebooks cached in _proc/docs."
    out = tmp_path_factory.mktemp('site') / '_site'
    rep = build_docs.build(out, log=lambda *a: None)
    return out, rep

def test_site_pages_links_tracebacks(site):
    out, rep = site
    assert {'index.ipynb', 'explanations/spectral_coordinates.ipynb', 'explanations/em_objective.ipynb',
            'explanations/template_metrics.ipynb', 'tutorials/explorer.ipynb'} <= set(rep['pages'])
    problems, parsed = check_docs.check_static(out)
    assert not problems, '\n'.join(problems)
    explorer = (out / 'tutorials' / 'explorer.html').read_text()
    assert '<svg' in explorer and 'class probabilities per pair' in explorer   # the stored chain renders statically

def test_nbdev_docs_would_succeed(site):
    "Cells that make `nbdev-docs` (Quarto) fail, and page names that clash; each message says what to change."
    _, rep = site
    assert not rep['problems'], '\n'.join(rep['problems'])

@pytest.mark.skipif(check_docs.chromium_binary() is None, reason='chromium is not installed (CI installs it: apt-get install -y chromium)')
def test_browser_screenshots(site):
    out, _ = site
    problems, done = check_docs.check_browser(out, check_docs.DEFAULT_PAGES, out / '_screenshots')
    assert not problems, '\n'.join(problems)
    assert [d[0] for d in done] == list(check_docs.DEFAULT_PAGES)
    for page, png, title, size in done:
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and size > 20_000, (page, size)
        assert title.endswith('– ming'), title
