import numpy as np
import pytest

from lrbook import contributions, model, weights


def _data(n=200, d=6, c=4, seed=0):
    rng = np.random.default_rng(seed)
    X = model.add_bias(rng.random((n, d)))
    y = np.arange(n) % c
    W = rng.normal(size=(d + 1, c))
    return X, y, W


def test_per_image_norms_are_the_norms_of_the_gradient_terms():
    X, y, W = _data()
    norms = contributions.per_image_gradient_norms(W, X, y)
    P = model.softmax(X @ W)
    terms = [np.outer(X[i], P[i] - model.one_hot(y, 4)[i]) for i in range(len(y))]
    np.testing.assert_allclose(norms, [np.linalg.norm(t) for t in terms], rtol=1e-12)


def test_binary_norms():
    X, y, W = _data(c=2)
    w = W[:, 0]
    norms = contributions.per_image_gradient_norms(w, X, y)
    np.testing.assert_allclose(norms, np.linalg.norm(X, axis=1) * np.abs(model.sigmoid(X @ w) - y))


def test_shares_of_a_partition_sum_to_one_and_match_the_hardest_share():
    X, y, W = _data()
    loss = model.deviance_from_logits(X @ W, y)
    hard = np.argsort(loss, kind="stable")[len(y) - 20:]
    rest = np.setdiff1d(np.arange(len(y)), hard)
    s = contributions.subset_gradient_share(W, X, y, {"hard": hard, "rest": rest})
    assert np.isclose(s["hard"] + s["rest"], 1)
    ref = weights.hard_example_gradient_share(W, X, y, q=0.1)
    assert np.isclose(s["hard"], ref.magnitude)


def test_typical_and_atypical():
    X, y, _ = _data()
    typ, atyp = contributions.typical_and_atypical(X, y, 4, q=0.1)
    assert len(typ) == len(atyp) == 20 and not np.intersect1d(typ, atyp).size
    assert np.all(np.bincount(y[typ], minlength=4) == 5)
    means, _ = weights.class_means(X[:, :-1], y, 4)
    dist = np.linalg.norm(X[:, :-1] - means.T[y], axis=1)
    for k in range(4):
        assert dist[typ][y[typ] == k].max() <= dist[atyp][y[atyp] == k].min()
    with pytest.raises(ValueError, match="q must be"):
        contributions.typical_and_atypical(X, y, 4, q=0.9)


def test_given_row_norms_give_the_same_shares():
    """Passing the row norms once (many snapshots on the same data) changes no result."""
    X, y, W = _data()
    xn = weights.row_norms(X)
    np.testing.assert_allclose(xn, np.linalg.norm(X, axis=1), rtol=1e-12)
    subsets = {"first": np.arange(50), "odd": np.arange(1, len(y), 2)}
    assert (contributions.subset_gradient_share(W, X, y, subsets, x_norms=xn)
            == pytest.approx(contributions.subset_gradient_share(W, X, y, subsets), rel=1e-12))
    a = weights.hard_example_gradient_share(W, X, y, q=0.1, x_norms=xn)
    b = weights.hard_example_gradient_share(W, X, y, q=0.1)
    assert a.magnitude == pytest.approx(b.magnitude, rel=1e-12)


@pytest.mark.parametrize("binary", [False, True], ids=["softmax", "binary"])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_gradient_shares_of_many_snapshots_equal_one_by_one(binary, dtype, rtol):
    rng = np.random.default_rng(7)
    c = 2 if binary else 4
    X = np.hstack([rng.random((150, 9)), np.ones((150, 1))]).astype(dtype)
    y = rng.integers(0, c, 150)
    shape = (10,) if binary else (10, c)
    Ws = [np.zeros(shape, dtype)] + [rng.standard_normal(shape).astype(dtype) for _ in range(4)]
    subsets = {"first": np.arange(20), "odd": np.arange(1, 150, 2)}
    shares, fixed = contributions.gradient_shares(Ws, X, y, q=0.2, subsets=subsets, chunk=2)
    assert len(shares) == len(fixed) == len(Ws)
    for W, share, sub in zip(Ws, shares, fixed):
        want = weights.hard_example_gradient_share(W, X, y, q=0.2)
        np.testing.assert_allclose(share, want, rtol=rtol)
        want_sub = contributions.subset_gradient_share(W, X, y, subsets)
        assert sub.keys() == want_sub.keys()
        np.testing.assert_allclose(list(sub.values()), list(want_sub.values()), rtol=rtol)
    assert len({round(s.projection, 6) for s in shares}) > 1        # the snapshots differ
