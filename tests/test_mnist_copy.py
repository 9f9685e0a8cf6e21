"""The MNIST chapters give the same numbers with either copy of the training file.

The offline copy (``$LRBOOK_DATA/mnist``) holds the first 20,000 images of the official
60,000-image training file. Here both copies are built as IDX files: the small one from the
offline copy where it is present (random images otherwise, so the test runs anywhere), the full
one as those 20,000 images followed by 40,000 others. Every selection a chapter makes through
``lrbook.protocol`` must then be identical for the two, and every chapter that loads MNIST must
make its selection through ``protocol.first_training_images``.
"""
import os
import re
from pathlib import Path

import numpy as np
import pytest

from lrbook import data, protocol

ROOT = Path(__file__).resolve().parent.parent
N_SMALL, N_FULL = 20_000, 60_000


def _offline_copy():
    """The four arrays of the offline copy, or None if it is not on this machine."""
    env = os.environ.get("LRBOOK_DATA")
    if not env:
        return None
    folder = Path(env) / "mnist"
    found = data.find_files(data.MNIST, data_home=Path(env))
    if found is None or found[0] != folder:
        return None
    paths = found[1]
    arrays = {role: data.read_idx(paths[role]) for role in paths}
    return arrays if len(arrays["train_images"]) == N_SMALL else None


def _synthetic_copy(seed=0):
    rng = np.random.default_rng(seed)
    return {"train_images": rng.integers(0, 256, (N_SMALL, 28, 28), dtype=np.uint8),
            "train_labels": rng.integers(0, 10, N_SMALL).astype(np.uint8),
            "test_images": rng.integers(0, 256, (10_000, 28, 28), dtype=np.uint8),
            "test_labels": rng.integers(0, 10, 10_000).astype(np.uint8)}


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """``(small, full)``: the same MNIST as loaded from a 20,000- and a 60,000-image file."""
    from conftest import FILE_NAMES, write_idx
    small = _offline_copy() or _synthetic_copy()
    # the other 40,000: the first 20,000 in two other orders, so that every digit occurs
    rng = np.random.default_rng(1)
    more = np.concatenate([rng.permutation(N_SMALL), rng.permutation(N_SMALL)])
    full = dict(small,
                train_images=np.concatenate([small["train_images"],
                                             small["train_images"][more][:, ::-1]]),
                train_labels=np.concatenate([small["train_labels"],
                                             small["train_labels"][more]]))
    loaded = []
    for name, arrays in [("small", small), ("full", full)]:
        home = tmp_path_factory.mktemp(name)
        (home / "mnist").mkdir()
        for role, fname in FILE_NAMES.items():
            write_idx(home / "mnist" / fname, arrays[role], gz=False)  # read_idx takes both
        loaded.append(data.load_mnist(data_home=home, download=False))
    return tuple(loaded)


def _same(a, b):
    return a.shape == b.shape and np.array_equal(a, b)


def test_the_copies_differ_and_share_their_first_20000_images(copies):
    small, full = copies
    assert (len(small.X_train), len(full.X_train)) == (N_SMALL, N_FULL)
    assert _same(full.X_train[:N_SMALL], small.X_train)
    # the test has teeth: a chapter that took every 2 and 3 of the file would differ
    assert np.isin(full.y_train, (2, 3)).sum() > np.isin(small.y_train, (2, 3)).sum()


def test_the_data_chapter_selection_is_the_same(copies):
    small, full = (protocol.first_training_images(m) for m in copies)
    for name in ("X_train", "y_train", "X_test", "y_test"):
        assert _same(getattr(small, name), getattr(full, name)), name


@pytest.mark.parametrize("val", protocol.VAL_SPLITS)
def test_the_binary_tasks_are_the_same(copies, val):
    small, full = (protocol.binary_task(protocol.first_training_images(m), val=val)
                   for m in copies)
    for name in ("X_train", "y_train", "X_val", "y_val", "train_index", "val_index"):
        assert _same(getattr(small, name), getattr(full, name)), name


@pytest.mark.parametrize("n_val", [2000, 4000, 9000])
def test_the_softmax_tasks_are_the_same(copies, n_val):
    small, full = (protocol.softmax_task(protocol.first_training_images(m), n_val=n_val)
                   for m in copies)
    for name in ("X_train", "y_train", "X_val", "y_val", "train_index", "val_index"):
        assert _same(getattr(small, name), getattr(full, name)), name


def _chapters_loading_mnist():
    return sorted(p for p in (ROOT / "book").glob("*.md") if "load_mnist(" in p.read_text())


@pytest.mark.parametrize("path", _chapters_loading_mnist(), ids=lambda p: p.stem)
def test_every_chapter_that_loads_mnist_selects_the_common_images(path):
    calls = re.findall(r"^.*load_mnist\(.*$", path.read_text(), flags=re.M)
    unselected = [c.strip() for c in calls if "first_training_images(" not in c]
    assert not unselected, (
        f"{path.name} loads MNIST without protocol.first_training_images: {unselected}; its "
        "numbers would depend on whether the reader has 20,000 or 60,000 training images")
