import numpy as np
import pytest

from lrbook import model, train, weights


def _data(n=120, d=6, c=4, seed=0, balanced=False):
    rng = np.random.default_rng(seed)
    X = model.add_bias(rng.random((n, d)))
    y = np.arange(n) % c if balanced else rng.integers(0, c, n)
    return X, y


# --- class means and the first step ----------------------------------------------------------

def test_class_means_and_shares():
    X, y = _data()
    means, shares = weights.class_means(X, y, 4)
    for k in range(4):
        np.testing.assert_allclose(means[:, k], X[y == k].mean(axis=0))
        assert shares[k] == np.mean(y == k)
    assert means.shape == (X.shape[1], 4) and np.isclose(shares.sum(), 1)


def test_class_means_empty_class_is_zero():
    X, y = _data(c=3)
    means, shares = weights.class_means(X, y, 5)
    assert np.all(means[:, 3:] == 0) and np.all(shares[3:] == 0)


@pytest.mark.parametrize("lr", [0.1, 0.7])
def test_first_step_equals_one_step_of_fit(lr):
    X, y = _data(c=4, seed=1)
    res = train.fit(X, y, n_classes=4, lr=lr, max_steps=1, batch_size=None)
    np.testing.assert_allclose(weights.first_step_weights(X, y, 4, lr), res.W, rtol=1e-12, atol=1e-15)


def test_first_step_equals_minus_lr_times_gradient_at_zero():
    X, y = _data(c=3, seed=2)
    G = model.cross_entropy_grad(np.zeros((X.shape[1], 3)), X, model.one_hot(y, 3))
    np.testing.assert_allclose(weights.first_step_weights(X, y, 3, 0.5), -0.5 * G, atol=1e-15)


def test_first_step_bias_row_is_share_minus_uniform():
    X, y = _data(c=4, seed=3)
    W1 = weights.first_step_weights(X, y, 4, 2.0)
    _, shares = weights.class_means(X, y, 4)
    np.testing.assert_allclose(W1[-1], 2.0 * (shares - 0.25))


def test_first_step_balanced_is_scaled_mean_difference():
    X, y = _data(c=4, balanced=True)
    W1 = weights.first_step_weights(X, y, 4, 1.0)
    means, _ = weights.class_means(X, y, 4)
    np.testing.assert_allclose(W1, (means - X.mean(axis=0)[:, None]) / 4, atol=1e-15)
    assert np.allclose(W1[-1], 0)


def test_first_step_minibatch_uses_batch_counts():
    X, y = _data(n=200, c=3, seed=4)
    res = train.fit(X, y, n_classes=3, lr=0.3, max_steps=1, batch_size=32, seed=5)
    idx = np.random.default_rng(5).permutation(len(X))[:32]   # the trainer's first batch
    np.testing.assert_allclose(weights.first_step_weights(X[idx], y[idx], 3, 0.3), res.W, atol=1e-14)
    assert not np.allclose(weights.first_step_weights(X, y, 3, 0.3), res.W)


def test_first_step_binary_equals_fit_and_footnote_form():
    X, y = _data(c=2, seed=6)
    res = train.fit(X, y, binary=True, lr=0.4, max_steps=1, batch_size=None)
    w1 = weights.first_step_weights_binary(X, y, 0.4)
    np.testing.assert_allclose(w1, res.W, atol=1e-15)
    pos, neg = X[y == 1].sum(axis=0), X[y == 0].sum(axis=0)
    np.testing.assert_allclose(w1, 0.4 * (pos - neg) / (2 * len(X)))


# --- gradient share ---------------------------------------------------------------------------

def test_gradient_share_at_full_q_is_one():
    X, y = _data(seed=7)
    W = np.random.default_rng(0).normal(size=(X.shape[1], 4))
    s = weights.hard_example_gradient_share(W, X, y, q=1.0)
    assert np.isclose(s.projection, 1) and np.isclose(s.magnitude, 1) and np.isclose(s.loss, 1)


