"""Input validation shared by the public entry points (``fit``, ``solve``, ``train_mlp``, ...).

Each public function calls these once, on entry; the maths below it trusts its inputs. Every
error names the argument, the bad value and what to do about it. Checks are cheap: finiteness
is tested with two reductions over ``X`` (NaN and inf propagate to the minimum or the maximum),
and only when that fails is the first offending entry looked for.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_X", "check_labels", "check_xy", "check_n_classes", "check_l2",
           "check_number", "check_count", "check_weights", "first_nonfinite"]


def first_nonfinite(A):
    """Index tuple of the first NaN or inf entry of ``A``, or None. Call only after a cheap
    reduction has said there is one: this builds a full-size mask."""
    bad = np.argwhere(~np.isfinite(A))
    return tuple(int(i) for i in bad[0]) if len(bad) else None


def _all_finite(A):
    if A.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(A.min()) and np.isfinite(A.max()))


def check_X(X, name="X"):
    """A non-empty 2-D floating-point array with finite entries (returned as an ndarray)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}): it needs at least one sample and "
                         "one feature")
    if not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"{name} must be floating point (scale the pixels first, e.g. "
                         f"lrbook.data.scale_01), got dtype {X.dtype}")
    if not _all_finite(X):
        r, c = first_nonfinite(X)
        raise ValueError(f"{name} contains {X[r, c]} at row {r}, column {c}; clean or impute "
                         "the data before training")
    return X


def check_labels(y, n_samples, name="y"):
    """Integer class labels ``(n_samples,)`` as int64. Floats holding whole numbers are
    accepted (and converted); NaN, inf and fractions are not."""
    y = np.asarray(y)
    if y.shape != (n_samples,):
        raise ValueError(f"{name} must have shape ({n_samples},) to match the {n_samples} rows "
                         f"of X, got {y.shape}")
    if np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
        return y.astype(np.int64, copy=False)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if not _all_finite(y):
        i = first_nonfinite(y)[0]
        raise ValueError(f"{name} holds {y[i]} at position {i}; labels must be integers "
                         "0..n_classes-1")
    frac = np.flatnonzero(y != np.round(y))
    if len(frac):
        raise ValueError(f"{name} holds the non-integer label {y[frac[0]]} at position "
                         f"{frac[0]}; labels must be integers 0..n_classes-1")
    return y.astype(np.int64)


def check_n_classes(n_classes, *, binary=False):
    """The number of classes: 2 for the binary model, else a required integer >= 2."""
    if binary:
        if n_classes not in (None, 2):
            raise ValueError(f"the binary model has 2 classes, got n_classes={n_classes}")
        return 2
    if n_classes is None:
        raise ValueError("n_classes is required for the softmax model: pass the data set's "
                         "class count (e.g. n_classes=10, or dataset.n_classes). It is not "
                         "inferred from the labels, where a class missing from a subset, or a "
                         "stray label, would silently change the model's shape")
    return check_count("n_classes", n_classes, minimum=2)


def check_xy(X, y, *, n_classes, binary=False, name="training set", need_two_classes=True):
    """Validate a data set: ``X`` (see :func:`check_X`), labels in ``0..n_classes-1`` and, for a
    training set, at least two distinct classes present. Returns ``(X, y)``."""
    X = check_X(X, f"{name}: X")
    y = check_labels(y, X.shape[0], f"{name}: y")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"{name}: labels must lie in 0..{n_classes - 1} "
                         f"({'binary' if binary else f'n_classes={n_classes}'}), "
                         f"got range {lo}..{hi}")
    if need_two_classes and lo == hi:
        raise ValueError(f"{name}: every label is {lo}; a classifier needs at least two "
                         "classes in its training set")
    return X, y


def check_number(name, value, *, minimum=None, strict=True, allow_inf=False):
    """A real number (Python or NumPy scalar, not a string or an array), optionally bounded
    below (``> minimum`` if ``strict``, else ``>= minimum``). Returns a float."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    return value


def check_count(name, value, *, minimum=0, maximum=None):
    """An integer (not a float such as 2.5, not a bool) in ``minimum..maximum``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        rng = f"in {minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} must be {rng}, got {value}")
    return value


def check_l2(l2, n_classes, dtype=np.float64):
    """The L2 penalty: a finite scalar >= 0, or one per class, shape ``(n_classes,)``.
    Returned in ``dtype`` (a NumPy scalar or array)."""
    arr = np.asarray(l2)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"l2 must be a number or an array of numbers, got {l2!r}")
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != (n_classes,)):
        raise ValueError(f"l2 must be a scalar or have shape ({n_classes},) (one penalty per "
                         f"class), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"l2 must be finite and >= 0, got {l2}")
    dtype = np.dtype(dtype)
    return arr.astype(dtype) if arr.ndim else dtype.type(arr)


def check_weights(W, shape, dtype, name="W0"):
    """Starting weights of the given shape, finite, as a fresh array of ``dtype``."""
    W = np.array(W, dtype=dtype)
    if W.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {W.shape}")
    if not _all_finite(W):
        idx = first_nonfinite(W)
        raise ValueError(f"{name} contains {W[idx]} at index {idx}; start from finite weights "
                         "(e.g. zeros, the default)")
    return W
