"""Label-preserving image transformations with one strength parameter (data augmentation).

Images are rows of ``X`` ``(N, side * side)`` (uint8 pixels 0..255 or floats), the layout of
:mod:`lrbook.data`; the result has the shape and dtype of ``X``. Every transformation draws its
random parameters, one set per image, from ``np.random.default_rng(seed)``; strength 0 returns
an unchanged copy. The kinds, and what ``strength`` means for each:

``"translate"``
    shift each image by ``(dy, dx)``, both drawn uniformly from the integers ``-k..k`` with
    ``k = strength``, filling the uncovered border with zeros (the background). This is the
    "random crop with padding" used for small images (pad ``k`` pixels, crop back to the
    original size at a random position), the small-image counterpart of the random crops of
    Balestriero et al. (2022). The objects of Fashion-MNIST are centred and scaled to fill the
    frame, so a shift of a few pixels keeps the whole garment, and its label, in view.
``"rotate"``
    rotate each image about its centre by an angle drawn uniformly from ``[-strength,
    strength]`` degrees (bilinear interpolation, zero fill).
``"crop"``
    random resized crop: a square of side ``s * side`` with ``s`` uniform in
    ``[1 - strength, 1]``, at a uniformly random position inside the image, is resized back to
    ``side x side`` (bilinear): a zoom-in that may cut off the garment's edges.
    ``0 <= strength < 1``.
``"flip"``
    mirror each image left-right with probability ``strength`` (``0 <= strength <= 1``). A
    mirrored garment is still the same garment, so flips preserve every Fashion-MNIST label
    (they would not for digits).
"""
from __future__ import annotations

import numpy as np

__all__ = ["KINDS", "augment", "augmented_copies"]

KINDS = ("translate", "rotate", "crop", "flip")


def _check(X, kind, strength, side):
    X = np.asarray(X)
    if kind not in KINDS:
        raise ValueError(f"unknown transformation {kind!r}; choose one of {', '.join(KINDS)}")
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number >= 0, got {strength}")
    if kind == "translate" and strength != int(strength):
        raise ValueError(f"translate takes a whole number of pixels, got strength {strength}")
    if kind == "crop" and strength >= 1:
        raise ValueError(f"crop needs 0 <= strength < 1 (share of the side cut), got {strength}")
    if kind == "flip" and strength > 1:
        raise ValueError(f"flip takes a probability 0 <= strength <= 1, got {strength}")
    if X.ndim != 2 or X.shape[1] != side * side:
        raise ValueError(f"X must be (N, {side * side}) images of {side}x{side} pixels, "
                         f"got shape {X.shape}")
    return X


def _translate(imgs, k, rng):
    """Integer shifts in -k..k, zero fill: pad by k, cut a window at a random offset."""
    n, side, _ = imgs.shape
    pad = np.pad(imgs, ((0, 0), (k, k), (k, k)))                   # (N, side+2k, side+2k)
    dy, dx = rng.integers(-k, k + 1, size=(2, n))
    rows = np.arange(side)[None, :] + (k - dy)[:, None]             # (N, side)
    cols = np.arange(side)[None, :] + (k - dx)[:, None]
    return pad[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _sample(imgs, src_y, src_x):
    """Bilinear interpolation of ``imgs`` (N, S, S) at source coordinates (N, S, S), zero
    outside the image."""
    n, side, _ = imgs.shape
    f = imgs.astype(np.float32)
    y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
    wy, wx = (src_y - y0).astype(np.float32), (src_x - x0).astype(np.float32)
    out = np.zeros(src_y.shape, dtype=np.float32)
    idx = np.arange(n)[:, None, None]
    for dy, fy in ((0, 1 - wy), (1, wy)):
        for dx, fx in ((0, 1 - wx), (1, wx)):
            yy, xx = y0 + dy, x0 + dx
            inside = (yy >= 0) & (yy < side) & (xx >= 0) & (xx < side)
            val = f[idx, np.clip(yy, 0, side - 1), np.clip(xx, 0, side - 1)]
            out += np.where(inside, val, 0.0) * fy * fx
    return out


def _rotate(imgs, degrees, rng):
    n, side, _ = imgs.shape
    theta = np.deg2rad(rng.uniform(-degrees, degrees, size=n))[:, None, None]
    c = (side - 1) / 2
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64) - c       # output grid, centred
    # each output pixel reads the input at the inversely rotated position
    src_y = np.cos(theta) * yy - np.sin(theta) * xx + c
    src_x = np.sin(theta) * yy + np.cos(theta) * xx + c
    return _sample(imgs, src_y, src_x)


def _crop(imgs, cut, rng):
    n, side, _ = imgs.shape
    s = rng.uniform(1 - cut, 1, size=n) * side                       # crop side in pixels
    top = rng.uniform(0, 1, size=n) * (side - s)
    left = rng.uniform(0, 1, size=n) * (side - s)
    g = (np.arange(side) + 0.5) / side                               # output pixel centres
    scale = s[:, None, None]
    src_y = top[:, None, None] + g[None, :, None] * scale - 0.5
    src_x = left[:, None, None] + g[None, None, :] * scale - 0.5
    src_y, src_x = np.broadcast_arrays(src_y, src_x)
    return _sample(imgs, src_y, src_x)


def _flip(imgs, p, rng):
    out = imgs.copy()
    mirror = rng.random(len(imgs)) < p
    out[mirror] = imgs[mirror, :, ::-1]
    return out


def augment(X, *, kind="translate", strength, seed, side=28):
    """Apply one random, label-preserving transformation to every image.

    Parameters
    ----------
    X : (N, side * side) images, uint8 or float.
    kind : ``"translate"``, ``"rotate"``, ``"crop"`` or ``"flip"`` (module docstring).
    strength : the one strength parameter of ``kind`` (pixels, degrees, share of the side,
        probability); 0 is the identity.
    seed : int or ``np.random.Generator``, passed to ``np.random.default_rng`` (a Generator is
        used as is, so a training loop can draw a new augmentation each epoch from one stream).
    side : image side in pixels.

    Returns
    -------
    (N, side * side) array, the dtype of ``X`` (interpolated values rounded back for uint8).
    """
    X = _check(X, kind, strength, side)
    if strength == 0:
        return X.copy()
    rng = np.random.default_rng(seed)
    imgs = X.reshape(len(X), side, side)
    if kind == "translate":
        out = _translate(imgs, int(strength), rng)
    elif kind == "flip":
        out = _flip(imgs, strength, rng)
    else:
        out = (_rotate if kind == "rotate" else _crop)(imgs, strength, rng)
        if np.issubdtype(X.dtype, np.integer):
            info = np.iinfo(X.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
    return out.reshape(X.shape).astype(X.dtype, copy=False)


def augmented_copies(X, y, *, copies, kind="translate", strength, seed, side=28):
    """A fixed augmented training set for a full-batch fit: ``copies`` independently
    augmented versions of ``(X, y)`` stacked, ``(copies * N, side * side)`` and
    ``(copies * N,)``. With strength 0 every copy is ``X``, and the mean loss is that of
    ``(X, y)`` itself."""
    if int(copies) != copies or copies < 1:
        raise ValueError(f"copies must be a whole number >= 1, got {copies}")
    _check(X, kind, strength, side)
    rng = np.random.default_rng(seed)
    Xs = [augment(X, kind=kind, strength=strength, seed=rng, side=side) for _ in range(copies)]
    return np.concatenate(Xs), np.tile(np.asarray(y), int(copies))
