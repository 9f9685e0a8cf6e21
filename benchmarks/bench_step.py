"""How much one full-batch softmax step costs beyond its two matrix products.

One step of full-batch gradient descent on the whole Fashion-MNIST training set
(60,000 x 785 inputs scaled to [0, 1] with the bias column, 10 classes) is
``lrbook.model.cross_entropy_and_grad`` plus the update ``W -= lr * grad``. Its floor is the
two matrix products it cannot avoid, ``X @ W`` and ``X.T @ G``. This script times both in the
same process (median of several repeats, after warm-up), in float64 and float32, and prints
their ratio. The aim is a ratio of 1.3 or less: everything else the step does is O(N C) work.

Run:  python benchmarks/bench_step.py [--repeats 15]
Data: Fashion-MNIST found the usual way (lrbook.data.load_fashion_mnist), or, with
``--synthetic``, random pixels of the same shape (the timing does not depend on the values).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lrbook import data, model


def interleaved_medians(fns, repeats, warmup=2):
    """Median wall time in seconds of each function in ``fns``, timed in turn within every
    repeat (so that load from other processes falls on all of them alike), after warm-up."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def bench(X_u8, y, dtype, repeats, n_classes=10, lr=0.1):
    """``(time of one step, time of its two matrix products)`` in seconds, for ``dtype``."""
    X = data.add_bias(data.scale_01(X_u8, dtype=dtype))          # (N, D), bias last
    Y = data.one_hot(y, n_classes, dtype=dtype)                  # (N, C)
    rng = np.random.default_rng(0)
    W = (0.01 * rng.standard_normal((X.shape[1], n_classes))).astype(dtype)   # (D, C)
    G = (rng.random((X.shape[0], n_classes)) - 0.1).astype(dtype)             # (N, C)

    def matmuls():
        X @ W
        X.T @ G

    def step():
        _, grad = model.cross_entropy_and_grad(W, X, Y)
        W[...] -= lr * grad

    t_step, t_mm = interleaved_medians([step, matmuls], repeats)
    return t_step, t_mm


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
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
    print(f"full-batch softmax step, X {X_u8.shape[0]} x {X_u8.shape[1] + 1}, 10 classes "
          f"({source}); median of {args.repeats} repeats")
    print(f"{'dtype':<8} {'step ms':>9} {'2 matmuls ms':>13} {'ratio':>7}")
    worst = 0.0
    for dtype in (np.float64, np.float32):
        t_step, t_mm = bench(X_u8, y, dtype, args.repeats)
        ratio = t_step / t_mm
        worst = max(worst, ratio)
        print(f"{np.dtype(dtype).name:<8} {1e3 * t_step:9.2f} {1e3 * t_mm:13.2f} {ratio:7.3f}")
    print(f"aim: ratio <= 1.3 -> {'met' if worst <= 1.3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
