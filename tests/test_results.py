"""Tests for lrbook.results: results served from disk, recomputed when a setting or the code
they depend on changes."""
import importlib
import sys
import textwrap

import numpy as np
import pytest

from lrbook import results


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A throw-away package ``lrbook_fake`` with two modules, ``work`` importing ``helper``;
    ``work.compute`` appends to a log file every time it really runs."""
    pkg = tmp_path / "src" / "lrbook_fake"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("def scale(x):\n    return 2 * x\n")
    log = tmp_path / "calls.log"
    (pkg / "work.py").write_text(textwrap.dedent(f"""
        import numpy as np
        from .helper import scale

        def compute(x, *, power=1):
            with open({str(log)!r}, "a") as f:
                f.write("run\\n")
            return scale(np.asarray(x) ** power)
        """))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setattr(results, "PACKAGE", "lrbook_fake")
    yield pkg, log
    for name in [m for m in sys.modules if m.startswith("lrbook_fake")]:
        del sys.modules[name]


def n_runs(log):
    return len(log.read_text().splitlines()) if log.exists() else 0


def fresh_work():
    for name in [m for m in sys.modules if m.startswith("lrbook_fake")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return importlib.import_module("lrbook_fake.work")


def test_second_call_is_served_from_disk(fake_package, tmp_path):
    _, log = fake_package
    f = results.cached(fresh_work().compute, location=tmp_path / "res")
    x = np.arange(5.0)
    assert not f.check_call_in_cache(x, power=2)
    a = f(x, power=2)
    b = f(x, power=2)
    assert np.array_equal(a, 2 * x ** 2) and np.array_equal(a, b)
    assert n_runs(log) == 1 and f.check_call_in_cache(x, power=2)
    # a new session (new import, new wrapper) finds the result on disk too
    g = results.cached(fresh_work().compute, location=tmp_path / "res")
    assert np.array_equal(g(x, power=2), a) and n_runs(log) == 1


def test_changed_setting_recomputes(fake_package, tmp_path):
    _, log = fake_package
    f = results.cached(fresh_work().compute, location=tmp_path / "res")
    x = np.arange(5.0)
    f(x, power=2)
    f(x, power=3)                          # another keyword
    f(x + 1, power=2)                      # another array content
    assert n_runs(log) == 3


def test_changed_code_of_a_called_module_recomputes(fake_package, tmp_path):
    pkg, log = fake_package
    f = results.cached(fresh_work().compute, location=tmp_path / "res")
    x = np.arange(5.0)
    assert np.array_equal(f(x), 2 * x)
    # joblib alone would not see this: compute's own source is unchanged
    (pkg / "helper.py").write_text("def scale(x):\n    return 3 * x\n")
    g = results.cached(fresh_work().compute, location=tmp_path / "res")
    assert g.code_hash != f.code_hash
    assert np.array_equal(g(x), 3 * x) and n_runs(log) == 2


def test_dependencies_follow_imports(fake_package):
    work = fresh_work()
    assert results.dependencies(work) == ["lrbook_fake.helper", "lrbook_fake.work"]


def test_library_dependencies():
    from lrbook import cnn
    deps = results.dependencies(cnn)
    assert "lrbook.cnn" in deps and "lrbook.augment" in deps
    assert len(results.code_hash(cnn)) == 64


def test_results_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LRBOOK_RESULTS", str(tmp_path / "r"))
    assert results.results_dir() == tmp_path / "r"
    monkeypatch.delenv("LRBOOK_RESULTS")
    monkeypatch.setenv("LRBOOK_CACHE", str(tmp_path / "downloads"))
    assert results.results_dir() != tmp_path / "downloads"


def test_only_package_functions(tmp_path):
    with pytest.raises(ValueError, match="package"):
        results.cached(np.sum, location=tmp_path)
