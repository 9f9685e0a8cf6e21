"""An on-disk cache for expensive results (trained networks, features, long fits).

``cached(func)`` returns a version of ``func`` whose results are stored on disk by
``joblib.Memory`` and served from there when it is called again with the same arguments. joblib
keys a result on the arguments (arrays by content) and on the source of the decorated function
only, not on the functions it calls, so a change in, say, the training loop that ``func``
calls would silently reuse stale results. Here every result also lives in a folder named after
a hash of the source files of ``func``'s module and of every ``lrbook`` module it imports,
directly or not (:func:`code_hash`): changing any of them sends later calls to a new, empty
folder, so they recompute.

Where results go: the environment variable ``LRBOOK_RESULTS`` if set, else ``lrbook-results``
in the platform's user cache folder (e.g. ``~/.cache/lrbook-results``). It is separate from the
download cache (``LRBOOK_CACHE``, :func:`lrbook.data.cache_dir`), so clearing one never clears
the other. Delete the folder to recompute everything; folders of old code hashes can be
deleted at any time.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import os
import sys
import warnings
from pathlib import Path

__all__ = ["results_dir", "code_hash", "cached"]

PACKAGE = __name__.rpartition(".")[0] or "lrbook"


def results_dir() -> Path:
    """The root of the results cache: ``$LRBOOK_RESULTS`` or ``<user cache>/lrbook-results``."""
    env = os.environ.get("LRBOOK_RESULTS")
    if env:
        return Path(env).expanduser()
    import pooch                            # the same platform folder as the download cache's
    return Path(pooch.os_cache("lrbook-results"))


def _imported_modules(module):
    """Names of the modules of the same package that ``module``'s source imports."""
    package = module.__name__.rpartition(".")[0]
    tree = ast.parse(Path(module.__file__).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:   # relative: ``from . import a`` or ``from .a import b``
                parts = module.__name__.split(".")[:-node.level] if package else []
                base = ".".join(parts + ([node.module] if node.module else []))
            if not base.startswith(PACKAGE):
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE + "."))
    return {name for name in found if name != PACKAGE and _is_module(name)}


def _is_module(name):
    try:
        importlib.import_module(name)
    except ImportError:
        return False                                 # a function or class imported by name
    return True


def dependencies(module) -> list[str]:
    """``module`` and every module of its package it imports, transitively, sorted by name."""
    if isinstance(module, str):
        module = importlib.import_module(module)
    seen, todo = set(), [module.__name__]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_imported_modules(sys.modules[name]) - seen)
    return sorted(seen)


def code_hash(module) -> str:
    """SHA-256 (hex) of the source files of ``module`` and of its package's modules that it
    imports, transitively (:func:`dependencies`). ``module``: a module or its dotted name."""
    h = hashlib.sha256()
    for name in dependencies(module):
        h.update(name.encode() + b"\0")
        h.update(Path(sys.modules[name].__file__).read_bytes() + b"\0")
    return h.hexdigest()


def cached(func, *, location=None):
    """``func`` with its results cached on disk, keyed on its arguments and on
    :func:`code_hash` of its module.

    Parameters
    ----------
    func : a function defined in a module of this package (so that the code it depends on can
        be found); its arguments must be hashable by joblib (arrays, numbers, strings, tuples,
        dicts of those).
    location : root folder; default :func:`results_dir`, read when ``cached`` is called.

    Returns
    -------
    A function with ``func``'s signature. ``.code_hash`` holds the hash; ``.check_call_in_cache
    (*args, **kwargs)`` says whether a call would be served from disk.
    """
    import joblib

    module = sys.modules[func.__module__]
    if not func.__module__.startswith(PACKAGE + "."):
        raise ValueError(f"cached() takes functions of the {PACKAGE} package, whose code it can "
                         f"hash; {func.__qualname__} is from {func.__module__}")
    digest = code_hash(module)
    root = Path(location) if location is not None else results_dir()
    memory = joblib.Memory(root / f"code-{digest[:16]}", verbose=0)
    memorized = memory.cache(func)

    @functools.wraps(func)
    def call(*args, **kwargs):
        with warnings.catch_warnings():
            # joblib times how long it takes to record the (large) arguments and warns when it
            # is over half a second: noise on a loaded machine, not a problem with the result
            warnings.filterwarnings("ignore", message="Persisting input arguments took")
            return memorized(*args, **kwargs)

    call.code_hash = digest
    call.check_call_in_cache = memorized.check_call_in_cache
    call.location = Path(memory.location)
    return call
