import autograd.numpy as anp
import numpy as np
import pytest

from lrbook import model
from lrbook.gradcheck import (GradCheck, check_gradient, gradcheck_table, numerical_grad,
                              relative_error, sample_coordinates)


def _data(n=40, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.normal(size=(n, d - 1)), np.ones((n, 1))])
    y = rng.integers(0, c, size=n)
    return X, y, np.eye(c)[y]


# --- numerical_grad -------------------------------------------------------------------------

def test_numerical_grad_is_exact_for_a_quadratic():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(5, 5))
    A = A + A.T
    x = rng.normal(size=5)
    g = numerical_grad(lambda v: 0.5 * v @ A @ v, x, eps=1e-3)
    # central differences have no truncation error on a quadratic
    np.testing.assert_allclose(g, A @ x, rtol=1e-9, atol=1e-11)


def test_numerical_grad_error_is_second_order_in_eps():
    x = np.array([0.3, -1.2, 2.0])
    exact = 3 * x ** 2
    err = [np.max(np.abs(numerical_grad(lambda v: np.sum(v ** 3), x, eps=h) - exact))
           for h in (1e-2, 1e-3)]
    # truncation error of sum(x^3) is exactly h^2 per coordinate
    assert err[0] == pytest.approx(1e-4, rel=1e-4)
    assert err[1] == pytest.approx(1e-6, rel=1e-3)


def test_numerical_grad_on_matrices_and_coordinate_subsets():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(4, 3))
    f = lambda M: anp.sum(anp.sin(M) * anp.arange(12.0).reshape(4, 3))
    full = numerical_grad(f, W)
    assert full.shape == W.shape
    np.testing.assert_allclose(full, np.cos(W) * np.arange(12.0).reshape(4, 3), atol=1e-8)
    coords = np.array([0, 5, 11])
    np.testing.assert_array_equal(numerical_grad(f, W, coords=coords), full.ravel()[coords])


def test_numerical_grad_leaves_the_weights_alone():
    W = np.arange(6.0).reshape(2, 3)
    before = W.copy()
    numerical_grad(lambda M: np.sum(M ** 2), W)
    np.testing.assert_array_equal(W, before)


@pytest.mark.parametrize("eps", [0.0, -1e-6, np.nan])
def test_numerical_grad_rejects_bad_steps(eps):
    with pytest.raises(ValueError, match="eps"):
        numerical_grad(np.sum, np.ones(3), eps)


def test_numerical_grad_rejects_out_of_range_coordinates():
    with pytest.raises(ValueError, match="coords"):
        numerical_grad(np.sum, np.ones(3), coords=[3])


# --- relative_error and sample_coordinates --------------------------------------------------

def test_relative_error():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([3.0, 4.0], [3.0, 0.0]) == pytest.approx(4 / 5)
    assert relative_error([1.0, 0.0], [0.0, 0.0]) == 1.0
    with pytest.raises(ValueError, match="size"):
        relative_error(np.ones(2), np.ones(3))


def test_sample_coordinates():
    c = sample_coordinates((10, 7), 20, seed=3, include=[69])
    assert np.all(np.diff(c) > 0) and c.min() >= 0 and c.max() == 69
    assert len(c) in (20, 21)
    np.testing.assert_array_equal(c, sample_coordinates((10, 7), 20, seed=3, include=[69]))
    assert not np.array_equal(c, sample_coordinates((10, 7), 20, seed=4, include=[69]))
    with pytest.raises(ValueError, match="n must be"):
        sample_coordinates((2, 2), 5)


# --- check_gradient on the book's models ----------------------------------------------------

@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_check_gradient_accepts_the_library_gradients(l2):
    X, y, Y = _data()
    rng = np.random.default_rng(4)
    W = rng.normal(scale=0.5, size=(X.shape[1], Y.shape[1]))
    res = check_gradient(lambda M: model.cross_entropy(M, X, Y, l2),
                         lambda M: model.cross_entropy_grad(M, X, Y, l2), W, n_coords=None)
    assert isinstance(res, GradCheck) and len(res.coords) == W.size
    assert res.hand_vs_autograd < 1e-13
    assert res.worst < 1e-8
    w = W[:, 0]
    yb = (y == 0).astype(float)
    res = check_gradient(lambda v: model.binary_cross_entropy(v, X, yb, l2),
                         lambda v: model.binary_cross_entropy_grad(v, X, yb, l2), w, n_coords=3,
                         include=[w.size - 1])
    assert w.size - 1 in res.coords
    assert res.worst < 1e-8


def test_check_gradient_catches_a_penalised_bias():
    X, y, Y = _data()
    W = np.random.default_rng(5).normal(size=(X.shape[1], Y.shape[1]))
    wrong = lambda M: model.cross_entropy_grad(M, X, Y) + 0.3 * M     # penalises the bias row too
    res = check_gradient(lambda M: model.cross_entropy(M, X, Y, 0.3), wrong, W, n_coords=None)
    assert res.hand_vs_autograd > 1e-3 and res.hand_vs_numerical > 1e-3
    assert res.autograd_vs_numerical < 1e-8


def test_check_gradient_rejects_a_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        check_gradient(lambda M: anp.sum(M ** 2), lambda M: (2 * M).T, np.ones((2, 3)))


def test_gradcheck_table():
    X, y, Y = _data()
    W = np.random.default_rng(6).normal(size=(X.shape[1], Y.shape[1]))
    res = check_gradient(lambda M: model.cross_entropy(M, X, Y),
                         lambda M: model.cross_entropy_grad(M, X, Y), W, n_coords=4)
    table = gradcheck_table({"no penalty": res, "again": res})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| no penalty |")
    assert f"{res.hand_vs_numerical:.1e}" in lines[2] and lines[2].rstrip().endswith("| 4 |")
