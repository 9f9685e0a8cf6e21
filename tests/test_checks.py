"""Bad input into the public entry points gets a clear error naming the value and what to do
(lrbook._checks, as used by fit, the solver and the MLP)."""
import numpy as np
import pytest

from lrbook import mlp, solver
from lrbook._checks import check_count, check_l2, check_labels, check_number, check_X
from lrbook.train import fit


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    X = np.hstack([rng.standard_normal((40, 3)), np.ones((40, 1))])
    return X, np.arange(40) % 3


ENTRY_POINTS = {
    "fit": lambda X, y, **kw: fit(X, y, lr=0.1, **kw),
    "solver": lambda X, y, **kw: solver.fit_lbfgs(X, y, l2=0.1, **kw),
    "mlp": lambda X, y, **kw: mlp.train_mlp(X[:, :-1], y, hidden=(4,), epochs=1,
                                            batch_size=10, **kw),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_needs_the_class_count(xy, entry):
    X, y = xy
    with pytest.raises(ValueError, match="n_classes is required"):
        ENTRY_POINTS[entry](X, y)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_stray_label_is_named_not_learned_as_a_class(xy, entry):
    X, y = xy
    y = y.copy()
    y[5] = 10                                  # labels 0..10 for a 10-class data set
    with pytest.raises(ValueError, match=r"0\.\.9 \(n_classes=10\), got range 0\.\.10"):
        ENTRY_POINTS[entry](X, y, n_classes=10)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_single_class_is_refused(xy, entry):
    X, _ = xy
    with pytest.raises(ValueError, match="every label is 0; a classifier needs at least two"):
        ENTRY_POINTS[entry](X, np.zeros(len(X), dtype=int), n_classes=3)


def test_single_class_binary(xy):
    X, _ = xy
    with pytest.raises(ValueError, match="every label is 1"):
        fit(X, np.ones(len(X), dtype=int), binary=True, lr=0.1)


@pytest.mark.parametrize("shape, match", [((0, 4), "empty"), ((40, 0), "empty"),
                                          ((0, 0), "empty")])
def test_empty_data(shape, match):
    with pytest.raises(ValueError, match=match):
        fit(np.zeros(shape), np.zeros(shape[0], dtype=int), n_classes=3, lr=0.1)


def test_nan_label_is_named(xy):
    X, y = xy
    yf = y.astype(float)
    yf[7] = np.nan
    with pytest.raises(ValueError, match="y holds nan at position 7"):
        fit(X, yf, n_classes=3, lr=0.1)


def test_non_finite_starting_weights_are_named(xy):
    X, y = xy
    W0 = np.zeros((4, 3))
    W0[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"W0 contains inf at index \(1, 2\)"):
        fit(X, y, n_classes=3, lr=0.1, W0=W0)


def test_per_class_l2_of_the_wrong_shape(xy):
    X, y = xy
    with pytest.raises(ValueError, match=r"l2 must be a scalar or have shape \(3,\)"):
        fit(X, y, n_classes=3, lr=0.1, l2=np.ones(4))
    with pytest.raises(ValueError, match=r"l2 must be a scalar or have shape \(1,\)"):
        fit(X, (y > 0).astype(int), binary=True, lr=0.1, l2=np.ones(3))


@pytest.mark.parametrize("kw, err, match", [
    (dict(epochs=-1), ValueError, "epochs must be >= 0, got -1"),
    (dict(epochs=np.nan), ValueError, "epochs must be a finite number"),
    (dict(max_steps=-5), ValueError, "max_steps must be >= 0, got -5"),
    (dict(lr="0.1"), TypeError, "lr must be a real number, got '0.1'"),
    (dict(lr=np.array([0.1, 0.2])), TypeError, "lr must be a real number"),
    (dict(batch_size=2.5), TypeError, "batch_size must be a whole number, got 2.5"),
    (dict(batch_size=41), ValueError, r"batch_size must be in 1\.\.40, got 41"),
    (dict(patience=0, X_val=np.ones((2, 4)), y_val=[0, 1]), ValueError, "patience"),
    (dict(val_every=0), ValueError, "val_every"),
])
def test_bad_hyper_parameters(xy, kw, err, match):
    X, y = xy
    kw = {"lr": 0.1, **kw}
    with pytest.raises(err, match=match):
        fit(X, y, n_classes=3, **kw)


def test_zero_d_array_learning_rate_is_a_number(xy):
    X, y = xy
    a = fit(X, y, n_classes=3, lr=np.array(0.1), epochs=2)
    b = fit(X, y, n_classes=3, lr=0.1, epochs=2)
    assert np.array_equal(a.W, b.W)


def test_check_helpers_directly():
    assert check_count("n", 3.0) == 3
    assert check_number("x", np.float32(2)) == 2.0
    assert check_labels(np.array([1.0, 2.0]), 2).dtype == np.int64
    assert check_l2(0.1, 3, np.float32).dtype == np.float32
    X = np.ones((3, 2))
    assert check_X(X) is X                    # no copy for valid input
    with pytest.raises(ValueError, match="row 1, column 0"):
        check_X(np.array([[1.0, 2.0], [np.nan, 1.0]]))
