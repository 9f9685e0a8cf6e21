"""A cell ending in ';' shows no value under nbval, as in the book build (see
scripts/nbval_store_history.py): without the plugin nbval shows it and the comparison fails."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("plugin, ok", [(True, True), (False, False)])
def test_trailing_semicolon_silences_the_value(tmp_path, plugin, ok):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbval")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell("x = (1, 2)\nx;")       # the build recorded no output
    cell.execution_count = 1
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "semi.ipynb")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
            "--nbval-current-env", str(tmp_path / "semi.ipynb")]
    if plugin:
        args[4:4] = ["-p", "scripts.nbval_store_history"]
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (run.returncode == 0) is ok, run.stdout[-2000:]
