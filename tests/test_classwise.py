"""Tests for lrbook.classwise: per-class metrics against direct computations and
scikit-learn, the trade-off summary on a hand-made path, bootstrap and coordinate search."""
import numpy as np
import pytest

from lrbook import classwise, metrics, model


def _path(P=4, N=300, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N)
    Z = rng.normal(size=(P, N, C)) + 2.0 * np.eye(C)[y] * np.linspace(0.2, 1.5, P)[:, None, None]
    return model.log_softmax(Z.reshape(-1, C)).reshape(P, N, C), y


def test_path_log_proba_matches_model():
    rng = np.random.default_rng(0)
    Ws = rng.normal(size=(2, 5, 3))
    X = rng.normal(size=(7, 5))
    lp = classwise.path_log_proba(Ws, X)
    assert lp.shape == (2, 7, 3)
    np.testing.assert_allclose(np.exp(lp[1]), model.predict_proba(Ws[1], X))


def test_per_class_metrics_match_direct_computation():
    lp, y = _path()
    dev = classwise.per_class_deviance(lp, y, 3)
    rec = classwise.per_class_recall(lp, y, 3)
    prec = classwise.per_class_precision(lp, y, 3)
    for p in range(lp.shape[0]):
        pred = lp[p].argmax(axis=1)
        np.testing.assert_allclose(rec[p], metrics.per_class_accuracy(y, pred, 3))
        np.testing.assert_allclose(prec[p], metrics.per_class_precision(y, pred, 3))
        for k in range(3):
            assert dev[p, k] == pytest.approx(-lp[p, y == k, k].mean())
    # the count-weighted mean of per-class deviance is the overall deviance
    counts = np.bincount(y)
    np.testing.assert_allclose(dev @ counts / len(y), classwise.sample_deviance(lp, y).mean(axis=1))


def test_one_vs_all_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score
    lp, y = _path()
    auc = classwise.one_vs_all_auc(lp, y, 3)
    for p in range(lp.shape[0]):
        for k in range(3):
            assert auc[p, k] == pytest.approx(roc_auc_score(y == k, lp[p, :, k]))
    assert np.all(np.diff(auc.mean(axis=1)) > 0)       # the path gets more separable


def test_tradeoff_on_hand_made_path():
    # 3 penalties x 2 classes, equal counts; class 0 is best at index 0, class 1 at index 2
    acc = np.array([[0.90, 0.60],
                    [0.85, 0.75],
                    [0.70, 0.80]])
    t = classwise.tradeoff(acc, [10, 10], higher_is_better=True)
    assert t.chosen == 1                                 # overall 0.80 beats 0.75 and 0.75
    np.testing.assert_array_equal(t.best, [0, 2])
    np.testing.assert_allclose(t.cost, [0.05, 0.05])
    assert t.overall == pytest.approx(0.80) and t.overall_bound == pytest.approx(0.85)
    assert t.worst == pytest.approx(0.75) and t.worst_bound == pytest.approx(0.80)
    dev = -np.log(acc)                                   # lower is better
    d = classwise.tradeoff(dev, [10, 10], higher_is_better=False)
    np.testing.assert_array_equal(d.best, [0, 2])
    assert np.all(d.cost >= 0) and d.worst_bound <= d.worst
    assert d.overall_bound <= d.overall


def test_bootstrap_is_seeded_and_centred_on_the_point_estimate():
    lp, y = _path(P=6, N=2000)
    S = classwise.sample_deviance(lp, y)
    b1, c1 = classwise.bootstrap_best(S, y, 3, higher_is_better=False, n_boot=200, seed=3)
    b2, c2 = classwise.bootstrap_best(S, y, 3, higher_is_better=False, n_boot=200, seed=3)
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(c1, c2)
    assert b1.shape == (200, 3) and c1.shape == (200,)
    point = classwise.tradeoff(classwise.per_class_deviance(lp, y, 3), np.bincount(y),
                               higher_is_better=False)
    lo, hi = classwise.index_interval(b1, 0.9)
    assert np.all(lo <= point.best) and np.all(point.best <= hi)


def test_index_interval():
    idx = np.repeat(np.arange(10), 10)[:, None]          # uniform over 0..9, 100 draws
    lo, hi = classwise.index_interval(idx, 0.6)          # 20 % in each tail
    assert lo[0] == 1 and hi[0] == 7
    lo, hi = classwise.index_interval(np.full((50, 2), 4), 0.9)
    np.testing.assert_array_equal(lo, [4, 4])


def test_coordinate_search_finds_separable_optimum():
    target = np.array([2, 7, 4])
    fit = lambda idx, W0: idx.astype(float)             # the "model" is its index vector
    score = lambda W: float(np.sum((W - target) ** 2))
    r = classwise.coordinate_search(fit, score, np.array([5, 5, 5]), 10, W0=np.full(3, 5.0),
                                    max_sweeps=20)
    np.testing.assert_array_equal(r.index, target)
    assert r.score == 0.0 and len(r.moves) == 3 + 2 + 1
    # one sweep only moves each class by one step
    r1 = classwise.coordinate_search(fit, score, np.array([5, 5, 5]), 10, W0=np.full(3, 5.0),
                                     max_sweeps=1)
    np.testing.assert_array_equal(r1.index, [4, 6, 4])
