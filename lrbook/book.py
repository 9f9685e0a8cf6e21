"""Helpers for the book's chapters; nothing here is needed to use the library itself."""
import numpy as np

__all__ = ["glue"]


def glue(name, value, display=False):
    """Store ``value`` under ``name`` for ``{glue:text}`name:fmt``` in the chapter's prose.

    myst-nb's ``glue`` keeps the value's ``repr``; under NumPy 2 a NumPy scalar's repr is
    ``np.float64(0.5)``, which a format such as ``:.2f`` cannot read and the build rejects.
    NumPy scalars are therefore converted to Python numbers first; other values pass unchanged.
    """
    from myst_nb import glue as myst_glue
    if isinstance(value, np.generic):
        value = value.item()
    return myst_glue(name, value, display=display)
