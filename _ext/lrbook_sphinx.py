"""Sphinx glue for the lrbook book (loaded through ``sphinx: local_extensions`` in _config.yml).

1. Execution cache keyed on the library: the jupyter-cache folder is named after a hash of the
   ``lrbook`` sources, so editing one chapter re-runs only that chapter, while any change to
   ``lrbook`` re-runs every chapter (they all import it). Stale cache folders are removed.
2. MathJax served with the book when a local copy exists (``make setup`` puts MathJax 3 from the
   npm registry in ``.cache/mathjax/``), so equations render without reaching a CDN;
   otherwise Sphinx's default CDN address is used.
3. Figures pasted onto one page from another page's notebook are copied into the site.
4. Notebook downloads: every chapter that is a MyST notebook is offered as ``.ipynb`` (the
   executed notebook, outputs included) in the page's download menu.
"""
import hashlib
import json
import shutil
from binascii import a2b_base64
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lrbook_hash() -> str:
    """Short hash of every source file of the lrbook package."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "lrbook").rglob("*.py")):
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def set_cache_path(app, config):
    if config.nb_execution_cache_path:          # set explicitly by the user: leave it alone
        return
    base = Path(app.outdir).parent / ".jupyter_cache"
    current = base / f"lrbook-{lrbook_hash()}"
    if base.is_dir():
        for old in base.glob("lrbook-*"):
            if old != current:
                shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(current)


def use_local_mathjax(app, config):
    local = ROOT / ".cache" / "mathjax"
    if (local / "mathjax" / "tex-chtml.js").is_file():
        config.html_static_path = [*config.html_static_path, str(local)]
        config.mathjax_path = "mathjax/tex-chtml.js"


def offer_notebook(app, pagename, templatename, context, doctree):
    """Tell sphinx-book-theme that this page has an .ipynb to download, and put it there."""
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    dest = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, dest)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _glued_images(app):
    """sha256 -> PNG bytes of every image glued by any executed chapter."""
    found = {}
    for path in (Path(app.outdir).parent / "jupyter_execute").rglob("*.glue.json"):
        for entry in json.loads(path.read_text()).values():
            b64 = entry.get("data", {}).get("image/png")
            if b64:
                data = a2b_base64(b64)
                found[hashlib.sha256(data).hexdigest()] = data
    return found


def write_pasted_images(app, doctree, docname):
    """A figure glued in one chapter and pasted onto another page (``{glue}`` with ``:doc:``)
    is given a URI in ``_images/`` but myst-nb never writes the file: write it from the glue data."""
    from docutils import nodes
    glued = None
    for node in doctree.findall(nodes.image):
        name = Path(node.get("uri", "")).name
        target = Path(app.outdir) / "_images" / name
        if "_images/" not in node.get("uri", "") or target.exists():
            continue
        glued = _glued_images(app) if glued is None else glued
        data = glued.get(Path(name).stem)
        if data is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def setup(app):
    app.connect("config-inited", set_cache_path)
    app.connect("config-inited", use_local_mathjax)
    app.connect("html-page-context", offer_notebook, priority=100)
    app.connect("doctree-resolved", write_pasted_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
