#!/usr/bin/env python
"""Build the `ming` docs site offline, from the same notebooks `nbdev-docs` (Quarto) renders.

    python tools/build_docs.py                # stored outputs only (fast); writes _site/
    python tools/build_docs.py --execute      # execute every notebook first (like nbdev-test; papermill jobs excluded)
    python tools/build_docs.py --execute 03_spectral.ipynb explanations/*.ipynb   # execute only these
    python tools/build_docs.py --readme       # regenerate README.md from nbs/index.ipynb (nothing else)

Quarto cannot be installed on the development machines, so this script reproduces what `nbdev-docs` does:

1. (optional) execute each notebook the way `nbdev-test` does (flags `slow`/`gpu` skipped, `#| eval: false` skipped),
   in its own folder, keeping the outputs in a copy under `_proc/docs/` (the notebooks in `nbs/` are not touched);
2. run nbdev's own docs processors on it (`nbdev.processors.FilterDefaults`): frontmatter from the title cell,
   `#| hide` and `#| export` cells dropped, `show_doc` cells added after exported definitions and executed, nbdev
   directives removed from shown code. A failure there is also a failure of `nbdev-docs`: it is reported, and the page is
   still built with the failing cell skipped;
3. render every processed notebook to HTML: markdown with MathJax math, highlighted code, outputs (text, tables, PNG/SVG
   plots, markdown), Quarto cell options (`echo`, `output`, `include`, `code-fold`), links to `.ipynb` pages rewritten to
   the `.html` name nbdev gives them (numeric prefix stripped), a sidebar from `nbs/sidebar.yml` (or nbdev's automatic
   sidebar when `custom_sidebar` is false), the navbar of `nbs/_quarto.yml` and a table of contents;
4. `{mermaid}` diagrams are drawn as an HTML chain of linked boxes (Quarto users get Mermaid's own drawing);
5. MathJax: the Debian package `libjs-mathjax` is used when installed (linked into `_site/_mathjax`), so math renders
   offline; otherwise pages load MathJax 2.7.9 from a CDN and, offline, show the TeX source.

The result is `_site/` (git-ignored) and `_site/_build_report.json` (pages, problems, timings). Check it with
`python tools/check_docs.py`.
"""
from __future__ import annotations
import argparse, fnmatch, hashlib, html, json, os, re, shutil, sys, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
ASSETS = Path(__file__).resolve().parent / 'docs_assets'
BUILD_VERSION = '1'                              # bump when processing changes what is cached in _proc/docs
MATHJAX_LOCAL = Path('/usr/share/javascript/mathjax')
MATHJAX_CDN = 'https://cdn.jsdelivr.net/npm/mathjax@2.7.9/MathJax.js'
SKIP_FLAGS = ('slow', 'gpu')

# ---------------------------------------------------------------------------------------------------------------- pages

def notebooks(nbs:Path=NBS) -> list[Path]:
    "Notebooks that become pages, relative to `nbs`: nbdev's rule (folders and files starting with `_` or `.` skipped)."
    out = []
    for p in sorted(nbs.rglob('*.ipynb')):
        rel = p.relative_to(nbs)
        if any(part.startswith(('_', '.')) for part in rel.parts): continue
        out.append(rel)
    return out

def html_name(rel) -> str:
    "The page nbdev/Quarto writes for notebook `rel` (numeric prefix stripped, lower case), e.g. `03_spectral.ipynb` -> `spectral.html`."
    from nbdev.config import nbpath2html
    return nbpath2html(Path(rel)).as_posix()

def page_map(rels) -> tuple[dict, list]:
    "notebook -> html path; and the collisions (two notebooks writing the same page)."
    groups = {}
    for rel in rels: groups.setdefault(html_name(rel), []).append(rel)
    out, clashes = {}, []
    for h, rs in groups.items():
        if len(rs) == 1: out[rs[0]] = h; continue
        for rel in rs:                                 # offline: notebooks with a numeric prefix keep their full name
            full = rel.with_suffix('.html').as_posix().lower()
            out[rel] = full if full != h else h
        clashes.append(f"{' and '.join(r.as_posix() for r in rs)} all become {h} (nbdev strips the numeric prefix), so "
                       "Quarto writes one over the other: rename one of them. Offline they are written to "
                       + ', '.join(out[r] for r in rs) + '.')
    if len(set(out.values())) < len(out): raise SystemExit(f'page names still clash: {out}')
    return {r: out[r] for r in rels}, clashes

