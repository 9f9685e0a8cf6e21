"""lrbook.model: gradients against finite differences and autograd, the penalty, stability."""
import warnings

import autograd
import numpy as np
import pytest
from scipy.special import expit, log_softmax as sp_log_softmax, softmax as sp_softmax

from lrbook import model
from lrbook.model import one_hot
from lrbook.gradcheck import numerical_grad, relative_error


@pytest.fixture
def softmax_case(problem):
    X, y, _ = problem(n=40, d=5, n_classes=4, seed=1)
    rng = np.random.default_rng(2)
    W = 0.5 * rng.standard_normal((X.shape[1], 4))
    return W, X, one_hot(y, 4)


@pytest.fixture
def binary_case(problem):
    X, y, _ = problem(n=40, d=5, n_classes=2, seed=3)
    w = 0.5 * np.random.default_rng(4).standard_normal(X.shape[1])
    return w, X, y.astype(np.float64)


L2_BINARY = [0.0, 0.3]
L2_SOFTMAX = [0.0, 0.3, np.array([0.1, 0.0, 0.7, 2.0])]
L2_IDS = ["no-l2", "scalar-l2", "per-class-l2"]


# --- gradients -----------------------------------------------------------------------------

@pytest.mark.parametrize("l2", L2_BINARY, ids=L2_IDS[:2])
def test_binary_gradient_matches_finite_differences(binary_case, l2):
    w, X, y = binary_case
    g_fd = numerical_grad(lambda v: model.binary_cross_entropy(v, X, y, l2), w)
    g = model.binary_cross_entropy_grad(w, X, y, l2)
    assert g.shape == w.shape
    assert relative_error(g, g_fd) < 1e-7


@pytest.mark.parametrize("l2", L2_BINARY, ids=L2_IDS[:2])
def test_binary_gradient_matches_autograd(binary_case, l2):
    w, X, y = binary_case
    g_ad = autograd.grad(model.binary_cross_entropy)(w, X, y, l2)
    assert relative_error(model.binary_cross_entropy_grad(w, X, y, l2), g_ad) < 1e-10
    loss, g = model.binary_cross_entropy_and_grad(w, X, y, l2)
    assert relative_error(g, g_ad) < 1e-10
    assert loss == pytest.approx(model.binary_cross_entropy(w, X, y, l2), rel=1e-13)


@pytest.mark.parametrize("l2", L2_SOFTMAX, ids=L2_IDS)
def test_softmax_gradient_matches_finite_differences(softmax_case, l2):
    W, X, Y = softmax_case
    g_fd = numerical_grad(lambda V: model.cross_entropy(V, X, Y, l2), W)
    g = model.cross_entropy_grad(W, X, Y, l2)
    assert g.shape == W.shape
    assert relative_error(g, g_fd) < 1e-7


@pytest.mark.parametrize("l2", L2_SOFTMAX, ids=L2_IDS)
def test_softmax_gradient_matches_autograd(softmax_case, l2):
    W, X, Y = softmax_case
    g_ad = autograd.grad(model.cross_entropy)(W, X, Y, l2)
    assert relative_error(model.cross_entropy_grad(W, X, Y, l2), g_ad) < 1e-10
    loss, g = model.cross_entropy_and_grad(W, X, Y, l2)
    assert relative_error(g, g_ad) < 1e-10
    assert loss == pytest.approx(model.cross_entropy(W, X, Y, l2), rel=1e-13)


def test_and_grad_does_not_modify_its_inputs(softmax_case):
    W, X, Y = softmax_case
    copies = [a.copy() for a in (W, X, Y)]
    model.cross_entropy_and_grad(W, X, Y, 0.3)
    for a, c in zip((W, X, Y), copies):
        assert np.array_equal(a, c)


def test_softmax_loss_matches_scipy_and_definition(softmax_case):
    W, X, Y = softmax_case
    expected = -np.mean(np.sum(Y * sp_log_softmax(X @ W, axis=1), axis=1))
    assert model.cross_entropy(W, X, Y) == pytest.approx(expected, rel=1e-13)
    assert model.cross_entropy_and_grad(W, X, Y)[0] == pytest.approx(expected, rel=1e-13)


def test_binary_loss_matches_definition(binary_case):
    w, X, y = binary_case
    p = expit(X @ w)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
    assert model.binary_cross_entropy(w, X, y) == pytest.approx(expected, rel=1e-12)


