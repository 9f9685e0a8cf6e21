"""A small multilayer perceptron, written with autograd, used as a frozen feature extractor.

The class-dependent regularisation chapter asks how much of the per-class effect of a penalty
comes from the last, class-specific layer of a network. To study that layer alone we train a
small network once, freeze everything below its last layer, and refit the last layer as a
logistic regression on the frozen representation :func:`features`.

Network: ``x -> relu(x W_1 + b_1) -> ... -> relu(. W_L + b_L) -> . V + c`` (logits), with
``layer_sizes = (D, H_1, ..., H_L, C)``. ``params`` is a list of ``(W, b)`` pairs, one per
layer, ``W`` of shape ``(fan_in, fan_out)``. Inputs are ``(N, D)`` **without** a bias column
(each layer carries its own bias). Training is mini-batch Adam on the mean cross-entropy, with
gradients from ``autograd``; all randomness comes from ``np.random.default_rng(seed)``.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

from ._checks import check_count, check_n_classes, check_number, check_xy
from .model import log_softmax, one_hot

__all__ = ["init_params", "logits", "features", "loss", "predict", "MLPResult", "train_mlp"]


def init_params(layer_sizes, *, seed=0, dtype=np.float32):
    """He-initialised weights (normal, std ``sqrt(2 / fan_in)``) and zero biases, a list of
    ``(W (fan_in, fan_out), b (fan_out,))`` pairs."""
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(dtype), np.zeros(n, dtype))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def features(params, X):
    """The last hidden layer, ``(N, H_L)``: the representation the output layer sees."""
    H = X
    for W, b in params[:-1]:
        H = anp.maximum(anp.dot(H, W) + b, 0.0)
    return H


def logits(params, X):
    """Output logits ``(N, C)``."""
    V, c = params[-1]
    return anp.dot(features(params, X), V) + c


def loss(params, X, Y):
    """Mean cross-entropy of one-hot targets ``Y`` ``(N, C)`` (differentiable with autograd)."""
    return -anp.sum(Y * log_softmax(logits(params, X))) / X.shape[0]


def predict(params, X):
    """Predicted labels ``(N,)``."""
    return np.argmax(logits(params, X), axis=1)


class MLPResult(NamedTuple):
    """Outcome of :func:`train_mlp`: the trained ``params``, the mean mini-batch loss of each
    epoch ``(epochs,)``, the training accuracy after each epoch ``(epochs,)``, and wall time."""
    params: list
    epoch_loss: np.ndarray
    train_acc: np.ndarray
    seconds: float


def train_mlp(X, y, *, hidden=(256, 128), n_classes=None, epochs=5, batch_size=128, lr=1e-3,
              betas=(0.9, 0.999), eps=1e-8, seed=0, progress=False) -> MLPResult:
    """Train an MLP with mini-batch Adam on ``(X, y)``.

    Parameters
    ----------
    X : (N, D) float inputs (no bias column), e.g. pixels scaled to [0, 1]; float32 is faster.
    y : (N,) integer labels.
    n_classes : C, required (the data set's class count).
    hidden : sizes of the hidden layers, e.g. ``(256, 128)``; the last is the feature size.
    epochs, batch_size : passes over the data, samples per step (the last partial batch of an
        epoch is dropped; a new random order every epoch).
    lr, betas, eps : Adam's step size and moment decay rates.
    seed : seeds the initialisation and the shuffling.
    progress : tqdm bar over epochs.

    Returns
    -------
    MLPResult
    """
    n_classes = check_n_classes(n_classes)
    X, y = check_xy(X, y, n_classes=n_classes)
    if len(hidden) < 1:
        raise ValueError(f"hidden must list at least one layer size >= 1, got {hidden}")
    hidden = tuple(check_count("hidden layer size", h, minimum=1) for h in hidden)
    batch_size = check_count("batch_size", batch_size, minimum=1, maximum=len(X))
    epochs = check_count("epochs", epochs, minimum=1)
    lr = check_number("lr", lr, minimum=0)
    dt = X.dtype
    params = init_params((X.shape[1], *hidden, n_classes), seed=seed, dtype=dt)
    Y = one_hot(y, n_classes, dtype=dt)
    vg = value_and_grad(loss)
    m = [[np.zeros_like(a) for a in layer] for layer in params]
    v = [[np.zeros_like(a) for a in layer] for layer in params]
    b1, b2 = betas
    rng = np.random.default_rng(seed + 1)
    n_steps = len(X) // batch_size
    epoch_loss, train_acc = np.empty(epochs), np.empty(epochs)
    t0, t = time.perf_counter(), 0
    it = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="MLP epochs", leave=False)
    for e in it:
        order = rng.permutation(len(X))
        total = 0.0
        for s in range(n_steps):
            idx = order[s * batch_size:(s + 1) * batch_size]
            Xb, Yb = X[idx], Y[idx]
            value, grads = vg(params, Xb, Yb)
            total += float(value)
            t += 1
            scale = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)      # Adam's bias corrections
            new = []
            for (layer, glayer, ml, vl) in zip(params, grads, m, v):
                upd = []
                for j, (p, gp) in enumerate(zip(layer, glayer)):
                    ml[j] = b1 * ml[j] + (1 - b1) * gp
                    vl[j] = b2 * vl[j] + (1 - b2) * gp * gp
                    upd.append((p - scale * ml[j] / (np.sqrt(vl[j]) + eps)).astype(dt))
                new.append(tuple(upd))
            params = new
        epoch_loss[e] = total / n_steps
        train_acc[e] = float(np.mean(predict(params, X) == y))
    return MLPResult(params=params, epoch_loss=epoch_loss, train_acc=train_acc,
                     seconds=time.perf_counter() - t0)
