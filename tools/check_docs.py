#!/usr/bin/env python
"""Check the offline docs site in `_site/` (built by `python tools/build_docs.py`), the way a reader meets it.

    python tools/check_docs.py                       # all checks + screenshots of the home page and four module pages (MING, ModFlow, graph SDE)
    python tools/check_docs.py --pages index.html core.html --no-browser

1. Every notebook in `nbs/` has its page (names as nbdev gives them; see `_site/_build_report.json`).
2. Every internal `href`/`src` in every page resolves to a file of the site, and every `#fragment` to an element id.
3. No page shows a Python traceback: no `Traceback (most recent call last)` in its text, no error output cell.
4. A local `http.server` on 127.0.0.1 serves the site; headless Chromium (Debian's `chromium`) opens the home page and
   four module pages, dumps the DOM after scripts ran (MathJax) and saves a screenshot of each under
   `_site/_screenshots/`. Each page must load (HTTP 200), keep its title, and show no traceback once rendered.

The build's own problems (cells on which `nbdev-docs` would fail, page-name clashes; `_site/_build_report.json`) are
listed too, and fail the check with `--strict`. Exit status 1 lists every problem. Without `chromium` on PATH step 4 fails unless `--no-browser` is given.
"""
from __future__ import annotations
import argparse, contextlib, functools, http.server, json, os, re, shutil, socket, subprocess, sys, tempfile, threading
import urllib.parse, urllib.request
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAGES = ('index.html', 'spectral.html', 'ming_model.html', 'modflow_model.html', 'graph_sde_model.html')
TRACEBACK = 'Traceback (most recent call last)'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--hide-scrollbars', '--disable-extensions', '--mute-audio']

class PageParser(HTMLParser):
    "Links, ids, visible text and error-output markers of one HTML page."
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.ids, self.text, self.error_cells, self.title = [], set(), [], 0, ''
        self._skip, self._in_title = 0, False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        for k in ('href', 'src'):
            if a.get(k) and tag in ('a', 'img', 'link', 'script', 'iframe', 'source'): self.links.append((tag, a[k]))
        if 'cell-output-error' in (a.get('class') or '').split(): self.error_cells += 1
        if tag in ('script', 'style'): self._skip += 1
        if tag == 'title': self._in_title = True
    def handle_endtag(self, tag):
        if tag in ('script', 'style') and self._skip: self._skip -= 1
        if tag == 'title': self._in_title = False
    def handle_data(self, data):
        if self._in_title: self.title += data
        elif not self._skip: self.text.append(data)

def parse(html_text:str) -> PageParser:
    p = PageParser(); p.feed(html_text); p.close()
    return p

def _internal(url:str) -> bool:
    return not (re.match(r'^[a-z][a-z0-9+.-]*:', url, re.I) or url.startswith('//'))

def check_static(site:Path) -> tuple[list, dict]:
    "Missing pages, broken internal links and anchors, tracebacks: (problems, parsed pages)."
    problems, parsed = [], {}
    report_f = site / '_build_report.json'
    if not report_f.exists(): return [f'{report_f} is missing: run `python tools/build_docs.py` first'], parsed
    report = json.loads(report_f.read_text())
    sys.path.insert(0, str(ROOT / 'tools'))
    from build_docs import notebooks, page_map
    expected, _ = page_map(notebooks(Path(report.get('nbs') or ROOT / 'nbs')))
    if report.get('only'):
        import fnmatch
        expected = {r: h for r, h in expected.items() if any(fnmatch.fnmatch(r.as_posix(), g) for g in report['only'])}
    if set(report['pages']) != {r.as_posix() for r in expected}:
        missing = sorted({r.as_posix() for r in expected} - set(report['pages']))
        if missing: problems.append(f"notebooks without a page (the site was built from other notebooks or with --only): {missing}")
    for rel, h in {r.as_posix(): h for r, h in expected.items()}.items():
        if not (site / h).is_file(): problems.append(f'page missing: {h} (from nbs/{rel})')
    for f in sorted(site.rglob('*.html')):
        if '_mathjax' in f.relative_to(site).parts: continue
        parsed[f.relative_to(site).as_posix()] = parse(f.read_text(errors='replace'))
    for name, p in parsed.items():
        here = (site / name).parent
        for tag, url in p.links:
            if not _internal(url) or url.startswith('data:'): continue
            u = urllib.parse.urlsplit(url)
            if u.path:
                path = urllib.parse.unquote(u.path)       # normpath, not resolve: _mathjax may be a symlink out of the site
                target = Path(os.path.normpath(here / path if not path.startswith('/') else site / path.lstrip('/')))
                if target.is_dir(): target = target / 'index.html'
                try: rel = target.relative_to(site).as_posix()
                except ValueError: problems.append(f'{name}: <{tag}> {url} points outside the site'); continue
                if not target.exists(): problems.append(f'{name}: broken link <{tag}> {url}'); continue
            else: rel = name
            if u.fragment and tag == 'a' and rel.endswith('.html'):
                ids = parsed[rel].ids if rel in parsed else parse(target.read_text(errors='replace')).ids
                if urllib.parse.unquote(u.fragment) not in ids: problems.append(f'{name}: broken anchor {url}')
        text = ' '.join(p.text)
        if TRACEBACK in text: problems.append(f'{name}: shows a Python traceback ("{TRACEBACK}")')
        if p.error_cells: problems.append(f'{name}: {p.error_cells} error output cell(s)')
    return problems, parsed

