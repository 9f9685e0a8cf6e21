"""The trainer every chapter uses: gradient descent and mini-batch SGD for both models.

One entry point, :func:`fit`. It validates its inputs once, then runs a plain loop that neither
prints nor plots: it records a :class:`History`, keeps weight snapshots at requested steps,
checks a validation set every ``val_every`` steps, stops early on a patience counted in
validation checks, and stops with :class:`DivergenceError` if the loss stops being finite.

Vocabulary: a *step* is one weight update on one batch; an *epoch* is one pass over the
training set (``steps_per_epoch`` steps). Full-batch gradient descent is ``batch_size=None``:
one step per epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import model
from .data import one_hot

__all__ = ["fit", "FitResult", "History", "DivergenceError", "evaluate", "evaluate_many"]


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite. ``.result`` holds the run up to that point."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class History:
    """What was measured at each validation check (one entry per check, in order).

    ``step`` counts updates done before the check (0 = the initial weights); ``epoch`` is
    ``step / steps_per_epoch``. Losses are the unpenalised mean deviance on the whole set; the
    validation fields are NaN when no validation set was given. ``batch_loss`` holds the
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


def evaluate(W, X, y):
    """Mean deviance (unpenalised loss) and accuracy of weights ``W`` on ``(X, y)``."""
    Z = X @ W                                            # one product serves both measures
    dev = model.deviance_from_logits(Z, y)
    return float(np.mean(dev)), float(np.mean(model.labels_from_logits(Z) == y))


