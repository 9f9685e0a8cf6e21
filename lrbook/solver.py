"""Logistic regression fitted with L-BFGS: to convergence, along a regularisation path, or
step by step keeping every iterate (:func:`trace`, what scikit-learn's solver does).

One driver, :func:`lbfgs`, runs SciPy's L-BFGS-B for all three.

:func:`lrbook.train.fit` is the book's teaching trainer: plain (mini-batch) gradient descent, whose
answer depends on the learning rate and the number of steps. To compare *penalties* we need the
minimiser of each penalised loss itself, so that differences between two penalties are not
differences in how far the optimiser got. This module hands the library's fused loss and
gradient, :func:`lrbook.model.cross_entropy_and_grad`, to SciPy's L-BFGS-B (Liu and Nocedal,
1989).

Objective (the library's, see :mod:`lrbook.model`)::

    L(W) = mean_i -log softmax(X W)_{i, y_i} + 1/2 sum_k l2_k ||W[:-1, k]||^2

with the bias row never penalised and ``l2`` a scalar or one penalty per class, shape ``(C,)``.

Preconditioning. The solver works in rotated, rescaled variables ``U``, with ``W = V (P * U)``
(centred features rotated onto the eigenvectors ``V`` of their covariance, ``P`` a diagonal
scaling): an exact change of variables, described in :mod:`lrbook.problem`, where
:func:`prepare` and :class:`Problem` are defined (both re-exported here).

Stopping rule. The run stops when the largest entry of the gradient with respect to ``U`` is at
most ``tol``. Since ``P`` approximates the inverse square root of the Hessian, the squared norm of
this gradient approximates the Newton decrement, about twice the distance to the optimal loss:
the rule is scale-aware, unlike a bound on the raw gradient, which a warm start from a nearby
small penalty satisfies before any iteration is made.

Precision. The data stay in the dtype they come in, and no rotated copy of them is made: each
evaluation maps the weights back to the original coordinates, runs the fused pass of
:func:`lrbook.model.softmax_step` on ``X`` and rotates the gradient (O(D^2 C), small next to
the pass). ``float32`` data halve the memory traffic of that pass. Sums over samples are taken
in float64, so the loss of a float32 run resolves relative progress far below 1e-6: on
Fashion-MNIST a float32 run reaches a relative gap of 1e-6 at lambda = 1e-2 and at 1e-4 (final
gaps 5e-9 and 3e-8 in ``benchmarks/bench_solver.py``). What remains is the rounding of each
float32 logit, about 1e-7 of the terms it sums, which eventually stops the line search. With
``precision="auto"`` (the default) a run that stalls short of ``tol`` is finished from where it
stopped with float64 weights, which the kernel multiplies in float64 while reading the float32 data
(about 1.5 times the cost of a float32 pass, no float64 copy). ``benchmarks/bench_solver.py``
measures the three choices. The optimiser's own arithmetic runs in float64.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from . import _kernels, model
from ._checks import (check_count, check_l2, check_n_classes, check_number, check_weights,
                      check_xy)
from .problem import Problem, prepare

__all__ = ["Problem", "LbfgsResult", "PathResult", "Trace", "prepare", "solve", "fit_lbfgs",
           "regularisation_path", "trace", "lbfgs", "SKLEARN_OPTIONS"]

# scikit-learn's LogisticRegression(solver="lbfgs") passes these to SciPy (sklearn 1.4-1.6)
SKLEARN_OPTIONS = {"maxls": 50, "gtol": 1e-4, "ftol": 64 * np.finfo(float).eps}


class LbfgsResult(NamedTuple):
    """Outcome of :func:`solve` / :func:`fit_lbfgs`.

    ``W`` ``(D, C)`` weights for the original inputs, in their dtype; ``loss`` the penalised
    objective; ``grad_norm`` the largest absolute entry of the gradient in the solver's
    (preconditioned) coordinates; ``converged`` is ``grad_norm <= tol``; ``message`` is SciPy's
    reason for stopping.
    """
    W: np.ndarray
    loss: float
    n_iter: int
    n_eval: int
    converged: bool
    grad_norm: float
    message: str


class PathResult(NamedTuple):
    """Outcome of :func:`regularisation_path`, one entry per penalty, in the order given.

    ``W`` is ``(P, D, C)``; ``l2`` ``(P,)`` or ``(P, C)``; ``seconds`` the wall time of each fit.
    """
    l2: np.ndarray
    W: np.ndarray
    loss: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    grad_norm: np.ndarray
    seconds: np.ndarray


def lbfgs(pb, l2, P, Wr0, options, callback=None, dtype=None):
    """The one L-BFGS driver (also behind :func:`lrbook.optim.lbfgs_progress`): SciPy's
    L-BFGS-B on ``pb``'s loss in the scaled variables ``U = Wr / P`` (``P`` of ones: no
    scaling), from ``Wr0``. ``callback(Wr, loss)`` is called
    after every iteration. The loss is computed with weights of ``dtype`` (default: that of
    ``X``; float64 weights on float32 ``X`` give float64 arithmetic on the float32 data).
    Returns SciPy's result and the number of loss evaluations."""
    shape = pb.shape
    dt = np.dtype(dtype or pb.X.dtype)
    l2c = check_l2(l2, shape[1] if len(shape) == 2 else 1, dtype=dt)
    loss_and_grad = pb.loss_and_grad
    n_eval = 0

    def objective(u):
        nonlocal n_eval
        n_eval += 1
        W = pb.to_original(P * u.reshape(shape)).astype(dt)       # (D, C), float64 -> X's dtype
        loss, grad = loss_and_grad(W, pb.X, pb.Y, l2c)
        return float(loss), (P * pb.grad_to_rotated(grad)).ravel()

    keep = None
    if callback is not None:
        def keep(intermediate_result):               # SciPy passes the iterate and its loss
            callback((P * intermediate_result.x.reshape(shape)).astype(pb.X.dtype),
                     float(intermediate_result.fun))
    with _kernels.one_blas_thread():         # no spinning BLAS threads beside the kernel
        res = minimize(objective, (Wr0 / P).ravel(), jac=True, method="L-BFGS-B",
                       callback=keep, options=options)
    return res, n_eval


