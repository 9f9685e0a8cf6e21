"""Timings in chapters look like timings, so that the comparison of two executions can ignore
them (tests/nbval-sanitize.cfg) and nothing else; every chapter says how long it runs."""
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from export_notebooks import chapter_sources  # noqa: E402

CHAPTERS = list(chapter_sources())


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_durations_are_glued_with_their_unit(path):
    text = path.read_text()
    plain = re.findall(r"\bglue\(\s*f?[\"']([^\"']*_seconds)[\"']", text)
    assert not plain, (f"{path.name} glues {plain} as bare numbers: use "
                       "lrbook.book.glue_seconds, which stores '12 s'")
    formatted = re.findall(r"\{glue:text\}`([^`]*_seconds):[^`]*`", text)
    assert not formatted, (f"{path.name} pastes {formatted} with a format spec: glue_seconds "
                           "stores text with its unit, paste it as {glue:text}`name`")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_printed_durations_use_format_seconds(path):
    bare = re.findall(r"\{[^{}]*:\.\d+f\} s\b", path.read_text())
    assert not bare, f"{path.name} prints times by hand {bare}: use lrbook.book.format_seconds"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_expected_run_time_under_the_title(path):
    lines = path.read_text().splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("# "))
    after = next(line for line in lines[title + 1:] if line.strip())
    assert re.fullmatch(r"\*Expected run time: .+\*", after), (
        f"{path.name}: the first line under the title should be "
        "'*Expected run time: ...*' (static text; see the Run times page)")
