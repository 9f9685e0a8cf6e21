"""Helpers for the book's chapters; nothing here is needed to use the library itself."""
import numpy as np

__all__ = ["glue", "glue_seconds", "format_seconds"]


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


def format_seconds(seconds):
    """A duration as the book prints it: whole seconds and the unit, e.g. ``"12 s"``.

    Every timing a chapter shows goes through this one format, so that the comparison of two
    executions (``tests/nbval-sanitize.cfg``) can recognise a time, "<digits> s", and ignore it,
    while every other number must come out the same.
    """
    seconds = float(seconds)
    if not seconds >= 0:            # also catches NaN
        raise ValueError(f"seconds must be a duration >= 0, got {seconds}")
    return f"{seconds:.0f} s"


def glue_seconds(name, seconds):
    """Glue a measured duration as text with its unit (``"12 s"``): ``{glue:text}`name```.

    Paste it without a format spec; the unit is part of the text. See `format_seconds`.
    """
    return glue(name, format_seconds(seconds))