def test_float32_gradient_close_to_float64(softmax_case):
    W, X, Y = softmax_case
    loss64, g64 = model.cross_entropy_and_grad(W, X, Y, 0.3)
    loss32, g32 = model.cross_entropy_and_grad(*(a.astype(np.float32) for a in (W, X, Y)),
                                               np.float32(0.3))
    assert g32.dtype == np.float32
    assert relative_error(g32, g64) < 1e-5
    assert loss32 == pytest.approx(loss64, rel=1e-5)


# --- the penalty skips the bias row --------------------------------------------------------

def test_binary_penalty_excludes_bias(binary_case):
    w, X, y = binary_case
    l2 = 0.7
    diff = model.binary_cross_entropy(w, X, y, l2) - model.binary_cross_entropy(w, X, y, 0.0)
    assert diff == pytest.approx(0.5 * l2 * np.sum(w[:-1] ** 2), rel=1e-12)
    assert model.l2_penalty(w, l2) == pytest.approx(0.5 * l2 * np.sum(w[:-1] ** 2), rel=1e-14)
    w2 = w.copy()
    w2[-1] += 100.0                      # only the bias changes: the penalty does not
    assert model.l2_penalty(w2, l2) == model.l2_penalty(w, l2)
    dg = model.binary_cross_entropy_grad(w, X, y, l2) - model.binary_cross_entropy_grad(w, X, y)
    assert dg[-1] == 0.0
    np.testing.assert_allclose(dg[:-1], l2 * w[:-1], rtol=1e-12)


def test_softmax_penalty_excludes_bias_per_class(softmax_case):
    W, X, Y = softmax_case
    l2 = np.array([0.1, 0.0, 0.7, 2.0])
    expected = 0.5 * sum(l2[k] * np.sum(W[:-1, k] ** 2) for k in range(W.shape[1]))
    diff = model.cross_entropy(W, X, Y, l2) - model.cross_entropy(W, X, Y)
    assert diff == pytest.approx(expected, rel=1e-12)
    assert model.l2_penalty(W, l2) == pytest.approx(expected, rel=1e-14)
    W2 = W.copy()
    W2[-1] += 50.0
    assert model.l2_penalty(W2, l2) == model.l2_penalty(W, l2)
    dg = model.cross_entropy_grad(W, X, Y, l2) - model.cross_entropy_grad(W, X, Y)
    assert np.all(dg[-1] == 0.0)
    np.testing.assert_allclose(dg[:-1], W[:-1] * l2, rtol=1e-12, atol=1e-15)
    # a scalar l2 is the same as that value for every class
    assert model.cross_entropy(W, X, Y, 0.4) == pytest.approx(
        model.cross_entropy(W, X, Y, np.full(4, 0.4)), rel=1e-14)


# --- numerical stability -------------------------------------------------------------------

@pytest.fixture
def strict_fp():
    """Turn overflow / invalid / divide-by-zero (and any warning) into errors."""
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_sigmoid_extremes(strict_fp):
    s = model.sigmoid(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]))
    assert s[0] == 0.0 and s[1] == 0.0
    assert s[2] == 0.5
    assert s[3] == 1.0 and s[4] == 1.0


def test_sigmoid_matches_expit():
    z = np.linspace(-30, 30, 2001)
    np.testing.assert_allclose(model.sigmoid(z), expit(z), rtol=1e-12, atol=1e-15)


def test_binary_confident_logits(strict_fp):
    X = np.array([[1.0], [1.0], [-1.0], [-1.0]])     # logits +1e4, +1e4, -1e4, -1e4
    w = np.array([1e4])
    right = np.array([1.0, 1.0, 0.0, 0.0])
    wrong = 1.0 - right
    loss, g = model.binary_cross_entropy_and_grad(w, X, right)
    assert loss == pytest.approx(0.0, abs=1e-300)
    assert np.all(np.isfinite(g)) and np.allclose(g, 0.0)
    loss, g = model.binary_cross_entropy_and_grad(w, X, wrong)
    assert loss == pytest.approx(1e4, rel=1e-12)
    assert np.all(np.isfinite(g))
    # the gradient is mean((sigma - y) x) = +1: every sample says "decrease w"
    assert g == pytest.approx([1.0], rel=1e-12)
    assert model.binary_cross_entropy(w, X, wrong) == pytest.approx(1e4, rel=1e-12)


