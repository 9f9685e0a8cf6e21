"""lrbook.plots: each function draws what it says into axes it returns, headless."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lrbook import plots
from lrbook.train import fit


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


@pytest.fixture
def W():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((785, 4))
    W[:, 2] *= 10.0                       # one class with much larger weights
    W[-1] = 1e3                           # a bias row that must not set the colour scale
    return W


def test_image_of_drops_the_bias():
    w = np.arange(785.0)
    im = plots.image_of(w)
    assert im.shape == (28, 28) and im[0, 0] == 0 and im[-1, -1] == 783
    assert plots.image_of(np.arange(784.0)).shape == (28, 28)


def test_weight_images_shared_scale(W):
    axes = plots.weight_images(W, titles=list("abcd"))
    assert len(axes) == 4
    vmax = np.abs(W[:-1]).max()
    for k, a in enumerate(axes):
        assert len(a.images) == 1
        lo, hi = a.images[0].get_clim()
        assert lo == -hi and hi == pytest.approx(vmax)
        np.testing.assert_array_equal(a.images[0].get_array(), W[:-1, k].reshape(28, 28))
        assert a.get_title() == "abcd"[k]


def test_weight_images_each_scale(W):
    axes = plots.weight_images(W, scale="each")
    for k, a in enumerate(axes):
        lo, hi = a.images[0].get_clim()
        assert lo == -hi and hi == pytest.approx(np.abs(W[:-1, k]).max())
    his = [a.images[0].get_clim()[1] for a in axes]
    assert len(set(his)) == 4


def test_weight_images_binary_vector_and_given_axes():
    w = np.random.default_rng(1).standard_normal(784)
    _, ax = plt.subplots()
    axes = plots.weight_images(w, ax=ax)
    assert len(axes) == 1 and axes[0] is ax
    lo, hi = ax.images[0].get_clim()
    assert lo == -hi == -np.abs(w).max()


def test_weight_images_zero_weights_and_colorbar():
    axes = plots.weight_images(np.zeros((785, 3)), colorbar=True)
    assert all(a.images[0].get_clim() == (-1.0, 1.0) for a in axes)
    assert len(axes[0].figure.axes) == 4                  # three images and the colour bar


def test_weight_images_rejects_unknown_scale(W):
    with pytest.raises(ValueError, match="scale"):
        plots.weight_images(W, scale="per-class")


def test_weight_grid_one_axes_one_scale_per_row(W):
    rows = [W, 3 * W, np.zeros_like(W)]
    ax = plots.weight_grid(rows, titles=list("abcd"), row_labels=["one", "three", "zero"])
    assert len(ax.figure.axes) == 1 and len(ax.images) == 12
    for r, Wr in enumerate(rows):
        vmax = np.abs(Wr[:-1]).max() or 1.0            # the bias row does not set the scale
        for k in range(4):
            im = ax.images[4 * r + k]
            assert im.get_clim() == (pytest.approx(-vmax), pytest.approx(vmax))
            np.testing.assert_array_equal(im.get_array(), Wr[:-1, k].reshape(28, 28))
    x0 = [im.get_extent()[0] for im in ax.images[:4]]
    tops = [ax.images[4 * r].get_extent()[3] for r in range(3)]
    assert x0 == sorted(x0) and tops == sorted(tops, reverse=True)   # left to right, top down
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["one", "three", "zero", "a", "b", "c", "d"]
    assert len(ax.patches) == 12                        # a frame per image


def test_weight_grid_draws_into_given_axes_and_rejects_ragged_rows(W):
    _, ax = plt.subplots()
    assert plots.weight_grid([W[:, :2]], ax=ax) is ax and len(ax.images) == 2
    with pytest.raises(ValueError, match="same number of columns"):
        plots.weight_grid([W, W[:, :3]])
    with pytest.raises(ValueError, match="weight matrices"):
        plots.weight_grid([W[:, 0]])


@pytest.fixture
def history(problem):
    X, y, _ = problem(n=40, d=3, n_classes=3, seed=0)
    return fit(X, y, n_classes=int(y.max()) + 1, lr=0.5, epochs=5, batch_size=10, X_val=X[:10], y_val=y[:10],
               val_every=2).history


def test_curves(history):
    ax = plots.curves(history)
    assert len(ax.lines) == 2                              # training and validation
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), history.step)
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), history.val_loss)
    assert ax.get_ylabel() == "cross-entropy"
    ax = plots.curves(history, which="acc", x="epoch")
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), history.epoch)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), history.train_acc)
    assert ax.get_xlabel() == "epoch"
    with pytest.raises(ValueError, match="which"):
        plots.curves(history, which="f1")


def test_curves_without_validation(problem):
    X, y, _ = problem(n=40, d=3, n_classes=3, seed=0)
    h = fit(X, y, n_classes=int(y.max()) + 1, lr=0.5, epochs=3).history
    _, ax = plt.subplots()
    assert plots.curves(h, ax=ax, label_prefix="run A: ") is ax
    assert len(ax.lines) == 1
    assert ax.lines[0].get_label() == "run A: training"


def test_sample_grid():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(60, 784), dtype=np.uint8)
    y = np.repeat([0, 1, 2], 20)
    ax = plots.sample_grid(X, y, n_per_class=5, class_names=["zero", "one", "two"])
    assert len(ax.images) == 1
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (3 * 28, 5 * 28)
    # each row of the mosaic holds images of its own class
    for c in range(3):
        tiles = [mosaic[28 * c:28 * c + 28, 28 * j:28 * j + 28].ravel() for j in range(5)]
        for t in tiles:
            assert any(np.array_equal(t, X[i]) for i in np.flatnonzero(y == c))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["zero", "one", "two"]
    again = plots.sample_grid(X, y, n_per_class=5)
    np.testing.assert_array_equal(again.images[0].get_array(), mosaic)    # seeded


def test_images_draws_one_axis_per_row_with_titles():
    import matplotlib.pyplot as plt
    from lrbook import plots
    X = np.random.default_rng(0).random((3, 785))
    axes = plots.images(X, titles=["a", "b", "c"])
    assert len(axes) == 3 and axes[1].get_title() == "b"
    assert axes[0].images[0].get_array().shape == (28, 28)
    plt.close("all")


def test_weight_growth_draws_range_and_norm():
    steps = np.array([1, 10, 100])
    ranges = np.array([[-0.1, 0.2], [-0.5, 0.6], [-2.0, 1.5]])
    axes = plots.weight_growth(steps, ranges, [0.3, 1.0, 4.0])
    low, high = (line.get_ydata() for line in axes[0].get_lines()[1::-1])
    np.testing.assert_array_equal(high, ranges[:, 1])
    np.testing.assert_array_equal(low, ranges[:, 0])
    np.testing.assert_array_equal(axes[1].get_lines()[0].get_ydata(), [0.3, 1.0, 4.0])
    fig, given = plt.subplots(1, 3)
    assert plots.weight_growth(steps, ranges, [1, 2, 3], ax=given[:2])[0] is given[0]
    plt.close("all")
