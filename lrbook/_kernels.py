"""Compiled kernels for the hot path: the softmax model's loss, gradient and scores in one
pass over ``X``.

Why a kernel. For ten classes the two products of a step, ``Z = X @ W`` and ``X.T @ (P - Y)``,
are long and skinny: BLAS runs them far below the processor's arithmetic speed (12-16 GFLOPS in
float32 on the book's 2-core machine) and reads ``X`` twice from memory. Fused, each block of
four rows of ``X`` is read from memory once and used twice while it sits in the L1 cache: its
logits, their softmax, the per-row deviance and hit, and its share of the gradient. Numba
compiles the loop (LLVM vectorises it; ``prange`` spreads the rows over the cores), which keeps
the kernel in Python and the repository free of a compiled extension. Numba is imported on
first use; without it (or for inputs the kernel does not take) :mod:`lrbook.model` runs its
NumPy path, whose results agree to float rounding (``tests/test_model.py`` checks both).

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

__all__ = ["available", "softmax_pass", "one_blas_thread"]

_FASTMATH = {"reassoc", "contract"}      # vectorised sums; NaN/inf still propagate
_MIN_ROWS = 2048                         # below this NumPy's small products win (measured)
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
    from numba import njit, prange

    @njit(fastmath=_FASTMATH, cache=True, nogil=True)
    def _logits4(X, WT, i, Z, k0, zero):
        """Logits of rows i..i+3 into Z[k0:k0+4] (float64): two classes at a time, so that
        each load of x or w feeds two or four multiply-adds."""
        C, D = WT.shape
        x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        for c in range(0, C - 1, 2):
            w, v = WT[c], WT[c + 1]
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = zero
            for d in range(D):
                wd, vd = w[d], v[d]
                a0 += x0[d] * wd
                a1 += x1[d] * wd
                a2 += x2[d] * wd
                a3 += x3[d] * wd
                b0 += x0[d] * vd
                b1 += x1[d] * vd
                b2 += x2[d] * vd
                b3 += x3[d] * vd
            Z[k0, c], Z[k0 + 1, c], Z[k0 + 2, c], Z[k0 + 3, c] = a0, a1, a2, a3
            Z[k0, c + 1], Z[k0 + 1, c + 1], Z[k0 + 2, c + 1], Z[k0 + 3, c + 1] = b0, b1, b2, b3
        if C % 2:
            w = WT[C - 1]
            a0 = a1 = a2 = a3 = zero
            for d in range(D):
                wd = w[d]
                a0 += x0[d] * wd
                a1 += x1[d] * wd
                a2 += x2[d] * wd
                a3 += x3[d] * wd
            Z[k0, C - 1], Z[k0 + 1, C - 1], Z[k0 + 2, C - 1], Z[k0 + 3, C - 1] = a0, a1, a2, a3

    @njit(fastmath=_FASTMATH, cache=True, nogil=True)
    def _softmax_rows(Y, i, r, Z, G):
        """Rows i..i+r-1: logits Z (float64, overwritten) to residuals G = P - Y; returns
        (deviance sum, hits)."""
        C = Z.shape[1]
        dev = 0.0
        hits = 0
        for k in range(r):
            y = Y[i + k]
            m = Z[k, 0]
            zmax = 0
            ymax = 0
            for c in range(1, C):
                if Z[k, c] > m:
                    m = Z[k, c]
                    zmax = c
                if y[c] > y[ymax]:
                    ymax = c
            if not m == m:                  # NaN logits: no prediction (NumPy's argmax would
                zmax = -1                   # say 0); the loss is NaN and training stops
            s = 0.0
            yz = 0.0
            for c in range(C):
                yz += y[c] * (Z[k, c] - m)
                e = math.exp(Z[k, c] - m)
                Z[k, c] = e
                s += e
            dev += math.log(s) - yz
            hits += zmax == ymax
            for c in range(C):
                G[k, c] = Z[k, c] / s - y[c]
        return dev, hits

    @njit(fastmath=_FASTMATH, cache=True, nogil=True)
    def kernel(X, WT, Y, lo, hi, gT, zero):
        """Rows lo..hi-1: adds their (P - Y).T @ X into gT (C, D); returns (deviance sum,
        hits). Releases the GIL, so that threads can run chunks side by side."""
        C, D = WT.shape
        Z = np.empty((8, C))                    # logits, then probabilities, of 8 rows
        G = np.empty((8, C), dtype=WT.dtype)          # residuals in the compute dtype
        dev = 0.0
        hit = 0
        i = lo
        while i + 8 <= hi:                      # blocks of 8 rows, read from memory once
            _logits4(X, WT, i, Z, 0, zero)
            _logits4(X, WT, i + 4, Z, 4, zero)
            dv, h = _softmax_rows(Y, i, 8, Z, G)
            dev += dv
            hit += h
            x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
            x4, x5, x6, x7 = X[i + 4], X[i + 5], X[i + 6], X[i + 7]
            for c in range(C):
                g0, g1, g2, g3 = G[0, c], G[1, c], G[2, c], G[3, c]
                g4, g5, g6, g7 = G[4, c], G[5, c], G[6, c], G[7, c]
                row = gT[c]
                for d in range(D):
                    row[d] += (g0 * x0[d] + g1 * x1[d] + g2 * x2[d] + g3 * x3[d]
                               + g4 * x4[d] + g5 * x5[d] + g6 * x6[d] + g7 * x7[d])
            i += 8
        r = hi - i                          # the last < 8 rows, one at a time
        for k in range(r):
            x = X[i + k]
            for c in range(C):
                w = WT[c]
                a = zero
                for d in range(D):
                    a += x[d] * w[d]
                Z[k, c] = a
        dv, h = _softmax_rows(Y, i, r, Z, G)
        dev += dv
        hit += h
        for k in range(r):
            x = X[i + k]
            for c in range(C):
                g = G[k, c]
                row = gT[c]
                for d in range(D):
                    row[d] += g * x[d]
        return dev, hit

    return kernel


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
    dt = np.result_type(X.dtype, W.dtype)
    if (X.ndim != 2 or X.dtype not in (np.float32, np.float64)
            or dt not in (np.float32, np.float64) or not X.flags.c_contiguous
            or X.shape[0] < _MIN_ROWS):
        return None
    kernel = _get()
    if kernel is None:
        return None
    WT = np.ascontiguousarray(W.T, dtype=dt)                  # (C, D): rows of W per class
    Y = np.ascontiguousarray(Y, dtype=dt)
    n = X.shape[0]
    # Chunks of rows, handed out to the cores one at a time from a queue: a core slowed by
    # another process takes fewer of them instead of holding up the whole step.
    n_chunks = max(1, min(n // 1024, 8 * _n_threads()))
    bounds = [(t * n // n_chunks, (t + 1) * n // n_chunks) for t in range(n_chunks)]
    parts = np.zeros((n_chunks,) + WT.shape, dtype=dt)        # (chunks, C, D)
    zero = dt.type(0)

    def run(t):
        return kernel(X, WT, Y, bounds[t][0], bounds[t][1], parts[t], zero)

    if n_chunks == 1 or _n_threads() == 1:
        results = [run(t) for t in range(n_chunks)]
    else:
        results = list(_pool().map(run, range(n_chunks)))
    dev = math.fsum(r[0] for r in results)
    hits = sum(r[1] for r in results)
    return dev, hits, np.ascontiguousarray(parts.sum(axis=0).T)           # (D, C)


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