PRECISIONS = ("auto", "float64", "native")


def _solve_rotated(pb, l2, Wr0, tol, max_iter, memory, precision="auto", callback=None):
    """Minimise to ``tol`` in the preconditioned variables; returns (Wr, result fields).

    ``precision``: "native" computes in the dtype of ``X``; "float64" in float64 throughout
    (on float32 ``X`` without a float64 copy of it); "auto" runs in the dtype of ``X`` and, if
    a float32 run stalls short of ``tol`` (its loss no longer resolves the progress), finishes
    from there in float64.
    """
    P = pb.scaling(l2)
    native = pb.X.dtype
    stages = {"native": [native], "float64": [np.float64],
              "auto": [native] if native == np.float64 else [native, np.float64]}[precision]
    Wr = np.asarray(Wr0, dtype=np.float64)
    n_iter = n_eval = 0
    messages = []
    for dt in stages:
        # stop on the gradient only: ftol ~ 0 so that a flat stretch of the loss does not end
        # the run; the line search gives up if float noise is reached
        options = dict(maxiter=int(max_iter) - n_iter, gtol=float(tol), ftol=1e-15,
                       maxcor=int(memory), maxls=40)
        res, _ = lbfgs(pb, l2, P, Wr, options, callback=callback, dtype=dt)
        Wr = P * res.x.reshape(pb.shape)               # float64: rounded once, in to_original
        n_iter += int(res.nit)
        n_eval += int(res.nfev)
        g = float(np.abs(res.jac).max())
        messages.append(f"{np.dtype(dt).name}: {res.message}")
        if g <= tol or n_iter >= max_iter:
            break
    return Wr, dict(loss=float(res.fun), n_iter=n_iter, n_eval=n_eval,
                    converged=bool(g <= tol), grad_norm=g, message="; ".join(messages))


