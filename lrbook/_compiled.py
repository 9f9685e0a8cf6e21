"""The compiled loops of :mod:`lrbook._kernels`, in a module of their own so that importing
``lrbook`` never imports numba, and so that numba can cache them on disk (``cache=True``):
functions defined at module level, calling each other, are cached; functions built inside
another function and calling each other are compiled again in every process (measured on the
book's machine: about 3 s for the float64 pass, 3-5 s for the float32 one and 2 s for the SGD
steps, in every chapter and every worker process).

See :mod:`lrbook._kernels` for what they compute and why; the wrappers there check the inputs.
"""
import math

import numpy as np
from numba import njit

from ._kernels import FASTMATH as _FASTMATH


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def _logits4(X, WT, r0, r1, r2, r3, Z, k0, zero):
    """Logits of rows r0..r3 of X into Z[k0:k0+4] (float64): two classes at a time, so
    that each load of x or w feeds two or four multiply-adds."""
    C, D = WT.shape
    x0, x1, x2, x3 = X[r0], X[r1], X[r2], X[r3]
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
def _softmax_rows(Y, rows, i, r, Z, G):
    """Rows rows[i..i+r-1]: logits Z (float64, overwritten) to residuals G = P - Y;
    returns (deviance sum, hits)."""
    C = Z.shape[1]
    dev = 0.0
    hits = 0
    for k in range(r):
        y = Y[rows[i + k]]
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
def pass_rows(X, WT, Y, rows, lo, hi, gT, zero):
    """Rows rows[lo..hi-1] of X and Y: adds their (P - Y).T @ X into gT (C, D); returns
    (deviance sum, hits). Releases the GIL, so that threads can run chunks side by side."""
    C, D = WT.shape
    Z = np.empty((8, C))                    # logits, then probabilities, of 8 rows
    G = np.empty((8, C), dtype=WT.dtype)          # residuals in the compute dtype
    dev = 0.0
    hit = 0
    i = lo
    while i + 8 <= hi:                      # blocks of 8 rows, read from memory once
        r0, r1, r2, r3 = rows[i], rows[i + 1], rows[i + 2], rows[i + 3]
        r4, r5, r6, r7 = rows[i + 4], rows[i + 5], rows[i + 6], rows[i + 7]
        _logits4(X, WT, r0, r1, r2, r3, Z, 0, zero)
        _logits4(X, WT, r4, r5, r6, r7, Z, 4, zero)
        dv, h = _softmax_rows(Y, rows, i, 8, Z, G)
        dev += dv
        hit += h
        x0, x1, x2, x3 = X[r0], X[r1], X[r2], X[r3]
        x4, x5, x6, x7 = X[r4], X[r5], X[r6], X[r7]
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
        x = X[rows[i + k]]
        for c in range(C):
            w = WT[c]
            a = zero
            for d in range(D):
                a += x[d] * w[d]
            Z[k, c] = a
    dv, h = _softmax_rows(Y, rows, i, r, Z, G)
    dev += dv
    hit += h
    for k in range(r):
        x = X[rows[i + k]]
        for c in range(C):
            g = G[k, c]
            row = gT[c]
            for d in range(D):
                row[d] += g * x[d]
    return dev, hit


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def sgd_steps(X, Y, rows, bs, n_steps, WT, lr, l2, losses, zero):
    """``n_steps`` mini-batch steps on the batches rows[s*bs:(s+1)*bs], WT (C, D) updated
    in place, losses[s] = the penalised batch loss before step s. Returns the steps done:
    fewer than n_steps if a loss or an update stopped being finite (that step's loss is
    in losses, its update not applied)."""
    C, D = WT.shape
    gT = np.empty_like(WT)
    for s in range(n_steps):
        gT[:] = 0
        dev, _ = pass_rows(X, WT, Y, rows, s * bs, (s + 1) * bs, gT, zero)
        pen = 0.0                           # (l2 / 2) |W|^2 in float64, bias excluded
        for c in range(C):
            q = 0.0
            for d in range(D - 1):
                q += float(WT[c, d]) * float(WT[c, d])
            pen += l2[c] * q
        losses[s] = dev / bs + 0.5 * pen
        if not math.isfinite(losses[s]):
            return s
        finite = True
        for c in range(C):                  # the update lr * (gradient + l2 W)
            for d in range(D):
                g = gT[c, d] / bs
                if d < D - 1:
                    g += l2[c] * WT[c, d]
                gT[c, d] = lr * g
                finite &= math.isfinite(gT[c, d])
        if not finite:
            return s
        for c in range(C):
            for d in range(D):
                WT[c, d] -= gT[c, d]
    return n_steps


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def scores(Z, y, dev, hits):
    """Logits Z (N, S, C) of S models, labels y (N,): adds each model's deviance sum and
    hit count over the rows into dev (S,) and hits (S,)."""
    N, S, C = Z.shape
    for i in range(N):
        t = y[i]
        for k in range(S):
            z = Z[i, k]
            m = z[0]
            arg = 0
            for c in range(1, C):
                if z[c] > m:
                    m = z[c]
                    arg = c
            s = 0.0
            for c in range(C):
                s += math.exp(z[c] - m)
            dev[k] += math.log(s) + m - z[t]
            hits[k] += arg == t and m == m          # NaN logits: no prediction


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def _binary_terms(z, t):
    """Deviance log(1 + e^z) - t z (as NumPy's logaddexp(0, z) - t z), hit, and residual
    sigmoid(z) - t (sigmoid as (1 + tanh(z/2)) / 2) of one row, in float64."""
    dev = max(z, 0.0) + math.log1p(math.exp(-abs(z))) - t * z
    return dev, (z > 0) == (t == 1), 0.5 * (1.0 + math.tanh(0.5 * z)) - t


@njit(fastmath=_FASTMATH, cache=True, nogil=True)
def binary_rows(X, w, y, lo, hi, g, zero):
    """Rows lo..hi-1 of X for the binary model: adds their (sigmoid(z_i) - y_i) x_i into
    g (D,); returns (deviance sum, hits). Four rows at a time, each read from memory once."""
    D = w.shape[0]
    w1 = w.reshape(1, D)                            # one "class" for _logits4
    z = np.empty((4, 1))                            # logits of 4 rows (float64)
    r4 = np.empty(4, dtype=g.dtype)                 # residuals in the compute dtype
    dev = 0.0
    hits = 0
    i = lo
    while i + 4 <= hi:
        _logits4(X, w1, i, i + 1, i + 2, i + 3, z, 0, zero)
        for k in range(4):
            dv, h, r4[k] = _binary_terms(z[k, 0], float(y[i + k]))
            dev += dv
            hits += h
        x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        g0, g1, g2, g3 = r4[0], r4[1], r4[2], r4[3]
        for d in range(D):
            g[d] += g0 * x0[d] + g1 * x1[d] + g2 * x2[d] + g3 * x3[d]
        i += 4
    for j in range(i, hi):                          # the last < 4 rows, one at a time
        x = X[j]
        a = zero
        for d in range(D):
            a += x[d] * w[d]
        dv, h, r4[0] = _binary_terms(float(a), float(y[j]))
        dev += dv
        hits += h
        g0 = r4[0]
        for d in range(D):
            g[d] += g0 * x[d]
    return dev, hits
