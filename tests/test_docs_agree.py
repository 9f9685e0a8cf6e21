"""README, CONTRIBUTING, the Makefile and CI describe `make test` the same way, and the README's
commands are targets the Makefile has."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE_TEST = ("set up, then: the library tests; the book build (warnings are errors); every chapter "
             "executed a second time under nbval and compared with the build's outputs; a "
             "headless-browser check of every built page")


def _flat(text):
    """Comment markers and line breaks removed, so wrapped comments read as one sentence."""
    return re.sub(r"\s+", " ", re.sub(r"(?m)^\s*#+|(?<=\s)#+", " ", text))


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md", "Makefile"])
def test_make_test_is_described_the_same_way(name):
    assert MAKE_TEST in _flat((ROOT / name).read_text()), f"{name} describes make test differently"


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"(?m)^make test$", ci)
    assert "LRBOOK_RESULTS" in ci and "mktemp -d" in ci


def test_documented_targets_exist():
    targets = set(re.findall(r"(?m)^([a-z][a-z-]*):", (ROOT / "Makefile").read_text()))
    documented = set()
    for name in ["README.md", "CONTRIBUTING.md"]:
        documented |= set(re.findall(r"(?m)(?:`|^)make ([a-z][a-z-]*)", (ROOT / name).read_text()))
    assert documented and documented <= targets, sorted(documented - targets)


def test_contributing_is_self_contained():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    assert "STYLE notes" not in text          # conventions live in the repository, not elsewhere
