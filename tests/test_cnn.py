"""Tests for lrbook.cnn: shapes, determinism for a seed, training lowers the loss, errors."""
import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("optax")

from lrbook import cnn  # noqa: E402

SMALL = dict(channels=(2, 4), hidden=8, batch_size=16, lr=5e-3)


def toy(n=96, seed=0):
    """Two classes told apart by where the bright bar is: top half or bottom half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(y):
        r = 5 if c == 0 else 19
        X[i, r:r + 4, 6:22] = 220
    return X.reshape(n, 784), y


def test_shapes():
    X, y = toy()
    params = cnn.init_params(channels=(2, 4), hidden=8, n_classes=3, seed=0)
    assert params["conv1"].shape == (3, 3, 1, 2) and params["dense"].shape == (49 * 4, 8)
    F = cnn.features(params, X, batch_size=40)
    Z = cnn.logits(params, X, batch_size=40)
    assert F.shape == (96, 8) and Z.shape == (96, 3) and F.dtype == np.float32
    assert (F >= 0).all()                                   # after a relu
    assert np.allclose(Z, F @ params["out"] + params["b4"], atol=1e-5)
    # uint8 pixels are scaled to [0, 1] inside
    assert np.allclose(F, cnn.features(params, X.astype(np.float32) / 255), atol=1e-6)


def test_tiny_run_is_bit_identical_for_a_seed():
    X, y = toy()
    kw = dict(SMALL, epochs=2, weight_decay=1e-2, strength=2, n_classes=2)
    a = cnn.train_cnn(X, y, seed=3, **kw)
    b = cnn.train_cnn(X, y, seed=3, **kw)
    c = cnn.train_cnn(X, y, seed=4, **kw)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    assert np.array_equal(a.epoch_loss, b.epoch_loss)
    assert not np.array_equal(a.params["conv1"], c.params["conv1"])


def test_training_learns_the_toy_task():
    X, y = toy(n=192)
    r = cnn.train_cnn(X, y, n_classes=2, epochs=6, seed=0, **SMALL)
    assert r.epoch_loss[-1] < 0.5 * r.epoch_loss[0]
    assert np.mean(cnn.logits(r.params, X).argmax(1) == y) > 0.9


def test_weight_decay_shrinks_weights_not_biases():
    X, y = toy()
    kw = dict(SMALL, epochs=2, n_classes=2, seed=0)
    free = cnn.train_cnn(X, y, weight_decay=0.0, **kw).params
    decayed = cnn.train_cnn(X, y, weight_decay=20.0, **kw).params
    assert np.linalg.norm(decayed["dense"]) < 0.8 * np.linalg.norm(free["dense"])


@pytest.mark.parametrize("kw,match", [
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(lr=0.0), "lr must be"),
    (dict(strength=-1), "strength must be"),
    (dict(augment="zoom", strength=1), "unknown transformation 'zoom'"),
    (dict(batch_size=0), "batch_size"),
    (dict(epochs=0), "epochs"),
])
def test_bad_settings_are_named(kw, match):
    X, y = toy(n=32)
    with pytest.raises(ValueError, match=match):
        cnn.train_cnn(X, y, n_classes=2, **{"batch_size": 16, **kw})


def test_bad_inputs():
    X, y = toy(n=32)
    with pytest.raises(ValueError, match="784"):
        cnn.train_cnn(X[:, :100], y)
    with pytest.raises(ValueError, match="labels must lie"):
        cnn.train_cnn(X, y + 5, n_classes=2)
