"""Peak memory of loading a data set, as a multiple of the arrays it ends with.

Measured with ``tracemalloc`` (NumPy reports its buffers to it), from nothing to the final
arrays, for Fashion-MNIST found the usual way:

* ``load``: :func:`lrbook.data.load_fashion_mnist` alone; final = its four arrays (uint8
  images, int64 labels);
* ``load + float32 with bias``: the chapters' first cell, the training images as float32 with
  the bias column, written in one array (``scale_01(..., bias=True)``); final = the data set
  and that array;
* the same with ``model.add_bias(scale_01(...))`` (two full-size float arrays), for comparison.

Goal (issue 14): peak <= 1.5 x the final arrays. Times are medians over repeats (min-max).

Run:  python benchmarks/bench_load.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

import numpy as np

from lrbook import data, model


def measure(fn):
    """(peak bytes, final bytes, seconds) of ``fn()``, which returns the arrays it keeps."""
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    arrays = fn()
    sec = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    final = sum(a.nbytes for a in arrays)
    return peak, final, sec


def _dataset_arrays(ds):
    return [ds.X_train, ds.y_train, ds.X_test, ds.y_test]


def cases():
    def load():
        return _dataset_arrays(data.load_fashion_mnist())

    def load_bias():
        ds = data.load_fashion_mnist()
        return _dataset_arrays(ds) + [data.scale_01(ds.X_train, np.float32, bias=True)]

    def load_add_bias():
        ds = data.load_fashion_mnist()
        return _dataset_arrays(ds) + [model.add_bias(data.scale_01(ds.X_train, np.float32))]

    return {"load": load, "load + float32 with bias": load_bias,
            "  (add_bias(scale_01(...)) instead)": load_add_bias}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"peak memory while loading Fashion-MNIST ({data.load_fashion_mnist().source}), "
          f"tracemalloc; {args.repeats} repeats")
    print(f"  {'what':<36} {'final MB':>9} {'peak MB':>8} {'peak/final':>10}   seconds")
    ok = True
    for name, fn in cases().items():
        runs = [measure(fn) for _ in range(args.repeats)]
        peak, final = max(r[0] for r in runs), runs[0][1]
        secs = [r[2] for r in runs]
        print(f"  {name:<36} {final / 1e6:9.1f} {peak / 1e6:8.1f} {peak / final:10.2f}   "
              f"{statistics.median(secs):.2f} ({min(secs):.2f}-{max(secs):.2f})")
        if not name.startswith(" "):
            ok = ok and peak / final <= 1.5
    print(f"goal 4: loading peaks at <= 1.5 x the final arrays -> {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
