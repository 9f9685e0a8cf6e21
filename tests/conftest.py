"""Shared fixtures: a non-interactive matplotlib, small synthetic problems, IDX file writers and
a local HTTP server for the download path (tests never touch the network)."""
import gzip
import http.server
import threading
from pathlib import Path

import matplotlib

matplotlib.use("Agg")          # before anything imports pyplot

import numpy as np             # noqa: E402
import pytest                  # noqa: E402

from lrbook import model        # noqa: E402


# --- small problems ----------------------------------------------------------------------

def make_problem(n=60, d=4, n_classes=3, seed=0, dtype=np.float64):
    """Gaussian features plus a bias column, labels drawn from a random softmax model.

    Returns ``X (n, d+1)``, integer ``y (n,)`` in 0..n_classes-1 and the true weights.
    """
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n, d)), np.ones((n, 1))]).astype(dtype)
    W_true = rng.standard_normal((d + 1, n_classes))
    Z = X @ W_true
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(n_classes, p=p) for p in P])
    return X, y, W_true


def offcentre_problem(n=300, d=6, c=3, seed=0, dtype=np.float64):
    """Softmax data whose features are off-centre (centring matters) and badly scaled (one
    feature 10x the others): what the solver's preconditioner is for. Returns ``(X, y)``."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=1.5, size=(c, d))
    y = rng.integers(0, c, n)
    F = means[y] + rng.normal(size=(n, d)) + 0.5          # off-centre, so centring matters
    F[:, 0] *= 10.0                                        # badly scaled feature
    return model.add_bias(F.astype(dtype)), y


def make_log_proba_path(P=4, N=300, C=3, seed=0):
    """Log probabilities ``(P, N, C)`` of ``P`` models that get better along a path, and the
    labels ``(N,)``: a stand-in for the models of a regularisation path."""
    from lrbook.model import log_softmax
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N)
    Z = rng.normal(size=(P, N, C)) + 2.0 * np.eye(C)[y] * np.linspace(0.2, 1.5, P)[:, None, None]
    return log_softmax(Z.reshape(-1, C)).reshape(P, N, C), y


@pytest.fixture
def log_proba_path():
    return make_log_proba_path


@pytest.fixture
def problem():
    return make_problem


# --- IDX files ---------------------------------------------------------------------------

def idx_bytes(arr):
    """The bytes of an IDX file (unsigned byte data) holding ``arr``."""
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.tobytes()


def write_idx(path, arr, *, gz=True):
    raw = idx_bytes(arr)
    Path(path).write_bytes(gzip.compress(raw) if gz else raw)
    return Path(path)


def tiny_dataset(n_train=12, n_test=6, n_classes=3, seed=0):
    """Random images ``(n, 28, 28)`` and labels ``(n,)``, for train and test."""
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": np.arange(n_train, dtype=np.uint8) % n_classes,
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": np.arange(n_test, dtype=np.uint8) % n_classes,
    }


FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def write_dataset(folder, arrays=None, **kw):
    """Write the four gzipped IDX files of a tiny data set into ``folder``; return the arrays."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = tiny_dataset(**kw) if arrays is None else arrays
    for role, fname in FILE_NAMES.items():
        write_idx(folder / fname, arrays[role])
    return arrays


@pytest.fixture
def idx():
    """The IDX helpers, as a namespace for test modules."""
    class Helpers:
        pass
    h = Helpers()
    h.bytes, h.write, h.tiny, h.write_dataset, h.names = (
        idx_bytes, write_idx, tiny_dataset, write_dataset, FILE_NAMES)
    return h


# --- a local HTTP server -----------------------------------------------------------------

class LocalServer:
    """A static file server on 127.0.0.1 that counts the GET requests it answers."""

    def __init__(self, root):
        self.root = Path(root)
        self.requests = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(server.root), **kw)

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *a):       # keep the test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def http_server(tmp_path, monkeypatch):
    """Serve ``tmp_path / "served"`` on a free local port for the duration of one test."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    root = tmp_path / "served"
    root.mkdir()
    with LocalServer(root) as srv:
        yield srv
