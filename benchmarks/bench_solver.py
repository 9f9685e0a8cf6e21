"""Time to a relative loss gap of 1e-6: lrbook's float32 solver against scikit-learn's lbfgs.

Problem: softmax regression on the Fashion-MNIST training set (60,000 x 784 pixels in [0, 1]
plus the bias column, float32, 10 classes) at penalty ``lambda`` (bias not penalised), i.e.
scikit-learn's ``LogisticRegression(C=1 / (N * lambda))``. The gap of weights ``W`` is
``(L(W) - L*) / L*`` with ``L`` evaluated in float64 arithmetic and ``L*`` the best loss of a
float64 run to a tight tolerance (or any lower loss seen on the way).

lrbook: ``solver.prepare`` then the solver with each ``precision`` (``native``: float32 only;
``auto``: float32, finished in float64 if it stalls; ``float64``: float64 arithmetic on the
float32 data); every iterate is time-stamped, and the time to the gap is the first iterate
within it (``prepare`` included). scikit-learn: fits with ``max_iter`` = 25, 50, 100, ...
(each fresh, timed whole) until one reaches the gap or the fits have taken the cap in all
(so that the slow side's share of the run is bounded); its time is that
of the first fit within the gap (its iterate count is known to a factor of two).

Run:  python benchmarks/bench_solver.py [--lambdas 1e-2 1e-4] [--cap 120]
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from lrbook import data, model, solver

TARGET = 1e-6


def float64_loss(W, X, Y, l2):
    """Penalised loss in float64 arithmetic on the (float32) data."""
    return float(model.softmax_step(np.asarray(W, dtype=np.float64), X, Y, l2).loss)


def lrbook_run(X, y, Y, lam, precision, tol=1e-9, max_iter=3000):
    """Time-stamped iterates of one solve (prepare included): ``(seconds, W)`` lists."""
    t0 = time.perf_counter()
    pb = solver.prepare(X, y, n_classes=10)
    t_prep = time.perf_counter() - t0
    rec = []
    solver.solve(pb, l2=lam, tol=tol, max_iter=max_iter, precision=precision,
                 callback=lambda W, loss: rec.append((time.perf_counter() - t0, W)))
    return t_prep, rec


def sklearn_fit(F, y, lam, max_iter):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(C=1.0 / (len(F) * lam), max_iter=max_iter, tol=1e-12)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(F, y)
    sec = time.perf_counter() - t0
    W = np.vstack([clf.coef_.T, clf.intercept_[None, :]])           # (D, C), bias last
    return sec, W


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lambdas", type=float, nargs="+", default=[1e-2, 1e-4])
    ap.add_argument("--cap", type=float, default=120.0,
                    help="stop scikit-learn once its fits have taken this long in all (seconds)")
    ap.add_argument("--precisions", nargs="+", default=["auto", "native", "float64"])
    args = ap.parse_args(argv)
    ds = data.load_fashion_mnist()
    X = model.add_bias(data.scale_01(ds.X_train, np.float32))            # (N, D) float32
    y = ds.y_train
    Y = model.one_hot(y, 10, dtype=np.float32)
    F = X[:, :-1]
    print(f"relative gap {TARGET:g}, Fashion-MNIST {X.shape[0]} x {X.shape[1]} float32, "
          f"10 classes; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for lam in args.lambdas:
        ref = solver.solve(solver.prepare(X, y, n_classes=10), l2=lam, tol=1e-8,
                           max_iter=5000, precision="float64")
        L_star = float64_loss(ref.W, X, Y, lam)
        runs = {}
        for prec in args.precisions:
            t_prep, rec = lrbook_run(X, y, Y, lam, prec)
            losses = [float64_loss(W, X, Y, lam) for _, W in rec]
            runs[prec] = (t_prep, [t for t, _ in rec], losses)
            L_star = min(L_star, min(losses))
        print(f"\nlambda = {lam:g}   (L* = {L_star:.10f}; sklearn C = {1 / (len(X) * lam):.4g})")
        print(f"  {'solver':<26} {'time to 1e-6':>13} {'iters':>6} {'final gap':>10}")
        for prec, (t_prep, ts, losses) in runs.items():
            gaps = (np.array(losses) - L_star) / L_star
            hit = np.flatnonzero(gaps <= TARGET)
            t_hit = f"{ts[hit[0]]:10.1f} s" if len(hit) else "   not reached"
            it = f"{hit[0] + 1:6d}" if len(hit) else f"{len(ts):6d}"
            print(f"  lrbook float32 {prec:<11} {t_hit:>13} {it} {gaps[-1]:10.2e}"
                  f"   (prepare {t_prep:.1f} s)")
        k, total = 25, 0.0
        while True:
            sec, W = sklearn_fit(F, y, lam, k)
            total += sec
            gap = (float64_loss(W, X, Y, lam) - L_star) / L_star
            if gap <= TARGET:
                print(f"  {'scikit-learn lbfgs':<26} {sec:10.1f} s {k:6d} {gap:10.2e}"
                      f"   (first of max_iter 25, 50, ... within the gap)")
                break
            if total > args.cap:
                print(f"  {'scikit-learn lbfgs':<26} {'> ' + format(sec, '.1f') + ' s':>13} "
                      f"{k:6d} {gap:10.2e}   (capped after {total:.0f} s of fits: the gap "
                      "of the last)")
                break
            k *= 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
