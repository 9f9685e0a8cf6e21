"""Tests for lrbook.solver: L-BFGS reaches the true optimum (oracles: long gradient descent and
scikit-learn), with and without the preconditioner of lrbook.problem, per-class penalties act on
their own class, and the warm-started path equals independent fits."""
import numpy as np
import pytest

from lrbook import model, solver, train, weights

from conftest import offcentre_problem as _problem


def test_matches_long_gradient_descent():
    X, y = _problem(n=200, d=4, c=3)
    X[:, 0] /= 10.0                                        # keep GD's step size reasonable
    l2 = 0.05
    gd = train.fit(X, y, n_classes=3, lr=0.5, epochs=20000, l2=l2)
    r = solver.fit_lbfgs(X, y, n_classes=3, l2=l2, tol=1e-8)
    assert r.converged
    np.testing.assert_allclose(r.W, gd.W, atol=1e-6)
    assert r.loss == pytest.approx(model.cross_entropy(gd.W, X, model.one_hot(y, 3), l2), abs=1e-12)


@pytest.mark.parametrize("l2", [1e-3, 0.1])
def test_matches_sklearn(l2):
    from sklearn.linear_model import LogisticRegression
    X, y = _problem()
    n = len(y)
    # scikit-learn minimises C * sum_i loss_i + ||w||^2 / 2 with a free intercept,
    # which is N*C times ours when l2 = 1 / (C N)
    sk = LogisticRegression(C=1.0 / (l2 * n), tol=1e-12, max_iter=100000).fit(X[:, :-1], y)
    r = solver.fit_lbfgs(X, y, n_classes=3, l2=l2, tol=1e-8)
    np.testing.assert_allclose(r.W[:-1], sk.coef_.T, atol=1e-5)
    # intercepts are defined up to a common shift (softmax is invariant to it): compare centred
    np.testing.assert_allclose(r.W[-1] - r.W[-1].mean(), sk.intercept_ - sk.intercept_.mean(),
                               atol=1e-5)
    # scikit-learn 1.9 stops about 1e-6 short in probability even at tol=1e-12
    np.testing.assert_allclose(model.predict_proba(r.W, X), sk.predict_proba(X[:, :-1]), atol=1e-5)


def test_preconditioning_is_exact_and_cheaper():
    X, y = _problem(n=400, d=8)
    a = solver.fit_lbfgs(X, y, n_classes=3, l2=1e-4, tol=1e-8, precondition=True)
    b = solver.fit_lbfgs(X, y, n_classes=3, l2=1e-4, tol=1e-10, precondition=False, max_iter=20000)
    np.testing.assert_allclose(a.W, b.W, atol=1e-5)
    assert a.n_iter < b.n_iter


def test_per_class_penalty_shrinks_only_that_class():
    X, y = _problem()
    l2 = np.array([1e3, 1e-3, 1e-3])
    r = solver.fit_lbfgs(X, y, n_classes=3, l2=l2, tol=1e-8)
    norms = np.linalg.norm(r.W[:-1], axis=0)
    assert norms[0] < 1e-3 * norms[1:].min()
    # the per-class objective is the library's
    loss = model.cross_entropy(r.W, X, model.one_hot(y, 3), l2)
    assert r.loss == pytest.approx(loss, rel=1e-10)
    # a uniform vector equals the scalar penalty
    a = solver.fit_lbfgs(X, y, n_classes=3, l2=np.full(3, 0.01), tol=1e-8)
    b = solver.fit_lbfgs(X, y, n_classes=3, l2=0.01, tol=1e-8)
    np.testing.assert_allclose(a.W, b.W, atol=1e-7)


def test_float32_close_to_float64():
    X, y = _problem(n=2000, d=20)
    a = solver.fit_lbfgs(X, y, n_classes=3, l2=1e-3, tol=1e-8)
    b = solver.fit_lbfgs(X.astype(np.float32), y, n_classes=3, l2=1e-3, tol=1e-6)
    assert b.W.dtype == np.float32 and b.converged
    np.testing.assert_allclose(b.W[:-1], a.W[:-1], atol=1e-3)
    np.testing.assert_allclose(model.predict_proba(b.W.astype(np.float64), X),
                               model.predict_proba(a.W, X), atol=1e-3)
    assert model.cross_entropy(b.W.astype(np.float64), X, model.one_hot(y, 3), 1e-3) - a.loss < 1e-8



def test_solve_calls_back_with_original_weights_and_their_loss():
    X, y = _problem()
    pb = solver.prepare(X, y, n_classes=3)                 # preconditioned: rotated inside
    seen = []
    r = solver.solve(pb, l2=0.01, tol=1e-8, callback=lambda W, loss: seen.append((W, loss)))
    assert len(seen) == r.n_iter
    W_last, loss_last = seen[-1]
    np.testing.assert_allclose(W_last, r.W, rtol=1e-12, atol=1e-14)
    Y = model.one_hot(y, 3)
    assert loss_last == pytest.approx(model.cross_entropy(W_last, X, Y, 0.01), rel=1e-12)
    assert loss_last == pytest.approx(r.loss, rel=1e-12)
    losses = [loss for _, loss in seen]
    assert np.all(np.diff(losses) <= 1e-15)                 # L-BFGS's line search descends

