"""Binary and multinomial (softmax) logistic regression: losses and gradients.

Shape convention, used everywhere in ``lrbook``
-----------------------------------------------
* ``X`` is ``(n_samples, n_features)``. Its **last column is the bias input**, a column of ones
  (see :func:`add_bias`), so the bias is the last row of the weights.
* Softmax model: ``W`` is ``(n_features, n_classes)``, ``Y`` is one-hot ``(n_samples, n_classes)``,
  logits ``Z = X @ W`` are ``(n_samples, n_classes)``.
* Binary model: ``w`` is ``(n_features,)``, ``y`` is ``(n_samples,)`` with values in {0, 1},
  logits ``z = X @ w`` are ``(n_samples,)``.
* Loss = mean over samples of the negative log-likelihood **plus** ``(l2 / 2) * ||W[:-1]||^2``:
  the penalty covers every weight row **except the bias row**, which is never penalised.
  ``l2`` may be a scalar, or for the softmax model an array of shape ``(n_classes,)`` giving one
  penalty per class (column of ``W``).

Layers (as scikit-learn splits ``sklearn/_loss`` from ``linear_model/_linear_loss.py``):

1. *pointwise*, from logits: :func:`binary_deviance`, :func:`softmax_deviance` (per-sample
   negative log-likelihood) and :func:`residual_from_logits` (``P - Y``, the derivative of the
   deviance with respect to the logits). Every other module composes these instead of writing
   ``logaddexp`` or a log-sum-exp again;
2. *linear*: the losses and gradients of ``X @ W``, which lift the pointwise pieces once
   (``X.T @ residual / N + l2 * W``). :func:`softmax_step` (and :func:`cross_entropy_and_grad`)
   is the documented fast path (one pass over ``X``, compiled when numba is there); the others
   compose the pointwise functions.

The loss functions are written with ``autograd.numpy`` so that ``autograd.grad`` can
differentiate them; the hand-derived gradients use plain NumPy and are what the trainer runs.
Everything is numerically stable: logits of +-1e4 give finite losses and gradients.
Inner functions trust their inputs; public entry points validate once (:mod:`lrbook._checks`).
"""
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np

__all__ = [
    "one_hot", "add_bias",
    "sigmoid", "softmax", "log_softmax", "logsumexp",
    "binary_deviance", "softmax_deviance", "residual_from_logits",
    "binary_cross_entropy", "binary_cross_entropy_grad", "binary_cross_entropy_and_grad",
    "cross_entropy", "cross_entropy_grad", "cross_entropy_and_grad",
    "Step", "softmax_step", "binary_step",
    "l2_penalty", "predict_proba", "predict", "deviance_per_sample",
    "labels_from_logits", "deviance_from_logits",
]


def one_hot(y, n_classes, dtype=np.float64):
    """Integer labels ``(N,)`` to one-hot targets ``(N, n_classes)``."""
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got range {y.min()}..{y.max()}")
    Y = np.zeros((len(y), n_classes), dtype=dtype)
    Y[np.arange(len(y)), y] = 1
    return Y


