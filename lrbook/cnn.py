"""A small convolutional network in JAX, trained with optax, used as a learned representation.

The class-regularisation chapters ask how much of a regulariser's per-class effect comes from
the last, class-specific layer of a deep network and how much from the representation below
it. This module gives a representation that is really learned, and varied by the network's own
regularisation (weight decay, data augmentation): train with :func:`train_cnn`, freeze, read
the penultimate layer with :func:`features`, and refit the last layer with
:mod:`lrbook.solver`.

Network (``channels = (c1, c2)``, ``hidden = H``)::

    28x28x1 -> conv 3x3, c1, relu -> max-pool 2 -> 14x14xc1
            -> conv 3x3, c2, relu -> max-pool 2 -> 7x7xc2 -> flatten
            -> dense H, relu  (the representation, :func:`features`)  -> dense C (logits)

Inputs are ``(N, 784)`` images, uint8 0..255 or floats already in [0, 1] (uint8 is scaled here),
so that callers and the results cache handle the small uint8 arrays. ``params`` is a dict of
NumPy float32 arrays: ``conv1``/``conv2`` kernels ``(3, 3, c_in, c_out)`` (HWIO) with biases
``b1``/``b2``, ``dense`` ``(49 c2, H)`` with ``b3``, ``out`` ``(H, C)`` with ``b4``.

Training: mini-batch AdamW (optax) on the mean cross-entropy. Weight decay is AdamW's decoupled
decay, ``p <- p - lr * weight_decay * p`` each step, on the kernels and weight matrices only
(biases are not decayed, as in the rest of the book). Data augmentation
(:func:`lrbook.augment.augment`) draws a new random transformation of every image each epoch.
All randomness (initialisation, order, augmentation) comes from ``np.random.default_rng(seed)``;
on the CPU a run is bit-identical for a seed. JAX is imported inside the functions, so
``import lrbook`` does not load it.
"""
from __future__ import annotations

import functools
import time
from typing import NamedTuple

import numpy as np

from . import augment as _augment

__all__ = ["init_params", "features", "logits", "CNNResult", "train_cnn"]

SIDE = 28


