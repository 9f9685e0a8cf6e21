"""Helpers for the book's chapters; nothing here is needed to use the library itself."""
import numpy as np

__all__ = ["glue", "glue_seconds", "format_seconds"]


# myst-nb reads a value glued without display from the output's MIME types under this prefix
# (myst_nb.ext.glue.GLUE_PREFIX); tests/test_book.py checks that our output is myst-nb's.
GLUE_PREFIX = "application/papermill.record/"


def glue(name, value, display=False):
    """Store ``value`` under ``name`` for ``{glue:text}`name:fmt``` in the chapter's prose.

    The output is exactly what ``myst_nb.glue`` displays (tested), written here so that a
    chapter never imports ``myst_nb.ext.glue``: that module imports nbformat, whose jsonschema
    imports ``rfc3987_syntax``, which builds a parser at import time: 2.2-3.1 s of the first
    glue of every chapter on the book's machine (python-jsonschema/jsonschema#1428).

    myst-nb keeps the value's ``repr``; under NumPy 2 a NumPy scalar's repr is
    ``np.float64(0.5)``, which a format such as ``:.2f`` cannot read and the build rejects.
    NumPy scalars are therefore converted to Python numbers first; other values pass unchanged.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display
    if isinstance(value, np.generic):
        value = value.item()
    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


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
