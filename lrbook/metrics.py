"""Scoring, in one place: loss and accuracy of weights, of many snapshots at once, of slices of
a data set, and per-class measures (recall, precision, deviance, one-vs-all AUC).

Shapes follow :mod:`lrbook.model`. Per-class measures take log class probabilities
``log_proba`` of shape ``(N, C)`` for one model or ``(P, N, C)`` for ``P`` models (e.g. the
models of a regularisation path, see :func:`lrbook.paths.path_log_proba`), true labels ``y``
``(N,)``, and return ``(C,)`` or ``(P, C)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _kernels, model

__all__ = ["evaluate", "evaluate_many", "SnapshotScores", "evaluate_snapshots", "slice_scores",
           "accuracy", "confusion_matrix", "sample_deviance", "sample_correct",
           "per_class_deviance", "per_class_recall", "per_class_precision", "one_vs_all_auc"]


# --- loss and accuracy of weights -------------------------------------------------------------

def evaluate(W, X, y):
    """Mean deviance (unpenalised loss) and accuracy of weights ``W`` on ``(X, y)``."""
    Z = X @ W                                            # one product serves both measures
    dev = model.deviance_from_logits(Z, y)
    return float(np.mean(dev)), float(np.mean(model.labels_from_logits(Z) == y))


def evaluate_many(Ws, X, y, *, chunk=32):
    """Mean deviance and accuracy of each weight snapshot on ``(X, y)``: two ``(S,)`` arrays.

    ``Ws`` is a sequence of ``S`` weights (all binary ``(D,)`` or all softmax ``(D, C)``). Gives
    what :func:`evaluate` gives for each, but scores ``chunk`` snapshots with one matrix product
    ``X @ [W_1 ... W_chunk]``, which on MNIST is about ten times faster than ``S`` separate
    passes over ``X``.
    """
    Ws = np.stack([np.asarray(W) for W in Ws])          # (S, D) or (S, D, C)
    y = np.asarray(y)
    n, S = len(X), len(Ws)
    loss, acc = np.empty(S), np.empty(S)
    for a in range(0, S, chunk):
        B = Ws[a:a + chunk]
        k = len(B)
        if B.ndim == 2:                                   # binary: logits (N, k)
            Z = X @ B.T
            dev = model.binary_deviance(Z, y[:, None])
            hit = (Z > 0) == (y[:, None] == 1)
        else:                                             # softmax: logits (N, k, C)
            d, c = B.shape[1:]
            Z = (X @ B.transpose(1, 0, 2).reshape(d, k * c)).reshape(n, k, c)
            sums = _kernels.softmax_scores(Z, y) if n else None
            if sums is not None:                          # one compiled pass over Z
                loss[a:a + k], acc[a:a + k] = sums[0] / n, sums[1] / n
                continue
            dev = model.softmax_deviance(Z, y)            # (N, k)
            hit = Z.argmax(axis=2) == y[:, None]
        loss[a:a + k], acc[a:a + k] = dev.mean(axis=0), hit.mean(axis=0)
    return loss, acc


class SnapshotScores(NamedTuple):
    """Loss and accuracy of each weight snapshot on one data set, steps in increasing order."""
    step: np.ndarray
    loss: np.ndarray
    acc: np.ndarray


def evaluate_snapshots(snapshots, X, y):
    """Mean deviance and accuracy of every snapshot (a ``{step: W}`` dict, as in
    ``lrbook.train.FitResult.snapshots``) on ``(X, y)``.

    Returns
    -------
    SnapshotScores
    """
    steps = np.array(sorted(snapshots))
    loss, acc = evaluate_many([snapshots[s] for s in steps], X, y)
    return SnapshotScores(step=steps, loss=loss, acc=acc)


def slice_scores(W, X, y, *, size):
    """Loss and accuracy of ``W`` on consecutive slices of ``size`` rows of ``(X, y)``.

    Returns ``(starts, losses, accuracies)``, three arrays with one entry per complete slice.
    """
    if not 0 < size <= len(X):
        raise ValueError(f"size must be in 1..{len(X)}, got {size}")
    starts = np.arange(0, len(X) - size + 1, size)
    scores = np.array([evaluate(W, X[s:s + size], y[s:s + size]) for s in starts])
    return starts, scores[:, 0], scores[:, 1]


# --- labels -----------------------------------------------------------------------------------

def accuracy(y_true, y_pred):
    """Fraction of samples whose predicted label equals the true one."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def confusion_matrix(y_true, y_pred, n_classes):
    """``(C, C)`` counts; row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.bincount(n_classes * y_true + y_pred,
                       minlength=n_classes ** 2).reshape(n_classes, n_classes)


# --- per sample and per class, from log probabilities ----------------------------------------

def _class_means(values, y, n_classes):
    """Mean of ``values`` (..., N) over the samples of each class -> (..., C)."""
    Yoh = model.one_hot(y, n_classes)                                 # (N, C)
    return (values @ Yoh) / Yoh.sum(axis=0)


def sample_deviance(log_proba, y):
    """Negative log-likelihood of the true label, ``(..., N, C) -> (..., N)``."""
    return -log_proba[..., np.arange(len(y)), y]


def sample_correct(log_proba, y):
    """1.0 where the most probable class is the true one, else 0.0: ``(..., N, C) -> (..., N)``."""
    return (np.argmax(log_proba, axis=-1) == y).astype(np.float64)


def per_class_deviance(log_proba, y, n_classes):
    """Mean deviance of the samples of each class, ``(..., C)``.

    .. math:: \\mathrm{dev}_k = -\\frac{1}{N_k} \\sum_{i: y_i = k} \\log p_{i, k}
    """
    return _class_means(sample_deviance(log_proba, y), y, n_classes)


def per_class_recall(log_proba, y, n_classes):
    """Per-class accuracy (recall), ``(..., C)``: the share of class ``k`` predicted as ``k``
    (NaN for a class without samples)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _class_means(sample_correct(log_proba, y), y, n_classes)


def per_class_precision(log_proba, y, n_classes):
    """Per-class precision, ``(..., C)``: the share of predictions of ``k`` that are right
    (NaN for a class never predicted)."""
    pred = np.argmax(log_proba, axis=-1)                             # (..., N)
    Poh = np.eye(n_classes)[pred]                                    # (..., N, C)
    right = (pred == y)[..., None] * Poh
    with np.errstate(invalid="ignore", divide="ignore"):
        return right.sum(axis=-2) / Poh.sum(axis=-2)


def one_vs_all_auc(log_proba, y, n_classes):
    """Area under the ROC curve of "class k versus the rest", scored by ``p_k``, ``(..., C)``.

    The one-versus-all view of Balestriero et al. (2022) judges each output on its own: how well
    class ``k``'s probability separates class ``k`` from every other class. The AUC (the
    probability that a random sample of ``k`` scores higher than a random other sample; ties
    count one half) needs no threshold, which a 10 %-positive binary accuracy would. Computed
    from ranks (Mann-Whitney).
    """
    from scipy.stats import rankdata
    lp = np.asarray(log_proba)
    out = np.empty(lp.shape[:-2] + (n_classes,))
    for k in range(n_classes):
        pos = y == k
        n_pos, n_neg = pos.sum(), (~pos).sum()
        r = rankdata(lp[..., k], axis=-1)                            # (..., N), average ties
        out[..., k] = (r[..., pos].sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out
