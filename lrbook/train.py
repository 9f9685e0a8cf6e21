"""The trainer every chapter uses: gradient descent and mini-batch SGD for both models.

One entry point, :func:`fit`. It validates its inputs once, then runs a plain loop that neither
prints nor plots: it records a :class:`History`, keeps weight snapshots at requested steps,
checks a validation set every ``val_every`` steps, stops early on a patience counted in
validation checks, and stops with :class:`DivergenceError` if the loss stops being finite.
When and how often it checks is a :class:`Schedule`. A full-batch step's one pass over the
training set (:func:`lrbook.model.softmax_step`) also gives the training loss and accuracy of
the weights it starts from, so a check takes them from the next step instead of reading the
data again. Without early stopping nothing inside the loop needs the validation scores, so the
weights at the checks are kept and scored together at the end
(:func:`lrbook.metrics.evaluate_many`), which is several times faster.

Vocabulary: a *step* is one weight update on one batch; an *epoch* is one pass over the
training set (``steps_per_epoch`` steps). Full-batch gradient descent is ``batch_size=None``:
one step per epoch.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _kernels, model
from ._checks import (check_count, check_l2, check_n_classes, check_number, check_weights,
                      check_xy)
from .metrics import evaluate, evaluate_many

__all__ = ["fit", "FitResult", "History", "Schedule", "DivergenceError", "DivergenceWarning"]


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite. ``.result`` holds the run up to that point."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


class DivergenceWarning(UserWarning):
    """The training loss ended far above where it started (the learning rate is too large).

    With bounded gradients (logistic losses have them) a too-large step does not overflow: the
    weights grow and the loss with them, so this is the only sign of trouble."""


@dataclass(frozen=True)
class Schedule:
    """When :func:`fit` updates and checks: ``steps_per_epoch`` updates make an epoch, the run
    makes ``total`` updates of ``batch_size`` rows each (all of them for full-batch descent),
    and checks the validation set (and records the training scores) at step 0, every
    ``check_every`` steps and after the last step.
    """
    steps_per_epoch: int
    total: int
    check_every: int
    batch_size: int

    @classmethod
    def make(cls, n_samples, *, batch_size=None, drop_last=True, epochs=1, max_steps=None,
             val_every=1):
        """The schedule of ``fit`` on ``n_samples`` rows with these settings (validated)."""
        n = check_count("number of samples", n_samples, minimum=1)
        bs = n if batch_size is None else check_count(
            "batch_size", batch_size, minimum=1, maximum=n)
        per_epoch = n // bs if drop_last else -(-n // bs)
        if max_steps is not None:
            total = check_count("max_steps", max_steps, minimum=0)
        else:
            total = int(round(check_number("epochs", epochs, minimum=0, strict=False)
                              * per_epoch))
        return cls(steps_per_epoch=per_epoch, total=total,
                   check_every=_as_step_count(val_every, per_epoch), batch_size=bs)

    def is_check(self, step):
        """Whether ``fit`` checks after ``step`` updates."""
        return step % self.check_every == 0 or step == self.total

    def check_steps(self):
        """All the steps at which a run that is not stopped early checks, ``(K,)`` int."""
        return np.unique(np.r_[np.arange(0, self.total + 1, self.check_every), self.total])


@dataclass(frozen=True)
class History:
    """What was measured at each validation check (one entry per check, in order).

    ``step`` counts updates done before the check (0 = the initial weights), see
    :meth:`Schedule.check_steps`; ``epoch`` is ``step / steps_per_epoch``. Losses are the
    unpenalised mean deviance on the whole set; the validation fields are NaN when no validation set was given. ``batch_loss`` holds the
    penalised loss of every batch the optimiser saw (one per step).
    """
    step: np.ndarray
    epoch: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    batch_loss: np.ndarray


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit`.

    ``W`` are the final weights (the best ones if early stopping restored them);
    ``snapshots`` maps a step to a copy of the weights after that many steps.
    """
    W: np.ndarray
    history: History
    snapshots: dict = field(repr=False)
    steps_per_epoch: int
    n_steps: int                  # updates performed
    best_step: int                # step of the lowest validation loss (or the last step)
    stopped_early: bool

    @property
    def epochs(self) -> float:
        return self.n_steps / self.steps_per_epoch


