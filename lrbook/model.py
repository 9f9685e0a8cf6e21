"""Binary and multinomial (softmax) logistic regression: losses and gradients.

Shape convention, used everywhere in ``lrbook``
-----------------------------------------------
* ``X`` is ``(n_samples, n_features)``. Its **last column is the bias input**, a column of ones
  (see :func:`lrbook.data.add_bias`), so the bias is the last row of the weights.
* Softmax model: ``W`` is ``(n_features, n_classes)``, ``Y`` is one-hot ``(n_samples, n_classes)``,
  logits ``Z = X @ W`` are ``(n_samples, n_classes)``.
* Binary model: ``w`` is ``(n_features,)``, ``y`` is ``(n_samples,)`` with values in {0, 1},
  logits ``z = X @ w`` are ``(n_samples,)``.
* Loss = mean over samples of the negative log-likelihood **plus** ``(l2 / 2) * ||W[:-1]||^2``:
  the penalty covers every weight row **except the bias row**, which is never penalised.
  ``l2`` may be a scalar, or for the softmax model an array of shape ``(n_classes,)`` giving one
  penalty per class (column of ``W``).

The loss functions are written with ``autograd.numpy`` so that ``autograd.grad`` can
differentiate them; the hand-derived gradients use plain NumPy and are what the trainer runs.
Everything is numerically stable: logits of +-1e4 give finite losses and gradients.
Inner functions trust their inputs; validation happens once, in :func:`lrbook.train.fit`.
"""
import autograd.numpy as anp
import numpy as np

__all__ = [
    "sigmoid", "softmax", "log_softmax", "logsumexp",
    "binary_cross_entropy", "binary_cross_entropy_grad", "binary_cross_entropy_and_grad",
    "cross_entropy", "cross_entropy_grad", "cross_entropy_and_grad",
    "l2_penalty", "predict_proba", "predict", "deviance_per_sample",
    "labels_from_logits", "deviance_from_logits",
]


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), written as (1 + tanh(z/2)) / 2: it cannot overflow."""
    return 0.5 * (1.0 + anp.tanh(0.5 * z))


def logsumexp(Z):
    """log(sum_k exp(Z[:, k])) per row, shifted by the row maximum for stability. ``(N, C) -> (N, 1)``."""
    m = anp.max(Z, axis=1, keepdims=True)
    return m + anp.log(anp.sum(anp.exp(Z - m), axis=1, keepdims=True))


def log_softmax(Z):
    """log softmax over the last axis of logits ``Z`` ``(N, C)``; stable for any finite logits."""
    return Z - logsumexp(Z)


def softmax(Z):
    """Row-wise softmax of logits ``Z`` ``(N, C)``; rows sum to one. Stable (max-shifted)."""
    E = anp.exp(Z - anp.max(Z, axis=1, keepdims=True))
    return E / anp.sum(E, axis=1, keepdims=True)


def l2_penalty(W, l2):
    """(l2 / 2) * sum of squared weights, bias row (the last) excluded. ``l2`` scalar or ``(C,)``."""
    return 0.5 * anp.sum(l2 * W[:-1] ** 2)


def _l2_grad(W, l2):
    """Gradient of :func:`l2_penalty`: ``l2 * W`` with a zero bias row."""
    G = np.zeros_like(W)
    G[:-1] = l2 * W[:-1]
    return G


# --- binary model ---------------------------------------------------------------------------

def binary_cross_entropy(w, X, y, l2=0.0):
    r"""Mean binary cross-entropy plus L2.

    .. math:: C(w) = \frac1N\sum_i \big[\log(1 + e^{z_i}) - y_i z_i\big] + \frac{\lambda}{2}\|w_{:-1}\|^2,
              \quad z = Xw

    ``log(1 + e^z)`` is evaluated as ``logaddexp(0, z)``, so large ``|z|`` cannot overflow.
    """
    z = anp.dot(X, w)                                    # (N,)
    return anp.mean(anp.logaddexp(0.0, z) - y * z) + l2_penalty(w, l2)


def binary_cross_entropy_grad(w, X, y, l2=0.0):
    r"""Gradient of :func:`binary_cross_entropy`: :math:`\frac1N X^\top(\sigma(Xw) - y) + \lambda w`."""
    return binary_cross_entropy_and_grad(w, X, y, l2)[1]


def binary_cross_entropy_and_grad(w, X, y, l2=0.0):
    """Loss and gradient of the binary model from one pass over ``X``."""
    z = X @ w                                            # (N,)
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + l2_penalty(w, l2)
    r = sigmoid(z) - y                                   # (N,) residuals  y_hat - y
    grad = X.T @ r / X.shape[0] + _l2_grad(w, l2)
    return loss, grad


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


def cross_entropy_and_grad(W, X, Y, l2=0.0):
    """Loss and gradient of the softmax model from one pass over ``X`` (the trainer's hot path).

    Costs the two matrix products ``X @ W`` and ``X.T @ G`` plus O(N C) work done in place.
    """
    n = X.shape[0]
    Z = X @ W                                            # (N, C)
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
    loss = (np.log(s).sum() - yz.sum()) / n + l2_penalty(W, l2)
    Z /= s[:, None]                                      # softmax probabilities
    Z -= Y                                               # G = P - Y, (N, C)
    grad = X.T @ Z                                       # (D, C)
    grad /= n
    if np.any(l2):
        grad[:-1] += l2 * W[:-1]
    return loss, grad


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
    if Z.ndim == 1:
        return np.logaddexp(0.0, Z) - y * Z
    return -log_softmax(Z)[np.arange(len(y)), y]


def predict(W, X):
    """Predicted labels ``(N,)``: 1 where ``X @ w > 0`` (binary), else the argmax class."""
    return labels_from_logits(X @ W)


def deviance_per_sample(W, X, y):
    """Negative log-likelihood of each sample's true label ``y`` (integer labels), ``(N,)``.

    Works for both models; no penalty. The mean of this is the unpenalised loss.
    """
    return deviance_from_logits(X @ W, y)
