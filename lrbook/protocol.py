"""The course assignment's protocol on MNIST: its data preparation, its training settings,
early stopping judged after the fact, and the learning curve it asks for.

The assignment (2022 edition) trains on the first 18,000 MNIST training images, pixels scaled to
[-1, 1] (``x / 127.5 - 1``) with a bias column appended, weights starting at zero.

* Data: every chapter first keeps the first ``N_COMMON`` (20,000) training images with
  :func:`first_training_images`. The offline copy of MNIST holds exactly those; the official
  file holds 60,000. Selecting them explicitly makes every result the same with either copy.
* Binary task: digit 2 (target 1) against digit 3 (target 0), taken from the first 18,000
  training images; validation = the 2s and 3s among the first (``val="first"``) or the last
  (``val="last"``) 2,000 MNIST test images. Answers to the assignment use both.
* Softmax task: all ten digits; validation = the last ``n_val`` (2,000) MNIST test images.
* Mini-batch SGD: batch 128, incomplete last batch dropped, validation every 20% of an epoch.
  Binary: lr 0.05, 50 epochs, no shuffling; softmax: lr 0.01, 50 epochs, shuffling.
* Early stopping: patience of 10 validation checks, up to 500 epochs. Training does not depend
  on the validation set, so :func:`early_stopping` finds where the rule would have stopped a
  run made by :func:`run`, for any validation set, without training again.

``binary_task`` and ``softmax_task`` return a :class:`Task`; ``protocol`` gives the keyword
arguments of :func:`lrbook.train.fit` for a task, which a chapter may override one by one.
The only difference from the assignment: ``lrbook`` never penalises the bias row (see
:mod:`lrbook.model`), while the assignment's penalty covered all weights.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .data import scale_pm1
from .metrics import evaluate, evaluate_many
from .model import add_bias
from .train import Schedule, fit

__all__ = ["Task", "N_COMMON", "N_TRAIN", "N_VAL", "VAL_SPLITS", "BATCH_SIZE", "VAL_EVERY",
           "PATIENCE", "MAX_EPOCHS", "first_training_images", "prepare", "binary_task",
           "softmax_task", "protocol", "schedule", "run", "run_many", "one_blas_thread", "EarlyStop",
           "stopping_point", "early_stopping", "LearningCurve", "learning_curve"]

N_COMMON = 20_000       # training images every MNIST copy holds (the offline copy's all)
N_TRAIN = 18_000        # training images used: the first 18,000 of the official training set
VAL_SPLITS = ("first", "last")   # where the binary task's validation images come from
N_VAL = 2_000           # size of the validation pool (binary) / validation set (softmax)
BATCH_SIZE = 128
VAL_EVERY = 0.2         # a validation check every 20% of an epoch
PATIENCE = 10           # validation checks without improvement before stopping
MAX_EPOCHS = 500        # the cap for runs with early stopping

_SETTINGS = {           # task kind -> (learning rate, shuffle each epoch)
    "binary": (0.05, False),
    "softmax": (0.01, True),
}


@dataclass(frozen=True)
class Task:
    """Prepared arrays of one assignment task. ``X`` are float64 ``(N, 785)``, bias last."""
    kind: str               # "binary" or "softmax"
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    train_index: np.ndarray  # rows of the official training set used for training
    val_index: np.ndarray    # rows of the official test set used for validation
    class_names: tuple

    @property
    def binary(self) -> bool:
        return self.kind == "binary"


def first_training_images(mnist, n=N_COMMON):
    """``mnist`` (a :class:`lrbook.data.Dataset`) with only its first ``n`` training images.

    The test images are kept whole. The official training file has 60,000 images and the
    offline copy its first 20,000, so with the default ``n`` every selection made from the
    result, and every number computed from it, is the same whichever copy was loaded.
    """
    if not 0 < n <= len(mnist.X_train):
        raise ValueError(f"n must be in 1..{len(mnist.X_train)} (the training images in this "
                         f"copy of the data), got {n}")
    return dataclasses.replace(mnist, X_train=mnist.X_train[:n], y_train=mnist.y_train[:n])


def prepare(images):
    """``uint8`` images ``(N, 784)`` -> the assignment's inputs: ``x / 127.5 - 1``, bias column last."""
    return add_bias(scale_pm1(images))