def _as_step_count(val_every, steps_per_epoch):
    """``val_every`` as a number of steps: an int is steps, a float in (0, 1] a fraction of an
    epoch, rounded down (with a guard: 0.57 * 100 is 56.99999... in floating point)."""
    if isinstance(val_every, (float, np.floating)):
        if not 0 < val_every <= 1:
            raise ValueError(f"val_every as a fraction of an epoch must be in (0, 1], "
                             f"got {val_every}")
        return max(1, int(val_every * steps_per_epoch + 1e-9))
    return check_count("val_every (steps between checks)", val_every, minimum=1)


def _warn_if_loss_grew(batch_loss, steps_per_epoch, lr):
    """:class:`DivergenceWarning` when the last epoch's mean batch loss is more than twice the
    first step's loss."""
    if len(batch_loss) < 2:
        return
    start = batch_loss[0]
    end = float(np.mean(batch_loss[-min(steps_per_epoch, len(batch_loss) - 1):]))
    if end > 2 * start + 1e-12:
        warnings.warn(f"the training loss rose from {start:.4g} to {end:.4g}: lr={lr} is too "
                      "large for this data (the weights grow instead of converging); try a "
                      "smaller learning rate, e.g. lr/10", DivergenceWarning, stacklevel=3)


def fit(X, y, *, binary=False, n_classes=None, lr, epochs=1, max_steps=None, batch_size=None,
        drop_last=True, shuffle=True, l2=0.0, X_val=None, y_val=None, val_every=1,
        patience=None, restore_best=True, snapshot_steps=(), W0=None, seed=0,
        progress=False, callback=None, callback_steps=None) -> FitResult:
    """Fit a binary (``binary=True``) or softmax logistic regression by (mini-batch) gradient descent.

    Parameters
    ----------
    X : (N, D) float array, bias column last (see :mod:`lrbook.model`).
    y : (N,) integer labels (0/1 if ``binary``, else 0..n_classes-1).
    n_classes : C, required for the softmax model (the data set's class count; it is not
        guessed from the labels).
    lr : learning rate, > 0.
    epochs : passes over the training set; ``max_steps`` caps the number of updates instead.
    batch_size : None for full-batch gradient descent, else the mini-batch size.
    drop_last : drop the last incomplete batch of each epoch.
    shuffle : draw a new random order every epoch; if False, batches follow the data order.
    l2 : penalty (scalar, or ``(C,)`` per class), bias row excluded.
    X_val, y_val : validation set, checked every ``val_every`` steps (an int, or a float in
        (0, 1] meaning that fraction of an epoch). Training metrics are recorded at the same checks.
    patience : stop when the validation loss has not improved for this many consecutive checks.
    restore_best : with early stopping, return the weights of the best validation loss.
    snapshot_steps : steps at which to keep a copy of the weights (0 = the initial weights).
    W0 : initial weights, default zeros ``(D,)`` or ``(D, C)``, in the dtype of ``X``.
    seed : seeds the only random number generator (the shuffling); same seed, same run.
    progress : show a tqdm progress bar over steps.
    callback : called as ``callback(step, W)`` after every step (read-only use of ``W``), or
        only after the steps in ``callback_steps`` if given (which lets runs of mini-batch
        steps between them go through compiled code, see below).

    Mini-batch softmax steps (batches below ``lrbook._kernels.MIN_ROWS`` rows) run in
    compiled code when numba is there, several per call (:func:`lrbook._kernels.softmax_sgd`);
    the weights agree with the NumPy step's to float rounding.

    Returns
    -------
    FitResult

    Raises
    ------
    DivergenceError if the loss or the update stops being finite; a :class:`DivergenceWarning`
    is issued if the loss ends far above where it started.
    """
    n_classes = check_n_classes(n_classes, binary=binary)
    X, y = check_xy(X, y, n_classes=n_classes, binary=binary)
    has_val = X_val is not None
    if has_val:
        X_val, y_val = check_xy(X_val, y_val, n_classes=n_classes, binary=binary,
                                name="validation set", need_two_classes=False)
        if X_val.shape[1] != X.shape[1]:
            raise ValueError(f"validation X has {X_val.shape[1]} features, training X has "
                             f"{X.shape[1]}")
    lr = check_number("lr", lr, minimum=0)
    if patience is not None:
        if not has_val:
            raise ValueError("early stopping (patience) needs a validation set: pass X_val "
                             "and y_val")
        patience = check_count("patience", patience, minimum=1)
    l2 = check_l2(l2, 1 if binary else n_classes, dtype=X.dtype)
    n, d = X.shape
    sched = Schedule.make(n, batch_size=batch_size, drop_last=drop_last, epochs=epochs,
                          max_steps=max_steps, val_every=val_every)
    bs = sched.batch_size
    total, steps_per_epoch = sched.total, sched.steps_per_epoch
    shape = (d,) if binary else (d, n_classes)
    W = (np.zeros(shape, dtype=X.dtype) if W0 is None
         else check_weights(W0, shape, X.dtype))
    T = y.astype(X.dtype) if binary else model.one_hot(y, n_classes, dtype=X.dtype)
    step_at = model.binary_step if binary else model.softmax_step

    rng = np.random.default_rng(seed)
    snap_at = set(int(s) for s in snapshot_steps)
    snapshots = {0: W.copy()} if 0 in snap_at else {}
    batch_loss = np.empty(total)
    # Early stopping needs the scores inside the loop; otherwise keep the weights at each
    # check and score them all at the end, several snapshots per pass over the data.
    deferred = patience is None
    at_checks = {}                        # step -> weights (deferred scoring)
    train_at = {}                         # step -> (loss, accuracy) from that step's own pass
    rec = {k: [] for k in ("step", "train_loss", "train_acc", "val_loss", "val_acc")}
    best = (np.inf, 0, W.copy())          # (val loss, step, weights)
    since_best = 0
    stopped_early = False

    def check(step, train=None):
        """Record the check after ``step`` updates; ``train`` the training scores if a
        full-batch step already computed them from its logits. True means stop early."""
        nonlocal best, since_best
        if deferred:
            if has_val or train is None:
                at_checks[step] = W.copy()
            train_at[step] = train            # None: scored with the others at the end
            return False
        tl, ta = train if train is not None else evaluate(W, X, y)
        vl, va = evaluate(W, X_val, y_val)
        for k, v in zip(rec, (step, tl, ta, vl, va)):
            rec[k].append(v)
        if vl < best[0]:
            best, since_best = (vl, step, W.copy()), 0
        else:
            since_best += 1
        return since_best >= patience

    def result(n_done):
        if deferred:
            steps = np.array(sorted(train_at), dtype=np.int64)
            todo = [s for s in steps if train_at[s] is None]
            if todo:                          # several snapshots per pass over the data
                for s, scores in zip(todo, zip(*evaluate_many([at_checks[s] for s in todo],
                                                              X, y))):
                    train_at[s] = scores
            tl = np.array([train_at[s][0] for s in steps], dtype=np.float64)
            ta = np.array([train_at[s][1] for s in steps], dtype=np.float64)
            if has_val and len(steps):
                vl, va = evaluate_many([at_checks[s] for s in steps], X_val, y_val)
            else:
                vl = va = np.full(len(steps), np.nan)
            h = dict(step=steps, train_loss=tl, train_acc=ta, val_loss=vl, val_acc=va)
            best_step = int(steps[np.argmin(vl)]) if has_val and len(steps) else n_done
        else:
            h = {k: np.asarray(v) for k, v in rec.items()}
            best_step = best[1]
        hist = History(step=h["step"], epoch=h["step"] / steps_per_epoch,
                       train_loss=h["train_loss"], train_acc=h["train_acc"],
                       val_loss=h["val_loss"], val_acc=h["val_acc"],
                       batch_loss=batch_loss[:n_done].copy())
        use_best = has_val and restore_best and stopped_early
        return FitResult(W=best[2] if use_best else W, history=hist, snapshots=snapshots,
                         steps_per_epoch=steps_per_epoch, n_steps=n_done,
                         best_step=best_step, stopped_early=stopped_early)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, unit="step", leave=False)

    # A full-batch step's pass over X also scores the weights it starts from, so the check
    # after `step` updates waits for the next step and takes its scores from that step's
    # logits (no second pass); only the last check, with no step after it, makes its own.
    full = bs == n
    due = 0 if full else None             # step whose check waits for the next full batch
    if not full:
        check(0)
    step = 0
    order = np.arange(n)
    # Mini-batch softmax steps run in compiled code (see _kernels.softmax_sgd), as many in one
    # call as there are before the next event: a check, a snapshot or the end of an epoch.
    # Otherwise (full batches, which take the threaded pass of softmax_step; the binary model;
    # a callback that sees every step; no numba) one step at a time in Python.
    cb_at = None if callback_steps is None else set(int(s) for s in callback_steps)
    compiled = (not binary and not full and (callback is None or cb_at is not None)
                and bs < _kernels.MIN_ROWS and _kernels.available())
    events = np.union1d(sched.check_steps(),                              # sorted steps
                        np.fromiter(snap_at | (cb_at or set()), np.int64))

    def diverged(step, loss):
        if bar is not None:
            bar.close()
        what = (f"the loss is {loss}" if not np.isfinite(loss)
                else "the update lr * gradient is not finite")
        return DivergenceError(
            f"training diverged at step {step} (epoch {step / steps_per_epoch:.2f}): "
            f"{what}; lr={lr} is too large for this data, try a smaller learning "
            "rate (e.g. lr/10). The run so far is in this error's .result", result(step))

    # Overflow here only ever means divergence, which is detected and reported below as a
    # DivergenceError; numpy's RuntimeWarnings on the way there would only be noise.
    with np.errstate(over="ignore", invalid="ignore"):
        while step < total and not stopped_early:
            if shuffle and not full:         # a full batch's gradient does not depend on the order
                order = rng.permutation(n)
            b = 0                            # batches of this epoch done
            while b < steps_per_epoch and step < total:
                if compiled and b < n // bs:          # whole batches (not a short last one)
                    nxt = int(events[np.searchsorted(events, step, side="right")])
                    run = min(n // bs - b, nxt - step)               # nxt <= total
                    done = _kernels.softmax_sgd(W, X, T, order[b * bs:(b + run) * bs], bs, lr,
                                                l2, batch_loss[step:step + run])
                    step, b = step + done, b + done
                    if done < run:
                        raise diverged(step, batch_loss[step])
                else:
                    idx = order[b * bs:(b + 1) * bs]
                    Xb, Tb = (X, T) if full else (X[idx], T[idx])
                    out = step_at(W, Xb, Tb, l2)
                    if due is not None:
                        due = None
                        if check(step, (out.deviance, out.accuracy)):
                            stopped_early = True
                            break
                    loss, grad = out.loss, out.grad
                    grad *= lr                   # the step, in place: grad is a fresh array
                    if not np.isfinite(loss) or not np.all(np.isfinite(grad)):
                        raise diverged(step, loss)
                    batch_loss[step] = loss
                    W -= grad
                    step, b = step + 1, b + 1
                if step in snap_at:
                    snapshots[step] = W.copy()
                if callback is not None and (cb_at is None or step in cb_at):
                    callback(step, W)
                if bar is not None:
                    bar.update(step - bar.n)
                if sched.is_check(step):
                    if full:
                        due = step
                    elif check(step):
                        stopped_early = True
                        break
        if due is not None and not stopped_early and check(due):
            stopped_early = True
    if bar is not None:
        bar.close()
    _warn_if_loss_grew(batch_loss[:step], steps_per_epoch, lr)
    with np.errstate(over="ignore", invalid="ignore"):
        return result(step)
