"""Compiled kernels for the hot paths, with the checks and the threading around them.

* :func:`softmax_pass`: the softmax model's loss, gradient and scores in one pass over ``X``
  (a full-batch step of the trainer, an evaluation of the solver); :func:`binary_pass`, the
  same for the binary model.
* :func:`softmax_sgd`: a run of mini-batch SGD steps in one call.
* :func:`softmax_scores`: loss and accuracy sums of many models from their logits
  (:func:`lrbook.metrics.evaluate_many`).

Why a kernel. For ten classes the two products of a step, ``Z = X @ W`` and ``X.T @ (P - Y)``,
are long and skinny: BLAS runs them far below the processor's arithmetic speed (12-16 GFLOPS in
float32 on the book's 2-core machine) and reads ``X`` twice from memory. Fused, each block of
eight rows of ``X`` is read from memory once and used twice while it sits in cache: its
logits, their softmax, the per-row deviance and hit, and its share of the gradient. For
mini-batches of a hundred rows the NumPy step spends most of its time outside its two small
products (gathering the batch, temporaries, calls); compiled, a batch is read in place and a
run of steps costs one call (an epoch of the MNIST protocol, 140 steps of 128 images:
0.065 s against 0.134 s, ``benchmarks/bench_sgd.py``).
Numba compiles the loops (LLVM vectorises them; threads share the rows of a full pass), which
keeps the kernels in Python and the repository free of a compiled extension. The loops live in
:mod:`lrbook._compiled`, imported on first use and cached on disk by numba. Without numba
(or ``LRBOOK_NO_NUMBA=1``, or for inputs a kernel does not take) the wrappers return None and
the callers run their NumPy paths, whose results agree to float rounding (tested in
``tests/test_model.py``, ``tests/test_train.py`` and ``tests/test_metrics.py``).

Precision. Products accumulate in the dtype of ``X`` (as BLAS does); the softmax, the deviance
and their sums run in float64, so the loss of a float32 problem carries no float32 summation
error over 60,000 rows (what lets the float32 solver reach a relative gap of 1e-6). Only
``reassoc``/``contract`` fast-math flags are set: NaN and inf propagate as in NumPy, which the
trainer's divergence check relies on.
"""
from __future__ import annotations

import contextlib
import math
import os

import numpy as np

__all__ = ["available", "softmax_pass", "binary_pass", "softmax_sgd", "softmax_scores",
           "one_blas_thread"]

FASTMATH = {"reassoc", "contract"}      # vectorised sums; NaN/inf still propagate
MIN_ROWS = 2048     # a full pass on fewer rows: NumPy beats the threaded kernel (measured);
                    # mini-batches below this size take softmax_sgd instead
_kernel = None
_failed = False


def available() -> bool:
    """Whether the compiled kernel can run (numba importable, not disabled by
    ``LRBOOK_NO_NUMBA=1``)."""
    return _get() is not None


def _get():
    global _kernel, _failed
    if _kernel is None and not _failed:
        if os.environ.get("LRBOOK_NO_NUMBA"):
            _failed = True
            return None
        try:
            _kernel = _build()
        except ImportError:
            _failed = True
    return _kernel


def _build():
    from . import _compiled                  # imports numba; compiled on first call, cached
    return _compiled


def softmax_pass(W, X, Y):
    """One pass over ``X`` for the softmax model, or None if the kernel cannot take the inputs.

    ``X`` ``(N, D)`` C-contiguous float32 or float64, ``W`` ``(D, C)`` and one-hot ``Y``
    ``(N, C)``. The arithmetic runs in the wider dtype of ``X`` and ``W``: float64 weights on
    float32 inputs give float64 products while reading only the float32 data (no float64 copy
    of ``X``). Returns ``(deviance_sum, n_correct, grad_sum)``: the sum over rows of the
    deviance ``logsumexp(z_i) - y_i . z_i`` (float64), the number of rows whose first largest
    logit is the first largest entry of ``Y``, and ``X.T @ (softmax(X W) - Y)`` ``(D, C)``
    unscaled, in that dtype.
    """
    dt, kernel = _full_pass(X, W)
    if kernel is None:
        return None
    WT = np.ascontiguousarray(W.T, dtype=dt)                  # (C, D): rows of W per class
    Y = np.ascontiguousarray(Y, dtype=dt)
    bounds = _chunks(X.shape[0])
    parts = np.zeros((len(bounds),) + WT.shape, dtype=dt)     # (chunks, C, D)
    zero = dt.type(0)
    rows = np.arange(X.shape[0])
    dev, hits = _run_chunks(bounds, lambda t, lo, hi: kernel.pass_rows(
        X, WT, Y, rows, lo, hi, parts[t], zero))
    return dev, hits, np.ascontiguousarray(parts.sum(axis=0).T)           # (D, C)