def _check_counts(mnist, n_train, n_val):
    if not 0 < n_train <= len(mnist.X_train):
        raise ValueError(f"n_train must be in 1..{len(mnist.X_train)} (the training images "
                         f"available), got {n_train}")
    if not 0 < n_val <= len(mnist.X_test):
        raise ValueError(f"n_val must be in 1..{len(mnist.X_test)} (the test images), got {n_val}")


def binary_task(mnist, *, positive=2, negative=3, n_train=N_TRAIN, n_val=N_VAL,
                val="first") -> Task:
    """Digit ``positive`` (label 1) against ``negative`` (label 0).

    Training: those two digits among the first ``n_train`` training images; validation: those
    two digits among the first (``val="first"``) or the last (``val="last"``) ``n_val`` test
    images. ``mnist`` is a :class:`lrbook.data.Dataset`.
    """
    _check_counts(mnist, n_train, n_val)
    if positive == negative:
        raise ValueError(f"positive and negative must be different digits, got {positive} twice")
    if val not in VAL_SPLITS:
        raise ValueError(f"val must be one of {VAL_SPLITS}, got {val!r}")
    pair = (positive, negative)
    tr = np.flatnonzero(np.isin(mnist.y_train[:n_train], pair))
    start = 0 if val == "first" else len(mnist.y_test) - n_val
    va = start + np.flatnonzero(np.isin(mnist.y_test[start:start + n_val], pair))
    return Task(kind="binary",
                X_train=prepare(mnist.X_train[tr]),
                y_train=(mnist.y_train[tr] == positive).astype(np.int64),
                X_val=prepare(mnist.X_test[va]),
                y_val=(mnist.y_test[va] == positive).astype(np.int64),
                train_index=tr, val_index=va,
                class_names=(str(negative), str(positive)))


def softmax_task(mnist, *, n_train=N_TRAIN, n_val=N_VAL) -> Task:
    """All ten digits: the first ``n_train`` training images; validation = the last ``n_val``
    test images. ``mnist`` is a :class:`lrbook.data.Dataset`.
    """
    _check_counts(mnist, n_train, n_val)
    tr = np.arange(n_train)
    va = np.arange(len(mnist.X_test) - n_val, len(mnist.X_test))
    return Task(kind="softmax",
                X_train=prepare(mnist.X_train[tr]), y_train=mnist.y_train[tr].copy(),
                X_val=prepare(mnist.X_test[va]), y_val=mnist.y_test[va].copy(),
                train_index=tr, val_index=va, class_names=tuple(mnist.class_names))


def protocol(task: Task, *, early_stopping=False, **overrides) -> dict:
    """Keyword arguments of :func:`lrbook.train.fit` for ``task`` under the assignment's protocol.

    With ``early_stopping`` the run may last up to ``MAX_EPOCHS`` epochs and stops after
    ``PATIENCE`` checks without a lower validation loss (best weights restored); otherwise it
    lasts 50 epochs. ``overrides`` replace any entry, e.g. ``shuffle=True`` or ``l2=0.2``.
    Use as ``fit(**protocol(task))``.
    """
    lr, shuffle = _SETTINGS[task.kind]
    kw = dict(X=task.X_train, y=task.y_train, binary=task.binary,
              n_classes=2 if task.binary else len(task.class_names),
              lr=lr, epochs=50, batch_size=BATCH_SIZE, drop_last=True, shuffle=shuffle,
              X_val=task.X_val, y_val=task.y_val, val_every=VAL_EVERY, seed=0)
    if early_stopping:
        kw.update(epochs=MAX_EPOCHS, patience=PATIENCE, restore_best=True)
    kw.update(overrides)
    return kw