def test_gradient_share_parts_sum_to_one_and_match_fit_gradient():
    X, y = _data(n=300, seed=8)
    W = np.random.default_rng(1).normal(size=(X.shape[1], 4))
    loss = model.deviance_per_sample(W, X, y)
    hard = np.argsort(loss)[-30:]
    G = model.cross_entropy_grad(W, X, model.one_hot(y, 4))
    Gh = model.cross_entropy_grad(W, X[hard], model.one_hot(y[hard], 4)) * 30 / 300
    s = weights.hard_example_gradient_share(W, X, y, q=0.1)
    np.testing.assert_allclose(s.projection, np.sum(Gh * G) / np.sum(G * G))
    assert s.magnitude > 0.1 and s.loss > 0.1   # the hardest 10 % weigh more than 10 %


def test_gradient_share_binary_dominated_by_misfit_samples():
    rng = np.random.default_rng(9)
    X = model.add_bias(rng.normal(size=(500, 3)))
    w = np.array([10.0, 0.0, 0.0, 0.0])
    y = (X[:, 0] > 0).astype(int)
    far = np.argsort(np.abs(X[:, 0]))[-25:]
    y[far] = 1 - y[far]                       # 5 % confidently wrong: they carry the gradient
    s = weights.hard_example_gradient_share(w, X, y, q=0.05)
    assert s.magnitude > 0.5 and s.projection > 0.5


def test_gradient_share_rejects_bad_q():
    X, y = _data()
    with pytest.raises(ValueError, match="q must be"):
        weights.hard_example_gradient_share(np.zeros((X.shape[1], 4)), X, y, q=0)


# --- images -----------------------------------------------------------------------------------

def test_correlation_of_scaled_images_is_one_and_of_negated_minus_one():
    rng = np.random.default_rng(10)
    A = rng.normal(size=(785, 3))
    B = 5 * A + 2
    B[-1] = 1e6                              # the bias row must be ignored
    np.testing.assert_allclose(weights.column_correlation(A, B), 1)
    np.testing.assert_allclose(weights.column_correlation(A, -A), -1)
    assert weights.column_correlation(A[:, 0], A[:, 0]).shape == (1,)
    with pytest.raises(ValueError, match="same shape"):
        weights.column_correlation(A, A[:, :2])


def test_total_variation_constant_zero_and_known_patterns():
    W = np.ones((785, 2))
    assert np.all(weights.total_variation(W) == 0)
    stripes = np.tile(np.arange(28) % 2, 28).astype(float)    # columns alternate 0, 1
    assert weights.total_variation(np.append(stripes, 0.0))[0] == 28 * 27
    ramp = np.tile(np.arange(28.0), 28)                          # +1 per column step
    assert weights.total_variation(ramp, drop_bias=False)[0] == 28 * 27
    with pytest.raises(ValueError, match="pixels"):
        weights.total_variation(np.ones(100), drop_bias=False)


def test_relative_total_variation_scale_free_and_orders_smooth_below_noise():
    r, c = np.mgrid[:28, :28]
    blob = np.exp(-((r - 14) ** 2 + (c - 14) ** 2) / 40.0).ravel()
    noise = np.random.default_rng(11).normal(size=784)
    W = np.column_stack([blob, noise])
    rel = weights.relative_total_variation(W, drop_bias=False)
    np.testing.assert_allclose(weights.relative_total_variation(3 * W, drop_bias=False), rel)
    assert rel[0] < 0.5 and 2.3 < rel[1] < 3.1


def test_coefficient_range_skips_bias():
    W = np.array([[1.0, -2.0], [0.5, 3.0], [100.0, -100.0]])
    assert weights.coefficient_range(W) == (-2.0, 3.0)
    assert weights.coefficient_range(W, drop_bias=False) == (-100.0, 100.0)




# --- L-BFGS path ------------------------------------------------------------------------------
