"""Figures the chapters share. Each function draws into axes it is given (or makes them) and
returns the axes; none calls ``plt.show()`` or saves. Captions and numbers live in the chapters.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

__all__ = ["weight_images", "weight_grid", "curves", "weight_growth", "sample_grid", "image_of",
           "images", "loss_gap"]


def image_of(w, side=28):
    """A weight vector as a ``side x side`` image; a trailing bias entry is dropped."""
    w = np.asarray(w)
    if w.shape[0] == side * side + 1:
        w = w[:-1]
    return w.reshape(side, side)


def _colour_limit(images):
    """The +-limit of a shared diverging colour scale: the largest absolute value, 1 if all
    are zero."""
    return max(float(np.abs(im).max()) for im in images) or 1.0


def _row_axes(n, ax, size=1.3):
    if ax is not None:
        return np.atleast_1d(ax)
    _, axes = plt.subplots(1, n, figsize=(size * n, size * 1.15))
    return np.atleast_1d(axes)


def weight_images(W, *, titles=None, scale="shared", ax=None, cmap="RdBu_r", colorbar=False):
    """One image per class (column of ``W``), diverging colour map centred on zero.

    Parameters
    ----------
    W : ``(D, C)`` softmax weights or ``(D,)`` binary weights, ``D`` = 784 or 785 (bias last).
    titles : a title per image (e.g. the class names).
    scale : ``"shared"`` -- one colour scale, +-max|W| over all images, so images compare;
        ``"each"`` -- each image scaled to its own +-max, to see its shape.
    ax : a sequence of ``C`` axes to draw into; default, a new row of axes.
    colorbar : with a shared scale, add one colour bar for the row.
    """
    W = np.asarray(W)
    cols = W[:, None] if W.ndim == 1 else W
    axes = _row_axes(cols.shape[1], ax)
    if scale not in ("shared", "each"):
        raise ValueError(f"scale must be 'shared' or 'each', got {scale!r}")
    images = [image_of(cols[:, k]) for k in range(cols.shape[1])]
    vmax_all = _colour_limit(images)
    for k, (a, im) in enumerate(zip(axes, images)):
        vmax = vmax_all if scale == "shared" else _colour_limit([im])
        mappable = a.imshow(im, cmap=cmap, vmin=-vmax, vmax=vmax)
        a.set_xticks([])
        a.set_yticks([])
        if titles is not None:
            a.set_title(titles[k], fontsize=8)
    if colorbar and scale == "shared":
        axes[0].figure.colorbar(mappable, ax=list(axes), fraction=0.02, pad=0.01)
    return axes


def weight_grid(rows, *, titles=None, row_labels=None, ax=None, cmap="RdBu_r", gap=0.08,
                fontsize=8):
    """Rows of weight images in a single axes: row ``r`` shows the columns of ``rows[r]``,
    each row on its own colour scale, +-max|W| of that row, centred on zero.

    What :func:`weight_images` draws row by row into a grid of axes, for grids of many rows:
    one axes with one image artist per weight image is about five times faster to draw than a
    grid of axes (a 10 x 10 grid: 0.8 s against 4 s, most of it in creating the axes).

    Parameters
    ----------
    rows : a sequence of ``(D, C)`` weight matrices, ``D`` = 784 or 785 (bias last); every
        row has the same ``C``.
    titles : ``C`` titles, above the first row (e.g. the class names).
    row_labels : a label per row, left of it.
    ax : the axes to draw into; default, a new figure sized for the grid.
    gap : the space between two images, as a fraction of an image's side.
    """
    rows = [np.asarray(W) for W in rows]
    if not rows or any(W.ndim != 2 for W in rows) or len({W.shape[1] for W in rows}) != 1:
        raise ValueError("rows must be (D, C) weight matrices with the same number of columns,"
                         f" got shapes {[W.shape for W in rows]}")
    n_rows, n_cols = len(rows), rows[0].shape[1]
    if ax is None:                  # room on the left for the labels, on top for the titles
        width, height = 1.2 * n_cols + 0.8, 1.2 * n_rows + 0.3
        ax = plt.figure(figsize=(width, height)).add_axes(
            (0.8 / width, 0.0, 1 - 0.8 / width, 1 - 0.3 / height))
    step = 1.0 + gap
    for r, W in enumerate(rows):
        images = [image_of(W[:, k]) for k in range(n_cols)]
        vmax = _colour_limit(images)
        top = -r * step                                 # row r spans [top - 1, top]
        for k, im in enumerate(images):
            ax.imshow(im, cmap=cmap, vmin=-vmax, vmax=vmax,
                      extent=(k * step, k * step + 1, top - 1, top))
            ax.add_patch(Rectangle((k * step, top - 1), 1, 1, fill=False, lw=0.8,
                                   ec="black", clip_on=False))   # the frame an axes draws
        if row_labels is not None:
            ax.text(-gap, top - 0.5, row_labels[r], ha="right", va="center",
                    fontsize=fontsize)
    if titles is not None:
        for k, title in enumerate(titles):
            ax.text(k * step + 0.5, 0.04, title, ha="center", va="bottom", fontsize=fontsize)
    ax.set_xlim(0, n_cols * step - gap)
    ax.set_ylim(-(n_rows * step - gap), 0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def curves(history, *, which="loss", ax=None, x="step", label_prefix="", **plot_kw):
    """Training and validation ``which`` ("loss" or "acc") against ``x`` ("step" or "epoch").

    ``history`` is a :class:`lrbook.train.History`. Validation is drawn only if it was recorded.
    """
    if which not in ("loss", "acc"):
        raise ValueError(f"which must be 'loss' or 'acc', got {which!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    xs = getattr(history, x)
    ax.plot(xs, getattr(history, f"train_{which}"), label=f"{label_prefix}training", **plot_kw)
    val = getattr(history, f"val_{which}")
    if np.any(np.isfinite(val)):
        ax.plot(xs, val, label=f"{label_prefix}validation", **plot_kw)
    ax.set_xlabel("step (weight updates)" if x == "step" else "epoch")
    ax.set_ylabel("cross-entropy" if which == "loss" else "accuracy")
    ax.legend(frameon=False)
    return ax


def weight_growth(steps, ranges, norms, *, ax=None):
    """How the weights grow during training, in two panels: the smallest and the largest weight
    (``ranges`` ``(T, 2)``, as :func:`lrbook.weights.coefficient_range` gives them) and the norm
    of the weights (``norms`` ``(T,)``), both against ``steps`` ``(T,)``; the bias is left out of
    both by the caller. ``ax``: two axes to draw into (default, a new row). Returns the axes.
    """
    ranges = np.asarray(ranges)
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    rng_ax, norm_ax = ax
    rng_ax.plot(steps, ranges[:, 1], label="largest weight")
    rng_ax.plot(steps, ranges[:, 0], label="smallest weight")
    rng_ax.axhline(0, color="0.7", lw=0.8)
    rng_ax.set_ylabel("weight")
    rng_ax.legend(frameon=False)
    norm_ax.plot(steps, norms, color="0.3")
    norm_ax.set_ylabel(r"$\|W\|$ (bias excluded)")
    return ax


def sample_grid(X, y, *, n_per_class=8, class_names=None, ax=None, seed=0):
    """A mosaic of ``n_per_class`` random images of each class, one row per class.

    Images are drawn with ``np.random.default_rng(seed)``; ``X`` is ``(N, 784)``.
    """
    y = np.asarray(y)
    classes = np.unique(y)
    rng = np.random.default_rng(seed)
    rows = []
    for c in classes:
        pick = rng.choice(np.flatnonzero(y == c), size=n_per_class, replace=False)
        rows.append(np.hstack([image_of(X[i]) for i in pick]))
    mosaic = np.vstack(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * n_per_class + 1.5, 0.55 * len(classes)))
    ax.imshow(mosaic, cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks(np.arange(len(classes)) * 28 + 14)
    names = class_names if class_names is not None else [str(c) for c in classes]
    ax.set_yticklabels([names[c] for c in classes], fontsize=8)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    return ax


def images(X, *, titles=None, ax=None, cmap="gray_r"):
    """Input images (rows of ``X``, 784 pixels, or 785 with the bias last) in a row of axes,
    dark for ink, on the pixels' own scale; ``titles`` labels each image (e.g. its label)."""
    X = np.atleast_2d(np.asarray(X))
    axes = _row_axes(X.shape[0], ax)
    for k, a in enumerate(axes):
        a.imshow(image_of(X[k]), cmap=cmap)
        a.set_xticks([])
        a.set_yticks([])
        if titles is not None:
            a.set_title(titles[k], fontsize=7)
    return axes


def loss_gap(progress, *, optimum, x="passes", ax=None, floor=1e-12, **plot_kw):
    """The gap ``loss - optimum`` of an optimiser's run against ``x`` ("passes" or "seconds"),
    on a log scale; gaps below ``floor`` (the optimum itself, rounding) are not drawn.

    ``progress`` is a :class:`lrbook.optim.Progress`.
    """
    if x not in ("passes", "seconds"):
        raise ValueError(f"x must be 'passes' or 'seconds', got {x!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    gap = np.asarray(progress.loss) - optimum
    keep = gap > floor
    ax.plot(np.asarray(getattr(progress, x))[keep], gap[keep], **plot_kw)
    ax.set_yscale("log")
    ax.set_xlabel("passes over the training data" if x == "passes" else "seconds")
    ax.set_ylabel("loss - optimal loss")
    return ax