def one_blas_thread():
    """A context in which BLAS uses one thread (a no-op if threadpoolctl is not installed).

    Each SGD step multiplies a 128 x 785 batch by a 785 x 10 matrix: far too small to gain from
    several threads, and on a busy machine the threads wait on each other. Measured on the
    2-core machine that builds this book, under load from other jobs: a 50-epoch softmax run
    took 38 s with OpenBLAS's default threads and 4.7 s with one.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                   # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def schedule(kw) -> Schedule:
    """The :class:`lrbook.train.Schedule` of ``fit(**kw)``: when it updates and checks."""
    return Schedule.make(len(kw["X"]), batch_size=kw.get("batch_size"),
                         drop_last=kw.get("drop_last", True), epochs=kw.get("epochs", 1),
                         max_steps=kw.get("max_steps"), val_every=kw.get("val_every", 1))


def run(task: Task, **overrides):
    """``fit(**protocol(task, **overrides))`` without early stopping, keeping the weights at
    every validation check in ``snapshots`` (for scoring them on other sets later).

    ``fit`` scores the checks after training when there is no early stopping, so this is the
    plain protocol run; BLAS is held to one thread (see :func:`one_blas_thread`).
    """
    kw = protocol(task, **overrides)
    if kw.get("patience") is not None:
        raise ValueError("run() has no early stopping; use fit(**protocol(task, "
                         "early_stopping=True))")
    steps = set(schedule(kw).check_steps().tolist()) | set(kw.get("snapshot_steps", ()))
    with one_blas_thread():
        return fit(**{**kw, "snapshot_steps": sorted(steps)})


class EarlyStop(NamedTuple):
    """Where early stopping ends a run: the check whose weights it returns and the check at
    which it stops (steps and epochs), the returned weights, and the validation loss at every
    check of the whole run, ``(K,)`` (the rule looks only at those up to ``stop_step``)."""
    best_step: int
    stop_step: int
    best_epoch: float
    stop_epoch: float
    W: np.ndarray
    val_loss: np.ndarray


def stopping_point(val_loss, *, patience=PATIENCE):
    """Indices ``(best, stop)`` of the checks where :func:`lrbook.train.fit`'s early stopping
    would return the weights and stop, for a run whose validation losses were ``val_loss``.

    The rule: stop at the first check that ends ``patience`` checks in a row without a loss
    strictly below the lowest so far; return the weights of that lowest check. ``stop`` is
    None if the rule never fires.
    """
    best, lowest, since = 0, np.inf, 0
    for i, v in enumerate(val_loss):
        if v < lowest:
            best, lowest, since = i, v, 0
        else:
            since += 1
            if since >= patience:
                return best, i
    return best, None


def early_stopping(result, X_val, y_val, *, patience=PATIENCE) -> EarlyStop:
    """Early stopping judged on ``(X_val, y_val)`` for a run made without it.

    ``result`` is the :class:`lrbook.train.FitResult` of :func:`run`, which keeps the weights
    at every check. Training never looks at the validation set, so ``fit`` with
    ``patience=patience`` (and ``restore_best``) would have followed this very run up to the
    stopping check: one run serves every validation set. Raises ``ValueError`` if the rule does
    not fire within the run (train longer).

    Returns
    -------
    EarlyStop
    """
    steps = np.array(sorted(result.snapshots))
    checks = result.history.step
    if not np.all(np.isin(checks, steps)):
        raise ValueError("result must keep the weights at every check: make it with run()")
    val_loss = evaluate_many([result.snapshots[s] for s in checks], X_val, y_val)[0]
    best, stop = stopping_point(val_loss, patience=patience)
    if stop is None:
        raise ValueError(f"early stopping with patience {patience} does not fire within the "
                         f"run's {result.epochs:g} epochs: train for more epochs")
    spe = result.steps_per_epoch
    return EarlyStop(best_step=int(checks[best]), stop_step=int(checks[stop]),
                     best_epoch=float(checks[best] / spe), stop_epoch=float(checks[stop] / spe),
                     W=result.snapshots[checks[best]], val_loss=val_loss)


def _map(fn, calls, n_jobs):
    """``[fn(*args, **kw) for args, kw in calls]``, in ``n_jobs`` processes if more than one.

    Every call is deterministic and independent of the others (its randomness comes from its
    own seed), so the results do not depend on ``n_jobs``; the machine that builds the book
    has two cores, and one SGD run uses one (see :func:`one_blas_thread`).
    """
    calls = list(calls)
    if n_jobs == 1 or len(calls) < 2:
        return [fn(*args, **kw) for args, kw in calls]
    from joblib import Parallel, delayed
    return Parallel(n_jobs=n_jobs)(delayed(fn)(*args, **kw) for args, kw in calls)


def run_many(task: Task, settings, *, n_jobs=1):
    """``[run(task, **s) for s in settings]``, the runs shared among ``n_jobs`` processes.

    The results are the same, in the same order, whatever ``n_jobs``.
    """
    return _map(run, [((task,), dict(s)) for s in settings], n_jobs)


@dataclass(frozen=True)
class LearningCurve:
    """Scores of models trained on random subsets. Arrays are ``(len(sizes), len(seeds))``."""
    sizes: np.ndarray
    seeds: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray


def _subset_fit(task, rows, seed, steps, fit_overrides):
    """The model ``learning_curve`` trains on ``task``'s training rows ``rows``."""
    n = len(rows)
    kw = protocol(task, X=task.X_train[rows], y=task.y_train[rows], seed=int(seed),
                  batch_size=min(BATCH_SIZE, n), max_steps=int(steps), X_val=None,
                  y_val=None, val_every=int(steps))
    kw.update(fit_overrides)
    with one_blas_thread():
        return fit(**kw).W


