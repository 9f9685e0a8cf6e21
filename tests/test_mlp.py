"""Tests for lrbook.mlp: autograd gradient against finite differences, training lowers the
loss, feature shapes, determinism."""
import numpy as np
from autograd import grad

from lrbook import mlp


def _blobs(n=400, d=5, c=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = rng.normal(scale=3.0, size=(c, d))[y] + rng.normal(size=(n, d))
    return X.astype(dtype), y


def test_gradient_matches_finite_differences():
    X, y = _blobs(n=20, d=4, dtype=np.float64)
    Y = np.eye(3)[y]
    params = mlp.init_params((4, 6, 5, 3), seed=1, dtype=np.float64)
    params = [(W, b + 0.1) for W, b in params]            # non-zero biases, ReLUs not at 0
    g = grad(mlp.loss)(params, X, Y)
    eps = 1e-6
    for layer in range(3):
        for which in range(2):
            arr = params[layer][which]
            G = g[layer][which]
            for flat in [0, arr.size // 2, arr.size - 1]:
                i = np.unravel_index(flat, arr.shape)
                old = arr[i]
                arr[i] = old + eps
                up = mlp.loss(params, X, Y)
                arr[i] = old - eps
                down = mlp.loss(params, X, Y)
                arr[i] = old
                assert abs((up - down) / (2 * eps) - G[i]) < 1e-6 * max(1.0, abs(G[i]))


def test_training_lowers_loss_and_learns():
    X, y = _blobs()
    r = mlp.train_mlp(X, y, n_classes=int(y.max()) + 1, hidden=(16, 8), epochs=5, batch_size=32, lr=1e-2, seed=0)
    assert r.epoch_loss.shape == (5,) and r.epoch_loss[-1] < 0.5 * r.epoch_loss[0]
    assert r.train_acc[-1] > 0.95
    assert np.mean(mlp.predict(r.params, X) == y) == r.train_acc[-1]


def test_features_shape_and_sign():
    X, y = _blobs()
    params = mlp.init_params((5, 16, 8, 3), seed=0)
    F = mlp.features(params, X)
    assert F.shape == (len(X), 8) and F.dtype == np.float32
    assert np.all(F >= 0)
    # logits are the output layer applied to the features
    V, c = params[-1]
    np.testing.assert_allclose(mlp.logits(params, X), F @ V + c, rtol=1e-5)


def test_seeded_and_deterministic():
    X, y = _blobs()
    a = mlp.train_mlp(X, y, n_classes=int(y.max()) + 1, hidden=(8,), epochs=2, batch_size=50, seed=4)
    b = mlp.train_mlp(X, y, n_classes=int(y.max()) + 1, hidden=(8,), epochs=2, batch_size=50, seed=4)
    c = mlp.train_mlp(X, y, n_classes=int(y.max()) + 1, hidden=(8,), epochs=2, batch_size=50, seed=5)
    for (Wa, ba), (Wb, bb) in zip(a.params, b.params):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    assert not np.array_equal(a.params[0][0], c.params[0][0])
