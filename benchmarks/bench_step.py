"""A full-batch step of ``fit`` against numpy's two matrix products and the memory floor.

Data: the Fashion-MNIST training set, 60,000 x 785 (pixels in [0, 1] and the bias column),
10 classes, C-ordered. The step is the one :func:`lrbook.train.fit` takes with
``batch_size=None`` and the default ``val_every=1``: its time is the interval between two of
its callbacks, so it includes the check (whose training scores come from the step's own
logits) and the update. It is set against, in the same run and interleaved repeat by repeat
(load from other processes falls on all alike):

* numpy's two products of a step, ``X @ W`` and ``X.T @ G``, on the same C-ordered arrays;
* the memory floor: the time to read ``X`` once (a sum over it, split over the cores).

And the binary model's step (:func:`lrbook.model.binary_step`, T-shirt against the rest),
timed as the solver runs it (steps one after another, inside
:func:`lrbook._kernels.one_blas_thread`), against its two matrix-vector products ``X @ w`` and
``X.T @ r``, which each read ``X``.

Goal (issue 14): float32 step <= 0.6 x the products. Each figure is the median over repeats,
with the min-max range.

Run:  python benchmarks/bench_step.py [--repeats 9] [--synthetic]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from lrbook import _kernels, data, model
from lrbook.train import fit


def fit_step_times(X, y, steps, lr=0.1):
    """Wall time of each full-batch step of ``fit`` (callback to callback), ``steps - 1``."""
    stamps = []
    fit(X, y, n_classes=10, lr=lr, max_steps=steps, callback=lambda s, W: stamps.append(
        time.perf_counter()))
    return list(np.diff(stamps))


def read_once(X, parts):
    """Read every byte of ``X`` once, split over the cores (the memory floor)."""
    bounds = np.linspace(0, len(X), parts + 1).astype(int)
    list(_kernels._pool().map(lambda k: X[bounds[k]:bounds[k + 1]].sum(), range(parts)))


def spread(ts):
    return statistics.median(ts), min(ts), max(ts)


def fmt(name, ts, ref=None):
    med, lo, hi = spread(ts)
    out = f"  {name:<34} {1e3 * med:8.1f} ms  ({1e3 * lo:.1f}-{1e3 * hi:.1f})"
    return out


def bench(X_u8, y, dtype, repeats, steps_per_repeat=4):
    X = data.scale_01(X_u8, dtype=dtype, bias=True)             # (N, D), bias last, C order
    n_classes = 10
    rng = np.random.default_rng(0)
    W = (0.01 * rng.standard_normal((X.shape[1], n_classes))).astype(dtype)   # (D, C)
    G = (rng.random((X.shape[0], n_classes)) - 0.1).astype(dtype)             # (N, C)
    threads = _kernels._n_threads()

    def products():
        X @ W
        X.T @ G

    w, t, r = W[:, 0].copy(), (y == 0).astype(dtype), G[:, 0].copy()

    def binary_products():
        X @ w
        X.T @ r

    times = {"step": [], "products": [], "floor": [], "binary": [], "binary products": []}
    fit_step_times(X, y, 2)                                       # warm-up (and compile)
    products()
    read_once(X, threads)
    for _ in range(repeats):
        times["step"] += fit_step_times(X, y, steps_per_repeat + 1)
        # binary steps one after another, as the solver takes them (BLAS held to one thread);
        # the first of a run may share the cores with OpenBLAS workers still spinning after
        # the products of the previous repeat (measured: 23 ms against 15.5 ms alone)
        with _kernels.one_blas_thread():
            for _ in range(steps_per_repeat):
                t0 = time.perf_counter()
                model.binary_step(w, X, t)
                times["binary"].append(time.perf_counter() - t0)
        for _ in range(steps_per_repeat):
            t0 = time.perf_counter()
            products()
            times["products"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            read_once(X, threads)
            times["floor"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            binary_products()
            times["binary products"].append(time.perf_counter() - t0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--synthetic", action="store_true",
                    help="random pixels of Fashion-MNIST's shape instead of the real data")
    args = ap.parse_args(argv)
    if args.synthetic:
        rng = np.random.default_rng(0)
        X_u8 = rng.integers(0, 256, size=(60_000, 784), dtype=np.uint8)
        y = rng.integers(0, 10, size=60_000)
        source = "synthetic"
    else:
        ds = data.load_fashion_mnist()
        X_u8, y, source = ds.X_train, ds.y_train, ds.source
    kernel = "numba kernel" if _kernels.available() else "NumPy path (no numba)"
    print(f"full-batch softmax step of fit, X {X_u8.shape[0]} x {X_u8.shape[1] + 1} C-ordered, "
          f"10 classes ({source}); {kernel}; {_kernels._n_threads()} threads; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"median over {args.repeats} x 4 interleaved repeats (min-max)")
    ok = True
    for dtype in (np.float32, np.float64):
        t = bench(X_u8, y, dtype, args.repeats)
        print(f"{np.dtype(dtype).name}:")
        print(fmt("step of fit", t["step"]))
        print(fmt("numpy X @ W + X.T @ G", t["products"]))
        print(fmt("memory floor (read X once)", t["floor"]))
        # ratios pair the step with the products / floor timed in the same repeat
        n = min(len(t["step"]), len(t["products"]))
        r_mm = [a / b for a, b in zip(t["step"][:n], t["products"][:n])]
        r_fl = [a / b for a, b in zip(t["step"][:n], t["floor"][:n])]
        q = np.percentile(r_mm, [25, 75])
        print(f"  step / products  {statistics.median(r_mm):.2f}  (IQR {q[0]:.2f}-{q[1]:.2f}, "
              f"min-max {min(r_mm):.2f}-{max(r_mm):.2f})")
        q = np.percentile(r_fl, [25, 75])
        print(f"  step / floor     {statistics.median(r_fl):.2f}  (IQR {q[0]:.2f}-{q[1]:.2f}, "
              f"min-max {min(r_fl):.2f}-{max(r_fl):.2f})")
        print(fmt("binary step (T-shirt or not)", t["binary"]))
        print(fmt("numpy X @ w + X.T @ r", t["binary products"]))
        r_b = [a / b for a, b in zip(t["binary"], t["binary products"])]
        q = np.percentile(r_b, [25, 75])
        print(f"  binary step / products  {statistics.median(r_b):.2f}  (IQR {q[0]:.2f}-"
              f"{q[1]:.2f}, min-max {min(r_b):.2f}-{max(r_b):.2f})")
        if dtype == np.float32:
            ok = statistics.median(r_mm) <= 0.6
    print(f"goal 1: float32 step <= 0.6 x the products -> {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
