"""Gradient checks: a hand-derived gradient against autograd and central finite differences.

The gradient chapters check every formula they derive in the same way, so the machinery lives
here: :func:`numerical_grad` (central differences, optionally on a subset of coordinates so a
check on 785 x 10 weights stays fast), :func:`relative_error`, :func:`check_gradient` which runs
all three comparisons at once, and :func:`gradcheck_table` which turns the results into the
Markdown table the chapters display.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["numerical_grad", "relative_error", "sample_coordinates", "GradCheck",
           "check_gradient", "gradcheck_table"]


def numerical_grad(f, W, eps=1e-5, *, coords=None):
    r"""Central finite-difference gradient of a scalar function ``f`` at ``W``.

    .. math:: \frac{\partial f}{\partial W_i} \approx \frac{f(W + h e_i) - f(W - h e_i)}{2h}

    Parameters
    ----------
    f : callable taking an array of the shape of ``W`` and returning a scalar.
    W : array of any shape; it is copied to float64 and never modified.
    eps : step ``h`` > 0. The truncation error grows like ``h**2`` and the rounding error like
        ``machine_eps / h``; the default 1e-5, near ``machine_eps ** (1/3)``, balances the two in
        float64. The divisor is the step actually taken in floating point,
        ``(W_i + h) - (W_i - h)``, which removes one more source of rounding error.
    coords : flat indices (into ``W.ravel()``) to differentiate along; default, all of them.

    Returns
    -------
    Array of the shape of ``W`` if ``coords`` is None, else ``(len(coords),)``, in float64.
    Costs ``2 * len(coords)`` evaluations of ``f``.
    """
    if not (np.isscalar(eps) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps}")
    W = np.array(W, dtype=np.float64)                    # private copy, perturbed in place
    flat = W.reshape(-1)                                 # a view of W
    idx = np.arange(flat.size) if coords is None else np.asarray(coords, dtype=np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= flat.size):
        raise ValueError(f"coords must lie in 0..{flat.size - 1}, got range {idx.min()}..{idx.max()}")
    g = np.empty(idx.size)
    for j, i in enumerate(idx):
        old = flat[i]
        up, down = old + eps, old - eps
        flat[i] = up
        f_up = f(W)
        flat[i] = down
        f_down = f(W)
        flat[i] = old
        g[j] = (f_up - f_down) / (up - down)
    return g.reshape(W.shape) if coords is None else g


def relative_error(a, b):
    r"""Norm-wise relative difference :math:`\|a - b\|_2 / \max(\|a\|_2, \|b\|_2)`; 0 if both are 0."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs arrays of one size, got {a.size} and {b.size}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def sample_coordinates(shape, n, *, seed=0, include=()):
    """``n`` distinct flat indices into an array of ``shape``, drawn with ``default_rng(seed)``,
    plus the flat indices ``include`` (e.g. a bias entry); sorted, without repeats."""
    size = int(np.prod(shape))
    if not 0 <= n <= size:
        raise ValueError(f"n must be in 0..{size} (the number of coordinates), got {n}")
    drawn = np.random.default_rng(seed).choice(size, size=n, replace=False)
    return np.unique(np.concatenate([drawn, np.asarray(include, dtype=np.int64).ravel()]))


class GradCheck(NamedTuple):
    """Result of :func:`check_gradient`: three norm-wise relative errors and what they were on."""
    hand_vs_autograd: float        # on every coordinate
    hand_vs_numerical: float       # on ``coords`` only
    autograd_vs_numerical: float   # on ``coords`` only
    coords: np.ndarray             # flat indices used for finite differences
    numerical: np.ndarray          # the finite-difference derivatives at ``coords``

    @property
    def worst(self) -> float:
        """The largest of the three relative errors."""
        return max(self.hand_vs_autograd, self.hand_vs_numerical, self.autograd_vs_numerical)


def check_gradient(loss, grad, W, *, n_coords=50, eps=1e-5, seed=0, include=()):
    """Compare a hand-derived gradient with autograd's and with central finite differences.

    Parameters
    ----------
    loss : ``W -> scalar``, written with ``autograd.numpy`` so ``autograd.grad`` can trace it.
    grad : ``W -> array`` of the shape of ``W``, the gradient derived by hand.
    W : point at which to compare (use float64 and weights away from zero).
    n_coords, seed, include : finite differences are taken along ``n_coords`` random
        coordinates (see :func:`sample_coordinates`) plus ``include``; all of them if
        ``n_coords`` is None.
    eps : finite-difference step.
    """
    from autograd import grad as autograd_grad

    W = np.asarray(W, dtype=np.float64)
    g_hand = np.asarray(grad(W), dtype=np.float64)
    g_auto = np.asarray(autograd_grad(loss)(W), dtype=np.float64)
    if g_hand.shape != W.shape:
        raise ValueError(f"grad returned shape {g_hand.shape}, the weights have shape {W.shape}")
    coords = (np.arange(W.size) if n_coords is None
              else sample_coordinates(W.shape, n_coords, seed=seed, include=include))
    g_num = numerical_grad(loss, W, eps, coords=coords)
    return GradCheck(relative_error(g_hand, g_auto),
                     relative_error(g_hand.ravel()[coords], g_num),
                     relative_error(g_auto.ravel()[coords], g_num),
                     coords, g_num)


def gradcheck_table(checks, fmt=".1e"):
    """A Markdown table of ``{label: GradCheck}``, one row per check (for ``IPython.display.Markdown``)."""
    lines = ["| check | hand vs autograd | hand vs finite diff. | autograd vs finite diff. | coordinates |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, c in checks.items():
        lines.append(f"| {label} | {c.hand_vs_autograd:{fmt}} | {c.hand_vs_numerical:{fmt}} "
                     f"| {c.autograd_vs_numerical:{fmt}} | {len(c.coords)} |")
    return "\n".join(lines)
