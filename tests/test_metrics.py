"""lrbook.metrics: scores of weights and snapshots, and per-class measures, against direct
computations and scikit-learn's."""
import numpy as np
import pytest
from sklearn import metrics as skm

from lrbook import metrics, model


def _data(n=120, d=6, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return model.add_bias(rng.random((n, d))), rng.integers(0, c, n)


# --- loss and accuracy of weights -------------------------------------------------------------

def test_evaluate():
    X, y = _data(n=60, d=4, c=3)
    W = np.random.default_rng(0).standard_normal((X.shape[1], 3))
    loss, acc = metrics.evaluate(W, X, y)
    assert loss == pytest.approx(model.cross_entropy(W, X, model.one_hot(y, 3)), rel=1e-13)
    assert acc == pytest.approx(np.mean(np.argmax(X @ W, axis=1) == y))


def test_evaluate_binary():
    X, y = _data(n=60, d=4, c=2)
    w = np.random.default_rng(1).standard_normal(X.shape[1])
    loss, acc = metrics.evaluate(w, X, y)
    assert loss == pytest.approx(model.binary_cross_entropy(w, X, y), rel=1e-13)
    assert acc == np.mean((X @ w > 0) == y)


@pytest.mark.parametrize("binary", [True, False])
def test_evaluate_many_equals_evaluate_one_by_one(binary):
    rng = np.random.default_rng(1)
    X = np.hstack([rng.standard_normal((300, 12)), np.ones((300, 1))])
    y = rng.integers(0, 2 if binary else 4, size=300)
    shape = (13,) if binary else (13, 4)
    Ws = [np.zeros(shape)] + [rng.standard_normal(shape) for _ in range(6)]
    loss, acc = metrics.evaluate_many(Ws, X, y, chunk=4)   # chunks of 4, then 3
    want = np.array([metrics.evaluate(W, X, y) for W in Ws])
    assert np.allclose(loss, want[:, 0], rtol=1e-12, atol=1e-12)
    assert np.array_equal(acc, want[:, 1])
    assert len(set(np.round(loss, 8))) > 1                  # the snapshots really differ



@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_evaluate_many_compiled_scores_equal_numpy_scores(monkeypatch, dtype, rtol):
    """The compiled pass over the logits (lrbook._kernels.softmax_scores) gives NumPy's scores:
    huge logits stay finite (max-shifted), ties go to the first class, NaN logits are a miss."""
    from lrbook import _kernels
    rng = np.random.default_rng(3)
    X = np.hstack([rng.standard_normal((200, 5)), np.ones((200, 1))]).astype(dtype)
    y = rng.integers(0, 3, size=200)
    Ws = [np.zeros((6, 3)), 800.0 * rng.standard_normal((6, 3)), rng.standard_normal((6, 3))]
    Ws = [W.astype(dtype) for W in Ws]
    fast = metrics.evaluate_many(Ws, X, y, chunk=2)
    monkeypatch.setattr(_kernels, "softmax_scores", lambda Z, y: None)
    slow = metrics.evaluate_many(Ws, X, y, chunk=2)
    assert np.all(np.isfinite(fast[0]))
    np.testing.assert_allclose(fast[0], slow[0], rtol=rtol)
    np.testing.assert_array_equal(fast[1], slow[1])
    assert fast[1][0] == np.mean(y == 0)                          # all tied: class 0


def test_softmax_scores_nan_and_bad_labels():
    from lrbook import _kernels
    Z = np.zeros((4, 2, 3))
    Z[1, 0, :] = np.nan
    dev, hits = _kernels.softmax_scores(Z, np.array([0, 0, 1, 2]))
    assert np.isnan(dev[0]) and dev[1] == pytest.approx(4 * np.log(3))
    assert list(hits) == [1, 2]                               # the NaN row is no hit
    with pytest.raises(ValueError, match="labels in 0..2"):
        _kernels.softmax_scores(Z, np.array([0, 0, 1, 3]))

def test_evaluate_snapshots_matches_evaluate_and_sorts_steps():
    X, y = _data(seed=12)
    Ws = {20: np.full((7, 4), 0.1), 0: np.zeros((7, 4)), 5: np.eye(7, 4)}
    sc = metrics.evaluate_snapshots(Ws, X, y)
    assert list(sc.step) == [0, 5, 20]
    assert np.isclose(sc.loss[0], np.log(4))
    assert np.isclose(sc.loss[1], metrics.evaluate(Ws[5], X, y)[0], rtol=1e-12)
    assert sc.acc[1] == metrics.evaluate(Ws[5], X, y)[1]


def test_slice_scores():
    X, y = _data(n=400, c=10, seed=3)
    W = 0.5 * np.random.default_rng(2).standard_normal((X.shape[1], 10))
    starts, loss, acc = metrics.slice_scores(W, X, y, size=150)
    assert np.array_equal(starts, [0, 150])                  # the incomplete last slice is left out
    assert np.isclose(loss[1], metrics.evaluate(W, X[150:300], y[150:300])[0])
    assert acc[0] == metrics.evaluate(W, X[:150], y[:150])[1]
    with pytest.raises(ValueError, match="size"):
        metrics.slice_scores(W, X, y, size=0)


# --- labels -----------------------------------------------------------------------------------

@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 5, 300))
    return y_true, y_pred


