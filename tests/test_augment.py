"""Tests for lrbook.augment: shapes, identity at strength 0, reproducibility, label geometry."""
import numpy as np
import pytest

from lrbook.augment import KINDS, augment, augmented_copies

STRENGTH = {"translate": 3, "rotate": 20.0, "crop": 0.3, "flip": 0.5}


def images(n=12, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 28, 28), dtype=dtype)
    X[:, 6:22, 8:20] = rng.integers(50, 256, size=(n, 16, 12)).astype(dtype)
    return X.reshape(n, 784)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_shape_dtype_and_seed(kind, dtype):
    X = images(dtype=dtype)
    A = augment(X, kind=kind, strength=STRENGTH[kind], seed=1)
    assert A.shape == X.shape and A.dtype == X.dtype
    assert np.array_equal(A, augment(X, kind=kind, strength=STRENGTH[kind], seed=1))
    assert not np.array_equal(A, augment(X, kind=kind, strength=STRENGTH[kind], seed=2))
    assert not np.array_equal(A, X)


@pytest.mark.parametrize("kind", KINDS)
def test_zero_strength_is_identity_and_a_copy(kind):
    X = images()
    A = augment(X, kind=kind, strength=0, seed=0)
    assert np.array_equal(A, X) and A is not X


def test_translate_is_a_shift_with_zero_fill():
    X = images(n=200)
    A = augment(X, kind="translate", strength=2, seed=0).reshape(-1, 28, 28)
    I = X.reshape(-1, 28, 28)
    for a, img in zip(A, I):
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                  if np.array_equal(a, np.roll(img, (dy, dx), axis=(0, 1)))]
        assert shifts                      # the object is away from the border: roll == shift
    # every one of the 25 shifts is drawn
    seen = {tuple(np.argwhere(a > 0).min(axis=0) - [6, 8]) for a in A}
    assert len(seen) == 25


def test_translate_fills_with_zeros_at_the_border():
    X = np.full((50, 784), 7, dtype=np.uint8)
    A = augment(X, kind="translate", strength=3, seed=0).reshape(-1, 28, 28)
    assert set(np.unique(A)) <= {0, 7} and (A == 0).any()
    # the zeros form whole rows and columns at the edges, at most 3 of each
    for a in A:
        rows, cols = np.flatnonzero((a == 7).any(1)), np.flatnonzero((a == 7).any(0))
        assert len(rows) >= 25 and len(cols) >= 25


def test_flip_mirrors_left_right():
    X = images(n=100)
    A = augment(X, kind="flip", strength=1.0, seed=0).reshape(-1, 28, 28)
    assert np.array_equal(A, X.reshape(-1, 28, 28)[:, :, ::-1])
    half = augment(X, kind="flip", strength=0.5, seed=0)
    flipped = (half != X).any(axis=1).mean()
    assert 0.3 < flipped < 0.7


def test_rotate_small_angle_is_close_and_preserves_mass():
    X = images(n=20, dtype=np.float32)
    A = augment(X, kind="rotate", strength=0.5, seed=0)
    assert np.abs(A - X).mean() < 0.05 * X.mean() * 10
    B = augment(X, kind="rotate", strength=15, seed=0)
    assert np.allclose(B.sum(1), X.sum(1), rtol=0.05)   # object well inside: mass kept


def test_crop_zooms_in():
    X = images(n=50, dtype=np.float32)
    A = augment(X, kind="crop", strength=0.4, seed=0)
    # a zoom makes the object larger: more non-zero pixels on average
    assert (A > 1).sum() > (X > 1).sum()


def test_generator_seed_continues_the_stream():
    X = images()
    rng = np.random.default_rng(5)
    a1 = augment(X, kind="translate", strength=2, seed=rng)
    a2 = augment(X, kind="translate", strength=2, seed=rng)
    assert not np.array_equal(a1, a2)
    rng = np.random.default_rng(5)
    assert np.array_equal(a1, augment(X, kind="translate", strength=2, seed=rng))


def test_augmented_copies():
    X, y = images(n=10), np.arange(10)
    Xa, ya = augmented_copies(X, y, copies=3, strength=2, seed=0)
    assert Xa.shape == (30, 784) and np.array_equal(ya, np.tile(y, 3))
    assert not np.array_equal(Xa[:10], Xa[10:20])
    X0, _ = augmented_copies(X, y, copies=2, strength=0, seed=0)
    assert np.array_equal(X0, np.vstack([X, X]))
    with pytest.raises(ValueError, match="copies"):
        augmented_copies(X, y, copies=0, strength=1, seed=0)


@pytest.mark.parametrize("kind,strength,match", [
    ("translate", -1, "strength must be"),
    ("rotate", -0.5, "strength must be"),
    ("translate", 1.5, "whole number"),
    ("crop", 1.0, "crop needs"),
    ("flip", 1.5, "probability"),
    ("shear", 1, "unknown transformation 'shear'"),
])
def test_bad_settings_are_named(kind, strength, match):
    with pytest.raises(ValueError, match=match):
        augment(images(), kind=kind, strength=strength, seed=0)


def test_bad_shape():
    with pytest.raises(ValueError, match="784"):
        augment(np.zeros((3, 100)), strength=1, seed=0)
