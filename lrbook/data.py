"""MNIST and Fashion-MNIST: find the IDX files (or fetch them, checksum-verified), parse, prepare.

Where files are looked for, first hit wins (each place must hold all four files of a data set):

1. the ``data_home`` argument: a folder holding ``mnist/`` and ``fashion-mnist/``;
2. the environment variable ``LRBOOK_DATA``: a folder of the same layout;
3. system folders from distribution packages (Debian's ``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist/``);
4. the user cache (``LRBOOK_CACHE``, else the platform's cache folder for ``lrbook``).

If the files are in none of these, they are downloaded from the official addresses into the
cache, each verified against its published MD5 before it is moved into place (pooch does this:
a download that fails its checksum is deleted, never left where it would be read as valid).

Images come back as ``uint8`` ``(N, 784)``, labels as ``int64`` ``(N,)``.
"""
from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset", "DatasetSpec", "DataFileError", "MNIST", "FASHION_MNIST",
    "read_idx", "load_mnist", "load_fashion_mnist", "load", "fetch", "find_files",
    "scale_01", "scale_pm1", "first", "last", "train_val_split",
]


class DataFileError(ValueError):
    """A data file is missing, truncated, corrupt or inconsistent; the message says which and why."""


@dataclass(frozen=True)
class DatasetSpec:
    """Where a data set lives: its folder name, official base URL and files with their MD5s."""
    name: str                     # folder name under a data home, e.g. "fashion-mnist"
    base_url: str
    files: dict                   # role -> (file name, "md5:...") ; roles: train/test images/labels
    class_names: tuple
    system_dirs: tuple = ()
    image_shape: tuple = (28, 28)  # height, width of every image (checked on load)


_ROLES = ("train_images", "train_labels", "test_images", "test_labels")