def build_problems(site:Path) -> list:
    "Problems the build found that the pages do not show (e.g. cells that would make `nbdev-docs` fail)."
    f = site / '_build_report.json'
    return json.loads(f.read_text()).get('problems', []) if f.exists() else []

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

@contextlib.contextmanager
def serve(site:Path):
    "Serve `site` on 127.0.0.1 (a free port) in a thread; yields the base URL."
    handler = functools.partial(_Quiet, directory=str(site))
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):   # a browser closing a connection early is not a failure
            if not isinstance(sys.exc_info()[1], ConnectionError): super().handle_error(request, client_address)
    httpd = Server(('127.0.0.1', 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    try: yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    finally: httpd.shutdown(); httpd.server_close()

def chromium_binary() -> str|None:
    for b in ('chromium', 'chromium-browser', 'google-chrome'):
        if shutil.which(b): return shutil.which(b)
    return None

def chromium(args:list, timeout:int=120) -> subprocess.CompletedProcess:
    "Run headless Chromium once with a fresh profile."
    with tempfile.TemporaryDirectory(prefix='ming-chromium-') as prof:
        cmd = [chromium_binary(), *CHROMIUM_FLAGS, f'--user-data-dir={prof}', *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

def check_browser(site:Path, pages, shots:Path, width:int=1280, height:int=2000, budget_ms:int=8000) -> tuple[list, list]:
    "Open `pages` in headless Chromium: (problems, [(page, screenshot path, title, size in bytes)])."
    problems, done = [], []
    if chromium_binary() is None:
        return ['chromium is not installed (Debian: apt-get install -y chromium); use --no-browser to skip'], done
    shots.mkdir(parents=True, exist_ok=True)
    with serve(site) as base:
        for page in pages:
            url = base + page
            try:
                with urllib.request.urlopen(url, timeout=10) as r: status = r.status
            except Exception as e: problems.append(f'{page}: not served ({e})'); continue
            if status != 200: problems.append(f'{page}: HTTP {status}'); continue
            png = shots / (page.replace('/', '__').removesuffix('.html') + '.png')
            timing = [f'--virtual-time-budget={budget_ms}', f'--window-size={width},{height}']
            r = chromium([*timing, f'--screenshot={png}', url])
            if not png.exists() or png.stat().st_size < 2000:
                problems.append(f'{page}: no screenshot (chromium exit {r.returncode}: {r.stderr.strip()[-300:]})'); continue
            r = chromium([*timing, '--dump-dom', url])
            dom = parse(r.stdout)
            text = ' '.join(dom.text)
            if r.returncode != 0 or not r.stdout.strip(): problems.append(f'{page}: --dump-dom failed ({r.stderr.strip()[-300:]})')
            if 'Error response' in dom.title or 'Error code: 404' in text: problems.append(f'{page}: the browser got an error page')
            if TRACEBACK in text or dom.error_cells: problems.append(f'{page}: shows a Python traceback in the browser')
            done.append((page, png, dom.title.strip(), png.stat().st_size))
    return problems, done

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--site', default=str(ROOT / '_site'), help='site folder (default _site/)')
    ap.add_argument('--pages', nargs='*', default=list(DEFAULT_PAGES), help='pages to open in Chromium')
    ap.add_argument('--shots', default=None, help='screenshot folder (default <site>/_screenshots)')
    ap.add_argument('--no-browser', action='store_true', help='skip the Chromium part')
    ap.add_argument('--strict', action='store_true', help="also fail on the build's problems (nbdev-docs failures, page name clashes)")
    ap.add_argument('--width', type=int, default=1280); ap.add_argument('--height', type=int, default=2000)
    a = ap.parse_args(argv)
    site = Path(a.site).resolve()
    problems, parsed = check_static(site)
    print(f'checked {len(parsed)} pages: links, anchors, tracebacks')
    build = build_problems(site)
    for p in build: print('build problem:', p)
    if build and a.strict: problems += build
    if not a.no_browser:
        p2, done = check_browser(site, a.pages, Path(a.shots) if a.shots else site / '_screenshots', a.width, a.height)
        problems += p2
        for page, png, title, size in done: print(f'screenshot {page}: {png} ({size:,} bytes; title "{title}")')
    for p in problems: print('FAIL:', p)
    print('docs check:', 'OK' if not problems else f'{len(problems)} problem(s)')
    return 1 if problems else 0

if __name__ == '__main__': sys.exit(main())
