"""Who drives the gradient: per-image contributions to the gradient of the mean loss, and the
share of fixed groups of images (typical and atypical ones) in it.

The gradient of the mean cross-entropy is a sum of one term per image,
:math:`G = \\frac1N \\sum_i x_i (p_i - y_i)^\\top`, and the norm of image :math:`i`'s term is
:math:`\\|x_i\\|\\,\\|p_i - y_i\\|`. :func:`lrbook.weights.hard_example_gradient_share` follows the
images with the highest loss *at each snapshot* (a different set every time); the functions here
follow *fixed* sets of images, chosen once, so that a curve over training is the same images
throughout. Shapes follow :mod:`lrbook.model`.
"""
from __future__ import annotations

import numpy as np

from . import model
from .weights import class_means, gradient_term_norms

__all__ = ["per_image_gradient_norms", "subset_gradient_share", "typical_and_atypical"]


def per_image_gradient_norms(W, X, y, *, x_norms=None):
    r"""Norm of each image's term in the gradient, :math:`\|x_i\|\,\|p_i - y_i\|`, ``(N,)``.

    ``W`` is ``(D, C)`` (softmax) or ``(D,)`` (binary), ``X`` ``(N, D)``, ``y`` integer labels;
    ``x_norms`` ``(N,)`` the row norms of ``X`` (:func:`lrbook.weights.row_norms`), to pass
    when measuring many weights on the same data (computed if not given).
    """
    X = np.asarray(X)
    R = model.residual_from_logits(X @ W, y)                      # (N,) or (N, C)
    return gradient_term_norms(R, X, x_norms)


def subset_gradient_share(W, X, y, subsets, *, x_norms=None):
    r"""Share of the summed per-image gradient norms carried by each subset of images.

    Parameters
    ----------
    W, X, y, x_norms : as in :func:`per_image_gradient_norms`.
    subsets : a mapping name -> index array (or boolean mask) into the rows of ``X``.

    Returns
    -------
    dict name -> float, :math:`\sum_{i \in S}\|x_i\|\|p_i-y_i\| / \sum_i \|x_i\|\|p_i-y_i\|`.
    For a subset holding a fraction ``q`` of images drawn at random, about ``q``.
    """
    norms = per_image_gradient_norms(W, X, y, x_norms=x_norms)
    total = norms.sum()
    return {name: float(norms[idx].sum() / total) for name, idx in subsets.items()}


def typical_and_atypical(X, y, n_classes, *, q=0.1, drop_bias=True):
    """The fraction ``q`` of each class's images nearest to its mean image, and the fraction
    ``q`` farthest from it (Euclidean distance in input space).

    Returns two sorted index arrays ``(typical, atypical)``, each holding ``ceil(q N_k)``
    images of every class ``k``. Deterministic: ties are broken by the stable sort.
    """
    if not 0 < q <= 0.5:
        raise ValueError(f"q must be in (0, 0.5], got {q}")
    X = np.asarray(X)
    y = np.asarray(y)
    F = X[:, :-1] if drop_bias else X
    means, _ = class_means(F, y, n_classes)                       # (D, C)
    dist = np.linalg.norm(F - means.T[y], axis=1)                 # (N,) to own class mean
    typical, atypical = [], []
    for k in range(n_classes):
        members = np.flatnonzero(y == k)
        order = members[np.argsort(dist[members], kind="stable")]
        m = int(np.ceil(q * len(members)))
        typical.append(order[:m])
        atypical.append(order[len(order) - m:])
    return np.sort(np.concatenate(typical)), np.sort(np.concatenate(atypical))
