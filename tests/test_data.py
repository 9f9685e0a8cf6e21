"""lrbook.data: IDX parsing, where files are looked for, the (local) download path, helpers."""
import gzip
import hashlib
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from lrbook import data
from lrbook.data import DataFileError, DatasetSpec

# Read before the autouse fixture below unsets it for every test.
REAL_LRBOOK_DATA = os.environ.get("LRBOOK_DATA")
SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _isolated_data_env(monkeypatch, tmp_path):
    """No test here reads the user's data or cache folders unless it sets them itself."""
    monkeypatch.delenv("LRBOOK_DATA", raising=False)
    monkeypatch.setenv("LRBOOK_CACHE", str(tmp_path / "_cache"))


def md5(path):
    return "md5:" + hashlib.md5(Path(path).read_bytes()).hexdigest()


def toy_spec(idx, *, base_url="http://127.0.0.1:9/", md5s=None, system_dirs=(), name="toyset"):
    """A three-class data set spec of our own: no system folder unless asked for."""
    md5s = md5s or {}
    files = {role: (fname, md5s.get(role, "md5:" + "0" * 32)) for role, fname in idx.names.items()}
    return DatasetSpec(name=name, base_url=base_url, files=files, class_names=("a", "b", "c"),
                       system_dirs=tuple(str(d) for d in system_dirs))


def files_under(folder):
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- read_idx ------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_read_idx_roundtrip(tmp_path, idx, gz):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 7], dtype=np.uint8)
    pi = idx.write(tmp_path / "img", images, gz=gz)
    pl = idx.write(tmp_path / "lab", labels, gz=gz)
    got_i, got_l = data.read_idx(pi), data.read_idx(pl)
    assert got_i.shape == (5, 28, 28) and got_i.dtype == np.uint8
    assert np.array_equal(got_i, images)
    assert np.array_equal(got_l, labels)


