import sys

import numpy as np
import pytest

from lrbook import book


def _shown(monkeypatch, fn, *args, **kw):
    """The (args, kwargs) of every IPython display call ``fn`` makes."""
    import IPython.display
    calls = []
    fake = lambda *a, **k: calls.append((a, k))          # noqa: E731
    monkeypatch.setattr(IPython.display, "display", fake)
    import myst_nb.ext.glue
    monkeypatch.setattr(myst_nb.ext.glue, "ipy_display", fake)
    fn(*args, **kw)
    return calls


def _glued(monkeypatch, name, value):
    """The value book.glue stored: its text/plain, as the build reads it."""
    (args, kw), = _shown(monkeypatch, book.glue, name, value)
    bundle, = args
    assert kw["metadata"]["scrapbook"]["name"] == name
    return bundle[book.GLUE_PREFIX + "text/plain"]


@pytest.mark.parametrize("value, expected", [
    (np.float64(0.25), "0.25"), (np.float32(2.0), "2.0"), (np.int64(7), "7"), (3, "3"),
    ("1e-3", "'1e-3'")])
def test_glue_passes_python_values(monkeypatch, value, expected):
    assert _glued(monkeypatch, "x", value) == expected    # "0.25", not "np.float64(0.25)"


@pytest.mark.parametrize("value", [0.25, 7, "12 s", [1, 2], {"a": 1.5}])
@pytest.mark.parametrize("display", [False, True])
def test_glue_displays_what_myst_nb_glue_displays(monkeypatch, value, display):
    import myst_nb
    ours = _shown(monkeypatch, book.glue, "k", value, display=display)
    theirs = _shown(monkeypatch, myst_nb.glue, "k", value, display=display)
    assert ours == theirs and len(ours) == 1


def test_glue_does_not_import_myst_nb_glue():
    # the point of writing glue here: see its docstring
    import subprocess
    code = ("import sys; from lrbook import book; book.glue('x', 1); "
            "print('myst_nb.ext.glue' in sys.modules, 'nbformat' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (0.4, "0 s"), (12.49, "12 s"),
                                           (np.float64(481.7), "482 s"), (3600, "3600 s")])
def test_format_seconds_keeps_the_unit(seconds, text):
    assert book.format_seconds(seconds) == text


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_format_seconds_rejects_non_durations(bad):
    with pytest.raises(ValueError, match="seconds"):
        book.format_seconds(bad)


def test_glue_seconds_stores_text_the_sanitiser_recognises(monkeypatch):
    import re
    from pathlib import Path

    (args, _), = _shown(monkeypatch, book.glue_seconds, "t", 12.3)
    text = args[0][book.GLUE_PREFIX + "text/plain"]        # the glued output's text/plain
    assert text == "'12 s'"
    cfg = (Path(__file__).parent / "nbval-sanitize.cfg").read_text()
    patterns = re.findall(r"^regex: (.*)$\n^replace: (.*)$", cfg, flags=re.M)   # as nbval reads it
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    assert "12" not in text, text