def init_params(*, channels=(8, 16), hidden=64, n_classes=10, seed=0):
    """He-initialised kernels and weights (normal, std ``sqrt(2 / fan_in)``), zero biases."""
    c1, c2 = channels
    rng = np.random.default_rng(seed)

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    flat = (SIDE // 4) ** 2 * c2
    return {"conv1": he((3, 3, 1, c1), 9), "b1": np.zeros(c1, np.float32),
            "conv2": he((3, 3, c1, c2), 9 * c1), "b2": np.zeros(c2, np.float32),
            "dense": he((flat, hidden), flat), "b3": np.zeros(hidden, np.float32),
            "out": he((hidden, n_classes), hidden), "b4": np.zeros(n_classes, np.float32)}


def _as_input(X):
    """uint8 pixels to float32 in [0, 1]; float input as float32."""
    X = np.asarray(X)
    if np.issubdtype(X.dtype, np.integer):
        return X.astype(np.float32) / np.float32(255)
    return X.astype(np.float32, copy=False)


def _forward(params, X):
    """Penultimate layer and logits, ``(N, H)`` and ``(N, C)``, in JAX (traceable)."""
    import jax
    import jax.numpy as jnp

    def block(x, k, b):
        x = jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        x = jax.nn.relu(x + b)
        n, h, w, c = x.shape                                        # 2x2 max-pooling
        return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    x = X.reshape(-1, SIDE, SIDE, 1)
    x = block(x, params["conv1"], params["b1"])                     # (N, 14, 14, c1)
    x = block(x, params["conv2"], params["b2"])                     # (N, 7, 7, c2)
    h = jax.nn.relu(x.reshape(x.shape[0], -1) @ params["dense"] + params["b3"])  # (N, H)
    return h, h @ params["out"] + params["b4"]


@functools.lru_cache(maxsize=2)
def _jitted_output(which):
    import jax
    return jax.jit(lambda p, x: _forward(p, x)[which])


def _batched(params, X, which, batch_size):
    fn = _jitted_output(which)
    Xf = _as_input(X)
    return np.concatenate([np.asarray(fn(params, Xf[s:s + batch_size]))
                           for s in range(0, len(Xf), batch_size)])


def features(params, X, *, batch_size=2000):
    """The frozen representation: the penultimate layer ``(N, H)`` float32 for images
    ``X`` ``(N, 784)``."""
    return _batched(params, X, 0, batch_size)


def logits(params, X, *, batch_size=2000):
    """The network's own logits ``(N, C)`` float32."""
    return _batched(params, X, 1, batch_size)


@functools.lru_cache(maxsize=16)
def _optimiser(lr, weight_decay, names):
    """AdamW and its jitted training step, built once per setting (compiled once per shape)."""
    import jax
    import jax.numpy as jnp
    import optax

    decay_mask = {k: not k.startswith("b") for k in names}        # kernels and matrices only
    opt = optax.adamw(lr, weight_decay=weight_decay, mask=decay_mask)

    def loss_fn(p, xb, yb):
        z = _forward(p, xb)[1]                                          # (B, C)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), yb[:, None], axis=1))

    @jax.jit
    def step(p, s, xb, yb):
        value, g = jax.value_and_grad(loss_fn)(p, xb, yb)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, value

    return opt, step


class CNNResult(NamedTuple):
    """Outcome of :func:`train_cnn`: ``params`` (dict of NumPy arrays), the mean training loss
    of each epoch ``epoch_loss`` ``(epochs,)``, and the training wall time ``seconds``."""
    params: dict
    epoch_loss: np.ndarray
    seconds: float


def train_cnn(X, y, *, channels=(8, 16), hidden=64, n_classes=10, epochs=6, batch_size=128,
              lr=2e-3, weight_decay=0.0, augment="translate", strength=0, seed=0,
              progress=False) -> CNNResult:
    """Train the network with mini-batch AdamW and data augmentation.

    Parameters
    ----------
    X : (N, 784) images, uint8 0..255 or float in [0, 1]; the training part only.
    y : (N,) integer labels in 0..n_classes-1.
    channels, hidden : convolution channels ``(c1, c2)`` and size ``H`` of the representation.
    epochs, batch_size : passes over the data; images per step (a new random order every
        epoch; the last partial batch is dropped).
    lr : AdamW's step size.
    weight_decay : AdamW's decoupled decay on kernels and weight matrices (not biases), >= 0.
    augment, strength : transformation of :func:`lrbook.augment.augment` and its strength,
        applied afresh to every image each epoch; strength 0 trains on the images themselves.
    seed : seeds the initialisation, the order of the images and the augmentation.
    progress : tqdm bar over epochs.

    Returns
    -------
    CNNResult
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != SIDE * SIDE:
        raise ValueError(f"X must be (N, {SIDE * SIDE}) images, got shape {X.shape}")
    if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape ({len(X)},), got {y.dtype} {y.shape}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {y.min()}..{y.max()}")
    if not (len(channels) == 2 and min(channels) >= 1 and hidden >= 1):
        raise ValueError(f"need two channel counts >= 1 and hidden >= 1, got {channels}, {hidden}")
    if not 1 <= batch_size <= len(X):
        raise ValueError(f"batch_size must be in 1..{len(X)}, got {batch_size}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs}")
    _augment.augment(X[:1], kind=augment, strength=strength, seed=0)   # validates kind, strength

    rng = np.random.default_rng(seed)
    params = init_params(channels=channels, hidden=hidden, n_classes=n_classes,
                         seed=int(rng.integers(2**31)))
    opt, step = _optimiser(float(lr), float(weight_decay), tuple(sorted(params)))
    state = opt.init(params)

    n_steps = len(X) // batch_size
    epoch_loss = np.empty(epochs)
    it = range(int(epochs))
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="CNN epochs", leave=False)
    t0 = time.perf_counter()
    for e in it:
        Xe = _as_input(_augment.augment(X, kind=augment, strength=strength, seed=rng))
        order = rng.permutation(len(X))
        total = 0.0
        for b in range(n_steps):
            idx = order[b * batch_size:(b + 1) * batch_size]
            params, state, value = step(params, state, Xe[idx], y[idx])
            total = total + value                  # stays on the device: no sync per step
        epoch_loss[e] = float(total) / n_steps
    params = {k: np.asarray(v) for k, v in params.items()}
    return CNNResult(params=params, epoch_loss=epoch_loss, seconds=time.perf_counter() - t0)
