"""lrbook.metrics against scikit-learn's."""
import numpy as np
import pytest
from sklearn import metrics as skm

from lrbook import metrics


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
    assert metrics.accuracy([1, 2, 3], [1, 2, 3]) == 1.0
    assert metrics.accuracy([1, 2, 3, 4], [0, 2, 0, 4]) == 0.5


def test_confusion_matrix(labels):
    y_true, y_pred = labels
    cm = metrics.confusion_matrix(y_true, y_pred, 5)
    assert cm.shape == (5, 5)
    assert np.array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=range(5)))
    assert cm.sum() == len(y_true)
    # rows are the true class
    assert np.array_equal(metrics.confusion_matrix([0, 0, 1], [1, 1, 1], 2), [[0, 2], [0, 1]])


def test_confusion_matrix_with_absent_classes():
    cm = metrics.confusion_matrix([0, 1, 1], [1, 1, 0], 4)
    assert cm.shape == (4, 4)
    assert np.array_equal(cm, skm.confusion_matrix([0, 1, 1], [1, 1, 0], labels=range(4)))


def test_per_class_accuracy_is_recall(labels):
    y_true, y_pred = labels
    got = metrics.per_class_accuracy(y_true, y_pred, 5)
    np.testing.assert_allclose(got, skm.recall_score(y_true, y_pred, labels=range(5), average=None),
                               rtol=1e-15)


def test_per_class_precision(labels):
    y_true, y_pred = labels
    got = metrics.per_class_precision(y_true, y_pred, 5)
    np.testing.assert_allclose(
        got, skm.precision_score(y_true, y_pred, labels=range(5), average=None), rtol=1e-15)


def test_per_class_nan_for_an_empty_class():
    # class 2 never occurs and is never predicted: its recall and precision are undefined
    rec = metrics.per_class_accuracy([0, 1, 1], [0, 1, 0], 3)
    prec = metrics.per_class_precision([0, 1, 1], [0, 1, 0], 3)
    np.testing.assert_allclose(rec[:2], [1.0, 0.5])
    np.testing.assert_allclose(prec[:2], [0.5, 1.0])
    assert np.isnan(rec[2]) and np.isnan(prec[2])
