import numpy as np
import pytest

from lrbook import data, diagnostics as dg, model, train


def _data(n=120, d=6, c=4, seed=0, balanced=False):
    rng = np.random.default_rng(seed)
    X = data.add_bias(rng.random((n, d)))
    y = np.arange(n) % c if balanced else rng.integers(0, c, n)
    return X, y


# --- class means and the first step ----------------------------------------------------------

def test_class_means_and_shares():
    X, y = _data()
    means, shares = dg.class_means(X, y, 4)
    for k in range(4):
        np.testing.assert_allclose(means[:, k], X[y == k].mean(axis=0))
        assert shares[k] == np.mean(y == k)
    assert means.shape == (X.shape[1], 4) and np.isclose(shares.sum(), 1)


def test_class_means_empty_class_is_zero():
    X, y = _data(c=3)
    means, shares = dg.class_means(X, y, 5)
    assert np.all(means[:, 3:] == 0) and np.all(shares[3:] == 0)


@pytest.mark.parametrize("lr", [0.1, 0.7])
def test_first_step_equals_one_step_of_fit(lr):
    X, y = _data(c=4, seed=1)
    res = train.fit(X, y, n_classes=4, lr=lr, max_steps=1, batch_size=None)
    np.testing.assert_allclose(dg.first_step_weights(X, y, 4, lr), res.W, rtol=1e-12, atol=1e-15)


def test_first_step_equals_minus_lr_times_gradient_at_zero():
    X, y = _data(c=3, seed=2)
    G = model.cross_entropy_grad(np.zeros((X.shape[1], 3)), X, data.one_hot(y, 3))
    np.testing.assert_allclose(dg.first_step_weights(X, y, 3, 0.5), -0.5 * G, atol=1e-15)


def test_first_step_bias_row_is_share_minus_uniform():
    X, y = _data(c=4, seed=3)
    W1 = dg.first_step_weights(X, y, 4, 2.0)
    _, shares = dg.class_means(X, y, 4)
    np.testing.assert_allclose(W1[-1], 2.0 * (shares - 0.25))


def test_first_step_balanced_is_scaled_mean_difference():
    X, y = _data(c=4, balanced=True)
    W1 = dg.first_step_weights(X, y, 4, 1.0)
    means, _ = dg.class_means(X, y, 4)
    np.testing.assert_allclose(W1, (means - X.mean(axis=0)[:, None]) / 4, atol=1e-15)
    assert np.allclose(W1[-1], 0)


def test_first_step_minibatch_uses_batch_counts():
    X, y = _data(n=200, c=3, seed=4)
    res = train.fit(X, y, n_classes=3, lr=0.3, max_steps=1, batch_size=32, seed=5)
    idx = np.random.default_rng(5).permutation(len(X))[:32]   # the trainer's first batch
    np.testing.assert_allclose(dg.first_step_weights(X[idx], y[idx], 3, 0.3), res.W, atol=1e-14)
    assert not np.allclose(dg.first_step_weights(X, y, 3, 0.3), res.W)


def test_first_step_binary_equals_fit_and_footnote_form():
    X, y = _data(c=2, seed=6)
    res = train.fit(X, y, binary=True, lr=0.4, max_steps=1, batch_size=None)
    w1 = dg.first_step_weights_binary(X, y, 0.4)
    np.testing.assert_allclose(w1, res.W, atol=1e-15)
    pos, neg = X[y == 1].sum(axis=0), X[y == 0].sum(axis=0)
    np.testing.assert_allclose(w1, 0.4 * (pos - neg) / (2 * len(X)))


# --- gradient share ---------------------------------------------------------------------------

def test_gradient_share_at_full_q_is_one():
    X, y = _data(seed=7)
    W = np.random.default_rng(0).normal(size=(X.shape[1], 4))
    s = dg.hard_example_gradient_share(W, X, y, q=1.0)
    assert np.isclose(s.projection, 1) and np.isclose(s.magnitude, 1) and np.isclose(s.loss, 1)


def test_gradient_share_parts_sum_to_one_and_match_fit_gradient():
    X, y = _data(n=300, seed=8)
    W = np.random.default_rng(1).normal(size=(X.shape[1], 4))
    loss = model.deviance_per_sample(W, X, y)
    hard = np.argsort(loss)[-30:]
    G = model.cross_entropy_grad(W, X, data.one_hot(y, 4))
    Gh = model.cross_entropy_grad(W, X[hard], data.one_hot(y[hard], 4)) * 30 / 300
    s = dg.hard_example_gradient_share(W, X, y, q=0.1)
    np.testing.assert_allclose(s.projection, np.sum(Gh * G) / np.sum(G * G))
    assert s.magnitude > 0.1 and s.loss > 0.1   # the hardest 10 % weigh more than 10 %


def test_gradient_share_binary_dominated_by_misfit_samples():
    rng = np.random.default_rng(9)
    X = data.add_bias(rng.normal(size=(500, 3)))
    w = np.array([10.0, 0.0, 0.0, 0.0])
    y = (X[:, 0] > 0).astype(int)
    far = np.argsort(np.abs(X[:, 0]))[-25:]
    y[far] = 1 - y[far]                       # 5 % confidently wrong: they carry the gradient
    s = dg.hard_example_gradient_share(w, X, y, q=0.05)
    assert s.magnitude > 0.5 and s.projection > 0.5


