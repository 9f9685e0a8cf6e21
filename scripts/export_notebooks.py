"""Write every chapter listed in _toc.yml that is a MyST notebook as an .ipynb file.

Usage: python scripts/export_notebooks.py OUTDIR

This is the conversion nbval runs in CI and the one readers use to open chapters in Jupyter.
Pages without a jupytext header (plain Markdown, e.g. the introduction) are skipped.
"""
import sys
from pathlib import Path

import jupytext
import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(toc):
    """All ``file`` entries of a jupyter-book ``_toc.yml``, root first, in reading order."""
    out = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                out.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", toc.get("chapters", [])))
    return out


def chapter_sources():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for name in toc_files(toc):
        path = ROOT / f"{name}.md"
        if path.read_text().startswith("---\njupytext:"):
            yield path


def main(outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob("*.ipynb"):
        old.unlink()
    for i, src in enumerate(chapter_sources()):
        nb = jupytext.read(src)
        dest = outdir / f"{i:02d}-{src.stem}.ipynb"
        jupytext.write(nb, dest)
        print(f"{src.relative_to(ROOT)} -> {dest}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/notebooks")