# ------------------------------------------------------------------------------------------------ execute and process

def _skip_predicate(nb):
    from nbdev.test import _skip_cell                 # the predicate nbdev-test uses
    return _skip_cell(nb, list(SKIP_FLAGS), [])

def execute_nb(src:Path, timeout:int=600):
    "Run `src` like nbdev-test (same skipped cells, cwd = its folder, IN_TEST=1) but keep going after errors."
    from nbdev.process import NBProcessor
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    nb = NBProcessor(src, rm_directives=False, process=True).nb
    k = CaptureShell(src)
    with working_directory(src.parent):
        k.run_all(nb, exc_stop=False, preproc=_skip_predicate(nb), cell_timeout=timeout)
    from fastcore.nbio import nb2str, dict2nb
    for c in nb.cells:                                 # keep the notebook JSON plain
        for k in ('directives_', 'idx_', 'lang_'): c.pop(k, None)
    nb = dict2nb(json.loads(nb2str(nb)))               # round trip: outputs in the layout read_nb gives (text as str)
    return nb

def _tolerant_procs(errors:list):
    "nbdev's docs processors, with `exec_show_docs` recording failures instead of raising."
    from nbdev.processors import FilterDefaults, exec_show_docs
    class exec_show_docs_logged(exec_show_docs):
        def __call__(self, cell):
            outs = cell.get('outputs')
            try: super().__call__(cell)
            except Exception as e:
                if outs is not None: cell['outputs'] = outs    # the page keeps the stored outputs, not this failure
                first = str(e).splitlines()
                errors.append(dict(error=(first[-1] if first else repr(e))[:300], source=(cell.source or '')[:300]))
                self.k.exc = None                      # report each failing cell once, then go on
    class Filter(FilterDefaults):
        def base_procs(self):
            return [exec_show_docs_logged if p is exec_show_docs else p for p in super().base_procs()]
    return Filter()

def _mixed_import_cells(nb) -> list:
    "Cells nbdev-docs executes although they are not exported: imports mixed with other code (nbdev's FAQ warning)."
    from nbdev.process import NBProcessor
    from nbdev.processors import _do_eval
    p = NBProcessor(nb=nb, rm_directives=False)
    if not any(c.cell_type == 'code' and (c.directives_ or {}).keys() & {'export', 'exports', 'exec_doc'} for c in p.nb.cells):
        return []                                      # nbdev executes nothing in notebooks without exports
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for i, c in enumerate(p.nb.cells):
            if c.cell_type != 'code' or not c.source: continue
            d = c.directives_ or {}
            if d.keys() & {'export', 'exports', 'exporti', 'exec_doc'} or not _do_eval(c): continue
            if re.search(r'^\s*(import|from)\s', c.source, re.M) and len([l for l in c.source.splitlines()
                    if l.strip() and not l.lstrip().startswith(('#', 'import ', 'from '))]):
                out.append(i)
    return out

def process_nb(rel:Path, execute:bool, nbs:Path=NBS, timeout:int=600) -> dict:
    "Execute (optionally) and run nbdev's docs processors on one notebook; a JSON-able dict (processed nb + problems)."
    import nbformat
    from fastcore.nbio import read_nb
    src = nbs / rel
    t0 = time.time()
    os.environ['IN_TEST'] = '1'
    problems, exec_errors = [], []
    try:
        nb = execute_nb(src, timeout) if execute else read_nb(src)
        if execute:
            for i, c in enumerate(nb.cells):
                for o in c.get('outputs', []):
                    if o.get('output_type') == 'error': exec_errors.append(f"cell {i}: {o.get('ename')}: {str(o.get('evalue'))[:200]}")
        mixed = _mixed_import_cells(read_nb(src))
        errors = []
        nb.path_ = str(src)
        with warnings.catch_warnings():               # nbdev warns (printing the whole cell) for each mixed cell
            warnings.simplefilter('ignore')
            _tolerant_procs(errors)(nb)
    finally:
        os.environ.pop('IN_TEST', None)
    for e in errors:
        problems.append(f"nbdev-docs would fail on {rel.as_posix()}: the cell starting `{e['source'].splitlines()[0][:100]}` "
                        f"raised {e['error']} when nbdev's docs processor executed it (nbdev executes every cell that "
                        "mixes imports with other code, without the cells before it). Move its imports into an "
                        "import-only cell (or the notebook's imports cell).")
    fm = dict(getattr(nb, 'frontmatter_', {}) or {})
    cells = []
    for c in nb.cells:
        if not c.get('source') and c.cell_type != 'code': continue
        if c.cell_type == 'code' and c.get('source') is None: continue
        cells.append(dict(cell_type=c.cell_type, source=c.get('source') or '',
                          outputs=[_plain(o) for o in c.get('outputs', [])] if c.cell_type == 'code' else []))
    return dict(rel=rel.as_posix(), frontmatter=fm, cells=cells, problems=problems, exec_errors=exec_errors,
                mixed_import_cells=mixed, executed=execute, seconds=round(time.time() - t0, 1))