def test_softmax_confident_logits(strict_fp):
    X = np.eye(3)                                    # Z = W: logits chosen directly
    W = np.array([[1e4, -1e4, 0.0],
                  [0.0, 1e4, -1e4],
                  [-1e4, 0.0, 1e4]])
    right = np.eye(3)
    wrong = np.roll(np.eye(3), 1, axis=1)            # true class has logit -1e4
    loss, g = model.cross_entropy_and_grad(W, X, right)
    assert loss == pytest.approx(0.0, abs=1e-300)
    assert np.all(np.isfinite(g)) and np.allclose(g, 0.0)
    loss, g = model.cross_entropy_and_grad(W, X, wrong)
    assert loss == pytest.approx(2e4, rel=1e-12)     # log-sum-exp 1e4 minus the true logit -1e4
    assert np.all(np.isfinite(g))
    assert model.cross_entropy(W, X, wrong) == pytest.approx(2e4, rel=1e-12)
    ag = autograd.grad(model.cross_entropy)(W, X, wrong)
    assert relative_error(g, ag) < 1e-12
    P = model.softmax(W)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(P, right, atol=1e-300)


def test_softmax_rows_sum_to_one():
    Z = np.random.default_rng(5).normal(scale=50.0, size=(200, 7))
    P = model.softmax(Z)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(P, sp_softmax(Z, axis=1), rtol=1e-12, atol=1e-300)


def test_log_softmax_matches_log_of_softmax():
    Z = np.random.default_rng(6).normal(scale=3.0, size=(50, 5))   # moderate logits
    np.testing.assert_allclose(model.log_softmax(Z), np.log(model.softmax(Z)), rtol=1e-12)
    np.testing.assert_allclose(model.log_softmax(Z), sp_log_softmax(Z, axis=1), rtol=1e-12)
    np.testing.assert_allclose(model.logsumexp(Z)[:, 0], np.log(np.exp(Z).sum(axis=1)), rtol=1e-13)


def test_log_softmax_stable_where_naive_log_fails(strict_fp):
    Z = np.array([[1e4, -1e4, 0.0]])
    np.testing.assert_allclose(model.log_softmax(Z), [[0.0, -2e4, -1e4]], rtol=1e-15)


# --- prediction ----------------------------------------------------------------------------

def test_predict_shapes_and_values(softmax_case, binary_case):
    W, X, _ = softmax_case
    P = model.predict_proba(W, X)
    assert P.shape == (X.shape[0], W.shape[1])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    pred = model.predict(W, X)
    assert pred.shape == (X.shape[0],)
    assert np.array_equal(pred, np.argmax(P, axis=1))

    w, Xb, _ = binary_case
    p = model.predict_proba(w, Xb)
    assert p.shape == (Xb.shape[0],)
    assert np.all((p >= 0) & (p <= 1))
    pred = model.predict(w, Xb)
    assert pred.shape == (Xb.shape[0],)
    assert set(np.unique(pred)) <= {0, 1}
    assert np.array_equal(pred, (p > 0.5).astype(int))


def test_deviance_per_sample_mean_is_the_loss(softmax_case, binary_case):
    W, X, Y = softmax_case
    y = Y.argmax(axis=1)
    dev = model.deviance_per_sample(W, X, y)
    assert dev.shape == (X.shape[0],) and np.all(dev >= 0)
    assert dev.mean() == pytest.approx(model.cross_entropy(W, X, Y), rel=1e-13)
    w, Xb, yb = binary_case
    dev = model.deviance_per_sample(w, Xb, yb)
    assert dev.mean() == pytest.approx(model.binary_cross_entropy(w, Xb, yb), rel=1e-13)


def test_two_class_softmax_is_the_binary_model(problem):
    X, y, _ = problem(n=30, d=3, n_classes=2, seed=7)
    Theta = np.random.default_rng(8).standard_normal((X.shape[1], 2))
    w = Theta[:, 1] - Theta[:, 0]
    np.testing.assert_allclose(model.predict_proba(Theta, X)[:, 1], model.predict_proba(w, X),
                               rtol=1e-12, atol=1e-15)
    assert np.array_equal(model.predict(Theta, X), model.predict(w, X))
    # the same likelihood, hence the same unpenalised loss
    assert model.cross_entropy(Theta, X, one_hot(y, 2)) == pytest.approx(
        model.binary_cross_entropy(w, X, y.astype(float)), rel=1e-12)


def test_add_bias():
    X = np.arange(6, dtype=np.float32).reshape(3, 2)
    Xb = model.add_bias(X)
    assert Xb.shape == (3, 3) and Xb.dtype == np.float32
    assert np.array_equal(Xb[:, :2], X)
    assert np.all(Xb[:, -1] == 1.0)