def learning_curve(task: Task, X_test, y_test, *, sizes, seeds, steps, known=None,
                   n_jobs=1, **fit_overrides) -> LearningCurve:
    """Train on random subsets of ``task``'s training set and score each model on a test set.

    For each size ``n`` and each seed, ``n`` training rows are drawn without replacement with
    ``np.random.default_rng(seed)``, and a model is fitted on them alone under the task's
    protocol for exactly ``steps`` updates (the same budget for every size; batches of
    ``min(128, n)``), without a validation set. A size equal to the whole training set uses it
    whole for every seed (the seed then changes only the shuffling): that model is the one
    ``run(task, seed=seed, max_steps=steps)`` trains. Training scores are measured on the
    subset itself.

    ``known`` maps ``(size, seed)`` to the weights of a model already trained exactly so (for
    instance ``{(len(task.X_train), 0): run(task).W}`` when ``steps`` is that run's number of
    updates); it is scored, not trained again. ``n_jobs`` processes share the training (the
    results do not depend on it).
    """
    known = {} if known is None else {(int(n), int(s)): W for (n, s), W in known.items()}
    sizes = np.asarray(sizes, dtype=int)
    seeds = np.asarray(seeds, dtype=int)
    n_all = len(task.X_train)
    if sizes.size == 0 or sizes.min() < 1 or sizes.max() > n_all:
        raise ValueError(f"sizes must lie in 1..{n_all} (the training set), got {sizes.tolist()}")
    if seeds.size == 0:
        raise ValueError("seeds must hold at least one seed")
    cells = [(i, j, np.sort(np.random.default_rng(seed).choice(n_all, size=n, replace=False)))
             for i, n in enumerate(sizes) for j, seed in enumerate(seeds)]
    todo = [c for c in cells if (int(sizes[c[0]]), int(seeds[c[1]])) not in known]
    trained = _map(_subset_fit, [((task, rows, seeds[j], steps, fit_overrides), {})
                                 for i, j, rows in todo], n_jobs)
    weights = {(i, j): W for (i, j, _), W in zip(todo, trained)}
    out = np.empty((4, len(sizes), len(seeds)))
    for i, j, rows in cells:
        W = weights.get((i, j))
        if W is None:
            W = known[int(sizes[i]), int(seeds[j])]
        X, y = task.X_train[rows], task.y_train[rows]
        (trl, tra), (tel, tea) = evaluate(W, X, y), evaluate(W, X_test, y_test)
        out[:, i, j] = tra, tea, trl, tel
    return LearningCurve(sizes=sizes, seeds=seeds, train_acc=out[0], test_acc=out[1],
                         train_loss=out[2], test_loss=out[3])
