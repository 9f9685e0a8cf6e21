"""Classification metrics on integer labels: accuracy, per-class accuracy (recall), confusion.

All take ``y_true`` and ``y_pred`` as integer arrays of shape ``(N,)``.
"""
import numpy as np

__all__ = ["accuracy", "confusion_matrix", "per_class_accuracy", "per_class_precision"]


def accuracy(y_true, y_pred):
    """Fraction of samples whose predicted label equals the true one."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def confusion_matrix(y_true, y_pred, n_classes):
    """``(C, C)`` counts; row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.bincount(n_classes * y_true + y_pred, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def per_class_accuracy(y_true, y_pred, n_classes):
    """Recall of each class, ``(C,)``: the accuracy on the samples of that class (NaN if none)."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(axis=1)


def per_class_precision(y_true, y_pred, n_classes):
    """Precision of each class, ``(C,)``: the share of predictions of that class that are right."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(axis=0)