def test_path_warm_starts_match_independent_fits():
    X, y = _problem()
    grid = np.array([1e-4, 1e-1, 1e-2])                    # deliberately unsorted
    path = solver.regularisation_path(X, y, grid, n_classes=3, tol=1e-8)
    assert path.W.shape == (3, 7, 3) and path.converged.all()
    np.testing.assert_array_equal(path.l2, grid)
    for p, l2 in enumerate(grid):
        r = solver.fit_lbfgs(X, y, n_classes=3, l2=l2, tol=1e-8)
        np.testing.assert_allclose(path.W[p], r.W, atol=2e-5)
        assert path.loss[p] == pytest.approx(r.loss, abs=1e-12)
    # weights shrink as the penalty grows
    norms = np.linalg.norm(path.W[:, :-1], axis=(1, 2))
    assert norms[0] > norms[2] > norms[1]


def test_path_accepts_per_class_grid():
    X, y = _problem()
    grid = np.array([[1e-2, 1e-2, 1e-2], [1e-2, 1e-4, 1e-2]])
    path = solver.regularisation_path(X, y, grid, n_classes=3, tol=1e-8)
    assert np.linalg.norm(path.W[1, :-1, 1]) > np.linalg.norm(path.W[0, :-1, 1])


def test_errors_name_the_problem():
    X, y = _problem()
    with pytest.raises(ValueError, match="l2 must be a scalar or have shape"):
        solver.fit_lbfgs(X, y, n_classes=3, l2=np.ones(5))
    with pytest.raises(ValueError, match=">= 0"):
        solver.fit_lbfgs(X, y, n_classes=3, l2=-1.0)
    with pytest.raises(ValueError, match="W0 must have shape"):
        solver.fit_lbfgs(X, y, n_classes=3, l2=0.1, W0=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="floating point"):
        solver.fit_lbfgs(X.astype(int), y, n_classes=3, l2=0.1)
    with pytest.raises(ValueError, match="n_classes is required"):
        solver.fit_lbfgs(X, y, l2=0.1)
    with pytest.raises(ValueError, match=r"labels must lie in 0..1"):
        solver.fit_lbfgs(X, y, n_classes=2, l2=0.1)
    W0 = np.zeros((X.shape[1], 3))
    W0[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"W0 contains nan at index \(2, 1\)"):
        solver.fit_lbfgs(X, y, n_classes=3, l2=0.1, W0=W0)
    with pytest.raises(ValueError, match="tol"):
        solver.fit_lbfgs(X, y, n_classes=3, l2=0.1, tol=0)


def _sk_weights(X, y, max_iter, C=np.inf):
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=C, max_iter=max_iter, tol=1e-4).fit(X[:, :-1], y)
    coef = np.vstack([clf.coef_.T, clf.intercept_])          # bias last, as in lrbook
    return coef[:, 0] if coef.shape[1] == 1 else coef


# --- trace: scikit-learn's L-BFGS run, every iterate kept --------------------------------

@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_trace_iterates_equal_sklearn_max_iter_fits(l2):
    X, y = _problem(n=150, d=5, c=3, seed=13)
    path = solver.trace(X, y, n_classes=3, l2=l2, max_iter=4)
    C = np.inf if l2 == 0 else 1 / (l2 * len(X))
    for k in (1, 2, 4):
        np.testing.assert_allclose(path.weights[k], _sk_weights(X, y, k, C), rtol=1e-5, atol=1e-7)
    assert path.n_iter == 4 and path.n_evals >= 5 and len(path.loss) == 5
    assert np.isclose(path.loss[0], np.log(3)) and np.all(np.diff(path.loss) < 0)


def test_trace_binary_equals_sklearn_and_first_iterate_is_a_scaled_first_step():
    X, y = _problem(n=150, d=5, c=2, seed=14)
    path = solver.trace(X, y, binary=True, max_iter=3)
    np.testing.assert_allclose(path.weights[3], _sk_weights(X, y, 3), rtol=1e-5, atol=1e-7)
    ratio = path.weights[1] / weights.first_step_weights_binary(X, y, 1.0)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)   # the first iterate is a gradient step
    assert ratio[0] > 0


def test_trace_stops_at_convergence_and_reaches_a_stationary_point():
    X, y = _problem(n=150, d=5, c=3, seed=15)
    path = solver.trace(X, y, n_classes=3, l2=0.1, max_iter=500)
    assert path.n_iter < 500
    W = path.weights[path.n_iter]
    assert np.abs(model.cross_entropy_grad(W, X, model.one_hot(y, 3), 0.1)).max() < 1e-4


def test_trace_rejects_bad_input():
    X, y = _problem()
    with pytest.raises(ValueError, match="max_iter"):
        solver.trace(X, y, n_classes=3, max_iter=0)
    with pytest.raises(ValueError, match="floating point"):
        solver.trace(X.astype(int), y, n_classes=3)
    with pytest.raises(ValueError, match="n_classes is required"):
        solver.trace(X, y)
    with pytest.raises(ValueError, match="l2 must be a scalar or have shape"):
        solver.trace(X, y, n_classes=3, l2=np.ones(2))


@pytest.mark.parametrize("precision", ["auto", "float64"])
def test_float32_data_reach_the_float64_optimum(precision):
    """Badly scaled, off-centre float32 features: float32 alone stalls short of a tight
    tolerance; finished (or run) in float64 it reaches the float64 optimum."""
    X, y = _problem(n=3000, d=20)
    a = solver.fit_lbfgs(X, y, n_classes=3, l2=1e-4, tol=1e-9)
    pb = solver.prepare(X.astype(np.float32), y, n_classes=3)
    b = solver.solve(pb, l2=1e-4, tol=1e-8, precision=precision)
    assert b.converged and b.W.dtype == np.float32
    loss_b = model.cross_entropy(b.W.astype(np.float64), X, model.one_hot(y, 3), 1e-4)
    assert (loss_b - a.loss) / a.loss < 1e-7
    with pytest.raises(ValueError, match="precision"):
        solver.solve(pb, l2=1e-4, precision="half")
