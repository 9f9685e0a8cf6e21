"""Measurements on weights: the first gradient step in closed form (class means), and what the
weights turn into later (class-mean likeness, roughness, range, and who drives the gradient).

Shapes follow :mod:`lrbook.model`: ``X`` is ``(N, D)`` with the bias column last, softmax
weights ``W`` are ``(D, C)``, binary weights ``w`` are ``(D,)``. Functions that look at weights
*as images* drop the last (bias) row when ``drop_bias`` is true, the default.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import model

__all__ = [
    "class_means", "first_step_weights", "first_step_weights_binary",
    "GradientShare", "hard_example_gradient_share", "hardest", "share_of_hardest",
    "row_norms", "gradient_term_norms",
    "column_correlation", "total_variation", "relative_total_variation",
    "coefficient_range",
]


def class_means(X, y, n_classes):
    r"""Mean input of each class and each class's share of the samples.

    Parameters
    ----------
    X : (N, D) array.
    y : (N,) integer labels in ``0..n_classes-1``.
    n_classes : int, C.

    Returns
    -------
    means : (D, C) array; column k is :math:`\bar x_k`, the mean of the rows of class k
        (zeros for a class without samples).
    shares : (C,) array; :math:`\pi_k = N_k / N`.
    """
    X = np.asarray(X)
    counts = np.bincount(y, minlength=n_classes).astype(X.dtype)   # (C,)
    sums = X.T @ model.one_hot(y, n_classes, dtype=X.dtype)         # (D, C)
    means = sums / np.maximum(counts, 1)
    return means, counts / X.shape[0]


def first_step_weights(X, y, n_classes, lr):
    r"""Softmax weights after one full-batch gradient step from ``W = 0`` (no penalty), in closed form.

    At ``W = 0`` every probability is :math:`1/C`, so the gradient of the mean cross-entropy is
    :math:`\frac1N X^\top(\tfrac1C - Y)` and one step with learning rate :math:`\eta` gives

    .. math:: W_{1,\cdot k} = \eta\,\Big(\pi_k \bar x_k - \frac{\bar x}{C}\Big),

    with :math:`\bar x_k` the mean input of class k, :math:`\pi_k = N_k/N` its share and
    :math:`\bar x` the overall mean. The bias row (the mean of the constant 1) is
    :math:`\eta(\pi_k - 1/C)`. Computed from class means, not from a gradient.

    Parameters
    ----------
    X : (N, D) array, bias column last (any ``X`` works; the bias row is just another row).
    y : (N,) integer labels.
    n_classes : int, C.
    lr : float, the learning rate :math:`\eta`.

    Returns
    -------
    (D, C) array.
    """
    means, shares = class_means(X, y, n_classes)
    overall = np.asarray(X).mean(axis=0)                          # (D,)
    return lr * (shares * means - overall[:, None] / n_classes)


def first_step_weights_binary(X, y, lr):
    r"""Binary weights after one full-batch gradient step from ``w = 0`` (no penalty), in closed form.

    At ``w = 0`` every probability is 1/2, so the gradient of the mean loss is
    :math:`\frac1N X^\top(\tfrac12 - y)` and one step gives

    .. math:: w_1 = \frac{\eta}{2N}\Big(\sum_{i:\,y_i=1} x_i - \sum_{i:\,y_i=0} x_i\Big).

    Parameters
    ----------
    X : (N, D) array.
    y : (N,) labels in {0, 1}.
    lr : float.

    Returns
    -------
    (D,) array.
    """
    X = np.asarray(X)
    pos = np.asarray(y) == 1
    return lr / (2 * X.shape[0]) * (X[pos].sum(axis=0) - X[~pos].sum(axis=0))


class GradientShare(NamedTuple):
    """How much of the gradient comes from the hardest samples (see
    :func:`hard_example_gradient_share`)."""
    projection: float    # <G_hard, G> / ||G||^2: additive share of the gradient's squared norm
    magnitude: float     # sum of per-sample gradient norms, hard samples over all samples
    loss: float          # share of the total loss carried by the hard samples
    q: float             # fraction of samples counted as hard


def row_norms(X):
    """Euclidean norm of each row of ``X`` ``(N, D)``, ``(N,)``, with no ``(N, D)`` temporary
    (``np.linalg.norm(X, axis=1)`` squares a full copy first)."""
    X = np.asarray(X)
    return np.sqrt(np.einsum("nd,nd->n", X, X))


def gradient_term_norms(R, X, x_norms=None):
    r"""Norm of each image's term :math:`x_i (p_i - y_i)^\top` of the gradient,
    :math:`\|x_i\|\,\|p_i - y_i\|`, ``(N,)``, from the residuals ``R`` ``(N,)`` (binary) or
    ``(N, C)`` and the inputs ``X`` ``(N, D)``; ``x_norms`` ``(N,)`` their row norms
    (:func:`row_norms`) if already known, else computed here."""
    r = np.abs(R) if R.ndim == 1 else np.sqrt(np.einsum("nc,nc->n", R, R))
    return (row_norms(X) if x_norms is None else x_norms) * r


def hard_example_gradient_share(W, X, y, *, q=0.1, x_norms=None):
    r"""Share of the (unpenalised) gradient that comes from the fraction ``q`` of highest-loss samples.

    The gradient of the mean loss is a sum of per-sample terms,
    :math:`G = \frac1N\sum_i x_i (p_i - y_i)^\top`, so it splits exactly as
    :math:`G = G_\text{hard} + G_\text{rest}`, where *hard* are the :math:`\lceil qN\rceil`
    samples of highest loss. Two shares are reported:

    * ``projection`` :math:`= \langle G_\text{hard}, G\rangle / \|G\|^2`; with the same quantity
      for the rest it sums to 1, so it is the part of the update's length the hard samples
      account for (it may leave [0, 1] when the two parts point in opposite directions);
    * ``magnitude`` :math:`= \sum_{\text{hard}}\|x_i\|\,\|p_i-y_i\| / \sum_i \|x_i\|\,\|p_i-y_i\|`,
      the hard samples' share of the per-sample gradient norms, in [0, 1].

    For samples drawn at random both would be about ``q``.

    Parameters
    ----------
    W : (D, C) softmax weights or (D,) binary weights.
    X : (N, D) array, bias column last.
    y : (N,) integer labels.
    q : float in (0, 1], fraction of samples counted as hard.
    x_norms : (N,) the row norms of ``X`` (:func:`row_norms`), when measuring many weights
        on the same data; computed if not given.

    Returns
    -------
    GradientShare
    """
    X = np.asarray(X)
    n = X.shape[0]
    Z = X @ W                                                     # logits, (N,) or (N, C)
    loss = model.deviance_from_logits(Z, y)                       # (N,)
    R = model.residual_from_logits(Z, y)                          # (N,) or (N, C): P - Y
    hard = hardest(loss, q)
    G = X.T @ R / n
    G_hard = X[hard].T @ R[hard] / n
    return share_of_hardest(G, G_hard, loss, gradient_term_norms(R, X, x_norms), hard, q)


def hardest(loss, q):
    """Indices of the ``ceil(q N)`` samples of highest ``loss`` ``(N,)``, in increasing order of
    loss (ties broken by the stable sort)."""
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], got {q}")
    n = len(loss)
    return np.argsort(loss, kind="stable")[n - int(np.ceil(q * n)):]


def share_of_hardest(G, G_hard, loss, per_sample, hard, q) -> GradientShare:
    """The :class:`GradientShare` from the gradient ``G``, the hard samples' part of it
    ``G_hard``, the per-sample losses and gradient-term norms ``(N,)`` and the hard indices."""
    return GradientShare(projection=float(np.sum(G_hard * G) / np.sum(G * G)),
                         magnitude=float(per_sample[hard].sum() / per_sample.sum()),
                         loss=float(loss[hard].sum() / loss.sum()), q=float(q))


def _images(W, drop_bias):
    W = np.asarray(W, dtype=float)
    W = W[:, None] if W.ndim == 1 else W
    return W[:-1] if drop_bias else W


def column_correlation(A, B, *, drop_bias=True):
    """Pearson correlation of each column of ``A`` with the same column of ``B``.

    Parameters
    ----------
    A, B : (D, C) or (D,) arrays of the same shape, e.g. weights and class-mean images.
    drop_bias : ignore the last row (the bias) of both.

    Returns
    -------
    (C,) array (a length-1 array for vectors); NaN for a constant column.
    """
    a, b = _images(A, drop_bias), _images(B, drop_bias)
    if a.shape != b.shape:
        raise ValueError(f"A and B must have the same shape, got {np.shape(A)} and {np.shape(B)}")
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a * b, axis=0) / np.sqrt(np.sum(a * a, axis=0) * np.sum(b * b, axis=0))


def total_variation(W, *, side=28, drop_bias=True):
    r"""Anisotropic total variation of each weight image: the sum of absolute differences between
    horizontally and vertically adjacent pixels,
    :math:`\sum |w_{r,c+1}-w_{r,c}| + \sum |w_{r+1,c}-w_{r,c}|`.

    Parameters
    ----------
    W : (D, C) or (D,) weights; after dropping the bias row, D must be ``side**2``.
    side : image side in pixels.
    drop_bias : drop the last row (the bias) first.

    Returns
    -------
    (C,) array (length 1 for a vector).
    """
    im = _images(W, drop_bias)
    if im.shape[0] != side * side:
        raise ValueError(f"expected {side * side} pixels per image, got {im.shape[0]}")
    im = im.T.reshape(-1, side, side)                              # (C, side, side)
    return (np.abs(np.diff(im, axis=2)).sum(axis=(1, 2))
            + np.abs(np.diff(im, axis=1)).sum(axis=(1, 2)))


def relative_total_variation(W, *, side=28, drop_bias=True):
    r"""Total variation divided by the image's L1 norm :math:`\sum|w|`: a roughness that does not
    change when the image is scaled. Well below 1 for a smooth image; about 2.7 for white noise
    (each of the ~2·side² differences of two independent Gaussians has mean absolute value
    :math:`\sqrt2` times a pixel's). NaN for an all-zero image.
    """
    l1 = np.abs(_images(W, drop_bias)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total_variation(W, side=side, drop_bias=drop_bias) / l1


def coefficient_range(W, *, drop_bias=True):
    """``(min, max)`` of the weights, bias row excluded by default."""
    im = _images(W, drop_bias)
    return float(im.min()), float(im.max())