def test_gradient_share_rejects_bad_q():
    X, y = _data()
    with pytest.raises(ValueError, match="q must be"):
        dg.hard_example_gradient_share(np.zeros((X.shape[1], 4)), X, y, q=0)


# --- images -----------------------------------------------------------------------------------

def test_correlation_of_scaled_images_is_one_and_of_negated_minus_one():
    rng = np.random.default_rng(10)
    A = rng.normal(size=(785, 3))
    B = 5 * A + 2
    B[-1] = 1e6                              # the bias row must be ignored
    np.testing.assert_allclose(dg.column_correlation(A, B), 1)
    np.testing.assert_allclose(dg.column_correlation(A, -A), -1)
    assert dg.column_correlation(A[:, 0], A[:, 0]).shape == (1,)
    with pytest.raises(ValueError, match="same shape"):
        dg.column_correlation(A, A[:, :2])


def test_total_variation_constant_zero_and_known_patterns():
    W = np.ones((785, 2))
    assert np.all(dg.total_variation(W) == 0)
    stripes = np.tile(np.arange(28) % 2, 28).astype(float)    # columns alternate 0, 1
    assert dg.total_variation(np.append(stripes, 0.0))[0] == 28 * 27
    ramp = np.tile(np.arange(28.0), 28)                          # +1 per column step
    assert dg.total_variation(ramp, drop_bias=False)[0] == 28 * 27
    with pytest.raises(ValueError, match="pixels"):
        dg.total_variation(np.ones(100), drop_bias=False)


def test_relative_total_variation_scale_free_and_orders_smooth_below_noise():
    r, c = np.mgrid[:28, :28]
    blob = np.exp(-((r - 14) ** 2 + (c - 14) ** 2) / 40.0).ravel()
    noise = np.random.default_rng(11).normal(size=784)
    W = np.column_stack([blob, noise])
    rel = dg.relative_total_variation(W, drop_bias=False)
    np.testing.assert_allclose(dg.relative_total_variation(3 * W, drop_bias=False), rel)
    assert rel[0] < 0.5 and 2.3 < rel[1] < 3.1


def test_coefficient_range_skips_bias():
    W = np.array([[1.0, -2.0], [0.5, 3.0], [100.0, -100.0]])
    assert dg.coefficient_range(W) == (-2.0, 3.0)
    assert dg.coefficient_range(W, drop_bias=False) == (-100.0, 100.0)


def test_evaluate_snapshots_matches_evaluate_and_sorts_steps():
    X, y = _data(seed=12)
    res = train.fit(X, y, n_classes=4, lr=0.5, max_steps=20, snapshot_steps=(20, 0, 5))
    sc = dg.evaluate_snapshots(res.snapshots, X, y)
    assert list(sc.step) == [0, 5, 20]
    assert np.isclose(sc.loss[0], np.log(4))
    assert (sc.loss[-1], sc.acc[-1]) == train.evaluate(res.W, X, y)


# --- L-BFGS path ------------------------------------------------------------------------------

def _sk_weights(X, y, max_iter, C=np.inf):
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=C, max_iter=max_iter, tol=1e-4).fit(X[:, :-1], y)
    coef = np.vstack([clf.coef_.T, clf.intercept_])          # bias last, as in lrbook
    return coef[:, 0] if coef.shape[1] == 1 else coef


@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_lbfgs_path_iterates_equal_sklearn_max_iter_fits(l2):
    X, y = _data(n=150, d=5, c=3, seed=13)
    path = dg.lbfgs_path(X, y, n_classes=3, l2=l2, max_iter=4)
    C = np.inf if l2 == 0 else 1 / (l2 * len(X))
    for k in (1, 2, 4):
        np.testing.assert_allclose(path.weights[k], _sk_weights(X, y, k, C), rtol=1e-5, atol=1e-7)
    assert path.n_iter == 4 and path.n_evals >= 5 and len(path.loss) == 5
    assert np.isclose(path.loss[0], np.log(3)) and np.all(np.diff(path.loss) < 0)


def test_lbfgs_path_binary_equals_sklearn_and_first_iterate_is_a_scaled_first_step():
    X, y = _data(n=150, d=5, c=2, seed=14)
    path = dg.lbfgs_path(X, y, binary=True, max_iter=3)
    np.testing.assert_allclose(path.weights[3], _sk_weights(X, y, 3), rtol=1e-5, atol=1e-7)
    ratio = path.weights[1] / dg.first_step_weights_binary(X, y, 1.0)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)   # the first iterate is a gradient step
    assert ratio[0] > 0


def test_lbfgs_path_stops_at_convergence_and_reaches_a_stationary_point():
    X, y = _data(n=150, d=5, c=3, seed=15)
    path = dg.lbfgs_path(X, y, l2=0.1, max_iter=500)
    assert path.n_iter < 500
    W = path.weights[path.n_iter]
    assert np.abs(model.cross_entropy_grad(W, X, data.one_hot(y, 3), 0.1)).max() < 1e-4


def test_lbfgs_path_rejects_bad_input():
    X, y = _data()
    with pytest.raises(ValueError, match="max_iter"):
        dg.lbfgs_path(X, y, max_iter=0)
    with pytest.raises(ValueError, match="2-D float"):
        dg.lbfgs_path(X.astype(int), y)