def evaluate_many(Ws, X, y, *, chunk=32):
    """Mean deviance and accuracy of each weight snapshot on ``(X, y)``: two ``(S,)`` arrays.

    ``Ws`` is a sequence of ``S`` weights (all binary ``(D,)`` or all softmax ``(D, C)``). Gives
    what :func:`evaluate` gives for each, but scores ``chunk`` snapshots with one
    matrix product ``X @ [W_1 ... W_chunk]``, which on MNIST is about ten times faster than
    ``S`` separate passes over ``X``.
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
            dev = np.logaddexp(0.0, Z) - y[:, None] * Z
            hit = (Z > 0) == (y[:, None] == 1)
        else:                                             # softmax: logits (N, k, C)
            d, c = B.shape[1:]
            Z = (X @ B.transpose(1, 0, 2).reshape(d, k * c)).reshape(n, k, c)
            m = Z.max(axis=2, keepdims=True)
            lse = m[..., 0] + np.log(np.exp(Z - m).sum(axis=2))          # (N, k)
            dev = lse - np.take_along_axis(Z, np.broadcast_to(y[:, None, None], (n, k, 1)),
                                           axis=2)[..., 0]
            hit = Z.argmax(axis=2) == y[:, None]
        loss[a:a + k], acc[a:a + k] = dev.mean(axis=0), hit.mean(axis=0)
    return loss, acc


def _check_xy(X, y, n_classes, binary, name):
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{name}: X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{name}: y must have shape ({X.shape[0]},) to match X {X.shape}, "
                         f"got {y.shape}")
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"{name}: X must be floating point (scale the pixels first, e.g. "
                         f"lrbook.data.scale_01), got dtype {X.dtype}")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{name}: X contains NaN or inf (first at row {bad[0]}, column {bad[1]}); "
                         "clean or impute the data before training")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{name}: y must hold integer class labels, got dtype {y.dtype}")
    hi = 2 if binary else n_classes
    if y.size and (y.min() < 0 or y.max() >= hi):
        raise ValueError(f"{name}: labels must lie in 0..{hi - 1}, got range {y.min()}..{y.max()}")
    return X, y


def _as_step_count(val_every, steps_per_epoch):
    """``val_every`` as a number of steps: an int is steps, a float in (0, 1] a fraction of an epoch."""
    if isinstance(val_every, float):
        if not 0 < val_every <= 1:
            raise ValueError(f"val_every as a fraction of an epoch must be in (0, 1], got {val_every}")
        return max(1, int(val_every * steps_per_epoch + 1e-9))   # 0.57 * 100 is 56.99999...
    if int(val_every) < 1:
        raise ValueError(f"val_every must be >= 1 step, got {val_every}")
    return int(val_every)


def fit(X, y, *, binary=False, n_classes=None, lr, epochs=1, max_steps=None, batch_size=None,
        drop_last=True, shuffle=True, l2=0.0, X_val=None, y_val=None, val_every=1,
        patience=None, restore_best=True, snapshot_steps=(), W0=None, seed=0,
        progress=False, callback=None) -> FitResult:
    """Fit a binary (``binary=True``) or softmax logistic regression by (mini-batch) gradient descent.

    Parameters
    ----------
    X : (N, D) float array, bias column last (see :mod:`lrbook.model`).
    y : (N,) integer labels (0/1 if ``binary``, else 0..n_classes-1).
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
    callback : called as ``callback(step, W)`` after every step (read-only use of ``W``).

    Returns
    -------
    FitResult
    """
    if n_classes is None:
        n_classes = 2 if binary else int(np.max(y)) + 1
    X, y = _check_xy(X, y, n_classes, binary, "training set")
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _check_xy(X_val, y_val, n_classes, binary, "validation set")
        if X_val.shape[1] != X.shape[1]:
            raise ValueError(f"validation X has {X_val.shape[1]} features, training X has {X.shape[1]}")
    if not (np.isscalar(lr) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    if patience is not None and not has_val:
        raise ValueError("early stopping (patience) needs a validation set: pass X_val and y_val")
    l2 = np.asarray(l2, dtype=X.dtype) if np.ndim(l2) else X.dtype.type(l2)
    if np.any(l2 < 0) or not np.all(np.isfinite(l2)):
        raise ValueError(f"l2 must be finite and >= 0, got {l2}")

    n, d = X.shape
    bs = n if batch_size is None else int(batch_size)
    if not 1 <= bs <= n:
        raise ValueError(f"batch_size must be in 1..{n} (the training set size), got {batch_size}")
    steps_per_epoch = n // bs if drop_last else -(-n // bs)
    total = int(max_steps) if max_steps is not None else int(round(epochs * steps_per_epoch))
    check_every = _as_step_count(val_every, steps_per_epoch)

    shape = (d,) if binary else (d, n_classes)
    W = np.zeros(shape, dtype=X.dtype) if W0 is None else np.array(W0, dtype=X.dtype)
    if W.shape != shape:
        raise ValueError(f"W0 must have shape {shape}, got {W.shape}")
    T = y.astype(X.dtype) if binary else one_hot(y, n_classes, dtype=X.dtype)
    loss_and_grad = model.binary_cross_entropy_and_grad if binary else model.cross_entropy_and_grad

    rng = np.random.default_rng(seed)
    snap_at = set(int(s) for s in snapshot_steps)
    snapshots = {0: W.copy()} if 0 in snap_at else {}
    rec = {k: [] for k in ("step", "train_loss", "train_acc", "val_loss", "val_acc")}
    batch_loss = np.empty(total)
    best = (np.inf, 0, W.copy())          # (val loss, step, weights)
    since_best = 0
    stopped_early = False

    def check(step):
        nonlocal best, since_best
        tl, ta = evaluate(W, X, y)
        vl, va = evaluate(W, X_val, y_val) if has_val else (np.nan, np.nan)
        for k, v in zip(rec, (step, tl, ta, vl, va)):
            rec[k].append(v)
        if has_val:
            if vl < best[0]:
                best, since_best = (vl, step, W.copy()), 0
            else:
                since_best += 1
        return patience is not None and since_best >= patience

    def result(n_done):
        h = {k: np.asarray(v) for k, v in rec.items()}
        hist = History(step=h["step"], epoch=h["step"] / steps_per_epoch,
                       train_loss=h["train_loss"], train_acc=h["train_acc"],
                       val_loss=h["val_loss"], val_acc=h["val_acc"],
                       batch_loss=batch_loss[:n_done].copy())
        use_best = has_val and restore_best and stopped_early
        return FitResult(W=best[2] if use_best else W, history=hist, snapshots=snapshots,
                         steps_per_epoch=steps_per_epoch, n_steps=n_done,
                         best_step=best[1] if has_val else n_done, stopped_early=stopped_early)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, unit="step", leave=False)

    check(0)
    step = 0
    order = np.arange(n)
    # Overflow here only ever means divergence, which is detected and reported below as a
    # DivergenceError; numpy's RuntimeWarnings on the way there would only be noise.
    with np.errstate(over="ignore", invalid="ignore"):
        while step < total and not stopped_early:
            if shuffle and bs < n:           # a full batch's gradient does not depend on the order
                order = rng.permutation(n)
            for b in range(steps_per_epoch):
                if step >= total:
                    break
                idx = order[b * bs:(b + 1) * bs]
                Xb, Tb = (X, T) if bs == n else (X[idx], T[idx])
                loss, grad = loss_and_grad(W, Xb, Tb, l2)
                grad *= lr                   # the step, in place: grad is a fresh array
                if not np.isfinite(loss) or not np.all(np.isfinite(grad)):
                    if bar is not None:
                        bar.close()
                    what = (f"the loss is {loss}" if not np.isfinite(loss)
                            else "the update lr * gradient is not finite")
                    raise DivergenceError(
                        f"training diverged at step {step} (epoch {step / steps_per_epoch:.2f}): "
                        f"{what}; lr={lr} is too large for this data, try a smaller learning "
                        "rate (e.g. lr/10). The run so far is in this error's .result",
                        result(step))
                batch_loss[step] = loss
                W -= grad
                step += 1
                if step in snap_at:
                    snapshots[step] = W.copy()
                if callback is not None:
                    callback(step, W)
                if bar is not None:
                    bar.update(1)
                if step % check_every == 0 or step == total:
                    if check(step):
                        stopped_early = True
                        break
    if bar is not None:
        bar.close()
    return result(step)
