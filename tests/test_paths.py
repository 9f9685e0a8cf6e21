"""Tests for lrbook.paths: log probabilities along a path, the trade-off summary on a hand-made
path, bootstrap and coordinate search."""
import numpy as np
import pytest

from lrbook import metrics, model, paths


def test_path_log_proba_matches_model():
    rng = np.random.default_rng(0)
    Ws = rng.normal(size=(2, 5, 3))
    X = rng.normal(size=(7, 5))
    lp = paths.path_log_proba(Ws, X)
    assert lp.shape == (2, 7, 3)
    np.testing.assert_allclose(np.exp(lp[1]), model.predict_proba(Ws[1], X))






def test_tradeoff_on_hand_made_path():
    # 3 penalties x 2 classes, equal counts; class 0 is best at index 0, class 1 at index 2
    acc = np.array([[0.90, 0.60],
                    [0.85, 0.75],
                    [0.70, 0.80]])
    t = paths.tradeoff(acc, [10, 10], higher_is_better=True)
    assert t.chosen == 1                                 # overall 0.80 beats 0.75 and 0.75
    np.testing.assert_array_equal(t.best, [0, 2])
    np.testing.assert_allclose(t.cost, [0.05, 0.05])
    assert t.overall == pytest.approx(0.80) and t.overall_bound == pytest.approx(0.85)
    assert t.worst == pytest.approx(0.75) and t.worst_bound == pytest.approx(0.80)
    dev = -np.log(acc)                                   # lower is better
    d = paths.tradeoff(dev, [10, 10], higher_is_better=False)
    np.testing.assert_array_equal(d.best, [0, 2])
    assert np.all(d.cost >= 0) and d.worst_bound <= d.worst
    assert d.overall_bound <= d.overall


def test_bootstrap_is_seeded_and_centred_on_the_point_estimate(log_proba_path):
    lp, y = log_proba_path(P=6, N=2000)
    S = metrics.sample_deviance(lp, y)
    b1, c1 = paths.bootstrap_best(S, y, 3, higher_is_better=False, n_boot=200, seed=3)
    b2, c2 = paths.bootstrap_best(S, y, 3, higher_is_better=False, n_boot=200, seed=3)
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(c1, c2)
    assert b1.shape == (200, 3) and c1.shape == (200,)
    point = paths.tradeoff(metrics.per_class_deviance(lp, y, 3), np.bincount(y),
                               higher_is_better=False)
    lo, hi = paths.index_interval(b1, 0.9)
    assert np.all(lo <= point.best) and np.all(point.best <= hi)


def test_index_interval():
    idx = np.repeat(np.arange(10), 10)[:, None]          # uniform over 0..9, 100 draws
    lo, hi = paths.index_interval(idx, 0.6)          # 20 % in each tail
    assert lo[0] == 1 and hi[0] == 7
    lo, hi = paths.index_interval(np.full((50, 2), 4), 0.9)
    np.testing.assert_array_equal(lo, [4, 4])


def test_coordinate_search_finds_separable_optimum():
    target = np.array([2, 7, 4])
    fit = lambda idx, W0: idx.astype(float)             # the "model" is its index vector
    score = lambda W: float(np.sum((W - target) ** 2))
    r = paths.coordinate_search(fit, score, np.array([5, 5, 5]), 10, W0=np.full(3, 5.0),
                                    max_sweeps=20)
    np.testing.assert_array_equal(r.index, target)
    assert r.score == 0.0 and len(r.moves) == 3 + 2 + 1
    # one sweep only moves each class by one step
    r1 = paths.coordinate_search(fit, score, np.array([5, 5, 5]), 10, W0=np.full(3, 5.0),
                                     max_sweeps=1)
    np.testing.assert_array_equal(r1.index, [4, 6, 4])