def _plain(o):
    "An output as plain JSON (fastcore AttrDicts and lists of lines flattened)."
    d = json.loads(json.dumps(o, default=lambda x: dict(x) if hasattr(x, 'keys') else str(x)))
    if isinstance(d.get('text'), list): d['text'] = ''.join(d['text'])
    for k, v in list(d.get('data', {}).items()):
        if isinstance(v, list) and k != 'application/json': d['data'][k] = ''.join(v)
    return d

def _key(rel:Path, execute:bool, nbs:Path) -> str:
    h = hashlib.sha256((nbs / rel).read_bytes())
    h.update(f'{BUILD_VERSION}|{execute}'.encode())
    h.update(Path(__file__).read_bytes())             # so does this script
    lib = ROOT / 'ming'                               # exported code feeds show_doc: its change invalidates too
    for p in sorted(lib.glob('*.py')): h.update(p.read_bytes())
    return h.hexdigest()

def is_papermill(p:Path) -> bool:
    "A papermill job (a cell tagged `parameters`): its defaults may train for minutes, so it is not executed by default."
    return any('parameters' in (c.get('metadata', {}).get('tags') or []) for c in json.loads(p.read_text())['cells'])

def processed(rels, execute_globs, cache:Path, nbs:Path=NBS, timeout:int=600, log=print, execute_papermill:bool=False) -> dict:
    "Processed notebooks, from `cache` when neither the notebook nor `ming/` changed."
    out = {}
    for rel in rels:
        execute = any(fnmatch.fnmatch(rel.as_posix(), g) or fnmatch.fnmatch(rel.name, g) for g in execute_globs)
        if execute and not execute_papermill and is_papermill(nbs / rel):
            execute = False; log(f'  {rel.as_posix():40s} papermill notebook: stored outputs (add --execute-papermill to run it with its defaults)')
        f = cache / (rel.as_posix() + ('.executed' if execute else '') + '.json')
        key = _key(rel, execute, nbs)
        if f.exists():
            d = json.loads(f.read_text())
            if d.get('key') == key:
                out[rel] = d; log(f'  {rel.as_posix():40s} cached'); continue
        d = process_nb(rel, execute, nbs, timeout)
        d['key'] = key
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(d))
        out[rel] = d
        log(f"  {rel.as_posix():40s} {'executed+' if execute else ''}processed in {d['seconds']:.1f} s"
            + (f"  ({len(d['problems'])} problem(s))" if d['problems'] else ''))
    return out

# --------------------------------------------------------------------------------------------------------- markdown

def slugify(text:str) -> str:
    "Heading id as pandoc/Quarto make it: lower case, punctuation dropped, spaces to dashes."
    text = re.sub(r'<[^>]+>', '', html.unescape(text)).strip().lower()
    text = re.sub(r'[^\w\s\-.]', '', text)
    return re.sub(r'\s+', '-', text) or 'section'