def binary_pass(w, X, y):
    """One pass over ``X`` for the binary model, or None if the kernel cannot take the inputs:
    :func:`softmax_pass` for a weight vector ``w`` ``(D,)`` and targets ``y`` ``(N,)`` in
    {0, 1}. Returns ``(deviance_sum, n_correct, grad_sum)``: the sum of
    ``logaddexp(0, z_i) - y_i z_i`` (float64), the number of rows with ``(z_i > 0) == (y_i == 1)``
    and ``X.T @ (sigmoid(X w) - y)`` ``(D,)`` unscaled, in the wider dtype of ``X`` and ``w``.

    Why. NumPy's two matrix-vector products each read all of ``X`` for two flops per entry:
    the binary step is bound by memory traffic, and one read instead of two halves it.
    """
    dt, kernel = _full_pass(X, w)
    if kernel is None or w.ndim != 1:
        return None
    w = np.ascontiguousarray(w, dtype=dt)
    y = np.ascontiguousarray(y, dtype=np.float64)
    bounds = _chunks(X.shape[0])
    parts = np.zeros((len(bounds), w.shape[0]), dtype=dt)    # (chunks, D)
    zero = dt.type(0)
    dev, hits = _run_chunks(bounds, lambda t, lo, hi: kernel.binary_rows(
        X, w, y, lo, hi, parts[t], zero))
    return dev, hits, parts.sum(axis=0)


def _full_pass(X, W):
    """The compute dtype of a full pass over ``X`` with weights ``W`` and the compiled
    module, or ``(None, None)`` if the kernel cannot take them: ``X`` 2-d, C-contiguous,
    float32 or float64, at least ``MIN_ROWS`` rows; numba there."""
    dt = np.result_type(X.dtype, W.dtype)
    if (X.ndim != 2 or X.dtype not in (np.float32, np.float64)
            or dt not in (np.float32, np.float64) or not X.flags.c_contiguous
            or X.shape[0] < MIN_ROWS):
        return None, None
    kernel = _get()
    return (dt, kernel) if kernel is not None else (None, None)