def test_one_hot():
    y = np.array([2, 0, 1, 2])
    Y = model.one_hot(y, 3)
    assert Y.shape == (4, 3) and Y.dtype == np.float64
    assert np.array_equal(Y.argmax(axis=1), y)
    assert np.all(Y.sum(axis=1) == 1)
    assert model.one_hot(y, 4, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="0..2"):
        model.one_hot([0, 3], 3)
    with pytest.raises(ValueError):
        model.one_hot([-1, 0], 3)


# --- the fused kernel (lrbook._kernels) against the NumPy path -------------------------------

@pytest.fixture
def kernel_always(monkeypatch):
    """Route every softmax step through the compiled kernel, however small the data."""
    pytest.importorskip("numba")
    from lrbook import _kernels
    monkeypatch.setattr(_kernels, "MIN_ROWS", 1)
    assert _kernels.available()
    return _kernels


def _random_case(n, d, c, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.random((n, d)), np.ones((n, 1))]).astype(dtype)
    W = rng.standard_normal((d + 1, c)).astype(dtype)
    y = rng.integers(0, c, n)
    return W, X, one_hot(y, c, dtype=dtype), y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, d, c", [(1, 3, 2), (7, 5, 3), (8, 4, 10), (9, 6, 11),
                                     (2051, 30, 10), (5003, 20, 7)])
def test_kernel_matches_numpy_path(kernel_always, dtype, n, d, c):
    W, X, Y, y = _random_case(n, d, c, dtype)
    l2 = np.linspace(0.0, 0.5, c).astype(dtype)
    dev_np, hits_np, g_np = model._softmax_pass_numpy(W, X, Y)
    fused = kernel_always.softmax_pass(W, X, Y)
    assert fused is not None
    dev_k, hits_k, g_k = fused
    g_k = g_k / n
    assert g_k.dtype == dtype and g_k.shape == W.shape
    tol = 1e-12 if dtype == np.float64 else 2e-6          # float32 rounding of the products
    assert relative_error(g_k, g_np) < tol
    assert dev_k == pytest.approx(dev_np, rel=tol)
    assert hits_k == hits_np == np.sum(model.predict(W, X) == y)
    step = model.softmax_step(W, X, Y, l2)
    assert step.loss == pytest.approx(model.cross_entropy(W.astype(float), X.astype(float),
                                                          Y.astype(float), l2.astype(float)),
                                      rel=10 * tol)
    assert step.accuracy == pytest.approx(np.mean(model.predict(W, X) == y))


def test_kernel_gradient_matches_autograd(kernel_always, softmax_case):
    W, X, Y = softmax_case
    for l2 in L2_SOFTMAX:
        loss, g = model.cross_entropy_and_grad(W, X, Y, l2)
        g_ad = autograd.grad(model.cross_entropy)(W, X, Y, l2)
        assert relative_error(g, g_ad) < 1e-10
        assert loss == pytest.approx(model.cross_entropy(W, X, Y, l2), rel=1e-13)


def test_kernel_is_stable_and_propagates_nan(kernel_always):
    W, X, Y, _ = _random_case(20, 3, 4, np.float64)
    step = model.softmax_step(1e4 * W, X, Y)                  # logits of order 1e4
    assert np.isfinite(step.loss) and np.all(np.isfinite(step.grad))
    W[0, 1] = np.nan
    assert np.isnan(model.softmax_step(W, X, Y).loss)


def _binary_case(n, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.random((n, d)) - 0.3, np.ones((n, 1))]).astype(dtype)
    w = rng.standard_normal(d + 1).astype(dtype)
    return w, X, rng.integers(0, 2, n).astype(dtype)


def _binary_step_numpy(monkeypatch, *args):
    from lrbook import _kernels
    with monkeypatch.context() as m:
        m.setattr(_kernels, "binary_pass", lambda *a: None)
        return model.binary_step(*args)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, d", [(1, 3), (3, 5), (4, 4), (9, 6), (2051, 30), (5003, 20)])
def test_binary_kernel_matches_numpy_path(kernel_always, monkeypatch, dtype, n, d):
    w, X, y = _binary_case(n, d, dtype)
    assert kernel_always.binary_pass(w, X, y) is not None
    step = model.binary_step(w, X, y, 0.3)
    ref = _binary_step_numpy(monkeypatch, w, X, y, 0.3)
    tol = 1e-12 if dtype == np.float64 else 2e-6          # float32 rounding of the products
    assert step.grad.dtype == dtype and step.grad.shape == w.shape
    assert relative_error(step.grad, ref.grad) < tol
    assert step.loss == pytest.approx(ref.loss, rel=tol)
    assert step.deviance == pytest.approx(ref.deviance, rel=tol)
    assert step.accuracy == ref.accuracy == np.mean(model.predict(w, X) == y)