def _mermaid_html(src:str) -> str:
    "A `flowchart` (nodes `id[label]`/`id([label])`/`id(label)`, edges `-->`, `click id \"href\"`) as a chain of linked boxes."
    nodes, order, edges, links = {}, [], [], {}
    node_re = r'([A-Za-z_][\w-]*)\s*(?:\[\(?"?([^\]]*?)"?\)?\]|\(\[?"?([^)]*?)"?\]?\))?'
    for line in src.splitlines():
        line = line.strip().rstrip(';')
        if not line or line.startswith(('%%', 'flowchart', 'graph', 'classDef', 'class ', 'style ', 'linkStyle')): continue
        m = re.match(r'click\s+(\S+)\s+(?:href\s+)?"([^"]+)"(?:\s+"([^"]*)")?', line)
        if m: links[m.group(1)] = (m.group(2), m.group(3) or ''); continue
        parts = re.split(r'\s*-->\s*(?:\|[^|]*\|\s*)?', line)
        ids = []
        for p in parts:
            m = re.fullmatch(node_re, p.strip())
            if not m: ids = []; break
            nid, lab = m.group(1), m.group(2) or m.group(3)
            if nid not in nodes: nodes[nid] = nid; order.append(nid)
            if lab: nodes[nid] = lab
            ids.append(nid)
        edges += list(zip(ids, ids[1:]))
    if not nodes: return f'<pre class="mermaid-source">{html.escape(src)}</pre>'
    chain, seen = [], set()                           # follow the edges from the first node while they form a chain
    nxt = {}
    for a, b in edges: nxt.setdefault(a, b)
    cur = order[0]
    while cur and cur not in seen:
        chain.append(cur); seen.add(cur); cur = nxt.get(cur)
    rest = [n for n in order if n not in seen]
    def box(n):
        lab = nodes[n]                                 # labels may hold <br/> and simple tags, as Mermaid allows
        href, tip = links.get(n, (None, ''))
        t = f' title="{html.escape(tip)}"' if tip else ''
        return (f'<a class="flow-node" href="{html.escape(href)}"{t}>{lab}</a>' if href
                else f'<span class="flow-node">{lab}</span>')
    items = '<span class="flow-arrow" aria-hidden="true">→</span>'.join(box(n) for n in chain)
    extra = ''.join(box(n) for n in rest)
    other = [(a, b) for a, b in edges if nxt.get(a) != b or a not in seen]
    notes = ''.join(f'<li>{nodes[a]} → {nodes[b]}</li>' for a, b in other)
    return (f'<div class="flow" role="list">{items}{extra}</div>'
            + (f'<ul class="flow-extra">{notes}</ul>' if notes else ''))

def make_markdown():
    "A markdown-it renderer with tables, MathJax-ready math, heading ids, highlighted code and Mermaid boxes."
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.anchors import anchors_plugin
    md = MarkdownIt('commonmark', {'html': True, 'typographer': False}).enable(['table', 'strikethrough'])
    md.use(dollarmath_plugin, allow_space=True, allow_digits=False, double_inline=True)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=slugify)
    esc = lambda s: html.escape(s, quote=False)
    md.add_render_rule('math_inline', lambda self, tokens, idx, options, env: f'<span class="math inline">\\({esc(tokens[idx].content)}\\)</span>')
    md.add_render_rule('math_inline_double', lambda self, tokens, idx, options, env: f'<span class="math display">\\[{esc(tokens[idx].content)}\\]</span>')
    md.add_render_rule('math_block', lambda self, tokens, idx, options, env: f'<div class="math display">\\[{esc(tokens[idx].content)}\\]</div>\n')
    md.add_render_rule('math_block_label', lambda self, tokens, idx, options, env: f'<div class="math display">\\[{esc(tokens[idx].content)}\\]</div>\n')
    def fence(self, tokens, idx, options, env):
        t = tokens[idx]
        lang = t.info.strip().strip('{}').split()[0].lower() if t.info.strip() else ''
        if lang == 'mermaid': return _mermaid_html(t.content)
        return highlight(t.content, lang or 'text')
    md.add_render_rule('fence', fence)
    md.add_render_rule('code_block', lambda self, tokens, idx, options, env: highlight(tokens[idx].content, 'text'))
    return md

def highlight(code:str, lang:str='python') -> str:
    from pygments import highlight as _hl
    from pygments.lexers import get_lexer_by_name
    from pygments.formatters import HtmlFormatter
    from pygments.util import ClassNotFound
    try: lexer = get_lexer_by_name({'sh': 'bash', 'shell': 'bash', 'py': 'python'}.get(lang, lang))
    except ClassNotFound: lexer = get_lexer_by_name('text')
    return _hl(code, lexer, HtmlFormatter(cssclass='highlight', wrapcode=True))

# ------------------------------------------------------------------------------------------------------------ cells

_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

def split_directives(src:str) -> tuple[dict, str]:
    "Leading `#| key: value` lines of a code cell as a dict, and the code without them."
    d, lines = {}, src.splitlines()
    i = 0
    while i < len(lines) and (_re_dir.match(lines[i]) or not lines[i].strip()):
        m = _re_dir.match(lines[i])
        if m: d[m.group(1)] = m.group(2).strip().strip('"\'') or 'true'
        i += 1
    body = '\n'.join(l for l in lines[i:] if not _re_dir.match(l))   # stray directives inside are hidden too
    return d, body.strip('\n')

