"""lrbook: the library behind *Logistic regression, a guinea pig for deep learning*.

Layers, lowest first (a module imports only from layers below it; numeric modules never
import the I/O module):

* maths: :mod:`~lrbook.model` (pointwise deviance and residual from logits, the losses and
  gradients of the linear model, one shape convention, ``one_hot``, ``add_bias``; its fused
  full-batch step runs in :mod:`~lrbook._kernels` when numba is there),
  :mod:`~lrbook._checks` (input validation for the public entry points),
  :mod:`~lrbook.gradcheck` (finite differences and autograd checks),
  :mod:`~lrbook.augment` (label-preserving image transformations with one strength);
* scoring and fitting: :mod:`~lrbook.metrics` (every loss/accuracy/per-class score),
  :mod:`~lrbook.train` (the trainer ``fit`` and its ``Schedule``), :mod:`~lrbook.problem`
  (a training set made ready for L-BFGS: the preconditioner, an exact change of variables),
  :mod:`~lrbook.solver` (L-BFGS: to convergence, regularisation paths, iterate traces),
  :mod:`~lrbook.optim`
  (optimisers watched from outside: loss against passes over the data and seconds),
  :mod:`~lrbook.mlp` (a small autograd network) and :mod:`~lrbook.cnn` (a small JAX
  network), both used as frozen feature extractors;
* studies: :mod:`~lrbook.weights` (class means and the first step, image measures of weights),
  :mod:`~lrbook.contributions` (fixed groups of images and their share of the gradient),
  :mod:`~lrbook.paths` (per-class view of a regularisation path), :mod:`~lrbook.protocol`
  (the course's MNIST protocol);
* I/O and presentation: :mod:`~lrbook.data` (find, fetch, parse, scale, split),
  :mod:`~lrbook.results` (the on-disk cache of expensive results), :mod:`~lrbook.plots`,
  :mod:`~lrbook.book` (chapter helpers).
"""
from .data import load_fashion_mnist, load_mnist
from .train import DivergenceError, DivergenceWarning, FitResult, Schedule, fit

__version__ = "0.1.0"
__all__ = ["fit", "FitResult", "Schedule", "DivergenceError", "DivergenceWarning",
           "load_mnist", "load_fashion_mnist"]
