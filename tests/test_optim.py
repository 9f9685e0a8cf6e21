"""Tests for lrbook.optim: the recorded runs are the library's runs (same weights as
lrbook.train.fit and lrbook.solver), losses are the penalised objective, passes are counted."""
import numpy as np
import pytest

from lrbook import model, optim, solver, train


def _data(n=120, d=5, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    F = rng.normal(size=(c, d))[y] + rng.normal(size=(n, d))
    return model.add_bias(F), y


@pytest.mark.parametrize("batch_size", [None, 16])
def test_sgd_progress_is_fit(batch_size):
    X, y = _data()
    l2 = 0.01
    p = optim.sgd_progress(X, y, n_classes=3, l2=l2, lr=0.3, epochs=4, batch_size=batch_size,
                           seed=3)
    ref = train.fit(X, y, n_classes=3, lr=0.3, epochs=4, l2=l2, batch_size=batch_size, seed=3)
    np.testing.assert_array_equal(p.W, ref.W)
    assert list(p.passes) == [0, 1, 2, 3, 4]
    assert p.loss[0] == pytest.approx(np.log(3))
    assert p.loss[-1] == pytest.approx(model.cross_entropy(ref.W, X, model.one_hot(y, 3), l2))
    assert np.all(np.diff(p.seconds) >= 0)


def test_sgd_schedule_continues_from_the_previous_stage():
    X, y = _data()
    p = optim.sgd_progress(X, y, n_classes=3, l2=0.0, lr=[(2, 0.5), (3, 0.05)])
    a = train.fit(X, y, n_classes=3, lr=0.5, epochs=2)
    b = train.fit(X, y, n_classes=3, lr=0.05, epochs=3, W0=a.W)
    np.testing.assert_allclose(p.W, b.W, rtol=1e-12)            # full batch: no shuffling
    assert len(p.loss) == 6


@pytest.mark.parametrize("precondition", [True, False])
def test_lbfgs_progress_reaches_the_solver_optimum(precondition):
    X, y = _data()
    l2 = 0.05
    pb = solver.prepare(X, y, n_classes=3, precondition=precondition)
    p = optim.lbfgs_progress(pb, l2=l2, max_iter=500, tol=1e-9)
    ref = solver.solve(pb, l2=l2, tol=1e-9)
    assert p.loss[-1] == pytest.approx(ref.loss, abs=1e-12)
    np.testing.assert_allclose(p.W, ref.W, atol=1e-6)
    assert p.loss[-1] == pytest.approx(model.cross_entropy(p.W, X, model.one_hot(y, 3), l2))
    assert p.passes[0] == 0 and np.all(np.diff(p.passes) >= 1)   # >= 1 evaluation per iteration
    assert p.passes[-1] <= ref.n_eval        # a last line search that gave up is not recorded


def test_lbfgs_progress_with_sklearn_options_is_trace():
    X, y = _data()
    tr = solver.trace(X, y, n_classes=3, l2=0.01, max_iter=30)
    p = optim.lbfgs_progress(solver.prepare(X, y, n_classes=3, precondition=False), l2=0.01,
                             max_iter=30, sklearn_options=True)
    np.testing.assert_allclose(p.loss, tr.loss, rtol=1e-12)
    assert p.passes[-1] == tr.n_evals - 1          # trace also counts its loss at zero


def test_passes_to_reach():
    p = optim.Progress(passes=np.array([0.0, 1, 2, 3]), seconds=np.zeros(4),
                       loss=np.array([1.0, 0.5, 0.2, 0.1]), W=None)
    assert optim.passes_to_reach(p, 0.3) == 2
    assert optim.passes_to_reach(p, 0.01) == np.inf


def test_schedule_is_validated():
    X, y = _data()
    with pytest.raises(ValueError, match="lr"):
        optim.sgd_progress(X, y, n_classes=3, l2=0.0, lr=[(2, -1.0)])
    with pytest.raises(ValueError, match="stage"):
        optim.sgd_progress(X, y, n_classes=3, l2=0.0, lr=[])


def test_loss_gap_plot_draws_the_gap_above_the_floor():
    import matplotlib.pyplot as plt
    from lrbook import plots
    p = optim.Progress(passes=np.array([0.0, 1, 2, 3]), seconds=np.array([0.0, .1, .2, .3]),
                       loss=np.array([1.0, 0.5, 0.2, 0.1]), W=None)
    ax = plots.loss_gap(p, optimum=0.1, x="seconds")
    xs, ys = ax.lines[0].get_data()
    np.testing.assert_allclose(xs, [0.0, .1, .2])
    np.testing.assert_allclose(ys, [0.9, 0.4, 0.1])
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="passes"):
        plots.loss_gap(p, optimum=0.1, x="epochs")
    plt.close("all")


def test_sgd_progress_starts_from_W0():
    X, y = _data()
    W0 = np.random.default_rng(0).normal(size=(X.shape[1], 3))
    p = optim.sgd_progress(X, y, n_classes=3, l2=0.01, lr=0.1, epochs=2, batch_size=10,
                           W0=W0)
    ref = train.fit(X, y, n_classes=3, lr=0.1, epochs=2, l2=0.01, batch_size=10, W0=W0)
    np.testing.assert_array_equal(p.W, ref.W)
    assert p.loss[0] == pytest.approx(model.cross_entropy(W0, X, model.one_hot(y, 3), 0.01))