def add_bias(X):
    """Append the bias input, a column of ones: ``(N, D) -> (N, D + 1)`` (the bias is last)."""
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), written as (1 + tanh(z/2)) / 2: it cannot overflow."""
    return 0.5 * (1.0 + anp.tanh(0.5 * z))


def logsumexp(Z):
    """log(sum_k exp(Z[..., k])) over the last (class) axis, shifted by the maximum for
    stability, kept as a length-1 axis: ``(N, C) -> (N, 1)``, ``(N, S, C) -> (N, S, 1)``."""
    m = anp.max(Z, axis=-1, keepdims=True)
    return m + anp.log(anp.sum(anp.exp(Z - m), axis=-1, keepdims=True))


def log_softmax(Z):
    """log softmax over the last axis of logits ``Z`` ``(..., C)``; stable for any finite logits."""
    return Z - logsumexp(Z)


# --- pointwise: per-sample deviance and residual from logits ----------------------------------

def binary_deviance(z, y):
    r"""Per-sample negative log-likelihood of the binary model, :math:`\log(1+e^{z}) - y z`.

    ``z`` logits and ``y`` targets in {0, 1} of broadcastable shapes (``(N,)``, or ``(N, S)``
    logits of ``S`` models against ``y[:, None]``). ``log(1 + e^z)`` is ``logaddexp(0, z)``,
    which cannot overflow. Written with ``autograd.numpy``, so it is differentiable.
    """
    return anp.logaddexp(0.0, z) - y * z


def softmax_deviance(Z, y):
    r"""Per-sample negative log-likelihood of the softmax model from logits,
    :math:`\log\sum_k e^{Z_{ik}} - Z_{i y_i}`.

    ``Z`` ``(N, C)`` or ``(N, S, C)`` (``S`` models scored at once), ``y`` ``(N,)`` integer
    labels; returns ``(N,)`` or ``(N, S)``.
    """
    Z = np.asarray(Z)
    idx = np.asarray(y).reshape((-1,) + (1,) * (Z.ndim - 1))
    zy = np.take_along_axis(Z, np.broadcast_to(idx, Z.shape[:-1] + (1,)), axis=-1)
    return (logsumexp(Z) - zy)[..., 0]


def residual_from_logits(Z, y):
    """Derivative of the per-sample deviance with respect to the logits: ``sigmoid(z) - y``
    ``(N,)`` for binary logits ``(N,)``, ``softmax(Z) - one_hot(y)`` ``(N, C)`` for softmax
    logits. ``y`` are integer labels ``(N,)``."""
    Z = np.asarray(Z)
    if Z.ndim == 1:
        return sigmoid(Z) - y
    return softmax(Z) - one_hot(y, Z.shape[1], dtype=Z.dtype)


def softmax(Z):
    """Row-wise softmax of logits ``Z`` ``(N, C)``; rows sum to one. Stable (max-shifted)."""
    E = anp.exp(Z - anp.max(Z, axis=1, keepdims=True))
    return E / anp.sum(E, axis=1, keepdims=True)


def l2_penalty(W, l2):
    """(l2 / 2) * sum of squared weights, bias row (the last) excluded. ``l2`` scalar or ``(C,)``.

    Exactly 0 when every ``l2`` is 0, whatever ``W`` (no ``0 * inf`` for huge weights)."""
    if not np.any(l2):
        return 0.0
    return 0.5 * anp.sum(l2 * W[:-1] ** 2)


def _add_l2_grad(grad, W, l2):
    """Adds the gradient of :func:`l2_penalty` (``l2 * W``, zero on the bias row) to ``grad``
    in place, and returns it: no array of the size of ``W`` is allocated."""
    if np.any(l2):
        grad[:-1] += l2 * W[:-1]
    return grad


class Step(NamedTuple):
    """What one pass over ``X`` gives at weights ``W`` (:func:`softmax_step`,
    :func:`binary_step`): the penalised ``loss`` (float64) and its gradient ``grad``
    ``(D, C)`` in the dtype of ``X``, and, from the same logits, the unpenalised mean
    ``deviance`` and the ``accuracy`` (share of rows whose largest logit is the class of
    ``Y``)."""
    loss: float
    grad: np.ndarray
    deviance: float
    accuracy: float


# --- binary model ---------------------------------------------------------------------------

def binary_cross_entropy(w, X, y, l2=0.0):
    r"""Mean binary cross-entropy plus L2.

    .. math:: C(w) = \frac1N\sum_i \big[\log(1 + e^{z_i}) - y_i z_i\big] + \frac{\lambda}{2}\|w_{:-1}\|^2,
              \quad z = Xw

    ``log(1 + e^z)`` is evaluated as ``logaddexp(0, z)``, so large ``|z|`` cannot overflow.
    """
    z = anp.dot(X, w)                                    # (N,)
    return anp.mean(binary_deviance(z, y)) + l2_penalty(w, l2)


def binary_cross_entropy_grad(w, X, y, l2=0.0):
    r"""Gradient of :func:`binary_cross_entropy`: :math:`\frac1N X^\top(\sigma(Xw) - y) + \lambda w`."""
    return binary_cross_entropy_and_grad(w, X, y, l2)[1]


def binary_cross_entropy_and_grad(w, X, y, l2=0.0):
    """Loss (float64) and gradient of the binary model from one pass over ``X``."""
    step = binary_step(w, X, y, l2)
    return step.loss, step.grad


def binary_step(w, X, y, l2=0.0):
    """Loss, gradient and training scores (:class:`Step`) of the binary model from one pass
    over ``X``: the fused kernel of :mod:`lrbook._kernels` for large C-ordered float arrays,
    else one product ``X @ w`` and one ``X.T @ r`` (they agree to float rounding, tested).
    The deviance is summed in float64."""
    from . import _kernels
    n = X.shape[0]
    fused = _kernels.binary_pass(w, X, y)
    if fused is not None:
        dev_sum, hits, grad = fused
        grad /= n
        deviance = dev_sum / n
    else:
        z = X @ w                                        # (N,)
        deviance = float(np.mean(binary_deviance(z, y), dtype=np.float64))
        hits = np.count_nonzero((z > 0) == (y == 1))
        r = residual_from_logits(z, y)                   # (N,) residuals  y_hat - y
        grad = X.T @ r / n
    loss = deviance + float(l2_penalty(w.astype(np.float64), l2))
    return Step(loss=np.float64(loss), grad=_add_l2_grad(grad, w, l2), deviance=deviance,
                accuracy=hits / n if n else np.nan)


# --- softmax model --------------------------------------------------------------------------

def cross_entropy(W, X, Y, l2=0.0):
    r"""Mean softmax cross-entropy plus L2.

    .. math:: L(W) = -\frac1N \sum_i \sum_k Y_{ik} \log \mathrm{softmax}(XW)_{ik}
              + \frac12 \sum_k \lambda_k \|W_{:-1,k}\|^2
    """
    Z = anp.dot(X, W)                                    # (N, C)
    return -anp.sum(Y * log_softmax(Z)) / X.shape[0] + l2_penalty(W, l2)


def cross_entropy_grad(W, X, Y, l2=0.0):
    r"""Gradient of :func:`cross_entropy`: :math:`\frac1N X^\top(\mathrm{softmax}(XW) - Y) + \lambda W`."""
    return cross_entropy_and_grad(W, X, Y, l2)[1]


def softmax_step(W, X, Y, l2=0.0) -> Step:
    """Loss, gradient and training scores of the softmax model from one pass over ``X``.

    The trainer's and the solver's hot path. For large C-ordered float arrays it runs the
    fused compiled kernel of :mod:`lrbook._kernels` (logits, softmax and gradient block by
    block while the block is in cache: one read of ``X`` instead of the two of
    ``X @ W`` and ``X.T @ G``); otherwise, or without numba, the NumPy path below, which agrees
    to float rounding. Sums over samples are accumulated in float64 in both, so the float32
    loss is as precise as its per-sample terms.
    """
    from . import _kernels
    n = X.shape[0]
    fused = _kernels.softmax_pass(W, X, Y)
    if fused is not None:
        dev_sum, hits, grad = fused
        grad /= n
    else:
        dev_sum, hits, grad = _softmax_pass_numpy(W, X, Y)
    deviance = dev_sum / n
    loss = deviance + float(l2_penalty(W.astype(np.float64), l2))
    return Step(loss=np.float64(loss), grad=_add_l2_grad(grad, W, l2), deviance=deviance,
                accuracy=hits / n if n else np.nan)


def _softmax_pass_numpy(W, X, Y):
    """NumPy twin of :func:`lrbook._kernels.softmax_pass`: ``(deviance sum (float64), hits,
    X.T @ (P - Y) / N)``. Two matrix products plus O(N C) work done in place."""
    n = X.shape[0]
    Z = X @ W                                            # (N, C)
    hits = int(np.count_nonzero(labels_from_logits(Z) == Y.argmax(axis=1)))
    # Row maxima: for a handful of classes, column by column gives the same values as
    # Z.max(axis=1) several times faster (NumPy reduces a short contiguous axis slowly).
    if Z.shape[1] <= 32:
        m = Z[:, 0].copy()                               # (N,)
        for k in range(1, Z.shape[1]):
            np.maximum(m, Z[:, k], out=m)
    else:
        m = Z.max(axis=1)
    Z -= m[:, None]
    yz = np.einsum("nc,nc->n", Y, Z)                     # (N,) shifted logit of the true class
    np.exp(Z, out=Z)
    s = Z.sum(axis=1)                                    # (N,)
    dev_sum = float(np.log(s).sum(dtype=np.float64) - yz.sum(dtype=np.float64))
    Z /= s[:, None]                                      # softmax probabilities
    Z -= Y                                               # G = P - Y, (N, C)
    grad = X.T @ Z                                       # (D, C)
    grad /= n
    return dev_sum, hits, grad


def cross_entropy_and_grad(W, X, Y, l2=0.0):
    """Loss (float64) and gradient (dtype of ``X``) of the softmax model from one pass over
    ``X``: :func:`softmax_step` without the scores."""
    step = softmax_step(W, X, Y, l2)
    return step.loss, step.grad


# --- prediction -----------------------------------------------------------------------------

def predict_proba(W, X):
    """Class probabilities: ``(N,)`` P(y=1) for a binary ``w``, ``(N, C)`` for a softmax ``W``."""
    Z = X @ W
    return sigmoid(Z) if W.ndim == 1 else softmax(Z)


def labels_from_logits(Z):
    """Predicted labels ``(N,)`` from logits: ``z > 0`` for binary ``(N,)``, argmax for ``(N, C)``."""
    return (Z > 0).astype(np.int64) if Z.ndim == 1 else np.argmax(Z, axis=1)


def deviance_from_logits(Z, y):
    """Negative log-likelihood of each sample's true label ``y`` (integer labels) from logits, ``(N,)``."""
    return binary_deviance(Z, y) if Z.ndim == 1 else softmax_deviance(Z, y)


def predict(W, X):
    """Predicted labels ``(N,)``: 1 where ``X @ w > 0`` (binary), else the argmax class."""
    return labels_from_logits(X @ W)


def deviance_per_sample(W, X, y):
    """Negative log-likelihood of each sample's true label ``y`` (integer labels), ``(N,)``.

    Works for both models; no penalty. The mean of this is the unpenalised loss.
    """
    return deviance_from_logits(X @ W, y)