def solve(problem: Problem, *, l2, W0=None, tol=1e-4, max_iter=5000, memory=20,
          precision="auto", callback=None) -> LbfgsResult:
    """Minimise the penalised loss of a prepared problem with L-BFGS-B.

    Parameters
    ----------
    problem : from :func:`prepare`.
    l2 : scalar penalty, or ``(C,)`` one per class (column of ``W``); the bias row is free.
    W0 : (D, C) starting weights for the original inputs (a warm start); default zeros.
    tol : stop when the largest entry of the preconditioned gradient is at most ``tol``
        (module docstring); ``converged`` in the result says whether it was reached.
    max_iter : iteration cap.
    memory : number of correction pairs L-BFGS keeps (SciPy's ``maxcor``).
    precision : "auto" (default) computes in the dtype of ``X`` and finishes a float32 run
        that stalls short of ``tol`` in float64; "float64" computes in float64 throughout;
        "native" only in the dtype of ``X`` (module docstring, *Precision*).
    callback : called as ``callback(W, loss)`` after every iteration, with the iterate's
        weights for the original inputs ``(D, C)`` and its penalised loss (for time stamps
        or a trace; each call maps the weights back, an O(D^2 C) product).

    Returns
    -------
    LbfgsResult
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    shape = problem.shape
    l2 = check_l2(l2, shape[1])
    check_number("tol", tol, minimum=0)
    check_count("max_iter", max_iter, minimum=1)
    if W0 is None:
        Wr0 = np.zeros(shape)
    else:
        Wr0 = problem.from_original(check_weights(W0, shape, np.float64))
    back = None if callback is None else (
        lambda Wr, loss: callback(problem.to_original(Wr), loss))
    Wr, info = _solve_rotated(problem, l2, Wr0, tol, max_iter, memory, precision, back)
    return LbfgsResult(W=problem.to_original(Wr).astype(problem.X.dtype), **info)


def fit_lbfgs(X, y, *, l2, n_classes=None, W0=None, tol=1e-4, max_iter=5000, memory=20,
              precondition=True) -> LbfgsResult:
    """:func:`prepare` then :func:`solve`: one penalised fit to convergence.

    ``X`` (N, D) float with the bias column last, ``y`` (N,) integer labels; the other
    arguments are those of :func:`prepare` and :func:`solve`.
    """
    pb = prepare(X, y, n_classes=n_classes, precondition=precondition)
    return solve(pb, l2=l2, W0=W0, tol=tol, max_iter=max_iter, memory=memory)


def regularisation_path(X, y, l2_grid, *, n_classes=None, problem=None, W0=None, tol=1e-4,
                        max_iter=5000, memory=20, precondition=True,
                        progress=False) -> PathResult:
    """Fit one model per penalty, from the largest penalty to the smallest, each warm-started
    from the previous solution (neighbouring solutions are close, and a strongly penalised
    problem is the easiest to solve from zeros).

    Parameters
    ----------
    X, y, n_classes, precondition : as in :func:`prepare` (ignored if ``problem`` is given).
    l2_grid : (P,) scalar penalties, or (P, C) per-class penalties; any order (fitting goes by
        decreasing total penalty; results come back in the order given).
    problem : a :class:`Problem` already prepared from the same data (saves the rotation).
    W0 : starting weights of the first (largest-penalty) fit; default zeros.
    tol, max_iter, memory : as in :func:`solve`.
    progress : tqdm bar over penalties (to stderr).

    Returns
    -------
    PathResult
    """
    pb = problem if problem is not None else prepare(X, y, n_classes=n_classes,
                                                     precondition=precondition)
    shape = pb.shape
    grid = np.asarray(l2_grid, dtype=np.float64)
    if grid.ndim not in (1, 2) or len(grid) == 0:
        raise ValueError(f"l2_grid must be (P,) or (P, C) with P >= 1, got shape {grid.shape}")
    for g in grid:
        check_l2(g, shape[1])
    Wr = (np.zeros(shape) if W0 is None
          else pb.from_original(check_weights(W0, shape, np.float64)))
    order = np.argsort(-grid.reshape(len(grid), -1).sum(axis=1), kind="stable")
    n = len(grid)
    out = dict(W=np.empty((n,) + shape, dtype=pb.X.dtype), loss=np.empty(n),
               n_iter=np.empty(n, dtype=np.int64), converged=np.empty(n, dtype=bool),
               grad_norm=np.empty(n), seconds=np.empty(n))
    it = order
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(order, desc="penalties", leave=False)
    for p in it:
        t0 = time.perf_counter()
        Wr, info = _solve_rotated(pb, grid[p], Wr, tol, max_iter, memory)
        out["W"][p] = pb.to_original(Wr)
        for k in ("loss", "n_iter", "converged", "grad_norm"):
            out[k][p] = info[k]
        out["seconds"][p] = time.perf_counter() - t0
    return PathResult(l2=grid, **out)


class Trace(NamedTuple):
    """Iterates of :func:`trace`: ``weights[k]`` are the weights after ``k`` iterations
    (``weights[0]`` is zero), ``loss[k]`` their penalised training loss."""
    weights: dict
    loss: np.ndarray
    n_iter: int          # iterations done (fewer than max_iter if the solver converged)
    n_evals: int         # loss-and-gradient evaluations, line searches included


def trace(X, y, *, binary=False, n_classes=None, l2=0.0, max_iter=100) -> Trace:
    r"""Run L-BFGS from zero weights, as scikit-learn's ``LogisticRegression(solver="lbfgs")``
    does, and keep the weights after every iteration.

    scikit-learn minimises the same mean cross-entropy with ``scipy.optimize.minimize``
    (method ``"L-BFGS-B"``, options :data:`SKLEARN_OPTIONS`); this runs the same call, without
    preconditioning, on :func:`lrbook.model.cross_entropy_and_grad` (or the binary loss). Since
    the method is deterministic, the iterate ``k`` of one long run is what a fresh fit with
    ``max_iter=k`` returns: one run replaces a sweep over ``max_iter``. The penalty ``l2``
    corresponds to scikit-learn's ``C = 1 / (l2 * N)``; the bias row is not penalised in
    either.

    Parameters
    ----------
    X : (N, D) float array, bias column last; the loss is computed in its dtype.
    y : (N,) integer labels (0/1 if ``binary``).
    binary : fit the binary model (weights ``(D,)``) instead of the softmax one (``(D, C)``).
    n_classes : C, required for the softmax model.
    l2 : float, L2 penalty (see :mod:`lrbook.model`).
    max_iter : int, >= 1.

    Returns
    -------
    Trace
    """
    n_classes = check_n_classes(n_classes, binary=binary)
    max_iter = check_count("max_iter", max_iter, minimum=1)
    X, y = check_xy(X, y, n_classes=n_classes, binary=binary)
    T = y.astype(X.dtype) if binary else model.one_hot(y, n_classes, dtype=X.dtype)
    pb = Problem(X=X, Y=T, mean=np.zeros(X.shape[1] - 1), V=None, eig=np.zeros(X.shape[1] - 1))
    shape = pb.shape
    l2c = check_l2(l2, 1 if binary else n_classes, X.dtype)
    weights = {0: np.zeros(shape, dtype=X.dtype)}
    losses = [float(pb.loss_and_grad(weights[0], X, T, l2c)[0])]

    def keep(W, loss):
        weights[len(weights)] = W
        losses.append(loss)

    _, n_eval = lbfgs(pb, l2, np.ones(shape), np.zeros(shape),
                       {"maxiter": max_iter, **SKLEARN_OPTIONS}, callback=keep)
    return Trace(weights=weights, loss=np.array(losses), n_iter=len(weights) - 1,
                 n_evals=n_eval + 1)