def _chunks(n):
    """Row ranges for the threads: chunks handed out to the cores one at a time from a queue,
    so that a core slowed by another process takes fewer of them instead of holding up the
    whole pass."""
    n_chunks = max(1, min(n // 1024, 8 * _n_threads()))
    return [(t * n // n_chunks, (t + 1) * n // n_chunks) for t in range(n_chunks)]


def _run_chunks(bounds, run):
    """``run(t, lo, hi)`` for every chunk, on the kernel's threads; the sums of the
    (deviance, hits) pairs the runs return."""
    if len(bounds) == 1 or _n_threads() == 1:
        results = [run(t, lo, hi) for t, (lo, hi) in enumerate(bounds)]
    else:
        results = list(_pool().map(lambda t: run(t, *bounds[t]), range(len(bounds))))
    return math.fsum(r[0] for r in results), sum(r[1] for r in results)


def softmax_sgd(W, X, Y, rows, batch_size, lr, l2, losses):
    """Mini-batch SGD steps of the softmax model in compiled code, or None if the kernel cannot
    take the inputs.

    Step ``s`` uses the rows ``rows[s * batch_size:(s + 1) * batch_size]`` of ``X`` ``(N, D)``
    (C-contiguous float32 or float64) and of the one-hot ``Y`` ``(N, C)``, and updates ``W``
    ``(D, C)``, of the dtype of ``X``, in place: ``W -= lr * (X_b.T @ (P_b - Y_b) / B + l2 W)``,
    with ``l2`` a scalar or ``(C,)`` and the bias row (the last) unpenalised, as
    :func:`lrbook.model.softmax_step` and :func:`lrbook.train.fit` do it. ``losses`` (float64)
    receives each batch's penalised loss before its update. Returns the number of steps
    done: fewer than ``len(rows) // batch_size`` means the next step's loss (written to
    ``losses``) or update is not finite, and that update was not applied.

    Why. For batches of a hundred rows the NumPy step spends most of its time outside its two
    small products (gathering the batch, temporaries, calls); here a batch is read in place,
    once, and a run of steps costs one call. One thread: a batch is too small to share.
    """
    if (X.ndim != 2 or X.dtype not in (np.float32, np.float64) or W.dtype != X.dtype
            or not X.flags.c_contiguous):
        return None
    kernel = _get()
    if kernel is None:
        return None
    C = W.shape[1]
    WT = np.ascontiguousarray(W.T)                            # (C, D)
    l2 = np.broadcast_to(np.asarray(l2, dtype=np.float64), (C,)).copy()
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(X)):      # compiled code reads
        raise IndexError(f"rows must lie in 0..{len(X) - 1}")          # without bounds checks
    Y = np.ascontiguousarray(Y, dtype=X.dtype)
    done = kernel.sgd_steps(X, Y, rows, int(batch_size), len(rows) // int(batch_size), WT,
                      float(lr), l2, losses, X.dtype.type(0))
    W[...] = WT.T
    return done


def softmax_scores(Z, y):
    """Deviance sums and hit counts of ``S`` softmax models from their logits ``Z`` ``(N, S, C)``
    (float, C-contiguous) and the labels ``y`` ``(N,)`` in ``0..C-1``: two ``(S,)`` arrays
    (float64, int64), or None if the kernel cannot take the inputs. One pass over ``Z`` instead
    of NumPy's several over ``(N, S, C)`` temporaries (the max, the shifted exponentials, the
    gathered true-class logits), which cost more than the product that made ``Z``.
    """
    if Z.ndim != 3 or Z.dtype not in (np.float32, np.float64) or not Z.flags.c_contiguous:
        return None
    kernel = _get()
    if kernel is None:
        return None
    y = np.ascontiguousarray(y, dtype=np.int64)
    if len(y) != len(Z) or (len(y) and (y.min() < 0 or y.max() >= Z.shape[2])):
        raise ValueError(f"y must hold {len(Z)} labels in 0..{Z.shape[2] - 1}")
    dev = np.zeros(Z.shape[1])
    hits = np.zeros(Z.shape[1], dtype=np.int64)
    kernel.scores(Z, y, dev, hits)
    return dev, hits


_executor = None
_controller = None


def one_blas_thread():
    """A context in which BLAS runs on one thread, for loops that alternate the kernel with
    small BLAS products (the solver's rotations, SciPy's L-BFGS updates).

    Why. After each call OpenBLAS keeps its worker threads spinning on the cores for a while
    (its thread timeout) in case another call follows. A kernel pass that starts then shares
    the cores with them: on the 2-core machine one evaluation inside a solve took 78 ms instead
    of 36 ms, and a 13-penalty regularisation path on Fashion-MNIST 100 s instead of 51 s. The
    products inside such loops are O(D^2 C), a millisecond on one thread. A no-op when the
    kernel is not in use (the NumPy path needs BLAS threads for its large products) or
    threadpoolctl is missing.
    """
    global _controller
    if _get() is None or _n_threads() == 1:
        return contextlib.nullcontext()
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return contextlib.nullcontext()
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def _n_threads():
    """Threads for the kernel: ``LRBOOK_NUM_THREADS`` if set, else the usable cores."""
    env = os.environ.get("LRBOOK_NUM_THREADS")
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _pool():
    """The kernel's thread pool, made on first use and made again in a forked child (whose
    copy of the parent's pool has no threads behind it)."""
    global _executor
    if _executor is None or _executor[0] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor
        _executor = (os.getpid(),
                     ThreadPoolExecutor(max_workers=_n_threads(), thread_name_prefix="lrbook"))
    return _executor[1]