def _falsy(v) -> bool: return str(v).strip().lower() in ('false', 'no', '0')

def _strip_ansi(s:str) -> str: return re.sub(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])', '', s)

def render_output(o:dict, md, asis:bool=False) -> str:
    ot = o.get('output_type')
    if ot == 'stream':
        cls = 'cell-output-stderr' if o.get('name') == 'stderr' else 'cell-output-stdout'
        text = _strip_ansi(o.get('text', ''))
        return f'<div class="cell-output {cls}"><pre>{html.escape(text)}</pre></div>' if text.strip() else ''
    if ot == 'error':
        tb = _strip_ansi('\n'.join(o.get('traceback', [])) or f"{o.get('ename')}: {o.get('evalue')}")
        return f'<div class="cell-output cell-output-error"><pre>{html.escape(tb)}</pre></div>'
    data = o.get('data', {})
    if 'application/vnd.jupyter.widget-view+json' in data:
        return ('<div class="cell-output cell-output-widget"><p class="widget-note">An interactive widget is shown here '
                'when the notebook runs in Jupyter (a live kernel is needed); the static figures around it show the same '
                'data.</p></div>')
    if 'text/markdown' in data:
        body = md.render(data['text/markdown'])
        return body if asis else f'<div class="cell-output cell-output-markdown">{body}</div>'
    if 'text/html' in data: return f'<div class="cell-output cell-output-html">{data["text/html"]}</div>'
    if 'image/svg+xml' in data: return f'<div class="cell-output cell-output-display">{data["image/svg+xml"]}</div>'
    for mime in ('image/png', 'image/jpeg', 'image/gif'):
        if mime in data:
            b64 = data[mime].replace('\n', '')
            return f'<div class="cell-output cell-output-display"><img src="data:{mime};base64,{b64}" alt="output figure"></div>'
    if 'text/latex' in data: return f'<div class="cell-output cell-output-latex">{html.escape(data["text/latex"])}</div>'
    if 'text/plain' in data:
        return f'<div class="cell-output cell-output-display"><pre>{html.escape(_strip_ansi(data["text/plain"]))}</pre></div>'
    return ''

def render_cell(c:dict, md) -> str:
    if c['cell_type'] == 'markdown': return md.render(c['source'])
    if c['cell_type'] == 'raw': return ''
    d, code = split_directives(c['source'])
    if _falsy(d.get('include', 'true')): return ''
    parts = []
    if code.strip() and not _falsy(d.get('echo', 'true')):
        src = highlight(code, 'python')
        fold = d.get('code-fold')
        if fold and not _falsy(fold):
            summary = html.escape(d.get('code-summary', 'Code'))
            src = f'<details class="code-fold"{" open" if fold == "show" else ""}><summary>{summary}</summary>{src}</details>'
        parts.append(f'<div class="cell-input">{src}</div>')
    if not _falsy(d.get('output', 'true')):
        asis = d.get('output') == 'asis'
        parts += [render_output(o, md, asis) for o in c.get('outputs', [])]
    body = ''.join(p for p in parts if p)
    return f'<div class="cell">{body}</div>' if body else ''

# ------------------------------------------------------------------------------------------------------------- links

def rewrite_links(body:str, page_rel:Path, pages:dict, nbs:Path=NBS) -> str:
    "Point links to notebooks (`x.ipynb`, `../y.ipynb#sec`) at their pages, relative to this page."
    here = Path(pages[page_rel]).parent
    by_src = {p.as_posix(): h for p, h in pages.items()}
    def fix(m):
        attr, q, url = m.group(1), m.group(2), m.group(3)
        if re.match(r'^[a-z][a-z0-9+.-]*:', url, re.I) or url.startswith(('#', '/', '//')): return m.group(0)
        path, _, frag = url.partition('#')
        if not path.endswith(('.ipynb', '.qmd', '.md')): return m.group(0)
        target = os.path.normpath((page_rel.parent / path).as_posix())
        h = by_src.get(target) or by_src.get(str(Path(target).with_suffix('.ipynb')))
        if h is None: return m.group(0)                                   # left broken on purpose: the check reports it
        new = os.path.relpath(h, here.as_posix() or '.')
        return f'{attr}={q}{new}{"#" + frag if frag else ""}{q}'
    return re.sub(r'\b(href|src)=(["\'])([^"\']+)\2', fix, body)

