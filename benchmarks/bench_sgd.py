"""Mini-batch SGD in ``fit``: compiled steps against NumPy steps, and the scoring of checks.

Data: the MNIST softmax task of the book's protocol (18,000 x 785 float64, pixels in [-1, 1],
10 classes) when ``LRBOOK_DATA`` or a download gives MNIST, else random data of that shape
(``--synthetic``). Two figures, each the median over interleaved repeats with its min-max:

* an epoch of ``fit`` (batches of 128, reshuffled, no checks inside the run): the compiled
  steps of :func:`lrbook._kernels.softmax_sgd` against the NumPy step that ``fit`` takes without
  numba, on one BLAS thread as ``protocol.run`` holds it;
* the end-of-run scoring of 50 checks on the training set (:func:`lrbook.metrics.evaluate_many`),
  with the compiled pass over the logits against NumPy's.

Run:  python benchmarks/bench_sgd.py [--repeats 5] [--synthetic]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import numpy as np

from lrbook import _kernels, data, metrics, protocol
from lrbook.train import fit


@contextlib.contextmanager
def numpy_path():
    """fit and evaluate_many as they run without numba."""
    saved = _kernels.available, _kernels.softmax_scores
    _kernels.available = lambda: False
    _kernels.softmax_scores = lambda Z, y: None
    try:
        yield
    finally:
        _kernels.available, _kernels.softmax_scores = saved


def load(synthetic):
    if not synthetic:
        try:
            task = protocol.softmax_task(protocol.first_training_images(data.load_mnist()))
            return task.X_train, task.y_train, "MNIST softmax task"
        except Exception as err:                   # no MNIST here: say so, use random data
            print(f"MNIST not available ({type(err).__name__}): random data instead")
    rng = np.random.default_rng(0)
    X = np.hstack([rng.uniform(-1, 1, (18_000, 784)), np.ones((18_000, 1))])
    return X, rng.integers(0, 10, 18_000), "synthetic"


EPOCHS = 5


def time_it(fn, per=1):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) / per


def spread(name, ts):
    return (f"  {name:<40} {statistics.median(ts):7.3f} s  "
            f"({min(ts):.3f}-{max(ts):.3f})")


def ratio(name, a, b):
    r = [x / y for x, y in zip(a, b)]
    return (f"  {name:<40} {statistics.median(r):7.2f}    "
            f"(min-max {min(r):.2f}-{max(r):.2f})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--synthetic", action="store_true")
    args = ap.parse_args(argv)
    X, y, source = load(args.synthetic)
    per_epoch = len(X) // protocol.BATCH_SIZE

    def epoch():                                    # 5 epochs, timed per epoch
        fit(X, y, n_classes=10, lr=0.01, epochs=EPOCHS, batch_size=protocol.BATCH_SIZE,
            val_every=EPOCHS * per_epoch)

    rng = np.random.default_rng(1)
    Ws = [0.01 * rng.standard_normal((X.shape[1], 10)) for _ in range(50)]

    def scoring():
        metrics.evaluate_many(Ws, X, y)

    kernel = "numba kernels" if _kernels.available() else "no numba: both columns NumPy"
    print(f"mini-batch SGD, X {X.shape[0]} x {X.shape[1]} {X.dtype} ({source}); {kernel}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"median over {args.repeats} interleaved repeats (min-max)")
    t = {k: [] for k in ("epoch", "epoch_np", "score", "score_np")}
    with _kernels.one_blas_thread():
        epoch(), scoring()                          # warm-up (compile or load the cache)
        with numpy_path():
            epoch(), scoring()
        for _ in range(args.repeats):
            t["epoch"].append(time_it(epoch, EPOCHS))
            t["score"].append(time_it(scoring))
            with numpy_path():
                t["epoch_np"].append(time_it(epoch, EPOCHS))
                t["score_np"].append(time_it(scoring))
    print(f"one epoch of fit, {per_epoch} steps of {protocol.BATCH_SIZE} rows (a run of "
          f"{EPOCHS} epochs, timed per epoch):")
    print(spread("compiled steps (softmax_sgd)", t["epoch"]))
    print(spread("NumPy steps", t["epoch_np"]))
    print(ratio("compiled / NumPy", t["epoch"], t["epoch_np"]))
    print(f"scoring 50 checks on the {len(X)} training rows (evaluate_many):")
    print(spread("compiled pass over the logits", t["score"]))
    print(spread("NumPy", t["score_np"]))
    print(ratio("compiled / NumPy", t["score"], t["score_np"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