def _bad_files(tmp_path, idx):
    good = idx.bytes(np.arange(10, dtype=np.uint8))                     # 1-D, 10 labels
    good_img = idx.bytes(np.zeros((2, 28, 28), dtype=np.uint8))
    gz = gzip.compress(idx.bytes(np.random.default_rng(1).integers(0, 10, 2000)))
    corrupt = bytearray(gz)
    corrupt[15] ^= 0xFF                                                 # inside the deflate data
    crc = bytearray(gz)
    crc[-6] ^= 0xFF                                                     # the CRC trailer
    return {
        "truncated payload": (good[:-3], "truncated"),
        "truncated image payload": (good_img[:-100], "truncated"),
        "trailing bytes": (good + b"\x00\x01", "trailing"),
        "wrong magic": (b"\x00\x00\x0d\x01" + good[4:], "magic"),
        "not idx at all": (b"PK\x03\x04" + b"\x00" * 40, "magic"),
        "too short": (b"\x00\x00", "too short"),
        "truncated header": (good_img[:9], "header"),
        "truncated gzip": (gz[: len(gz) // 2], "decompress"),
        "corrupt gzip": (bytes(corrupt), "decompress"),
        "bad gzip crc": (bytes(crc), "decompress"),
    }


@pytest.mark.parametrize("case", ["truncated payload", "truncated image payload", "trailing bytes",
                                  "wrong magic", "not idx at all", "too short", "truncated header",
                                  "truncated gzip", "corrupt gzip", "bad gzip crc"])
def test_read_idx_rejects_bad_files(tmp_path, idx, case):
    content, word = _bad_files(tmp_path, idx)[case]
    path = tmp_path / "bad-file-idx1-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as exc:
        data.read_idx(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert word in msg


def test_read_idx_missing_file(tmp_path):
    path = tmp_path / "nope.gz"
    with pytest.raises(DataFileError, match="not found") as exc:
        data.read_idx(path)
    assert str(path) in str(exc.value)


def test_data_file_error_is_a_value_error():
    assert issubclass(DataFileError, ValueError)


# --- consistency checks in load ------------------------------------------------------------

def test_load_rejects_count_mismatch(tmp_path, idx):
    arrays = idx.tiny()
    arrays["train_labels"] = arrays["train_labels"][:-1]
    idx.write_dataset(tmp_path / "home" / "toyset", arrays)
    with pytest.raises(DataFileError, match="count mismatch") as exc:
        data.load(toy_spec(idx), data_home=tmp_path / "home", download=False)
    msg = str(exc.value)
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg


def test_load_rejects_labels_out_of_range(tmp_path, idx):
    arrays = idx.tiny()
    arrays["test_labels"] = arrays["test_labels"].copy()
    arrays["test_labels"][2] = 7                                 # the toy set has 3 classes
    idx.write_dataset(tmp_path / "home" / "toyset", arrays)
    with pytest.raises(DataFileError, match="out of range") as exc:
        data.load(toy_spec(idx), data_home=tmp_path / "home", download=False)
    assert "t10k-labels-idx1-ubyte.gz" in str(exc.value)


def test_load_rejects_swapped_image_and_label_files(tmp_path, idx):
    arrays = idx.tiny()
    arrays["train_images"], arrays["train_labels"] = arrays["train_labels"], arrays["train_images"]
    idx.write_dataset(tmp_path / "home" / "toyset", arrays)
    with pytest.raises(DataFileError, match="dims") as exc:
        data.load(toy_spec(idx), data_home=tmp_path / "home", download=False)
    assert "train-images-idx3-ubyte.gz" in str(exc.value)


def test_load_returns_flat_uint8_images_and_int64_labels(tmp_path, idx):
    arrays = idx.write_dataset(tmp_path / "home" / "toyset")
    ds = data.load(toy_spec(idx), data_home=tmp_path / "home", download=False)
    assert ds.X_train.shape == (12, 784) and ds.X_train.dtype == np.uint8
    assert ds.X_test.shape == (6, 784)
    assert ds.y_train.dtype == np.int64
    assert np.array_equal(ds.X_train, arrays["train_images"].reshape(12, 784))
    assert np.array_equal(ds.y_test, arrays["test_labels"])
    assert ds.class_names == ("a", "b", "c") and ds.n_classes == 3


# --- where files are looked for ------------------------------------------------------------

@pytest.fixture
def four_places(tmp_path, idx, monkeypatch):
    """A different tiny data set in each of: data_home, LRBOOK_DATA, a system folder, the cache."""
    places = {"home": tmp_path / "home", "env": tmp_path / "env", "cache": tmp_path / "cache"}
    written = {}
    for seed, (key, root) in enumerate(places.items()):
        written[key] = idx.write_dataset(root / "toyset", seed=seed + 10)
    written["system"] = idx.write_dataset(tmp_path / "sys", seed=99)
    monkeypatch.setenv("LRBOOK_DATA", str(places["env"]))
    monkeypatch.setenv("LRBOOK_CACHE", str(places["cache"]))
    # files in the cache are checked against the spec's checksums (the other places are not)
    md5s = {role: md5(places["cache"] / "toyset" / f) for role, f in idx.names.items()}
    spec = toy_spec(idx, system_dirs=[tmp_path / "sys"], md5s=md5s)
    return spec, places, written


def _which(ds, written):
    hits = [k for k, arr in written.items() if np.array_equal(ds.X_train.reshape(-1, 28, 28),
                                                               arr["train_images"])]
    assert len(hits) == 1
    return hits[0]


def test_lookup_order(four_places, monkeypatch, idx):
    spec, places, written = four_places
    ds = data.load(spec, data_home=places["home"], download=False)
    assert _which(ds, written) == "home"
    assert Path(ds.source) == places["home"] / "toyset"

    ds = data.load(spec, download=False)                       # no data_home: LRBOOK_DATA
    assert _which(ds, written) == "env"
    assert Path(ds.source) == places["env"] / "toyset"

    monkeypatch.delenv("LRBOOK_DATA")                          # then the system folder
    ds = data.load(spec, download=False)
    assert _which(ds, written) == "system"

    ds = data.load(toy_spec(idx, md5s=dict(zip(spec.files, (h for _, h in spec.files.values())))),
                   download=False)                           # no system folder: the cache
    assert _which(ds, written) == "cache"
    assert Path(ds.source) == places["cache"] / "toyset"


def test_incomplete_folder_is_skipped(four_places):
    spec, places, written = four_places
    (places["home"] / "toyset" / "t10k-labels-idx1-ubyte.gz").unlink()
    ds = data.load(spec, data_home=places["home"], download=False)
    assert _which(ds, written) == "env"


def test_find_files_returns_none_when_nothing_is_there(tmp_path, idx):
    assert data.find_files(toy_spec(idx), data_home=tmp_path) is None


def test_cache_dir_honours_lrbook_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LRBOOK_CACHE", str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c"


def test_missing_without_download_says_how_to_provide(tmp_path, idx):
    with pytest.raises(DataFileError) as exc:
        data.load(toy_spec(idx), data_home=tmp_path / "empty", download=False)
    msg = str(exc.value)
    assert "train-images-idx3-ubyte.gz" in msg
    assert "LRBOOK_DATA" in msg and "data_home" in msg
    assert "download=False" in msg


# --- the download path, against a local server ---------------------------------------------

def _serve_tiny_dataset(server, idx):
    arrays = idx.write_dataset(server.root)
    md5s = {role: md5(server.root / fname) for role, fname in idx.names.items()}
    return arrays, md5s


def test_download_into_cache_then_reuse(http_server, idx, tmp_path, monkeypatch):
    cache = tmp_path / "dl-cache"
    monkeypatch.setenv("LRBOOK_CACHE", str(cache))
    arrays, md5s = _serve_tiny_dataset(http_server, idx)
    spec = toy_spec(idx, base_url=http_server.url, md5s=md5s)

    ds = data.load(spec)
    assert len(http_server.requests) == 4
    assert Path(ds.source) == cache / "toyset"
    assert sorted(p.name for p in files_under(cache)) == sorted(idx.names.values())
    assert np.array_equal(ds.X_train, arrays["train_images"].reshape(-1, 784))
    assert np.array_equal(ds.y_test, arrays["test_labels"])

    ds2 = data.load(spec)                                     # found in the cache: no request
    assert len(http_server.requests) == 4
    assert np.array_equal(ds2.X_test, ds.X_test)
    data.fetch(spec)                                          # verified present: no request
    assert len(http_server.requests) == 4


def test_download_with_wrong_checksum_leaves_nothing(http_server, idx, tmp_path, monkeypatch):
    cache = tmp_path / "dl-cache"
    monkeypatch.setenv("LRBOOK_CACHE", str(cache))
    _, md5s = _serve_tiny_dataset(http_server, idx)
    # the first file fetched is served with a content that does not match its MD5
    (http_server.root / idx.names["train_images"]).write_bytes(gzip.compress(b"not the real file"))
    spec = toy_spec(idx, base_url=http_server.url, md5s=md5s)
    with pytest.raises(DataFileError, match="checksum") as exc:
        data.load(spec)
    assert idx.names["train_images"] in str(exc.value)
    assert len(http_server.requests) >= 1
    assert files_under(cache) == []


def test_download_of_a_later_file_with_wrong_checksum(http_server, idx, tmp_path, monkeypatch):
    cache = tmp_path / "dl-cache"
    monkeypatch.setenv("LRBOOK_CACHE", str(cache))
    _, md5s = _serve_tiny_dataset(http_server, idx)
    (http_server.root / idx.names["test_labels"]).write_bytes(b"\x00" * 30)
    spec = toy_spec(idx, base_url=http_server.url, md5s=md5s)
    with pytest.raises(DataFileError, match="checksum"):
        data.load(spec)
    names = [p.name for p in files_under(cache)]
    assert idx.names["test_labels"] not in names              # the bad file was discarded
    assert data.find_files(spec) is None                      # and nothing looks complete


def test_download_missing_on_server(http_server, idx, tmp_path):
    _, md5s = _serve_tiny_dataset(http_server, idx)
    (http_server.root / idx.names["train_labels"]).unlink()   # 404
    with pytest.raises(DataFileError, match="download failed") as exc:
        data.load(toy_spec(idx, base_url=http_server.url, md5s=md5s))
    assert idx.names["train_labels"] in str(exc.value)


def test_unreachable_server(idx, tmp_path, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as s:                                # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = toy_spec(idx, base_url=f"http://127.0.0.1:{port}/")
    with pytest.raises(DataFileError, match="download failed") as exc:
        data.load(spec)
    msg = str(exc.value)
    assert "LRBOOK_DATA" in msg and "data_home" in msg
    assert files_under(data.cache_dir()) == []


# --- the real data, when this machine has it -----------------------------------------------

@pytest.mark.skipif(not (SYSTEM_FASHION / "train-images-idx3-ubyte.gz").is_file(),
                    reason="Fashion-MNIST is not installed in /usr/share/datasets")
def test_real_fashion_mnist():
    ds = data.load_fashion_mnist(download=False)
    assert Path(ds.source) == SYSTEM_FASHION
    assert ds.X_train.shape == (60000, 784) and ds.X_train.dtype == np.uint8
    assert ds.X_test.shape == (10000, 784)
    assert len(ds.class_names) == 10 and ds.class_names[0] == "T-shirt/top"
    assert ds.y_train.min() == 0 and ds.y_train.max() == 9
    assert np.array_equal(np.bincount(ds.y_train), np.full(10, 6000))
    assert np.array_equal(np.bincount(ds.y_test), np.full(10, 1000))


@pytest.mark.skipif(not REAL_LRBOOK_DATA or not Path(REAL_LRBOOK_DATA, "mnist").is_dir(),
                    reason="LRBOOK_DATA with mnist/ is not set")
def test_real_mnist(monkeypatch):
    monkeypatch.setenv("LRBOOK_DATA", REAL_LRBOOK_DATA)
    ds = data.load_mnist(download=False)
    assert Path(ds.source) == Path(REAL_LRBOOK_DATA) / "mnist"
    # the official 60,000 training images, or the first 20,000 of them (the offline copy
    # in the project's shared data folder is such a prefix)
    assert ds.X_train.shape in {(60000, 784), (20000, 784)} and ds.X_train.dtype == np.uint8
    assert ds.X_test.shape == (10000, 784)
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]     # MNIST's first labels
    assert ds.class_names == tuple("0123456789")
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert ds.X_train.max() == 255


# --- preparing arrays ----------------------------------------------------------------------

def test_scale_01_and_pm1():
    X = np.array([[0, 1, 127, 128, 255]], dtype=np.uint8)
    s = data.scale_01(X)
    assert s.dtype == np.float64
    assert s.min() == 0.0 and s.max() == 1.0
    np.testing.assert_allclose(s, X / 255.0)
    s32 = data.scale_01(X, dtype=np.float32)
    assert s32.dtype == np.float32 and s32.max() == 1.0
    assert data.scale_01(X, dtype="float32").dtype == np.float32
    p = data.scale_pm1(X)
    assert p[0, 0] == -1.0 and p[0, -1] == 1.0
    assert np.all((p >= -1) & (p <= 1))
    np.testing.assert_allclose(p, X / 127.5 - 1)
    assert data.scale_pm1(X, dtype=np.float32).dtype == np.float32






def test_first_and_last():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    assert np.array_equal(data.first(3, X), X[:3])
    Xf, yf = data.first(3, X, y)
    assert np.array_equal(yf, [0, 1, 2]) and Xf.shape == (3, 2)
    Xl, yl = data.last(4, X, y)
    assert np.array_equal(yl, [6, 7, 8, 9]) and np.array_equal(Xl, X[6:])
    assert data.last(0, y).shape == (0,)


def test_train_val_split():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    X_tr, y_tr, X_va, y_va = data.train_val_split(X, y, 10)           # no seed: the last 10
    assert np.array_equal(y_va, np.arange(40, 50)) and np.array_equal(y_tr, np.arange(40))
    a = data.train_val_split(X, y, 10, seed=1)
    b = data.train_val_split(X, y, 10, seed=1)
    c = data.train_val_split(X, y, 10, seed=2)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    assert not np.array_equal(a[3], c[3])
    X_tr, y_tr, X_va, y_va = a
    assert len(y_tr) == 40 and len(y_va) == 10
    assert set(y_tr).isdisjoint(y_va) and set(y_tr) | set(y_va) == set(range(50))
    assert np.array_equal(X_tr[:, 0] // 2, y_tr) and np.array_equal(X_va[:, 0] // 2, y_va)
    assert not np.array_equal(y_va, np.arange(40, 50))                # actually shuffled
    for bad in (0, 50, -1):
        with pytest.raises(ValueError, match="n_val"):
            data.train_val_split(X, y, bad)


def test_train_val_split_rejects_misaligned_labels():
    X = np.zeros((50, 2))
    with pytest.raises(ValueError, match="50 rows but y has 51 labels"):
        data.train_val_split(X, np.arange(51), 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaling_with_the_bias_column_in_one_array(dtype):
    """scale_*(..., bias=True) equals add_bias(scale_*(...)) bit for bit, and the old
    convert-then-divide rounding is kept."""
    from lrbook import model
    X = np.random.default_rng(0).integers(0, 256, size=(30, 784), dtype=np.uint8)
    t = np.dtype(dtype).type
    for scale, ref in [(data.scale_01, X.astype(dtype) / t(255)),
                       (data.scale_pm1, X.astype(dtype) / t(127.5) - t(1))]:
        assert np.array_equal(scale(X, dtype), ref)
        Xb = scale(X, dtype, bias=True)
        assert Xb.dtype == dtype and Xb.flags.c_contiguous
        assert np.array_equal(Xb, model.add_bias(ref))


# --- issue 15: bad files that used to give a numpy error or load silently --------------------

def _toy_with(tmp_path, idx, role, array):
    """A tiny data set in data_home whose ``role`` file holds ``array`` instead."""
    home = tmp_path / "home"
    idx.write_dataset(home / "toyset")
    idx.write(home / "toyset" / idx.names[role], array)
    return home


def test_idx_file_with_zero_images_is_a_clear_error(tmp_path, idx):
    home = _toy_with(tmp_path, idx, "train_images", np.zeros((0, 28, 28), dtype=np.uint8))
    idx.write(home / "toyset" / idx.names["train_labels"], np.zeros(0, dtype=np.uint8))
    with pytest.raises(DataFileError, match="0 images") as exc:
        data.load(toy_spec(idx), data_home=home, download=False)
    assert "train-images-idx3-ubyte.gz" in str(exc.value)


def test_images_of_the_wrong_size_name_the_file(tmp_path, idx):
    home = _toy_with(tmp_path, idx, "test_images", np.zeros((6, 28, 27), dtype=np.uint8))
    with pytest.raises(DataFileError, match="28x27 pixels.*28x28") as exc:
        data.load(toy_spec(idx), data_home=home, download=False)
    assert str(home / "toyset" / "t10k-images-idx3-ubyte.gz") in str(exc.value)


def test_a_directory_where_a_file_should_be(tmp_path, idx):
    home = tmp_path / "home"
    idx.write_dataset(home / "toyset")
    where = home / "toyset" / "train-labels-idx1-ubyte.gz"
    where.unlink()
    where.mkdir()
    for call in (lambda: data.load(toy_spec(idx), data_home=home, download=False),
                 lambda: data.read_idx(where)):
        with pytest.raises(DataFileError, match="is a directory") as exc:
            call()
        assert str(where) in str(exc.value) and "corrupt" not in str(exc.value)


def test_missing_file_error_names_the_missing_file_and_data_home(tmp_path, idx):
    home = tmp_path / "home"
    idx.write_dataset(home / "toyset")
    (home / "toyset" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataFileError) as exc:
        data.load(toy_spec(idx), data_home=home, download=False)
    msg = str(exc.value)
    head = msg.splitlines()[0]
    assert "t10k-labels-idx1-ubyte.gz" in head and "train-images" not in head
    assert f"data_home argument: {home / 'toyset'}" in msg
    assert "cache" in msg and "download=False" in msg


def test_a_damaged_file_in_the_download_cache_is_caught(tmp_path, idx, monkeypatch):
    """The cache holds our downloads: a wrong but parsable file there is not loaded."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LRBOOK_CACHE", str(cache))
    idx.write_dataset(cache / "toyset")
    md5s = {role: md5(cache / "toyset" / f) for role, f in idx.names.items()}
    spec = toy_spec(idx, md5s=md5s)
    assert data.load(spec, download=False).X_train.shape == (12, 784)     # intact: loads
    idx.write(cache / "toyset" / idx.names["train_labels"], np.zeros(12, dtype=np.uint8))
    with pytest.raises(DataFileError, match="checksum") as exc:
        data.load(spec, download=False)
    assert str(cache / "toyset" / "train-labels-idx1-ubyte.gz") in str(exc.value)
    assert "Delete it" in str(exc.value)


def test_a_damaged_cached_file_is_fetched_again(http_server, idx, tmp_path, monkeypatch):
    cache = tmp_path / "dl-cache"
    monkeypatch.setenv("LRBOOK_CACHE", str(cache))
    arrays, md5s = _serve_tiny_dataset(http_server, idx)
    spec = toy_spec(idx, base_url=http_server.url, md5s=md5s)
    data.load(spec)
    assert len(http_server.requests) == 4
    idx.write(cache / "toyset" / idx.names["test_labels"], np.zeros(6, dtype=np.uint8))
    ds = data.load(spec)
    assert http_server.requests[4:] == ["/t10k-labels-idx1-ubyte.gz"]       # only the bad one
    assert np.array_equal(ds.y_test, arrays["test_labels"])


def test_files_found_elsewhere_are_left_to_the_parser(tmp_path, idx):
    """Debian's recompressed Fashion-MNIST and the shared MNIST prefix cannot match the
    upstream checksums: outside the cache only the parser's checks apply."""
    home = tmp_path / "home"
    written = idx.write_dataset(home / "toyset")
    ds = data.load(toy_spec(idx), data_home=home, download=False)       # spec md5s are zeros
    assert np.array_equal(ds.X_train, written["train_images"].reshape(-1, 784))
