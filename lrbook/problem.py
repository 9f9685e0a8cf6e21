"""A training set made ready for the L-BFGS solver of :mod:`lrbook.solver`: the problem and its
preconditioner.

Preconditioning (an exact change of variables, not a different problem). Raw pixels make the
problem badly conditioned: the covariance of the inputs has eigenvalues from about 20 down to
0, so with a small penalty L-BFGS needs thousands of iterations. :func:`prepare` centres the
features and rotates them onto the eigenvectors ``V`` of their covariance (eigenvalues ``e``),
and the solver works with ``W = V (P * U)`` where ``P[j, k] = 1 / sqrt(c e_j + l2_k)`` and
``c = (1 - 1/C) / C`` is the curvature of the softmax loss at uniform predictions (the bias row
gets ``1 / sqrt(c)``). The rotation leaves ``||W||`` unchanged and centring only moves the
bias, so the minimiser is the same; in the new variables ``U`` the curvature is close to
uniform.

:func:`prepare` validates the data once and builds the :class:`Problem`; the drivers in
:mod:`lrbook.solver` (and :func:`lrbook.optim.lbfgs_progress`) run on it. Shapes follow
:mod:`lrbook.model`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import model
from ._checks import check_n_classes, check_xy

__all__ = ["Problem", "prepare"]


@dataclass(frozen=True)
class Problem:
    """A training set made ready for :func:`lrbook.solver.solve` (see the module docstring).

    ``X`` ``(N, D)`` the inputs (bias column last), kept as given: the solver works in the
    rotated coordinates ``Wr`` but evaluates the loss on ``X`` at ``to_original(Wr)`` and
    rotates the gradient back (:meth:`grad_to_rotated`), O(D^2 C) per evaluation instead of a
    rotated copy of ``X``. ``V`` ``(D-1, D-1)`` the eigenvectors of the feature covariance (None
    if not preconditioned), ``mean`` ``(D-1,)`` the feature means, ``eig`` ``(D-1,)`` the
    covariance eigenvalues (zeros if not preconditioned), ``Y`` one-hot ``(N, C)`` for the
    softmax model, or the targets ``(N,)`` in {0, 1} for the binary model (weights ``(D,)``;
    only without preconditioning).
    """
    X: np.ndarray
    Y: np.ndarray
    mean: np.ndarray
    V: np.ndarray | None
    eig: np.ndarray

    @property
    def shape(self):
        """Shape of the weights, ``(D, C)`` (softmax) or ``(D,)`` (binary)."""
        return (self.X.shape[1],) + self.Y.shape[1:]

    @cached_property
    def Xr(self):
        """The inputs in the solver's coordinates, ``(N, D)``: centred features rotated onto
        ``V``, bias column last (``X`` itself if not preconditioned). Built on first use only
        (a full copy of ``X``); the solver itself never needs it."""
        if self.V is None:
            return self.X
        F = self.X[:, :-1]
        Fr = (F - self.mean.astype(F.dtype)) @ self.V.astype(F.dtype)          # (N, D-1)
        return np.hstack([Fr, np.ones((len(F), 1), dtype=F.dtype)])

    @property
    def loss_and_grad(self):
        """The model's fused loss and gradient, :mod:`lrbook.model`."""
        return (model.cross_entropy_and_grad if self.Y.ndim == 2
                else model.binary_cross_entropy_and_grad)

    def to_original(self, Wr):
        """Weights in the solver's coordinates ``(D, C)`` to weights for the original ``X``."""
        if self.V is None:
            return Wr
        Wf = self.V @ Wr[:-1]                                  # (D-1, C)
        return np.vstack([Wf, Wr[-1:] - self.mean @ Wf]).astype(Wr.dtype)

    def from_original(self, W):
        """Inverse of :meth:`to_original`."""
        if self.V is None:
            return W
        Wf = W[:-1]
        return np.vstack([self.V.T @ Wf, W[-1:] + self.mean @ Wf]).astype(W.dtype)

    def grad_to_rotated(self, G):
        """A gradient with respect to the original weights ``(D, C)`` to one with respect to
        the solver's ``Wr`` (the chain rule through :meth:`to_original`), in float64:
        ``[V.T (G[:-1] - mean g_b), g_b]`` with ``g_b = G[-1]`` the bias row."""
        G = np.asarray(G, dtype=np.float64)
        if self.V is None:
            return G
        Gb = G[-1:]                                                     # (1, C)
        return np.vstack([self.V.T @ (G[:-1] - self.mean[:, None] * Gb), Gb])

    def scaling(self, l2):
        """The diagonal preconditioner ``P`` ``(D, C)`` for penalty ``l2`` (scalar or ``(C,)``)."""
        P = np.ones(self.shape)
        if self.V is not None:
            c = self.shape[1]
            lam = np.broadcast_to(np.asarray(l2, dtype=np.float64), (c,))
            curv = (1.0 / c) * (1.0 - 1.0 / c)      # softmax curvature at uniform predictions
            P[:-1] = 1.0 / np.sqrt(curv * self.eig[:, None] + lam[None, :])
            P[-1] = 1.0 / np.sqrt(curv)
        return P


def _gram(F, mean, chunk=8192):
    """Covariance ``(D, D)`` of the rows of ``F``: each chunk's product in the dtype of ``F``
    (float32 BLAS is twice as fast), the chunks summed in float64. The preconditioner need
    not be exact: the loss is always evaluated at ``to_original(Wr)``, so any invertible
    ``V`` gives the same minimiser."""
    G = np.zeros((F.shape[1], F.shape[1]))
    m = mean.astype(F.dtype)
    for s in range(0, len(F), chunk):
        B = F[s:s + chunk] - m                                 # (chunk, D-1), centred
        G += B.T @ B
    return G / len(F)


def prepare(X, y, *, n_classes=None, precondition=True) -> Problem:
    """Validate ``(X, y)`` once and build the :class:`Problem` the solver runs on.

    Parameters
    ----------
    X : (N, D) float32 or float64, bias column last.
    y : (N,) integer labels in 0..n_classes-1.
    n_classes : C, required (the data set's class count).
    precondition : centre and rotate the features (see the module docstring); costs one
        ``(N, D) x (D, D)`` product and a ``D x D`` eigendecomposition, once.
    """
    n_classes = check_n_classes(n_classes)
    X, y = check_xy(X, y, n_classes=n_classes)
    Y = model.one_hot(y, n_classes, dtype=X.dtype)
    F = X[:, :-1]
    if not precondition:
        return Problem(X=X, Y=Y, mean=np.zeros(F.shape[1]), V=None, eig=np.zeros(F.shape[1]))
    mean = F.mean(axis=0, dtype=np.float64)
    eig, V = np.linalg.eigh(_gram(F, mean))
    eig = np.clip(eig, 0.0, None)
    return Problem(X=X, Y=Y, mean=mean, V=V, eig=eig)
