"""The built book as a reader meets it, checked in headless Chromium.

For every page of ``_build/html/book/``: every image is present and loaded, MathJax rendered
the maths (no raw TeX left in the text), no cell shows an error or a traceback, and every
internal link points at a page (and anchor) that exists. A full-page screenshot of each page
is saved in ``_build/screenshots/`` for a person to look at.

Runs after ``make book`` (``make test`` does both). Without a built book or without Chromium it
skips, unless ``LRBOOK_REQUIRE_BOOK=1`` (set by ``make test``), in which case it fails.
"""
import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
REQUIRED = os.environ.get("LRBOOK_REQUIRE_BOOK") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason):
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


def _pages():
    return sorted((HTML / "book").glob("*.html")) if HTML.is_dir() else []


@pytest.fixture(scope="module")
def server():
    if not _pages():
        _unavailable(f"no built book in {HTML}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api") if not REQUIRED else \
        __import__("playwright.sync_api", fromlist=["sync_playwright"])
    if CHROMIUM is None:
        _unavailable("Chromium not found (Debian: apt-get install chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


# Text that means TeX was left unrendered: display/inline delimiters or common commands.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\\frac\{|\\mathbf\{|\\sum_|\\partial")

UNCAUGHT_WARNING = re.compile(r"\.py:\d+: \w*(?:Warning|Error)\b")

VISIBLE_TEXT_JS = """() => {
  const root = document.querySelector('article') || document.body;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('pre, code, .highlight, mjx-container, script, style, .cell_input')
       .forEach(e => e.remove());
  return clone.innerText;
}"""


def _anchors(path):
    html = path.read_text(encoding="utf-8")
    return set(re.findall(r'\bid="([^"]+)"', html))


@functools.lru_cache(maxsize=None)
def _anchors_cached(path):
    return _anchors(Path(path))


@pytest.mark.parametrize("page", [p.name for p in _pages()] or ["<no book built>"])
def test_page_as_a_reader_sees_it(server, browser, page):
    path = HTML / "book" / page
    url = urljoin(server, f"book/{page}")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    failed = []
    pg.on("requestfailed", lambda r: failed.append(r.url) if r.url.startswith(server) else None)
    pg.goto(url, wait_until="load")
    has_math = pg.evaluate("() => !!document.querySelector('.math, div.math, span.math')")
    if has_math:
        pg.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                             timeout=20000)
        pg.evaluate("() => MathJax.startup.promise")
    pg.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{path.stem}.png"), full_page=True)

    # Figures: every image present and decoded.
    broken = pg.evaluate("""() => Array.from(document.images)
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src)""")
    assert not broken, f"{page}: images not loaded: {broken}"
    assert not failed, f"{page}: requests to the book's own files failed: {failed}"

    # Maths: rendered by MathJax, no raw TeX left in the visible text.
    if has_math:
        n_rendered = pg.evaluate("() => document.querySelectorAll('mjx-container').length")
        assert n_rendered > 0, f"{page}: has maths but MathJax rendered none"
        errors = pg.evaluate("() => document.querySelectorAll('mjx-merror').length")
        assert errors == 0, f"{page}: MathJax reported {errors} TeX errors"
    text = pg.evaluate(VISIBLE_TEXT_JS)
    raw = RAW_TEX.findall(text)
    assert not raw, f"{page}: raw TeX left on the page: {raw[:5]}"

    # Cell outputs: no errors or tracebacks.
    n_err = pg.evaluate("""() => document.querySelectorAll(
        '.output.error, .output.traceback, .output.stderr, .cell_output .ansi-red-fg').length""")
    assert n_err == 0, f"{page}: {n_err} error outputs"
    outputs = pg.evaluate("""() => Array.from(document.querySelectorAll('.cell_output'))
        .map(e => e.innerText).join('\\n')""")
    assert "Traceback (most recent call last)" not in outputs, f"{page}: a traceback in the output"
    # An uncaught warning prints as "path.py:LINE: SomeWarning: ..." (a chapter may show
    # warnings it caught on purpose, without that prefix).
    leaked = UNCAUGHT_WARNING.findall(outputs)
    assert not leaked, f"{page}: uncaught warnings in the output: {leaked[:3]}"

    # Internal links: target file exists, and so does the anchor.
    hrefs = pg.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    bad = []
    for href in hrefs:
        if not href.startswith(server):
            continue
        parsed = urlparse(href)
        target = HTML / unquote(parsed.path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            bad.append(href)
        elif parsed.fragment and target.suffix == ".html" \
                and unquote(parsed.fragment) not in _anchors_cached(str(target)):
            bad.append(href)
    assert not bad, f"{page}: broken internal links: {sorted(set(bad))[:10]}"
    ctx.close()
