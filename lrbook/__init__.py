"""lrbook: the library behind *Logistic regression, a guinea pig for deep learning*.

Modules: :mod:`lrbook.data` (loading and preparing MNIST / Fashion-MNIST), :mod:`lrbook.model`
(losses and gradients, one shape convention), :mod:`lrbook.train` (the trainer),
:mod:`lrbook.metrics` and :mod:`lrbook.plots`.
"""
from .data import load_fashion_mnist, load_mnist
from .train import DivergenceError, FitResult, fit

__version__ = "0.1.0"
__all__ = ["fit", "FitResult", "DivergenceError", "load_mnist", "load_fashion_mnist"]
