"""Optimisers watched from outside: the penalised loss after each pass over the data, and when.

The optimisation chapter compares full-batch gradient descent, mini-batch SGD and L-BFGS on one
penalised problem by how far from the optimum each gets for a given amount of work. The work
is counted in *passes over the training data*: one pass is one evaluation of the loss and
gradient on all ``N`` rows (two products with ``X``), which is what one step of gradient
descent, one epoch of SGD and one function evaluation of L-BFGS (line searches included) each
cost. Wall-clock seconds are recorded too; the loss written into the record is computed
outside the timed part.

* :func:`sgd_progress` runs :func:`lrbook.train.fit` (full batch or mini-batches, a constant
  learning rate or a piecewise-constant schedule) and records the loss after every epoch.
* :func:`lbfgs_progress` runs the solver of :mod:`lrbook.solver` on a prepared problem (with
  or without its preconditioner, with the library's options or with scikit-learn's) and
  records the loss after every iteration with the number of evaluations so far.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import NamedTuple

import numpy as np

from . import model, solver, train
from ._checks import check_count, check_number

__all__ = ["Progress", "sgd_progress", "lbfgs_progress", "passes_to_reach"]


class Progress(NamedTuple):
    """A run seen from outside, one entry per record (the first is the starting point).

    ``passes`` ``(K,)`` passes over the training data used so far; ``seconds`` ``(K,)``
    wall-clock time so far; ``loss`` ``(K,)`` the penalised training loss; ``W`` the final
    weights for the original inputs.
    """
    passes: np.ndarray
    seconds: np.ndarray
    loss: np.ndarray
    W: np.ndarray


def _stages(lr, epochs):
    """``lr`` (a number, with ``epochs``) or ``[(epochs, lr), ...]`` as a list of stages."""
    if np.ndim(lr) == 0:
        return [(check_count("epochs", epochs, minimum=1), check_number("lr", lr, minimum=0))]
    stages = [(check_count("epochs of a stage", e, minimum=1), check_number("lr", r, minimum=0))
              for e, r in lr]
    if not stages:
        raise ValueError("a learning-rate schedule needs at least one (epochs, lr) stage")
    return stages


def sgd_progress(X, y, *, n_classes, l2, lr, epochs=None, batch_size=None, shuffle=True,
                 seed=0, W0=None) -> Progress:
    """(Mini-batch) gradient descent by :func:`lrbook.train.fit`, loss recorded every epoch.

    Parameters
    ----------
    X : (N, D) float, bias column last; y : (N,) labels in 0..n_classes-1.
    l2 : the penalty (see :mod:`lrbook.model`).
    lr : a constant learning rate (then give ``epochs``), or a piecewise-constant schedule
        ``[(epochs, lr), ...]``: each stage continues from the previous weights, with the
        shuffling seeded by ``(seed, stage)``.
    batch_size, shuffle : as in :func:`lrbook.train.fit` (``None``: full batch).
    W0 : starting weights ``(D, C)``; default zeros.

    Returns
    -------
    Progress, with ``passes`` = epochs done (0, 1, 2, ...).
    """
    stages = _stages(lr, epochs)
    Y = model.one_hot(np.asarray(y), n_classes, dtype=np.asarray(X).dtype)
    per_epoch = train.Schedule.make(len(X), batch_size=batch_size).steps_per_epoch
    snaps, stamps, losses = [], [], []
    W = start = W0

    def record(step, Wk):
        if step % per_epoch == 0:
            stamps.append(time.perf_counter())
            if batch_size is not None:
                snaps.append(Wk.copy())

    t0 = time.perf_counter()
    for k, (n_epochs, rate) in enumerate(stages):
        res = train.fit(X, y, n_classes=n_classes, lr=rate, epochs=n_epochs, l2=l2,
                        batch_size=batch_size, shuffle=shuffle, W0=W,
                        seed=[seed, k] if len(stages) > 1 else seed,
                        val_every=n_epochs * per_epoch,      # no checks inside the run
                        callback=record,
                        callback_steps=range(per_epoch, n_epochs * per_epoch + 1, per_epoch))
        W = res.W
        # full batch: the loss the step was computed from is the loss at the epoch's start
        losses.extend(res.history.batch_loss)
    seconds = np.r_[0.0, np.asarray(stamps) - t0]
    if batch_size is None:
        loss = np.r_[losses, model.cross_entropy(W, X, Y, l2)]
    else:
        start = np.zeros_like(W) if start is None else start
        loss = np.array([model.cross_entropy(Wk, X, Y, l2) for Wk in [start] + snaps])
    return Progress(passes=np.arange(len(loss), dtype=np.float64), seconds=seconds,
                    loss=loss, W=W)


@dataclass(frozen=True)
class _Counted(solver.Problem):
    """A :class:`lrbook.solver.Problem` whose loss-and-gradient notes the loss of each call."""
    calls: list = field(default_factory=list)

    @property
    def loss_and_grad(self):
        inner = solver.Problem.loss_and_grad.fget(self)

        def counted(*args):
            out = inner(*args)
            self.calls.append(float(out[0]))
            return out
        return counted


def lbfgs_progress(problem, *, l2, max_iter, tol=0.0, memory=20,
                   sklearn_options=False) -> Progress:
    """L-BFGS from zero weights on a prepared problem, loss recorded after every iteration.

    Parameters
    ----------
    problem : from :func:`lrbook.solver.prepare`, preconditioned or not.
    l2 : the penalty; max_iter : iteration cap.
    tol, memory : the stopping rule and memory of :func:`lrbook.solver.solve`.
    sklearn_options : run with scikit-learn's options instead
        (:data:`lrbook.solver.SKLEARN_OPTIONS`, SciPy's default memory of 10), as
        :func:`lrbook.solver.trace` does; ``tol`` and ``memory`` are then ignored.

    Returns
    -------
    Progress, with ``passes`` = loss-and-gradient evaluations so far (line searches
    included), so that ``passes[k]`` may grow by more than one per iteration. Evaluations
    after the last completed iteration (a line search that gave up) are not recorded.
    """
    max_iter = check_count("max_iter", max_iter, minimum=1)
    counted = _Counted(**{f.name: getattr(problem, f.name) for f in fields(solver.Problem)})
    if sklearn_options:
        options = {"maxiter": max_iter, **solver.SKLEARN_OPTIONS}
    else:
        options = dict(maxiter=max_iter, gtol=float(tol), ftol=1e-15, maxcor=int(memory),
                       maxls=40)
    rec = []

    def keep(Wr, loss):
        rec.append((len(counted.calls), time.perf_counter(), loss, Wr))

    t0 = time.perf_counter()
    solver.lbfgs(counted, l2, problem.scaling(l2), np.zeros(problem.shape), options,
                 callback=keep)
    W = problem.to_original(rec[-1][3]) if rec else problem.to_original(np.zeros(problem.shape))
    return Progress(passes=np.array([0.0] + [r[0] for r in rec]),
                    seconds=np.array([0.0] + [r[1] - t0 for r in rec]),
                    loss=np.array([counted.calls[0]] + [r[2] for r in rec]), W=W)


def passes_to_reach(progress, target):
    """The first ``passes`` at which ``progress.loss`` is at most ``target`` (``inf`` if never)."""
    hit = np.flatnonzero(progress.loss <= target)
    return float(progress.passes[hit[0]]) if len(hit) else np.inf