def rel_href(target_html:str, from_html:str) -> str:
    return os.path.relpath(target_html, Path(from_html).parent.as_posix() or '.')

# -------------------------------------------------------------------------------------------------------- site shell

def load_yaml(p:Path) -> dict:
    import yaml
    return yaml.safe_load(p.read_text()) if p.exists() else {}

def sidebar_entries(nbs:Path=NBS) -> tuple[list, str]:
    "Sidebar contents as Quarto would read them: `sidebar.yml` if the project keeps a custom one, else nbdev's automatic one."
    import yaml
    from nbdev.config import get_config
    custom = bool(get_config().get('custom_sidebar', False))
    f = nbs / 'sidebar.yml'
    if custom and f.exists():
        return (yaml.safe_load(f.read_text()) or {}).get('website', {}).get('sidebar', {}).get('contents', []), 'sidebar.yml'
    import io, contextlib
    from nbdev.quarto import nbdev_sidebar
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): nbdev_sidebar.__wrapped__(path=str(nbs), printit=True, force=True)
    return (yaml.safe_load(buf.getvalue()) or {}).get('website', {}).get('sidebar', {}).get('contents', []), 'nbdev automatic'

def _entry_href(e):
    if isinstance(e, str): return e, None
    if isinstance(e, dict) and 'href' in e and 'section' not in e: return e['href'], e.get('text')
    return None, None

def _all_hrefs(entries):
    for e in entries:
        href, _ = _entry_href(e)
        if href is not None: yield href
        elif isinstance(e, dict): yield from _all_hrefs(e.get('contents', []))

def render_sidebar(entries, pages:dict, titles:dict, current:Path, listed:set) -> str:
    by_src = {p.as_posix(): p for p in pages}
    cur_html = pages[current]
    def item(e):
        href, text = _entry_href(e)
        if href is not None:
            rel = by_src.get(href)
            if rel is None: return ''
            listed.add(rel)
            cls = ' class="active"' if rel == current else ''
            return f'<li><a{cls} href="{rel_href(pages[rel], cur_html)}">{html.escape(text or titles[rel])}</a></li>'
        if isinstance(e, dict) and 'section' in e:
            inner = ''.join(item(x) for x in e.get('contents', []))
            return f'<li class="section"><span class="section-title">{html.escape(str(e["section"]).replace("_", " ").capitalize() if e["section"].islower() else e["section"])}</span><ul>{inner}</ul></li>'
        return ''
    return ''.join(item(e) for e in entries)

def render_toc(body:str) -> str:
    heads = re.findall(r'<h([23]) id="([^"]+)"[^>]*>(.*?)</h\1>', body, re.S)
    if len(heads) < 2: return ''
    items = ''.join(f'<li class="toc-h{l}"><a href="#{i}">{re.sub(r"<[^>]+>", "", t)}</a></li>' for l, i, t in heads)
    return f'<nav class="toc" aria-label="On this page"><h2>On this page</h2><ul>{items}</ul></nav>'

PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title>
<meta name="description" content="{description}">
<meta name="generator" content="ming tools/build_docs.py (offline build of the nbdev/Quarto site)">
<link rel="stylesheet" href="{root}_static/site.css">
<link rel="stylesheet" href="{root}_static/pygments.css">
{project_css}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({{tex2jax: {{inlineMath: [['\\\\(','\\\\)']], displayMath: [['\\\\[','\\\\]']], processEscapes: true,
  skipTags: ['script','noscript','style','textarea','pre','code']}}, TeX: {{extensions: ['AMSmath.js','AMSsymbols.js']}},
  CommonHTML: {{linebreaks: {{automatic: true}}}}, messageStyle: 'none'}});
