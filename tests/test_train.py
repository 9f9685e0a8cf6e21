"""lrbook.train.fit: it descends, it equals a hand-written loop, and its bookkeeping is right."""
import contextlib
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from lrbook import model
from lrbook.metrics import evaluate
from lrbook.model import one_hot
from lrbook.train import DivergenceError, DivergenceWarning, FitResult, Schedule, fit


@pytest.fixture
def softmax_data(problem):
    X, y, _ = problem(n=60, d=4, n_classes=3, seed=0)
    return X, y


@pytest.fixture
def binary_data(problem):
    X, y, _ = problem(n=60, d=4, n_classes=2, seed=1)
    return X, y


def overfitting_problem(seed=0):
    """Few training samples, many noise features: the validation loss falls, then rises."""
    rng = np.random.default_rng(seed)
    w = np.zeros(31)
    w[0] = 1.0

    def sample(n):
        X = np.hstack([rng.standard_normal((n, 30)), np.ones((n, 1))])
        return X, (X @ w + rng.standard_normal(n) > 0).astype(int)
    return sample(40) + sample(200)


# --- it learns -----------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [False, True], ids=["softmax", "binary"])
def test_loss_decreases(softmax_data, binary_data, binary):
    X, y = binary_data if binary else softmax_data
    r = fit(X, y, binary=binary, n_classes=None if binary else 3, lr=0.5, epochs=30, batch_size=10, val_every=1.0)
    assert isinstance(r, FitResult)
    h = r.history
    assert h.train_loss[-1] < 0.7 * h.train_loss[0]
    assert h.train_loss[0] == pytest.approx(np.log(2 if binary else 3))    # zero weights
    assert h.train_acc[-1] > 0.6                            # chance is 1/3 or 1/2
    assert r.n_steps == 30 * 6 and len(h.batch_loss) == r.n_steps
    assert np.all(np.isfinite(h.batch_loss))
    assert r.W.shape == ((X.shape[1],) if binary else (X.shape[1], 3))
    assert np.all(np.isnan(h.val_loss))                    # no validation set given




# --- it is the algorithm it says it is -----------------------------------------------------

@pytest.mark.parametrize("l2", [0.0, 0.05, np.array([0.01, 0.1, 0.3])],
                         ids=["no-l2", "scalar-l2", "per-class-l2"])
def test_full_batch_softmax_equals_hand_written_gd(softmax_data, l2):
    X, y = softmax_data
    Y = one_hot(y, 3)
    lr, k = 0.7, 25
    W = np.zeros((X.shape[1], 3))
    W_indep = W.copy()
    for _ in range(k):
        W -= lr * model.cross_entropy_grad(W, X, Y, l2)
        # the textbook formula, written out independently of lrbook.model
        Z = X @ W_indep
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        G = X.T @ (P - Y) / len(y)
        G[:-1] += l2 * W_indep[:-1]
        W_indep -= lr * G
    r = fit(X, y, n_classes=3, lr=lr, epochs=k, l2=l2)
    assert r.n_steps == k and r.steps_per_epoch == 1
    assert np.array_equal(r.W, W)                           # bit for bit
    np.testing.assert_allclose(r.W, W_indep, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("l2", [0.0, 0.05], ids=["no-l2", "l2"])
def test_full_batch_binary_equals_hand_written_gd(binary_data, l2):
    X, y = binary_data
    lr, k = 1.3, 25
    w = np.zeros(X.shape[1])
    for _ in range(k):
        w -= lr * model.binary_cross_entropy_grad(w, X, y.astype(float), l2)
    r = fit(X, y, binary=True, lr=lr, epochs=k, l2=l2)
    assert np.array_equal(r.W, w)


def test_w0_is_the_starting_point_and_not_modified(softmax_data):
    X, y = softmax_data
    W0 = np.random.default_rng(3).standard_normal((X.shape[1], 3))
    keep = W0.copy()
    r = fit(X, y, n_classes=3, lr=0.5, epochs=1, W0=W0, snapshot_steps=[0])
    assert np.array_equal(W0, keep)
    assert np.array_equal(r.snapshots[0], W0)
    assert np.array_equal(r.W, W0 - 0.5 * model.cross_entropy_grad(W0, X, one_hot(y, 3)))


def test_float32_stays_float32(softmax_data):
    X, y = softmax_data
    r = fit(X.astype(np.float32), y, n_classes=3, lr=0.5, epochs=3, batch_size=20)
    assert r.W.dtype == np.float32


# --- the L2 optimum is scikit-learn's ------------------------------------------------------

def _gd_to_convergence(X, y, binary, n_classes, l2):
    n = len(y)
    curvature = 0.25 if binary else 0.5           # bound on the Hessian of the mean log-loss
    lr = 1.0 / (curvature * np.linalg.eigvalsh(X.T @ X / n).max() + l2)
    return fit(X, y, binary=binary, n_classes=n_classes, lr=lr, max_steps=5000, l2=l2,
               val_every=5000)


def test_binary_l2_optimum_matches_sklearn(problem):
    X, y, _ = problem(n=120, d=4, n_classes=2, seed=11)
    C = 1.0
    r = _gd_to_convergence(X, y, True, 2, l2=1.0 / (C * len(y)))
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X[:, :-1], y)
    np.testing.assert_allclose(r.W[:-1], sk.coef_[0], rtol=1e-6)
    assert r.W[-1] == pytest.approx(sk.intercept_[0], rel=1e-6)