def test_accuracy(labels):
    y_true, y_pred = labels
    acc = metrics.accuracy(y_true, y_pred)
    assert isinstance(acc, float)
    assert acc == pytest.approx(skm.accuracy_score(y_true, y_pred), rel=1e-15)
    assert metrics.accuracy([1, 2, 3, 4], [0, 2, 0, 4]) == 0.5


def test_confusion_matrix(labels):
    y_true, y_pred = labels
    cm = metrics.confusion_matrix(y_true, y_pred, 5)
    assert np.array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=range(5)))
    assert np.array_equal(metrics.confusion_matrix([0, 0, 1], [1, 1, 1], 2), [[0, 2], [0, 1]])
    cm = metrics.confusion_matrix([0, 1, 1], [1, 1, 0], 4)         # absent classes
    assert np.array_equal(cm, skm.confusion_matrix([0, 1, 1], [1, 1, 0], labels=range(4)))


# --- per class --------------------------------------------------------------------------------

def test_per_class_metrics_match_sklearn_and_direct_computation(log_proba_path):
    lp, y = log_proba_path()
    dev = metrics.per_class_deviance(lp, y, 3)
    rec = metrics.per_class_recall(lp, y, 3)
    prec = metrics.per_class_precision(lp, y, 3)
    assert dev.shape == rec.shape == prec.shape == (4, 3)
    for p in range(lp.shape[0]):
        pred = lp[p].argmax(axis=1)
        np.testing.assert_allclose(rec[p], skm.recall_score(y, pred, average=None), rtol=1e-15)
        np.testing.assert_allclose(prec[p], skm.precision_score(y, pred, average=None),
                                   rtol=1e-15)
        np.testing.assert_allclose(metrics.per_class_recall(lp[p], y, 3), rec[p])  # one model
        for k in range(3):
            assert dev[p, k] == pytest.approx(-lp[p, y == k, k].mean())
    # the count-weighted mean of per-class deviance is the overall deviance
    counts = np.bincount(y)
    np.testing.assert_allclose(dev @ counts / len(y),
                               metrics.sample_deviance(lp, y).mean(axis=1))


def test_per_class_nan_for_an_empty_class():
    # class 2 never occurs and is never predicted: its recall and precision are undefined
    lp = np.log(np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1]]))
    y = np.array([0, 1, 1])
    rec, prec = metrics.per_class_recall(lp, y, 3), metrics.per_class_precision(lp, y, 3)
    np.testing.assert_allclose(rec[:2], [1.0, 0.5])
    np.testing.assert_allclose(prec[:2], [0.5, 1.0])
    assert np.isnan(rec[2]) and np.isnan(prec[2])


def test_one_vs_all_auc_matches_sklearn(log_proba_path):
    lp, y = log_proba_path()
    auc = metrics.one_vs_all_auc(lp, y, 3)
    for p in range(lp.shape[0]):
        for k in range(3):
            assert auc[p, k] == pytest.approx(skm.roc_auc_score(y == k, lp[p, :, k]))
    assert np.all(np.diff(auc.mean(axis=1)) > 0)       # the path gets more separable
    np.testing.assert_allclose(metrics.one_vs_all_auc(lp[1], y, 3), auc[1])
