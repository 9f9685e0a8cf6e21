import numpy as np
import pytest

from lrbook import book


@pytest.mark.parametrize("value, expected", [
    (np.float64(0.25), 0.25), (np.float32(2.0), 2.0), (np.int64(7), 7), (3, 3), ("1e-3", "1e-3")])
def test_glue_passes_python_values(monkeypatch, value, expected):
    import myst_nb
    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, v, display=False: seen.update({name: v}))
    book.glue("x", value)
    assert seen["x"] == expected
    assert type(seen["x"]) is type(expected)
    assert repr(seen["x"]) == repr(expected)          # "0.25", not "np.float64(0.25)"
