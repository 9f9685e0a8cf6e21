"""The results page (book/results.md) pastes numbers glued by other chapters and links to their
sections. A renamed glue key or heading would only show up at the end of a full book build
(a warning, so an error); these checks find it in a second, from the sources."""
import re
from pathlib import Path

import pytest
import yaml
from mdit_py_plugins.anchors.index import slugify

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
PAGE = BOOK / "results.md"
TEXT = PAGE.read_text()

PASTED = re.findall(r"\{glue:text\}`([\w.-]+\.md)::(\w+):([^`]*)`", TEXT)
LINKS = re.findall(r"\]\(([\w.-]+\.md)#([^)]+)\)", TEXT)


def _glued(doc):
    """Keys a chapter glues: plain names, and patterns for f-string names (``f"{key}_rises"``
    matches ``pix_rises``)."""
    text = (BOOK / doc).read_text()
    names = set(re.findall(r"glue(?:_seconds)?\(\s*[\"']([^\"']+)[\"']", text))
    templates = re.findall(r"glue(?:_seconds)?\(\s*f[\"']([^\"']+)[\"']", text)
    patterns = [re.compile("".join(r"\w+" if part.startswith("{") else re.escape(part)
                                   for part in re.split(r"(\{[^}]*\})", t)))
                for t in templates]
    return names, patterns


def _anchors(doc):
    text = re.sub(r"```.*?```", "", (BOOK / doc).read_text(), flags=re.S)   # no code
    return {slugify(h) for h in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M)}


def test_the_page_is_in_the_toc_and_pastes_from_other_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert "book/results" in str(toc)
    assert len(PASTED) >= 20 and len(LINKS) >= 10


@pytest.mark.parametrize("doc,key,fmt", PASTED, ids=lambda v: str(v))
def test_every_pasted_key_is_glued_by_its_chapter(doc, key, fmt):
    assert (BOOK / doc).is_file(), f"results.md pastes from {doc}, which does not exist"
    names, patterns = _glued(doc)
    assert key in names or any(p.fullmatch(key) for p in patterns), (
        f"{doc} does not glue {key!r}")
    assert fmt, f"{doc}::{key} needs a format spec (':s' for text): myst-nb reads the last ':'"


@pytest.mark.parametrize("doc,anchor", LINKS, ids=lambda v: str(v))
def test_every_link_points_to_a_heading(doc, anchor):
    assert anchor in _anchors(doc), f"{doc} has no heading with anchor #{anchor}"