def test_binary_kernel_gradient_matches_autograd(kernel_always):
    w, X, y = _binary_case(50, 6, np.float64, seed=1)
    for l2 in (0.0, 0.7):
        loss, g = model.binary_cross_entropy_and_grad(w, X, y, l2)
        assert relative_error(g, autograd.grad(model.binary_cross_entropy)(w, X, y, l2)) < 1e-10
        assert loss == pytest.approx(model.binary_cross_entropy(w, X, y, l2), rel=1e-13)


def test_binary_kernel_float64_weights_on_float32_inputs(kernel_always, monkeypatch):
    w, X, y = _binary_case(3000, 8, np.float32, seed=2)
    w = w.astype(np.float64)
    step = model.binary_step(w, X, y)
    ref = _binary_step_numpy(monkeypatch, w, X, y)
    assert step.grad.dtype == np.float64
    assert relative_error(step.grad, ref.grad) < 1e-12


def test_binary_kernel_is_stable_and_propagates_nan(kernel_always, monkeypatch):
    w, X, y = _binary_case(21, 3, np.float64)
    big = model.binary_step(1e4 * w, X, y)                    # logits of order 1e4
    ref = _binary_step_numpy(monkeypatch, 1e4 * w, X, y)
    assert np.isfinite(big.loss) and np.all(np.isfinite(big.grad))
    assert big.loss == pytest.approx(ref.loss, rel=1e-12)
    w[0] = np.nan
    step = model.binary_step(w, X, y)
    assert np.isnan(step.loss) and np.all(np.isnan(step.grad))


def test_float32_loss_is_summed_in_float64():
    """Both paths: the loss of a large float32 problem carries no float32 summation error."""
    W, X, Y, _ = _random_case(20_000, 10, 5, np.float32, seed=3)
    exact = model.cross_entropy(W.astype(float), X.astype(float), Y.astype(float))
    assert model.cross_entropy_and_grad(W, X, Y)[0] == pytest.approx(exact, rel=1e-6)
    assert model._softmax_pass_numpy(W, X, Y)[0] / len(X) == pytest.approx(exact, rel=1e-6)


def test_numpy_path_without_numba(monkeypatch):
    """Without numba (or with LRBOOK_NO_NUMBA) the step runs on NumPy alone."""
    from lrbook import _kernels
    monkeypatch.setattr(_kernels, "_get", lambda: None)
    W, X, Y, y = _random_case(3000, 8, 4, np.float32)
    assert _kernels.softmax_pass(W, X, Y) is None
    step = model.softmax_step(W, X, Y, 0.1)
    assert step.accuracy == pytest.approx(np.mean(model.predict(W, X) == y))


def test_kernel_runs_in_a_forked_child(kernel_always):
    """The thread pool is made again after a fork (the parent's has no threads there)."""
    import multiprocessing as mp
    import sys
    if "jax" in sys.modules:              # forking a process that runs JAX's threads may hang
        pytest.skip("JAX is loaded in this test process (fork is unsafe there)")
    W, X, Y, _ = _random_case(5000, 10, 4, np.float32)
    want = model.softmax_step(W, X, Y).loss                  # the parent's pool exists now
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_step_loss, (W, X, Y)).get(timeout=120)
    assert got == pytest.approx(want, rel=1e-12)


def _step_loss(W, X, Y):
    from lrbook import _kernels
    _kernels.MIN_ROWS = 1
    return float(model.softmax_step(W, X, Y).loss)


def test_one_blas_thread_limits_blas_only_while_the_kernel_is_in_use(monkeypatch):
    """Inside the context BLAS runs on one thread (no spinning workers beside the kernel);
    the setting is restored after; without the kernel the context changes nothing."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from lrbook import _kernels

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = blas_threads()
    monkeypatch.setenv("LRBOOK_NUM_THREADS", "2")
    if _kernels.available():
        with _kernels.one_blas_thread():
            assert blas_threads() and all(n == 1 for n in blas_threads())
        assert blas_threads() == before
    monkeypatch.setattr(_kernels, "_get", lambda: None)
    with _kernels.one_blas_thread():
        assert blas_threads() == before