</script>
<script async src="{mathjax}?config=TeX-AMS_CHTML"></script>
</head><body>
<header class="navbar"><a class="brand" href="{root}index.html">{site}</a><nav>{navbar}</nav></header>
<div class="layout">
<aside class="sidebar"><nav aria-label="Pages"><ul>{sidebar}</ul></nav></aside>
<main class="content" id="content">
<header class="page-header"><h1 class="title">{title}</h1>{subtitle}</header>
{body}
<footer class="page-footer">Built offline from <code>nbs/{source}</code> by <code>tools/build_docs.py</code>{executed}.</footer>
</main>
{toc}
</div>
</body></html>
"""

def render_navbar(quarto:dict, pages:dict, current:Path) -> str:
    nav = (quarto.get('website') or {}).get('navbar') or {}
    by_src = {p.as_posix(): p for p in pages}
    out = []
    for e in (nav.get('left') or []) + (nav.get('right') or []):
        if not isinstance(e, dict) or 'href' not in e: continue
        href = e['href']
        rel = by_src.get(href)
        url = rel_href(pages[rel], pages[current]) if rel else href
        out.append(f'<a href="{html.escape(url)}">{html.escape(str(e.get("text", href)))}</a>')
    return ''.join(out)

def build(out:Path=ROOT / '_site', execute_globs=(), nbs:Path=NBS, only=None, timeout:int=600, log=print,
          cache:Path|None=None, execute_papermill:bool=False) -> dict:
    "Build the site into `out`; returns the build report (also written to `out/_build_report.json`)."
    t0 = time.time()
    rels = notebooks(nbs)
    if only: rels = [r for r in rels if any(fnmatch.fnmatch(r.as_posix(), g) for g in only)]
    pages, clashes = page_map(rels)
    log(f'processing {len(rels)} notebooks ({"executing " + " ".join(execute_globs) if execute_globs else "stored outputs"})')
    cache = cache or ROOT / '_proc' / 'docs'
    procs = processed(rels, execute_globs, cache, nbs, timeout, log, execute_papermill)
    quarto = load_yaml(nbs / '_quarto.yml')
    site = (load_yaml(nbs / 'nbdev.yml').get('website') or {}).get('title') or 'ming'
    entries, sidebar_src = sidebar_entries(nbs)
    in_sidebar = {h for h in _all_hrefs(entries)}
    unlisted = [r for r in rels if r.as_posix() not in in_sidebar]
    if unlisted: entries = list(entries) + [dict(section='Other pages', contents=[r.as_posix() for r in unlisted])]
    titles = {r: str(procs[r]['frontmatter'].get('title') or r.stem) for r in rels}
    if out.exists(): shutil.rmtree(out)
    (out / '_static').mkdir(parents=True)
    shutil.copy(ASSETS / 'site.css', out / '_static' / 'site.css')
    from pygments.formatters import HtmlFormatter
    (out / '_static' / 'pygments.css').write_text(HtmlFormatter(style='default').get_style_defs('.highlight'))
    for f in ('styles.css',):
        if (nbs / f).exists(): shutil.copy(nbs / f, out / f)
    mathjax_local = (MATHJAX_LOCAL / 'MathJax.js').exists()
    if mathjax_local: os.symlink(MATHJAX_LOCAL, out / '_mathjax', target_is_directory=True)
    md = make_markdown()
    problems = list(clashes)
    listed = set()
    for rel in rels:
        d, h = procs[rel], pages[rel]
        root = rel_href('index.html', h).removesuffix('index.html')
        body = '\n'.join(filter(None, (render_cell(c, md) for c in d['cells'])))
        body = rewrite_links(body, rel, pages, nbs)
        fm = d['frontmatter']
        sub = f'<p class="subtitle">{md.renderInline(str(fm["description"]))}</p>' if fm.get('description') else ''
        executed = ' (executed for this build)' if d['executed'] else ' (stored outputs)'
        page = PAGE.format(title=html.escape(titles[rel]), site=html.escape(site), description=html.escape(str(fm.get('description', ''))),
                           root=root, mathjax=(root + '_mathjax/MathJax.js') if mathjax_local else MATHJAX_CDN,
                           navbar=render_navbar(quarto, pages, rel), sidebar=render_sidebar(entries, pages, titles, rel, listed),
                           project_css=f'<link rel="stylesheet" href="{root}styles.css">' if (nbs / 'styles.css').exists() else '',
                           subtitle=sub, body=body, source=rel.as_posix(), executed=executed, toc=render_toc(body))
        (out / h).parent.mkdir(parents=True, exist_ok=True)
        (out / h).write_text(page)
        problems += d['problems']
        problems += [f"{rel.as_posix()}: executing it raised {e}" for e in d['exec_errors']]
    warns = [f"{u.as_posix()} is not in the sidebar ({sidebar_src}): listed under 'Other pages'; add it to nbs/sidebar.yml"
             for u in unlisted]
    warns += [f"sidebar entry {h} has no notebook" for h in sorted(in_sidebar - {r.as_posix() for r in rels}) if not only]
    mixed = {r.as_posix(): procs[r]['mixed_import_cells'] for r in rels if procs[r]['mixed_import_cells']}
    report = dict(nbs=str(nbs), only=only or None, pages={r.as_posix(): pages[r] for r in rels}, titles={r.as_posix(): titles[r] for r in rels},
                  problems=problems, warnings=warns, mixed_import_cells=mixed, sidebar=sidebar_src,
                  executed=[r.as_posix() for r in rels if procs[r]['executed']], mathjax='local' if mathjax_local else 'cdn',
                  seconds=round(time.time() - t0, 1))
    (out / '_build_report.json').write_text(json.dumps(report, indent=1))
    return report

# ------------------------------------------------------------------------------------------------------------ README

README_HEAD = '<!-- WARNING: THIS FILE WAS AUTOGENERATED from nbs/index.ipynb by `python tools/build_docs.py --readme`. Edit the notebook. -->\n\n'

def readme_text(nbs:Path=NBS) -> str:
    "README.md as the markdown of `nbs/index.ipynb`: `{mermaid}` fences for GitHub, notebook links pointing into `nbs/`."
    from fastcore.nbio import read_nb
    nb = read_nb(nbs / 'index.ipynb')
    parts = []
    for c in nb.cells:
        src = c.source or ''
        if c.cell_type == 'markdown':
            src = re.sub(r'^```\{mermaid\}', '```mermaid', src, flags=re.M)
            src = re.sub(r'(\]\()(?!https?:|#|/)([^)\s]+\.ipynb)', lambda m: m.group(1) + 'nbs/' + m.group(2), src)
            src = re.sub(r'(href=")(?!https?:|#|/)([^"]+\.ipynb)', lambda m: m.group(1) + 'nbs/' + m.group(2), src)
            src = re.sub(r'click (\S+) "(?!https?:)([^"]+)\.html"', lambda m: f'click {m.group(1)} "{m.group(2)}.html"', src)
            parts.append(src.strip())
        elif c.cell_type == 'code':
            d, code = split_directives(src)
            if 'hide' in d or _falsy(d.get('echo', 'true')) or _falsy(d.get('include', 'true')) or not code.strip(): continue
            parts.append(f'```python\n{code}\n```')
    return README_HEAD + '\n\n'.join(p for p in parts if p) + '\n'

# -------------------------------------------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--execute', nargs='*', metavar='GLOB', default=None,
                    help='execute notebooks before building: all of them, or those matching the globs (relative to nbs/)')
    ap.add_argument('--execute-papermill', action='store_true',
                    help='also execute papermill notebooks (nbs/train.ipynb trains for its default time budget)')
    ap.add_argument('--only', nargs='*', metavar='GLOB', help='build only these notebooks (relative to nbs/)')
    ap.add_argument('--out', default=str(ROOT / '_site'), help='output folder (default _site/)')
    ap.add_argument('--timeout', type=int, default=600, help='seconds per executed cell')
    ap.add_argument('--readme', action='store_true', help='only regenerate README.md from nbs/index.ipynb')
    ap.add_argument('--strict', action='store_true', help='exit 1 when nbdev-docs would fail or a notebook raised')
    a = ap.parse_args(argv)
    os.chdir(ROOT)
    if a.readme:
        (ROOT / 'README.md').write_text(readme_text())
        print('wrote README.md from nbs/index.ipynb'); return 0
    globs = [] if a.execute is None else (a.execute or ['*'])
    rep = build(Path(a.out), globs, only=a.only, timeout=a.timeout, execute_papermill=a.execute_papermill)
    print(f"built {len(rep['pages'])} pages into {a.out} in {rep['seconds']} s (MathJax: {rep['mathjax']}, sidebar: {rep['sidebar']})")
    for w in rep['warnings']: print('warning:', w)
    for p in rep['problems']: print('PROBLEM:', p)
    if rep['mixed_import_cells']:
        print('note: cells that mix imports with other code are executed by nbdev-docs (nbdev FAQ; 0-based cell numbers):',
              '; '.join(f'{k} {v}' for k, v in rep['mixed_import_cells'].items()))
    return 1 if a.strict and rep['problems'] else 0

if __name__ == '__main__': sys.exit(main())