def test_softmax_l2_optimum_matches_sklearn(problem):
    X, y, _ = problem(n=120, d=4, n_classes=3, seed=11)
    C = 0.5
    r = _gd_to_convergence(X, y, False, 3, l2=1.0 / (C * len(y)))
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X[:, :-1], y)
    np.testing.assert_allclose(r.W[:-1], sk.coef_.T, rtol=1e-6, atol=1e-7)
    # the biases are only defined up to a common shift (softmax ignores it): compare centred
    b, b_sk = r.W[-1], sk.intercept_
    np.testing.assert_allclose(b - b.mean(), b_sk - b_sk.mean(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_proba(r.W, X), sk.predict_proba(X[:, :-1]),
                               rtol=1e-6, atol=1e-8)


# --- early stopping ------------------------------------------------------------------------

def test_early_stopping_restores_best_weights():
    X, y, X_val, y_val = overfitting_problem()
    every, patience = 2, 3
    r = fit(X, y, binary=True, lr=0.5, epochs=500, X_val=X_val, y_val=y_val, val_every=every,
            patience=patience, snapshot_steps=range(0, 2000))
    h = r.history
    assert r.stopped_early
    assert 0 < r.best_step < r.n_steps < 500
    assert np.array_equal(r.W, r.snapshots[r.best_step])
    # patience counts validation checks, not steps
    assert r.n_steps == r.best_step + patience * every
    assert np.array_equal(h.step, np.arange(0, r.n_steps + 1, every))
    i_best = int(np.argmin(h.val_loss))
    assert h.step[i_best] == r.best_step
    assert np.all(h.val_loss[i_best + 1:] >= h.val_loss[i_best])
    assert len(h.val_loss) - 1 - i_best == patience
    assert not np.array_equal(r.W, r.snapshots[r.n_steps])


def test_early_stopping_without_restore_keeps_last_weights():
    X, y, X_val, y_val = overfitting_problem()
    r = fit(X, y, binary=True, lr=0.5, epochs=500, X_val=X_val, y_val=y_val, val_every=2,
            patience=3, restore_best=False, snapshot_steps=range(0, 2000))
    assert r.stopped_early
    assert np.array_equal(r.W, r.snapshots[r.n_steps])


def test_validation_labels_that_disagree_stop_at_once(softmax_data):
    X, y = softmax_data
    r = fit(X, y, n_classes=3, lr=0.5, epochs=100, X_val=X, y_val=(y + 1) % 3, val_every=1, patience=4)
    assert r.stopped_early and r.best_step == 0 and r.n_steps == 4
    assert np.all(r.W == 0)                              # the initial weights were the best
    assert np.all(np.diff(r.history.val_loss) > 0)


def test_an_equal_validation_loss_is_no_improvement(softmax_data):
    X, y = softmax_data
    X_val = np.zeros_like(X)                             # logits 0 whatever W: a flat loss
    r = fit(X, y, n_classes=3, lr=0.5, epochs=100, X_val=X_val, y_val=y, val_every=1, patience=3)
    assert np.all(r.history.val_loss == np.log(3))
    assert r.stopped_early and r.best_step == 0 and r.n_steps == 3


def test_no_early_stop_when_validation_keeps_improving(softmax_data):
    X, y = softmax_data
    r = fit(X, y, n_classes=3, lr=0.5, epochs=20, X_val=X, y_val=y, val_every=1, patience=3)
    assert not r.stopped_early
    assert r.n_steps == 20 and r.best_step == 20


# --- randomness and batching ---------------------------------------------------------------

def test_same_seed_same_run_different_seed_different_run(softmax_data):
    X, y = softmax_data
    kw = dict(lr=0.3, epochs=3, batch_size=8, shuffle=True)
    a, b = fit(X, y, n_classes=3, seed=5, **kw), fit(X, y, n_classes=3, seed=5, **kw)
    c = fit(X, y, n_classes=3, seed=6, **kw)
    assert np.array_equal(a.W, b.W)
    assert np.array_equal(a.history.batch_loss, b.history.batch_loss)
    assert not np.array_equal(a.W, c.W)


def test_full_batch_ignores_the_seed(softmax_data):
    X, y = softmax_data
    a = fit(X, y, n_classes=3, lr=0.3, epochs=3, seed=1)
    b = fit(X, y, n_classes=3, lr=0.3, epochs=3, seed=2)
    assert np.array_equal(a.W, b.W)


def _hand_minibatch(X, y, lr, bs, epochs, drop_last, n_classes=3):
    Y = one_hot(y, n_classes)
    W = np.zeros((X.shape[1], n_classes))
    n = len(y)
    stops = range(0, n - bs + 1 if drop_last else n, bs)
    path = []
    for _ in range(epochs):
        for s in stops:
            W -= lr * model.cross_entropy_grad(W, X[s:s + bs], Y[s:s + bs])
            path.append(W.copy())
    return path


def test_no_shuffle_follows_data_order(softmax_data):
    X, y = softmax_data
    seen = []
    r = fit(X, y, n_classes=3, lr=0.4, epochs=2, batch_size=7, shuffle=False,
            callback=lambda step, W: seen.append((step, W.copy())))
    path = _hand_minibatch(X, y, 0.4, 7, 2, drop_last=True)
    assert [s for s, _ in seen] == list(range(1, 17))       # 60 // 7 = 8 steps an epoch
    assert len(path) == len(seen)
    for (_, W), W_hand in zip(seen, path):
        assert np.array_equal(W, W_hand)
    # the first step is the gradient of the first 7 rows
    np.testing.assert_array_equal(seen[0][1], -0.4 * model.cross_entropy_grad(
        np.zeros_like(r.W), X[:7], one_hot(y[:7], 3)))
    shuffled = fit(X, y, n_classes=3, lr=0.4, epochs=1, batch_size=7, shuffle=True, snapshot_steps=[1])
    assert not np.array_equal(shuffled.snapshots[1], seen[0][1])


@pytest.mark.parametrize("drop_last, steps", [(True, 3), (False, 4)])
def test_drop_last(softmax_data, drop_last, steps):
    X, y = softmax_data[0][:50], softmax_data[1][:50]
    r = fit(X, y, n_classes=3, lr=0.4, epochs=2, batch_size=16, drop_last=drop_last,
            shuffle=False, snapshot_steps=range(20))
    assert r.steps_per_epoch == steps
    assert r.n_steps == 2 * steps and r.epochs == 2.0
    path = _hand_minibatch(X, y, 0.4, 16, 2, drop_last)
    assert len(path) == r.n_steps
    for step, W_hand in enumerate(path, start=1):     # compiled steps: equal to rounding
        np.testing.assert_allclose(r.snapshots[step], W_hand, rtol=1e-12, atol=1e-15)


def test_max_steps_caps_the_run(softmax_data):
    X, y = softmax_data
    r = fit(X, y, n_classes=3, lr=0.4, epochs=100, max_steps=7, batch_size=10)
    assert r.n_steps == 7 and r.epochs == pytest.approx(7 / 6)
    assert r.history.step[-1] == 7


# --- bookkeeping ---------------------------------------------------------------------------

def test_val_every_as_fraction_of_an_epoch(problem):
    X, y, _ = problem(n=280, d=2, n_classes=2, seed=3)
    r = fit(X, y, n_classes=3, lr=0.1, epochs=1, batch_size=2, X_val=X[:20], y_val=y[:20], val_every=0.2)
    assert r.steps_per_epoch == 140
    assert np.array_equal(r.history.step, [0, 28, 56, 84, 112, 140])
    np.testing.assert_allclose(r.history.epoch, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert np.all(np.isfinite(r.history.val_loss))


def test_val_every_fraction_is_not_truncated_by_rounding(problem):
    X, y, _ = problem(n=100, d=2, n_classes=2, seed=3)
    r = fit(X, y, n_classes=3, lr=0.1, epochs=1, batch_size=1, val_every=0.57)      # 0.57 * 100 = 56.99...
    assert np.array_equal(r.history.step, [0, 57, 100])


def test_val_every_in_steps_and_last_step_checked(softmax_data):
    X, y = softmax_data
    r = fit(X, y, n_classes=3, lr=0.4, epochs=2, batch_size=10, val_every=5)        # 12 steps
    assert np.array_equal(r.history.step, [0, 5, 10, 12])
    np.testing.assert_allclose(r.history.epoch, np.array([0, 5, 10, 12]) / 6)


def test_snapshots_at_requested_steps(softmax_data):
    X, y = softmax_data
    steps_seen = []
    r = fit(X, y, n_classes=3, lr=0.4, epochs=2, batch_size=10, snapshot_steps=(0, 3, 12, 99),
            callback=lambda s, W: steps_seen.append(s))
    assert sorted(r.snapshots) == [0, 3, 12]               # 99 is never reached
    assert np.all(r.snapshots[0] == 0)
    assert not np.array_equal(r.snapshots[3], r.snapshots[12])
    assert np.array_equal(r.snapshots[12], r.W)
    assert r.snapshots[12] is not r.W                      # copies, not views of the live weights
    assert steps_seen == list(range(1, 13))
    kept = r.snapshots[3].copy()
    fit(X, y, n_classes=3, lr=0.4, epochs=2, batch_size=10, snapshot_steps=(3,))
    assert np.array_equal(r.snapshots[3], kept)


def test_progress_bar_does_not_change_the_result(softmax_data):
    X, y = softmax_data
    a = fit(X, y, n_classes=3, lr=0.4, epochs=2, batch_size=10, progress=True)
    b = fit(X, y, n_classes=3, lr=0.4, epochs=2, batch_size=10)
    assert np.array_equal(a.W, b.W)


def test_float_labels_holding_integers_are_accepted(softmax_data):
    X, y = softmax_data
    a = fit(X, y.astype(float), n_classes=3, lr=0.4, epochs=2)
    b = fit(X, y, n_classes=3, lr=0.4, epochs=2)
    assert np.array_equal(a.W, b.W)


# --- errors --------------------------------------------------------------------------------

def test_errors_shapes_and_types(softmax_data):
    X, y = softmax_data
    with pytest.raises(ValueError, match=r"y must have shape \(60,\)"):
        fit(X, y[:-1], n_classes=3, lr=0.1)
    with pytest.raises(ValueError, match="2-D"):
        fit(X[:, 0], y, n_classes=3, lr=0.1)
    with pytest.raises(ValueError, match="floating point"):
        fit((X * 10).astype(int), y, n_classes=3, lr=0.1)
    with pytest.raises(ValueError, match="non-integer label 2.5 at position 0"):
        fit(X, y + 0.5, n_classes=3, lr=0.1)
    with pytest.raises(ValueError, match="validation X has 4 features"):
        fit(X, y, n_classes=3, lr=0.1, X_val=X[:, 1:], y_val=y)
    with pytest.raises(ValueError, match="W0 must have shape"):
        fit(X, y, n_classes=3, lr=0.1, W0=np.zeros((X.shape[1], 2)))
    with pytest.raises(ValueError, match="batch_size"):
        fit(X, y, n_classes=3, lr=0.1, batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        fit(X, y, n_classes=3, lr=0.1, batch_size=61)


def test_errors_labels_out_of_range(softmax_data, binary_data):
    X, y = softmax_data
    with pytest.raises(ValueError, match=r"0\.\.2 \(n_classes=3\), got range 1\.\.3"):
        fit(X, np.where(y == 0, 3, y), n_classes=3, lr=0.1)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        fit(X, np.where(y == 0, -1, y), n_classes=3, lr=0.1)
    Xb, yb = binary_data
    with pytest.raises(ValueError, match=r"0\.\.1"):
        fit(Xb, np.where(yb == 0, 2, yb), binary=True, lr=0.1)
    with pytest.raises(ValueError, match="validation set: labels"):
        fit(X, y, n_classes=3, lr=0.1, X_val=X, y_val=y + 1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_errors_non_finite_inputs_name_row_and_column(softmax_data, bad):
    X, y = softmax_data
    X = X.copy()
    X[7, 2] = bad
    with pytest.raises(ValueError, match="row 7, column 2"):
        fit(X, y, n_classes=3, lr=0.1)
    with pytest.raises(ValueError, match=r"validation set: .*row 7, column 2"):
        fit(softmax_data[0], y, n_classes=3, lr=0.1, X_val=X, y_val=y)


@pytest.mark.parametrize("lr", [0, -0.1, np.nan, np.inf])
def test_errors_learning_rate(softmax_data, lr):
    X, y = softmax_data
    with pytest.raises(ValueError, match="lr must be"):
        fit(X, y, n_classes=3, lr=lr)


def test_errors_other_hyper_parameters(softmax_data):
    X, y = softmax_data
    with pytest.raises(ValueError, match="validation set"):
        fit(X, y, n_classes=3, lr=0.1, patience=3)
    with pytest.raises(ValueError, match="l2"):
        fit(X, y, n_classes=3, lr=0.1, l2=-1.0)
    with pytest.raises(ValueError, match="val_every"):
        fit(X, y, n_classes=3, lr=0.1, val_every=1.5)
    with pytest.raises(ValueError, match="val_every"):
        fit(X, y, n_classes=3, lr=0.1, val_every=0)


@pytest.mark.parametrize("binary", [False, True], ids=["softmax", "binary"])
def test_divergence_raises_with_the_run_so_far(binary):
    # Logistic regression's gradient is bounded, so its loss only overflows on absurdly scaled
    # inputs with an absurd learning rate: the first step sends the logits past 1e308.
    rng = np.random.default_rng(0)
    X = np.hstack([rng.standard_normal((50, 3)) * 1e100, np.ones((50, 1))])
    y = rng.integers(0, 2 if binary else 3, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # and no RuntimeWarning on the way
        with pytest.raises(DivergenceError, match="smaller learning rate") as exc:
            fit(X, y, binary=binary, n_classes=None if binary else 3, lr=1e150, epochs=5, snapshot_steps=[0, 1])
    err = exc.value
    assert isinstance(err, FloatingPointError)
    assert "lr=1e+150" in str(err)
    res = err.result
    assert isinstance(res, FitResult)
    assert res.n_steps == 1                               # the first update blew the logits up
    assert len(res.history.batch_loss) == 1 and np.isfinite(res.history.batch_loss[0])
    assert list(res.history.step) == [0, 1]
    assert np.all(res.snapshots[0] == 0) and 1 in res.snapshots
    assert not res.stopped_early


def test_divergence_mid_run_keeps_the_history(softmax_data):
    X, y = softmax_data
    r = fit(X, y, n_classes=3, lr=0.5, epochs=3)
    assert np.all(np.isfinite(r.history.train_loss))
    # an absurdly scaled feature makes the logits overflow after the first step
    Xs = X.copy()
    Xs[:, 0] *= 1e200
    with pytest.raises(DivergenceError) as exc:
        fit(Xs, y, n_classes=3, lr=1e5, epochs=50, batch_size=10)
    res = exc.value.result
    assert res.n_steps >= 1
    assert len(res.history.batch_loss) == res.n_steps
    assert np.all(np.isfinite(res.history.batch_loss))


def test_divergence_of_the_update_itself(softmax_data):
    X, y = softmax_data
    with pytest.raises(DivergenceError, match="update lr \\* gradient is not finite") as exc:
        fit(10.0 * X, y, n_classes=3, lr=1e308, epochs=3)                 # lr * gradient overflows
    assert exc.value.result.n_steps == 0
    assert np.all(exc.value.result.W == 0)                # the weights were not touched






# --- compiled mini-batch steps (lrbook._kernels.softmax_sgd) against the NumPy steps ---------

@pytest.fixture
def numpy_steps(monkeypatch):
    """A context manager in which fit takes every step in NumPy, as it does without numba."""
    from lrbook import _kernels
    assert _kernels.available()

    @contextlib.contextmanager
    def numpy_only():
        with monkeypatch.context() as mp:
            mp.setattr(_kernels, "available", lambda: False)
            yield
    return numpy_only


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-11), (np.float32, 2e-5)])
@pytest.mark.parametrize("kw", [
    dict(batch_size=16, shuffle=True, l2=0.0),
    dict(batch_size=7, shuffle=False, l2=0.3, drop_last=False),     # a short last batch
    dict(batch_size=10, shuffle=True, l2=np.array([0.0, 0.1, 1.0]), val_every=0.5),
], ids=["shuffled", "short-last-batch", "per-class-l2"])
def test_compiled_minibatch_steps_equal_numpy_steps(problem, numpy_steps, dtype, rtol, kw):
    X, y, _ = problem(n=90, d=6, n_classes=3, seed=4)
    X = X.astype(dtype)
    X_val, y_val, _ = problem(n=30, d=6, n_classes=3, seed=5)
    args = dict(n_classes=3, lr=0.3, epochs=4, seed=2, X_val=X_val.astype(dtype),
                y_val=y_val, snapshot_steps=[0, 3, 5, 17], **kw)
    fast = fit(X, y, **args)
    with numpy_steps():
        slow = fit(X, y, **args)
    assert fast.W.dtype == slow.W.dtype == dtype
    assert fast.n_steps == slow.n_steps and sorted(fast.snapshots) == sorted(slow.snapshots)
    np.testing.assert_allclose(fast.W, slow.W, rtol=rtol, atol=rtol * np.abs(slow.W).max())
    for s in slow.snapshots:
        np.testing.assert_allclose(fast.snapshots[s], slow.snapshots[s], rtol=rtol,
                                   atol=rtol * np.abs(slow.W).max())
    np.testing.assert_allclose(fast.history.batch_loss, slow.history.batch_loss, rtol=rtol)
    np.testing.assert_array_equal(fast.history.step, slow.history.step)
    np.testing.assert_allclose(fast.history.val_loss, slow.history.val_loss, rtol=rtol)


def test_compiled_steps_stop_early_like_numpy_steps(numpy_steps):
    X, y, X_val, y_val = overfitting_problem()
    args = dict(n_classes=2, lr=0.5, epochs=200, batch_size=8, X_val=X_val, y_val=y_val,
                patience=5, val_every=2)
    fast = fit(X, y, **args)
    with numpy_steps():
        slow = fit(X, y, **args)
    assert fast.stopped_early and slow.stopped_early
    assert fast.n_steps == slow.n_steps and fast.best_step == slow.best_step
    np.testing.assert_allclose(fast.W, slow.W, rtol=1e-11, atol=1e-13)


def test_compiled_steps_diverge_at_the_same_step(softmax_data, numpy_steps):
    X, y = softmax_data
    Xs = X.copy()
    Xs[:, 0] *= 1e200                          # the logits overflow after the first step
    errors = []
    for ctx in (contextlib.nullcontext, numpy_steps):
        with ctx(), pytest.raises(DivergenceError, match="smaller learning rate") as exc:
            fit(Xs, y, n_classes=3, lr=1e5, epochs=50, batch_size=10, snapshot_steps=[1])
        errors.append(exc.value)
    fast, slow = (e.result for e in errors)
    assert fast.n_steps == slow.n_steps >= 1
    assert str(errors[0]) == str(errors[1])
    np.testing.assert_allclose(fast.history.batch_loss, slow.history.batch_loss, rtol=1e-12)
    assert np.all(np.isfinite(fast.history.batch_loss))
    np.testing.assert_allclose(fast.W, slow.W, rtol=1e-12)


def test_callback_steps_call_back_only_there(softmax_data):
    X, y = softmax_data
    seen = []
    r = fit(X, y, n_classes=3, lr=0.4, epochs=3, batch_size=7, snapshot_steps=[4, 16],
            callback=lambda step, W: seen.append((step, W.copy())), callback_steps=[4, 16, 24])
    assert [s for s, _ in seen] == [4, 16, 24]            # 8 steps an epoch, 24 in all
    np.testing.assert_array_equal(seen[0][1], r.snapshots[4])
    np.testing.assert_array_equal(seen[1][1], r.snapshots[16])
    np.testing.assert_array_equal(seen[2][1], r.W)


def test_softmax_sgd_rejects_rows_outside_the_data(softmax_data):
    from lrbook import _kernels
    X, y = softmax_data
    W = np.zeros((X.shape[1], 3))
    with pytest.raises(IndexError, match="rows must lie in 0..59"):
        _kernels.softmax_sgd(W, X, one_hot(y, 3), np.array([0, 60]), 2, 0.1, 0.0,
                             np.empty(1))
    assert np.all(W == 0)

# --- the schedule -----------------------------------------------------------------------------

@pytest.mark.parametrize("val_every, want", [
    (0.57, [0, 57, 114, 171, 200]),      # 0.57 * 100 is 56.99999... in floating point
    (0.29, [0, 29, 58, 87, 116, 145, 174, 200]),
    (0.2, [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200]),
    (1.0, [0, 100, 200]),
    (70, [0, 70, 140, 200]),
])
def test_schedule_check_steps(val_every, want):
    s = Schedule.make(1000, batch_size=10, epochs=2, val_every=val_every)
    assert (s.steps_per_epoch, s.total) == (100, 200)
    assert s.check_steps().tolist() == want
    assert [k for k in range(201) if s.is_check(k)] == want


def test_schedule_is_what_fit_does():
    rng = np.random.default_rng(0)
    X = np.hstack([rng.standard_normal((100, 3)), np.ones((100, 1))])
    y = rng.integers(0, 3, 100)
    for val_every in (0.57, 0.29, 0.33, 3):
        r = fit(X, y, n_classes=3, lr=0.1, epochs=2, batch_size=1, val_every=val_every)
        s = Schedule.make(100, batch_size=1, epochs=2, val_every=val_every)
        assert np.array_equal(r.history.step, s.check_steps())


def test_schedule_drop_last_and_max_steps():
    assert Schedule.make(105, batch_size=10, drop_last=True).steps_per_epoch == 10
    assert Schedule.make(105, batch_size=10, drop_last=False).steps_per_epoch == 11
    assert Schedule.make(105, batch_size=10, epochs=50, max_steps=7).total == 7
    assert Schedule.make(105).steps_per_epoch == 1            # full batch
    assert Schedule.make(105).batch_size == 105                # ... of every row
    assert Schedule.make(105, batch_size=10).batch_size == 10



def test_a_loss_that_grows_without_overflowing_warns(softmax_data):
    # the logistic gradient is bounded, so a huge step makes the weights (and the loss) grow
    # without ever overflowing: the run ends "normally" with a useless model
    X, y = softmax_data
    with pytest.warns(DivergenceWarning, match=r"lr=1000000.0 is too large"):
        r = fit(X, y, n_classes=3, lr=1e6, epochs=20, batch_size=10)
    assert r.history.batch_loss[-1] > 100 * r.history.batch_loss[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(X, y, n_classes=3, lr=0.5, epochs=20, batch_size=10)      # a sane run: silent


def test_the_penalty_of_huge_weights_is_zero_when_l2_is_zero():
    W = np.full((4, 3), 1e200)
    assert model.l2_penalty(W, 0.0) == 0.0
    assert model.l2_penalty(W, np.zeros(3)) == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("binary", [False, True], ids=["softmax", "binary"])
@pytest.mark.parametrize("patience", [None, 50])
def test_full_batch_scores_come_from_the_steps_own_pass(problem, monkeypatch, dtype, binary,
                                                         patience):
    """A full-batch run scores each check from the next step's logits (no second pass over
    the training set), and gets what scoring the weights separately gives."""
    import lrbook.train as train_module
    X, y, _ = problem(n=3000, d=6, n_classes=2 if binary else 4, seed=11, dtype=dtype)
    X_val, y_val, _ = problem(n=200, d=6, n_classes=2 if binary else 4, seed=12, dtype=dtype)
    calls = []
    real_evaluate = train_module.evaluate
    monkeypatch.setattr(train_module, "evaluate",
                        lambda W, Xe, ye: calls.append(Xe is X) or real_evaluate(W, Xe, ye))
    steps = list(range(0, 31, 3)) + [31]
    res = fit(X, y, binary=binary, n_classes=None if binary else 4, lr=0.5, max_steps=31,
              val_every=3, X_val=X_val, y_val=y_val, patience=patience, snapshot_steps=steps)
    # only the last check, with no step after it, scores the training set on its own (a run
    # without early stopping leaves it to the batched scoring at the end)
    assert calls.count(True) == (0 if patience is None else 1)
    assert list(res.history.step) == steps
    for s, tl, ta in zip(res.history.step, res.history.train_loss, res.history.train_acc):
        want_loss, want_acc = evaluate(res.snapshots[s], X, y)
        assert tl == pytest.approx(want_loss, rel=1e-12 if dtype == np.float64 else 1e-5)
        assert ta == pytest.approx(want_acc, abs=1e-12 if dtype == np.float64 else 1e-3)



def test_minibatch_checks_are_scored_together_at_the_end(problem, monkeypatch):
    """Without early stopping, a mini-batch run keeps the weights at its checks and scores
    them in one batched pass at the end (evaluate_many), not one pass per check."""
    import lrbook.train as train_module
    X, y, _ = problem(n=300, d=5, n_classes=3, seed=3)
    monkeypatch.setattr(train_module, "evaluate", lambda *a: pytest.fail("scored in the loop"))
    res = fit(X, y, n_classes=3, lr=0.3, epochs=3, batch_size=30, val_every=0.5,
              snapshot_steps=range(0, 31))
    for s, tl, ta in zip(res.history.step, res.history.train_loss, res.history.train_acc):
        assert (tl, ta) == pytest.approx(evaluate(res.snapshots[s], X, y), rel=1e-12)
