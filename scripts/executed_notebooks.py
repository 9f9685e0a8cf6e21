"""Write every chapter as the book build executed it, outputs included, for nbval to re-run.

Usage: python scripts/executed_notebooks.py OUTDIR [CACHE]

CACHE is the book build's execution cache (default: the folder the build uses,
``_build/.jupyter_cache/lrbook-<hash of the lrbook sources>``, see ``_ext/lrbook_sphinx.py``).
Each chapter is
read the way myst-nb reads it, matched to its executed copy in the cache and written to
``OUTDIR/NN-<chapter>.ipynb`` with that copy's outputs. ``make test-chapters`` then runs nbval in
strict mode on these files: it executes every chapter a second time and compares each cell's
outputs with the build's.

Why the cache and not ``_build/jupyter_execute/``: myst-nb writes the notebooks there after taking
the ``glue`` outputs out of them, so the numbers pasted into the prose, the outputs that matter
most, would not be compared (and nbval would report them as unexpected). The cache keeps every
output as the kernel produced it.

A chapter missing from the cache (the book was not built, or the chapter changed since) is an
error that names it.
"""
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_notebooks import ROOT, chapter_sources  # noqa: E402


def read_like_myst_nb(path):
    """The notebook myst-nb builds from a MyST Markdown chapter (so the cache key matches)."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    extensions = config.get("parse", {}).get("myst_enable_extensions", [])
    return read_myst_markdown_notebook(
        path.read_text(), MdParserConfig(enable_extensions=extensions), path=path)


def build_cache_path():
    """The execution cache the book build uses for the current lrbook sources."""
    sys.path.insert(0, str(ROOT / "_ext"))
    from lrbook_sphinx import lrbook_hash
    return ROOT / "_build" / ".jupyter_cache" / f"lrbook-{lrbook_hash()}"


def main(outdir, cache_path=None):
    from jupyter_cache import get_cache

    cache_path = Path(cache_path) if cache_path else build_cache_path()
    if not cache_path.is_dir():
        sys.exit(f"no execution cache at {cache_path}: build the book first (make book)")
    cache = get_cache(str(cache_path))
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("*.ipynb"):
        old.unlink()
    missing = []
    for i, src in enumerate(chapter_sources()):
        nb = read_like_myst_nb(src)
        try:
            record = cache.match_cache_notebook(nb)
            _, executed = cache.merge_match_into_notebook(nb)
        except KeyError:
            missing.append(str(src.relative_to(ROOT)))
            continue
        executed.metadata.pop("source_map", None)
        dest = outdir / f"{i:02d}-{src.stem}.ipynb"
        nbformat.write(executed, dest)
        seconds = record.data.get("execution_seconds")
        took = f", executed by the build in {seconds:.0f} s" if seconds is not None else ""
        print(f"{src.relative_to(ROOT)} -> {dest}{took}")
    if missing:
        sys.exit(f"not in the execution cache {cache_path} (build the book first: make book): "
                 + ", ".join(missing))


if __name__ == "__main__":
    main(*sys.argv[1:])
