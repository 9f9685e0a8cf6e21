"""Per-class view of a regularisation path: best penalties, the cost of one global penalty,
bootstrap intervals, and a coordinate search for one penalty per class.

Shapes: a path has ``P`` penalties (models); ``log_proba`` is ``(P, N, C)``, the log
probabilities each model gives to each class for ``N`` evaluation samples; ``y`` ``(N,)`` the
true labels. Per-class metrics (from :mod:`lrbook.metrics`) come back as ``(P, C)``: one row
per penalty, one column per class. "Best" is the lowest deviance or the highest accuracy; ties
go to the first index.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .model import log_softmax, one_hot

__all__ = ["path_log_proba", "Tradeoff", "tradeoff", "bootstrap_best", "index_interval",
           "SearchResult", "coordinate_search"]


def path_log_proba(Ws, X):
    """Log class probabilities of every model of a path: ``Ws`` (P, D, C), ``X`` (N, D) ->
    ``(P, N, C)`` float64."""
    return np.stack([log_softmax((X @ W).astype(np.float64)) for W in Ws])


class Tradeoff(NamedTuple):
    """What one global penalty costs each class (:func:`tradeoff`). Indices refer to the grid.

    ``best`` (C,) each class's best index; ``chosen`` the global index (best overall);
    ``at_chosen`` (C,) and ``at_best`` (C,) each class's metric there and at its own best;
    ``cost`` (C,) ``>= 0`` how much worse each class is at the global choice; ``overall`` and
    ``overall_bound`` the overall metric at the global choice and with every class at its own
    best (an upper bound on what per-class tuning can give, read off the same path);
    ``worst`` and ``worst_bound`` the same for the worst class.
    """
    best: np.ndarray
    chosen: int
    at_chosen: np.ndarray
    at_best: np.ndarray
    cost: np.ndarray
    overall: float
    overall_bound: float
    worst: float
    worst_bound: float


def tradeoff(per_class, counts, *, higher_is_better, chosen=None) -> Tradeoff:
    """Per-class best penalties against the best single penalty.

    Parameters
    ----------
    per_class : (P, C) a per-class metric along the path (e.g.
        :func:`lrbook.metrics.per_class_recall`).
    counts : (C,) samples of each class; the overall metric is the count-weighted mean.
    higher_is_better : True for accuracies, False for deviances.
    chosen : index of the global penalty; default the best overall value of the same metric.
    """
    M = np.asarray(per_class, dtype=np.float64)
    w = np.asarray(counts, dtype=np.float64) / np.sum(counts)
    sign = 1.0 if higher_is_better else -1.0
    overall = M @ w                                                  # (P,)
    if chosen is None:
        chosen = int(np.argmax(sign * overall))
    best = np.argmax(sign * M, axis=0)                               # (C,)
    at_best = M[best, np.arange(M.shape[1])]
    at_chosen = M[chosen]
    worst_fn = np.min if higher_is_better else np.max
    return Tradeoff(best=best, chosen=int(chosen), at_chosen=at_chosen, at_best=at_best,
                    cost=sign * (at_best - at_chosen), overall=float(overall[chosen]),
                    overall_bound=float(at_best @ w), worst=float(worst_fn(at_chosen)),
                    worst_bound=float(worst_fn(at_best)))


def bootstrap_best(per_sample, y, n_classes, *, higher_is_better, n_boot=1000, seed=0):
    """Bootstrap the evaluation set: each class's best index and the global best index.

    Parameters
    ----------
    per_sample : (P, N) a per-sample score along the path
        (:func:`lrbook.metrics.sample_deviance` or :func:`lrbook.metrics.sample_correct`).
    y : (N,) labels of the evaluation samples.
    higher_is_better : as in :func:`tradeoff`.
    n_boot : number of resamples (drawn with replacement, size N, from
        ``np.random.default_rng(seed)``).

    Returns
    -------
    best : (n_boot, C) each class's best index in each resample.
    chosen : (n_boot,) the overall best index in each resample.
    """
    S = np.asarray(per_sample, dtype=np.float64)
    n = S.shape[1]
    Yoh = one_hot(y, n_classes)                                       # (N, C)
    rng = np.random.default_rng(seed)
    sign = 1.0 if higher_is_better else -1.0
    best = np.empty((n_boot, n_classes), dtype=np.int64)
    chosen = np.empty(n_boot, dtype=np.int64)
    for b in range(n_boot):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        sums = S @ (w[:, None] * Yoh)                                # (P, C)
        nk = w @ Yoh                                                 # (C,)
        best[b] = np.argmax(sign * sums / nk, axis=0)
        chosen[b] = np.argmax(sign * sums.sum(axis=1))
    return best, chosen


def index_interval(indices, level=0.9, axis=0):
    """Equal-tailed percentile interval of bootstrap grid indices: ``(low, high)`` integer
    arrays, the ``(1-level)/2`` and ``(1+level)/2`` quantiles taken among observed values."""
    a = (1.0 - level) / 2.0
    lo = np.quantile(indices, a, axis=axis, method="inverted_cdf")
    hi = np.quantile(indices, 1.0 - a, axis=axis, method="inverted_cdf")
    return lo.astype(np.int64), hi.astype(np.int64)


class SearchResult(NamedTuple):
    """Outcome of :func:`coordinate_search`: ``index`` (C,) grid index of each class's penalty,
    its ``W`` and ``score``, the accepted moves as ``(class, index, score)`` and fits made."""
    index: np.ndarray
    W: np.ndarray
    score: float
    moves: list
    n_fits: int


def coordinate_search(fit, score, start, n_grid, *, W0, max_sweeps=3, step=1,
                      progress=False) -> SearchResult:
    """Choose one grid penalty per class by greedy coordinate moves.

    Starting from the index vector ``start`` (C,) with weights ``W0`` fitted for it, visit the
    classes in turn; for class ``k`` try moving its index ``step`` up and ``step`` down the grid
    (other classes fixed), refit warm-started from the current weights, and keep the move if it
    lowers ``score``. Stop after a sweep with no accepted move, or after ``max_sweeps``.

    Parameters
    ----------
    fit : callable ``fit(index (C,), W0) -> W``, the model for those per-class grid indices.
    score : callable ``score(W) -> float``, lower is better (e.g. validation deviance).
    start : (C,) starting indices into a grid of ``n_grid`` penalties.
    """
    idx = np.array(start, dtype=np.int64)
    W, best = W0, float(score(W0))
    moves, n_fits = [], 0
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(desc="coordinate search fits", leave=False)
    for _ in range(max_sweeps):
        moved = False
        for k in range(len(idx)):
            for d in (-step, step):
                j = idx[k] + d
                if not 0 <= j < n_grid:
                    continue
                trial = idx.copy()
                trial[k] = j
                Wt = fit(trial, W)
                n_fits += 1
                if bar is not None:
                    bar.update(1)
                s = float(score(Wt))
                if s < best:
                    idx, W, best, moved = trial, Wt, s, True
                    moves.append((k, int(j), s))
                    break                     # keep moving this class from its new index later
        if not moved:
            break
    if bar is not None:
        bar.close()
    return SearchResult(index=idx, W=W, score=best, moves=moves, n_fits=n_fits)
