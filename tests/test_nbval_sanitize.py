"""The sanitiser nbval uses to compare two executions of a chapter ignores timings and memory
addresses, and nothing else: a changed result must still make the comparison fail."""
import re
from pathlib import Path

import pytest

CFG = Path(__file__).parent / "nbval-sanitize.cfg"


def sanitize(text):
    # nbval's own reading of the file (nbval.plugin.get_sanitize_patterns) and its re.sub loop
    patterns = re.findall(r"^regex: (.*)$\n^replace: (.*)$", CFG.read_text(), flags=re.M)
    assert patterns, "no regex/replace pairs found"
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize("first, second", [
    ("'12 s'", "'13 s'"),                                               # glue_seconds text/plain
    ("gradient descent 41 s, L-BFGS 7 s\n", "gradient descent 39 s, L-BFGS 9 s\n"),
    ("MLP: 12 s, loss per epoch [0.31 0.12]", "MLP: 15 s, loss per epoch [0.31 0.12]"),
    ("[<matplotlib.lines.Line2D at 0x7f3a2c1d9e50>]", "[<matplotlib.lines.Line2D at 0x7f00aa11bb22>]"),
])
def test_legitimately_variable_outputs_compare_equal(first, second):
    assert first != second
    assert sanitize(first) == sanitize(second)


@pytest.mark.parametrize("first, second", [
    ("0.9731", "0.9732"),                           # a result
    ("'0.9731'", "'0.9732'"),
    ("300 steps", "301 steps"),                      # a count followed by a word starting in s
    ("12 samples", "13 samples"),
    ("accuracy 97 %", "accuracy 96 %"),
    ("MLP: 12 s, loss per epoch [0.31 0.12]", "MLP: 12 s, loss per epoch [0.31 0.13]"),
    ("array([1, 2])", "array([1, 3])"),
])
def test_results_still_compare_different(first, second):
    assert sanitize(first) != sanitize(second)