MNIST = DatasetSpec(
    name="mnist",
    base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    files={
        "train_images": ("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train_labels": ("train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"),
        "test_images": ("t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"),
        "test_labels": ("t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c"),
    },
    class_names=tuple(str(d) for d in range(10)),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    files={
        "train_images": ("train-images-idx3-ubyte.gz", "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train_labels": ("train-labels-idx1-ubyte.gz", "md5:25c81989df183df01b3e8a0aad5dffbe"),
        "test_images": ("t10k-images-idx3-ubyte.gz", "md5:bef4ecab320f06d8554ea6380940ec79"),
        "test_labels": ("t10k-labels-idx1-ubyte.gz", "md5:bb300cfdad3c16e7a12a480ee83cd310"),
    },
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)


@dataclass(frozen=True)
class Dataset:
    """A loaded data set. Images ``uint8`` ``(N, 784)``, labels ``int64`` ``(N,)``."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    source: str                   # the folder the files were read from

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


# --- IDX parsing ----------------------------------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an array of its declared shape.

    Validates the magic number (two zero bytes, type code 0x08 = unsigned byte, number of
    dimensions) and that the payload has exactly the declared size. Raises
    :class:`DataFileError` naming the file and the problem otherwise. The payload is
    decompressed straight into the returned array (no second copy in memory).
    """
    path = Path(path)
    if path.is_dir():
        raise DataFileError(_is_a_directory(path))
    try:
        with open(path, "rb") as raw_fh:
            gz = raw_fh.read(2) == b"\x1f\x8b"
            raw_fh.seek(0)
            with (gzip.GzipFile(fileobj=raw_fh) if gz else raw_fh) as fh:
                return _read_idx_stream(fh, path)
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFileError(_is_a_directory(path)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path}: cannot decompress ({exc}); the file is corrupt or truncated, "
                            "delete it and provide or download it again") from None


def _is_a_directory(path):
    return (f"{path}: is a directory, where the data file of this name should be; move or "
            "remove that directory and put the file itself there (nothing was read from it)")


def _read_idx_stream(fh, path):
    """Parse an IDX stream: header, then the payload read into a preallocated array."""
    head = fh.read(4)
    if len(head) < 4:
        raise DataFileError(f"{path}: only {len(head)} bytes, too short for an IDX header")
    zero, dtype_code, ndim = int.from_bytes(head[:2], "big"), head[2], head[3]
    if zero != 0 or dtype_code not in _IDX_DTYPES or ndim not in (1, 3):
        raise DataFileError(f"{path}: wrong magic number {head.hex()} (expected 00000801 for "
                            "labels or 00000803 for images); this is not an MNIST-style IDX file")
    dims = fh.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataFileError(f"{path}: truncated header ({4 + len(dims)} bytes, need "
                            f"{4 + 4 * ndim})")
    shape = tuple(int.from_bytes(dims[4 * i: 4 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    out = np.empty(expected, dtype=_IDX_DTYPES[dtype_code])
    view, got = memoryview(out), 0
    while got < expected:                   # in 1 MiB pieces: gzip decompresses a whole
        n = fh.readinto(view[got:got + (1 << 20)])          # request into a temporary first
        if not n:
            break
        got += n
    extra = 0
    for chunk in iter(lambda: fh.read(1 << 20), b""):   # to the end: a gzip CRC is checked there
        extra += len(chunk)
    if got != expected or extra:
        what = "truncated" if got < expected else "has trailing bytes"
        raise DataFileError(f"{path}: {what}: header declares shape {shape} = {expected} values, "
                            f"file holds {got + extra}")
    return out.reshape(shape)


def _read_pair(images_path, labels_path, n_classes, image_shape=(28, 28)):
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataFileError(f"{images_path} / {labels_path}: expected an image file (3 dims) and a "
                            f"label file (1 dim), got {images.ndim} and {labels.ndim} dims")
    if len(images) == 0:
        raise DataFileError(f"{images_path}: a valid IDX file holding 0 images; the data set "
                            "needs its images: replace the file with the real one")
    if images.shape[1:] != tuple(image_shape):
        h, w = images.shape[1:]
        raise DataFileError(f"{images_path}: images are {h}x{w} pixels, this data set's are "
                            f"{image_shape[0]}x{image_shape[1]}; the file belongs to another "
                            "data set or is damaged: replace it")
    if len(images) != len(labels):
        raise DataFileError(f"count mismatch: {images_path} holds {len(images)} images but "
                            f"{labels_path} holds {len(labels)} labels")
    if labels.size and labels.max() >= n_classes:
        raise DataFileError(f"{labels_path}: label {labels.max()} out of range 0..{n_classes - 1}")
    return images.reshape(len(images), -1), labels.astype(np.int64)


# --- finding and fetching -------------------------------------------------------------------

def cache_dir() -> Path:
    """The user cache: ``$LRBOOK_CACHE`` if set, else the platform cache folder for lrbook."""
    env = os.environ.get("LRBOOK_CACHE")
    if env:
        return Path(env)
    import pooch
    return Path(pooch.os_cache("lrbook"))


def _candidate_dirs(spec: DatasetSpec, data_home):
    if data_home is not None:
        yield "data_home argument", Path(data_home) / spec.name
    env = os.environ.get("LRBOOK_DATA")
    if env:
        yield "LRBOOK_DATA", Path(env) / spec.name
    for d in spec.system_dirs:
        yield "system package", Path(d)
    yield "cache", cache_dir() / spec.name


def find_files(spec: DatasetSpec, data_home=None):
    """Return ``(folder, {role: path})`` for the first folder holding all four files, else None."""
    for _, folder in _candidate_dirs(spec, data_home):
        paths = {role: folder / fname for role, (fname, _) in spec.files.items()}
        for p in paths.values():
            if p.is_dir():
                raise DataFileError(_is_a_directory(p))
        if all(p.is_file() for p in paths.values()):
            return folder, paths
    return None


def fetch(spec: DatasetSpec, dest=None, *, progress=False):
    """Download the files of ``spec`` into ``dest`` (default: the cache), verifying MD5s.

    Files already present with the right checksum are not downloaded again. A download whose
    checksum does not match raises :class:`DataFileError` and leaves nothing behind.
    """
    import pooch
    dest = Path(dest) if dest is not None else cache_dir() / spec.name
    paths = {}
    for role, (fname, known_hash) in spec.files.items():
        try:
            paths[role] = Path(pooch.retrieve(spec.base_url + fname, known_hash=known_hash,
                                              fname=fname, path=dest, progressbar=progress))
        except ValueError as exc:          # pooch's checksum mismatch
            raise DataFileError(f"download of {spec.base_url + fname} failed its checksum and "
                                f"was discarded: {exc}") from None
        except Exception as exc:           # network errors of any kind
            raise DataFileError(_missing_message(
                spec, reason=f"download failed ({fname}): {exc}")) from None
    return dest, paths


def _missing_message(spec, reason, data_home=None):
    """Which files are missing where: names the files missing from the most complete place
    searched (all four if none holds any) and lists every place with what it lacks."""
    names = [f for f, _ in spec.files.values()]
    lines, best = [], None
    for how, folder in _candidate_dirs(spec, data_home):
        missing = [f for f in names if not (folder / f).is_file()]
        if not folder.is_dir():
            state = "no such folder"
        elif missing:
            state = "missing " + ", ".join(missing)
            if len(missing) < len(names) and (best is None or len(missing) < len(best)):
                best = missing
        else:
            state = "complete"
        lines.append(f"  - {how}: {folder} ({state})")
    what = ", ".join(best) if best else f"none of its four files ({', '.join(names)}) was"
    extra = ("\n  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist"
             if spec.name == "fashion-mnist" else "")
    return (f"{spec.name}: {what} found, and {reason}.\nPlaces searched:\n"
            + "\n".join(lines)
            + f"\nProvide the four IDX files ({', '.join(names)}) together in one folder: "
              f"pass data_home=... (a folder with {spec.name}/ inside), or set LRBOOK_DATA to "
              f"such a folder{extra}")


def _check_cached(spec, paths, download):
    """Files in the download cache were downloaded against the published MD5s: check them
    again (a damaged or replaced file there would otherwise load silently). With ``download``
    the bad files are fetched again; otherwise the error says which file to delete."""
    import pooch
    bad = [(role, paths[role]) for role, (_, known) in spec.files.items()
           if pooch.file_hash(str(paths[role]), alg=known.split(":")[0]) != known.split(":")[1]]
    if not bad:
        return None
    if download:
        return fetch(spec)                 # pooch downloads again every file whose hash differs
    role, path = bad[0]
    raise DataFileError(f"{path}: in the download cache, but its checksum is not the published "
                        f"{spec.files[role][1]}: the file is damaged or was replaced. Delete it "
                        "and load again with download=True (or provide the files elsewhere: "
                        "data_home=..., LRBOOK_DATA)")


def load(spec: DatasetSpec, *, data_home=None, download=True) -> Dataset:
    """Find (or, if ``download``, fetch) and parse one data set. See the module docstring."""
    found = find_files(spec, data_home)
    if found is None:
        if not download:
            raise DataFileError(_missing_message(spec, reason="download=False",
                                                 data_home=data_home))
        found = fetch(spec)
    elif found[0] == cache_dir() / spec.name:
        # only the cache holds our own downloads; files found elsewhere (Debian recompressed
        # its Fashion-MNIST, the shared MNIST is a prefix) cannot match the upstream MD5s and
        # are left to the parser's checks
        found = _check_cached(spec, found[1], download) or found
    folder, paths = found
    n_classes = len(spec.class_names)
    X_train, y_train = _read_pair(paths["train_images"], paths["train_labels"], n_classes,
                                  spec.image_shape)
    X_test, y_test = _read_pair(paths["test_images"], paths["test_labels"], n_classes,
                                spec.image_shape)
    return Dataset(X_train, y_train, X_test, y_test, spec.class_names, str(folder))


def load_mnist(*, data_home=None, download=True) -> Dataset:
    """MNIST digits. See the module docstring for where the files are looked for."""
    return load(MNIST, data_home=data_home, download=download)


def load_fashion_mnist(*, data_home=None, download=True) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017). See the module docstring for where files are looked for."""
    return load(FASHION_MNIST, data_home=data_home, download=download)


# --- preparing arrays -----------------------------------------------------------------------

def scale_01(X, dtype=np.float64, *, bias=False):
    """Pixels 0..255 to [0, 1], as ``x / 255`` in ``dtype``.

    ``bias=True`` also appends the bias column of ones (as :func:`lrbook.model.add_bias`),
    writing the pixels straight into the final ``(N, D + 1)`` array: the only full-size array
    made is the result (``model.add_bias(scale_01(X))`` makes two).
    """
    return _scaled(X, dtype, 255.0, 0.0, bias)


def scale_pm1(X, dtype=np.float64, *, bias=False):
    """Pixels 0..255 to [-1, 1], as ``x / 127.5 - 1``; ``bias`` as in :func:`scale_01`."""
    return _scaled(X, dtype, 127.5, 1.0, bias)


def _scaled(X, dtype, div, sub, bias):
    """``X / div - sub`` in ``dtype`` with no intermediate full-size array (same rounding as
    converting first, then dividing), optionally followed by a column of ones."""
    X = np.asarray(X)
    t = np.dtype(dtype).type
    out = np.empty(X.shape[:-1] + (X.shape[-1] + bool(bias),), dtype=t)
    pix = out[..., :-1] if bias else out
    np.divide(X, t(div), out=pix, dtype=t)
    if sub:
        pix -= t(sub)
    if bias:
        out[..., -1] = 1
    return out


def first(n, *arrays):
    """The first ``n`` rows of each array (a tuple, or one array if only one is given)."""
    out = tuple(a[:n] for a in arrays)
    return out[0] if len(out) == 1 else out


def last(n, *arrays):
    """The last ``n`` rows of each array (a tuple, or one array if only one is given)."""
    out = tuple(a[len(a) - n:] for a in arrays)
    return out[0] if len(out) == 1 else out


def train_val_split(X, y, n_val, *, seed=None):
    """Split off ``n_val`` validation rows: the last ``n_val`` if ``seed`` is None, else a
    random subset drawn with ``np.random.default_rng(seed)``. Returns ``X_tr, y_tr, X_val, y_val``.
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)} labels; they must describe the "
                         "same samples, row by row")
    if not 0 < n_val < n:
        raise ValueError(f"n_val must be in 1..{n - 1}, got {n_val}")
    if seed is None:
        idx = np.arange(n)
    else:
        idx = np.random.default_rng(seed).permutation(n)
    tr, va = np.sort(idx[: n - n_val]), np.sort(idx[n - n_val:])
    return X[tr], y[tr], X[va], y[va]
