"""Tests for lrbook.protocol: the course protocol's data preparation, settings and runs."""
import dataclasses

import numpy as np
import pytest

from lrbook import protocol as A
from lrbook.data import Dataset
from lrbook.metrics import evaluate
from lrbook.train import fit


def fake_mnist(n_train=900, n_test=400, seed=0):
    """A small MNIST look-alike: each digit's images are noise around their own mean image."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(0, 255, size=(10, 784))

    def draw(n):
        y = rng.integers(0, 10, size=n)
        X = np.clip(means[y] + rng.normal(0, 60, size=(n, 784)), 0, 255).astype(np.uint8)
        return X, y.astype(np.int64)

    X_tr, y_tr = draw(n_train)
    X_te, y_te = draw(n_test)
    return Dataset(X_tr, y_tr, X_te, y_te, tuple(str(d) for d in range(10)), "fake")


@pytest.fixture(scope="module")
def mnist():
    return fake_mnist()


def bin_task(mnist):
    return A.binary_task(mnist, n_train=900, n_val=400)


def soft_task(mnist, n_train=600):
    return A.softmax_task(mnist, n_train=n_train, n_val=200)


def test_prepare_scales_to_pm1_and_appends_bias():
    X = A.prepare(np.array([[0, 255, 127.5 * 1]], dtype=np.float64).astype(np.uint8))
    assert X.shape == (1, 4)
    assert X[0, 0] == -1.0 and X[0, 1] == 1.0
    assert X[0, -1] == 1.0
    assert X.dtype == np.float64


def test_binary_task_rows_and_labels(mnist):
    t = A.binary_task(mnist, n_train=600, n_val=200)
    want_tr = np.flatnonzero(np.isin(mnist.y_train[:600], (2, 3)))
    want_va = np.flatnonzero(np.isin(mnist.y_test[:200], (2, 3)))
    assert np.array_equal(t.train_index, want_tr) and np.array_equal(t.val_index, want_va)
    # 2 -> 1, 3 -> 0
    assert np.array_equal(t.y_train, (mnist.y_train[want_tr] == 2).astype(int))
    assert np.array_equal(t.y_val, (mnist.y_test[want_va] == 2).astype(int))
    assert 0 < t.y_train.mean() < 1
    assert np.allclose(t.X_train, A.prepare(mnist.X_train[want_tr]))
    assert np.allclose(t.X_val, A.prepare(mnist.X_test[want_va]))
    assert t.binary and t.class_names == ("3", "2")


def test_binary_task_validation_from_the_last_test_images(mnist):
    t = A.binary_task(mnist, n_train=600, n_val=150, val="last")
    want_va = 250 + np.flatnonzero(np.isin(mnist.y_test[250:], (2, 3)))
    assert np.array_equal(t.val_index, want_va)
    assert np.array_equal(t.y_val, (mnist.y_test[want_va] == 2).astype(int))
    assert np.allclose(t.X_val, A.prepare(mnist.X_test[want_va]))
    first = A.binary_task(mnist, n_train=600, n_val=150)
    assert np.array_equal(t.train_index, first.train_index)     # only validation changes
    with pytest.raises(ValueError, match="val must be one of"):
        A.binary_task(mnist, n_train=600, n_val=150, val="middle")


def test_first_training_images_keeps_a_prefix_and_every_test_image(mnist):
    m = A.first_training_images(mnist, n=700)
    assert np.array_equal(m.X_train, mnist.X_train[:700])
    assert np.array_equal(m.y_train, mnist.y_train[:700])
    assert m.X_test is mnist.X_test and m.y_test is mnist.y_test
    assert (m.class_names, m.source) == (mnist.class_names, mnist.source)
    with pytest.raises(ValueError, match="training images in this copy"):
        A.first_training_images(mnist)                  # 900 < the default 20,000


def test_softmax_task_takes_first_train_and_last_test(mnist):
    t = A.softmax_task(mnist, n_train=500, n_val=150)
    assert np.array_equal(t.train_index, np.arange(500))
    assert np.array_equal(t.val_index, np.arange(250, 400))
    assert np.array_equal(t.y_val, mnist.y_test[-150:])
    assert np.allclose(t.X_val, A.prepare(mnist.X_test[-150:]))
    assert t.X_train.shape == (500, 785) and not t.binary


@pytest.mark.parametrize("kw", [dict(n_train=0), dict(n_train=901), dict(n_val=401)])
def test_task_sizes_are_checked(mnist, kw):
    with pytest.raises(ValueError, match="must be in"):
        A.softmax_task(mnist, **{"n_train": 100, "n_val": 100, **kw})


def test_binary_task_rejects_same_digit(mnist):
    with pytest.raises(ValueError, match="different digits"):
        A.binary_task(mnist, positive=4, negative=4, n_train=900, n_val=400)


def test_protocol_settings(mnist):
    b, s = bin_task(mnist), soft_task(mnist)
    kb, ks = A.protocol(b), A.protocol(s)
    assert (kb["lr"], kb["shuffle"], kb["binary"]) == (0.05, False, True)
    assert (ks["lr"], ks["shuffle"], ks["binary"], ks["n_classes"]) == (0.01, True, False, 10)
    for k in (kb, ks):
        assert (k["batch_size"], k["drop_last"], k["val_every"], k["epochs"]) == (128, True, 0.2, 50)
        assert "patience" not in k
    ke = A.protocol(b, early_stopping=True, shuffle=True)
    assert (ke["patience"], ke["epochs"], ke["restore_best"], ke["shuffle"]) == (10, 500, True, True)


@pytest.mark.parametrize("val_every", [0.5, 0.57, 0.29, 0.1, 3])
def test_schedule_check_steps_match_fit(mnist, val_every):
    # 0.57 and 0.29 of 5 batches per epoch are where a schedule without fit's rounding guard
    # (int(0.57 * 100) = 56) disagrees with fit
    t = soft_task(mnist, n_train=640)                      # 5 batches of 128 per epoch
    kw = A.protocol(t, epochs=3, val_every=val_every)
    assert np.array_equal(A.schedule(kw).check_steps(), fit(**kw).history.step)
    kw = A.protocol(t, max_steps=7, val_every=3)
    assert np.array_equal(A.schedule(kw).check_steps(), [0, 3, 6, 7])


@pytest.mark.parametrize("kind", ["binary", "softmax"])
def test_run_reproduces_fit(mnist, kind):
    t = bin_task(mnist) if kind == "binary" else soft_task(mnist)
    kw = dict(epochs=4, shuffle=True, seed=3, l2=0.01)
    ref, fast = fit(**A.protocol(t, **kw)), A.run(t, **kw)
    assert np.allclose(ref.W, fast.W)
    assert fast.best_step == ref.best_step and fast.n_steps == ref.n_steps
    for name in ("step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "batch_loss"):
        assert np.allclose(getattr(ref.history, name), getattr(fast.history, name)), name
    assert set(fast.snapshots) == set(fast.history.step.tolist())


def test_run_refuses_early_stopping(mnist):
    with pytest.raises(ValueError, match="early stopping"):
        A.run(bin_task(mnist), patience=5)


def test_stopping_point():
    # lowest at index 1; indices 2, 3, 4 fail to beat it -> patience 3 stops at 4
    assert A.stopping_point([3.0, 1.0, 1.0, 2.0, 1.5, 0.5], patience=3) == (1, 4)
    assert A.stopping_point([3.0, 1.0, 1.0, 2.0, 0.5, 0.4], patience=3) == (5, None)
    assert A.stopping_point([1.0, 1.0], patience=1) == (0, 1)     # a tie is no improvement


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("val", ["first", "last"])
def test_early_stopping_after_the_fact_is_fit_with_patience(mnist, shuffle, val):
    # 30% of the training 2s and 3s swap labels, so that the validation loss turns up and
    # early stopping fires within a few epochs
    flip = np.random.default_rng(1).random(len(mnist.y_train)) < 0.3
    noisy = dataclasses.replace(mnist, y_train=np.where(
        flip & np.isin(mnist.y_train, (2, 3)), 5 - mnist.y_train, mnist.y_train))
    t = A.binary_task(noisy, n_train=900, n_val=200, val=val)
    kw = dict(shuffle=shuffle, seed=5, batch_size=32)
    ref = fit(**A.protocol(t, early_stopping=True, **kw))
    assert ref.stopped_early and ref.best_step > 0
    other = A.binary_task(noisy, n_train=900, n_val=200,
                          val="last" if val == "first" else "first")
    r = A.run(other, epochs=ref.epochs + 3, **kw)            # validated on the other split
    es = A.early_stopping(r, t.X_val, t.y_val)
    assert (es.stop_step, es.best_step) == (ref.n_steps, ref.best_step)
    assert es.stop_epoch == ref.epochs and np.array_equal(es.W, ref.W)
    assert np.allclose(es.val_loss[:len(ref.history.step)], ref.history.val_loss)
    with pytest.raises(ValueError, match="does not fire"):
        A.early_stopping(r, t.X_val, t.y_val, patience=10_000)


def test_early_stopping_needs_the_weights_at_every_check(mnist):
    t = bin_task(mnist)
    r = fit(**A.protocol(t, epochs=2))
    with pytest.raises(ValueError, match="every check"):
        A.early_stopping(r, t.X_val, t.y_val)


def test_learning_curve(mnist):
    t = A.softmax_task(mnist, n_train=600, n_val=200)
    lc = A.learning_curve(t, t.X_val, t.y_val, sizes=[20, 600], seeds=[0, 1], steps=60)
    assert lc.train_acc.shape == lc.test_acc.shape == (2, 2)
    assert np.all(lc.train_acc[0] == 1.0)            # 20 images, 60 full-batch steps: memorised
    assert np.all(lc.test_acc[1] > lc.test_acc[0])   # more data, better test accuracy
    assert lc.train_acc[0, 0] >= lc.test_acc[0, 0]
    again = A.learning_curve(t, t.X_val, t.y_val, sizes=[20], seeds=[1], steps=60)
    assert again.test_acc[0, 0] == lc.test_acc[0, 1]                  # seeded: reproducible
    with pytest.raises(ValueError, match="sizes"):
        A.learning_curve(t, t.X_val, t.y_val, sizes=[601], seeds=[0], steps=5)


def test_learning_curve_on_the_whole_set_is_the_protocol_run_and_known_models_are_reused(mnist):
    t = A.softmax_task(mnist, n_train=600, n_val=200)
    r = A.run(t, seed=1, max_steps=40)
    whole = A.learning_curve(t, t.X_val, t.y_val, sizes=[600], seeds=[1], steps=40)
    assert np.isclose(whole.test_acc[0, 0], evaluate(r.W, t.X_val, t.y_val)[1])
    assert np.isclose(whole.test_loss[0, 0], evaluate(r.W, t.X_val, t.y_val)[0])
    reused = A.learning_curve(t, t.X_val, t.y_val, sizes=[20, 600], seeds=[1], steps=40,
                              known={(600, 1): r.W})
    assert np.array_equal(reused.test_loss[1], whole.test_loss[0])
    again = A.learning_curve(t, t.X_val, t.y_val, sizes=[20], seeds=[1], steps=40)
    assert np.array_equal(reused.test_loss[0], again.test_loss[0])


def test_parallel_runs_give_the_same_results(mnist):
    t = soft_task(mnist)
    settings = [dict(epochs=1, seed=s, l2=l2) for s, l2 in [(0, 0.0), (1, 0.1)]]
    one, two = A.run_many(t, settings), A.run_many(t, settings, n_jobs=2)
    for a, b, s in zip(one, two, settings):
        assert np.array_equal(a.W, b.W) and np.array_equal(a.W, A.run(t, **s).W)
        assert np.array_equal(a.history.val_loss, b.history.val_loss)
    kw = dict(sizes=[20, 100], seeds=[0, 1], steps=30)
    lc1 = A.learning_curve(t, t.X_val, t.y_val, **kw)
    lc2 = A.learning_curve(t, t.X_val, t.y_val, n_jobs=2, **kw)
    assert np.array_equal(lc1.test_loss, lc2.test_loss)
    assert np.array_equal(lc1.train_acc, lc2.train_acc)
