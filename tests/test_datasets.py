"""jkeras.datasets: real file formats built small in a temporary JKERAS_HOME,
offline errors, checksums, and the pickle-free decoding of object arrays.
Nothing downloads: JKERAS_OFFLINE is set, or the opener is replaced."""

import gzip
import hashlib
import io
import json
import os
import pickle
import sys
import tarfile
import urllib.error

import numpy as np
import pytest

import jkeras
from jkeras.datasets import (
    DatasetUnavailableError,
    _files,
    boston_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    get_file,
    imdb,
    mnist,
    reuters,
)
from jkeras.datasets._npz import UnsafePickleError, decode_pickled_array, load_npz


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh JKERAS_HOME with downloads disabled; returns its datasets folder."""
    monkeypatch.setenv("JKERAS_HOME", str(tmp_path))
    monkeypatch.setenv("JKERAS_OFFLINE", "1")
    folder = tmp_path / "datasets"
    folder.mkdir()
    return folder


def _object_array(seqs):
    arr = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        arr[i] = s
    return arr


# --- mnist, fashion-mnist, boston ----------------------------------------------------
def test_mnist_npz(home, rng):
    x_tr = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    y_tr = rng.integers(0, 10, 5).astype(np.uint8)
    x_te = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    y_te = np.array([3, 7], np.uint8)
    np.savez(home / "mnist.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    (a, b), (c, d) = jkeras.datasets.mnist.load_data()
    assert a.dtype == np.uint8 and a.shape == (5, 28, 28) and b.dtype == np.uint8
    np.testing.assert_array_equal(a, x_tr)
    np.testing.assert_array_equal(b, y_tr)
    np.testing.assert_array_equal(c, x_te)
    np.testing.assert_array_equal(d, y_te)


def test_mnist_wrong_file_names_missing_arrays(home):
    np.savez(home / "mnist.npz", x_train=np.zeros(1))
    with pytest.raises(ValueError, match=r"lacks array\(s\) \['y_train', 'x_test', 'y_test'\]"):
        mnist.load_data()


def test_absolute_path_is_used_directly(tmp_path, home):
    path = tmp_path / "elsewhere" / "m.npz"
    path.parent.mkdir()
    z = np.zeros((1, 28, 28), np.uint8)
    np.savez(path, x_train=z, y_train=z[:, 0, 0], x_test=z, y_test=z[:, 0, 0])
    (a, _), _ = mnist.load_data(path=str(path))
    assert a.shape == (1, 28, 28)


def _write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_fashion_mnist_idx_gz(home, rng):
    folder = home / "fashion-mnist"
    folder.mkdir()
    x_tr = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    y_tr = np.array([0, 9, 3, 1], np.uint8)
    x_te = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    y_te = np.array([5, 5, 2], np.uint8)
    _write_idx(folder / "train-images-idx3-ubyte.gz", x_tr)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", y_tr)
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", x_te)
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_te)
    (a, b), (c, d) = fashion_mnist.load_data()
    assert a.dtype == np.uint8 and a.shape == (4, 28, 28) and b.shape == (4,)
    np.testing.assert_array_equal(a, x_tr)
    np.testing.assert_array_equal(b, y_tr)
    np.testing.assert_array_equal(c, x_te)
    np.testing.assert_array_equal(d, y_te)


def test_fashion_mnist_truncated_file_is_reported(home):
    folder = home / "fashion-mnist"
    folder.mkdir()
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x01\x02")
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz"):
        (folder / name).write_bytes(b"")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        fashion_mnist.load_data()


def test_boston_housing_split_and_shuffle(home):
    x = np.arange(10 * 13, dtype=np.float64).reshape(10, 13)
    y = np.arange(10, dtype=np.float64) * 2
    np.savez(home / "boston_housing.npz", x=x, y=y)
    (a, b), (c, d) = boston_housing.load_data(test_split=0.2, seed=113)
    idx = np.arange(10)
    np.random.RandomState(113).shuffle(idx)
    assert a.shape == (8, 13) and c.shape == (2, 13) and a.dtype == np.float64
    np.testing.assert_array_equal(a, x[idx[:8]])
    np.testing.assert_array_equal(d, y[idx[8:]])


# --- CIFAR binary ------------------------------------------------------------------
def _cifar_records(labels, images):
    """images: (n, 3, 32, 32) uint8 planes; labels: (n, k) uint8."""
    return b"".join(bytes(lab) + img.tobytes() for lab, img in zip(labels, images))


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_cifar10_binary_tarball(home, rng):
    planes = rng.integers(0, 256, (12, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, (12, 1), dtype=np.uint8)
    with tarfile.open(home / "cifar-10-binary.tar.gz", "w:gz") as tar:
        for i in range(5):
            _add(tar, f"cifar-10-batches-bin/data_batch_{i + 1}.bin",
                 _cifar_records(labels[2 * i:2 * i + 2], planes[2 * i:2 * i + 2]))
        _add(tar, "cifar-10-batches-bin/test_batch.bin",
             _cifar_records(labels[10:], planes[10:]))
        _add(tar, "cifar-10-batches-bin/batches.meta.txt", b"airplane\n")
    (x, y), (xt, yt) = cifar10.load_data()
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    assert y.shape == (10, 1) and y.dtype == np.uint8
    np.testing.assert_array_equal(x, planes[:10].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y, labels[:10])
    np.testing.assert_array_equal(xt, planes[10:].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(yt, labels[10:])
    # pixel (row 3, col 5) of channel green is byte 1024 + 3*32 + 5 of the image
    assert x[0, 3, 5, 1] == planes[0].reshape(-1)[1024 + 3 * 32 + 5]
    jkeras.backend.set_image_data_format("channels_first")
    (x, _), _ = cifar10.load_data()
    assert x.shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(x, planes[:10])


def test_cifar10_extracted_folder_and_bad_size(home, rng):
    folder = home / "cifar10-extracted" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    planes = rng.integers(0, 256, (6, 3, 32, 32), dtype=np.uint8)
    labels = np.arange(6, dtype=np.uint8).reshape(6, 1)
    for i in range(5):
        (folder / f"data_batch_{i + 1}.bin").write_bytes(
            _cifar_records(labels[i:i + 1], planes[i:i + 1]))
    (folder / "test_batch.bin").write_bytes(_cifar_records(labels[5:], planes[5:]) + b"x")
    with pytest.raises(ValueError, match="not a multiple of its 3073-byte records"):
        cifar10.load_data(path="cifar10-extracted")
    (folder / "test_batch.bin").write_bytes(_cifar_records(labels[5:], planes[5:]))
    (x, y), (xt, yt) = cifar10.load_data(path="cifar10-extracted")
    assert x.shape == (5, 32, 32, 3) and list(y[:, 0]) == [0, 1, 2, 3, 4] and yt[0, 0] == 5


def test_cifar100_fine_and_coarse(home, rng):
    planes = rng.integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    labels = np.array([[1, 42], [19, 99], [0, 0], [7, 70], [3, 33]], np.uint8)
    with tarfile.open(home / "cifar-100-binary.tar.gz", "w:gz") as tar:
        _add(tar, "cifar-100-binary/train.bin", _cifar_records(labels[:3], planes[:3]))
        _add(tar, "cifar-100-binary/test.bin", _cifar_records(labels[3:], planes[3:]))
    (x, y), (xt, yt) = cifar100.load_data()
    assert x.shape == (3, 32, 32, 3) and y.dtype == np.int64 and y.shape == (3, 1)
    assert y[:, 0].tolist() == [42, 99, 0] and yt[:, 0].tolist() == [70, 33]
    np.testing.assert_array_equal(xt, planes[3:].transpose(0, 2, 3, 1))
    (_, y), (_, yt) = cifar100.load_data(label_mode="coarse")
    assert y[:, 0].tolist() == [1, 19, 0] and yt[:, 0].tolist() == [7, 3]
    with pytest.raises(ValueError, match="label_mode must be 'fine' or 'coarse'"):
        cifar100.load_data(label_mode="medium")


def test_cifar_tarball_without_binary_members(home):
    with tarfile.open(home / "cifar-10-binary.tar.gz", "w:gz") as tar:
        _add(tar, "cifar-10-batches-py/data_batch_1", b"pickle")
    with pytest.raises(ValueError, match="lacks the CIFAR binary file"):
        cifar10.load_data()


# --- IMDB / Reuters ------------------------------------------------------------------
def _keras_reference(xs, labels, num_words, skip_top, maxlen, start_char, oov_char, index_from):
    """Keras's algorithm, written the slow plain-Python way, for one split list."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    if maxlen:
        kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
        xs, labels = [k[0] for k in kept], [k[1] for k in kept]
    return xs, labels


def _reference_imdb(x_train, y_train, x_test, y_test, seed=113, num_words=None, skip_top=0,
                    maxlen=None, start_char=1, oov_char=2, index_from=3):
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x_train))
    rng.shuffle(idx)
    x_train, y_train = [x_train[i] for i in idx], [y_train[i] for i in idx]
    idx = np.arange(len(x_test))
    rng.shuffle(idx)
    x_test, y_test = [x_test[i] for i in idx], [y_test[i] for i in idx]
    x_train, y_train = _keras_reference(x_train, y_train, num_words, skip_top, maxlen,
                                        start_char, oov_char, index_from)
    x_test, y_test = _keras_reference(x_test, y_test, num_words, skip_top, maxlen,
                                      start_char, oov_char, index_from)
    xs = x_train + x_test
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n = len(x_train)
    return (xs[:n], y_train), (xs[n:], y_test)


@pytest.fixture
def imdb_data(home, rng):
    x_train = [list(map(int, rng.integers(0, 30, rng.integers(1, 9)))) for _ in range(12)]
    x_test = [list(map(int, rng.integers(0, 30, rng.integers(1, 9)))) for _ in range(7)]
    y_train = rng.integers(0, 2, 12)
    y_test = rng.integers(0, 2, 7)
    # The real Keras layout: object arrays of lists, written by numpy as pickles.
    np.savez(home / "imdb.npz", x_train=_object_array(x_train), y_train=y_train,
             x_test=_object_array(x_test), y_test=y_test)
    return x_train, y_train, x_test, y_test


@pytest.mark.parametrize("options", [
    {},
    {"num_words": 12},
    {"num_words": 15, "skip_top": 5},
    {"maxlen": 6},
    {"oov_char": None, "num_words": 10},
    {"start_char": None, "index_from": 0, "seed": 7},
])
def test_imdb_matches_keras_semantics(imdb_data, options):
    x_train, y_train, x_test, y_test = imdb_data
    (a, b), (c, d) = imdb.load_data(**options)
    (ra, rb), (rc, rd) = _reference_imdb(x_train, list(y_train), x_test, list(y_test), **options)
    assert a.dtype == object and a.ndim == 1
    assert [list(s) for s in a] == ra and [list(s) for s in c] == rc
    assert list(b) == rb and list(d) == rd
    assert all(isinstance(w, int) for s in a for w in s)


def test_imdb_maxlen_too_small(imdb_data):
    with pytest.raises(ValueError, match="increase maxlen"):
        imdb.load_data(maxlen=1)


def test_imdb_keras1_nb_words(imdb_data):
    with pytest.warns(DeprecationWarning, match="num_words"):
        (a, _), _ = imdb.load_data(nb_words=10)
    assert max(max(s) for s in a) < 10
    with pytest.raises(TypeError, match="unexpected keyword"):
        imdb.load_data(nb_wrds=3)


def test_imdb_pickle_free_layout(home):
    seqs = [[5, 6, 7], [8], [9, 10]]
    np.savez(home / "imdb_flat.npz",
             x_train_values=np.array([5, 6, 7, 8, 9, 10]), x_train_lengths=np.array([3, 1, 2]),
             y_train=np.array([1, 0, 1]),
             x_test_values=np.array([4, 4]), x_test_lengths=np.array([2]), y_test=np.array([0]))
    (a, b), (c, d) = imdb.load_data(path="imdb_flat.npz", seed=0, start_char=None, index_from=0,
                                    num_words=100)
    assert sorted(map(list, a)) == sorted(seqs) and [list(s) for s in c] == [[4, 4]]


def test_imdb_word_index(home):
    (home / "imdb_word_index.json").write_text(json.dumps({"the": 1, "movie": 17}))
    assert imdb.get_word_index() == {"the": 1, "movie": 17}


def test_reuters(home, rng):
    xs = [list(map(int, rng.integers(0, 40, rng.integers(1, 9)))) for _ in range(10)]
    ys = rng.integers(0, 46, 10)
    np.savez(home / "reuters.npz", x=_object_array(xs), y=ys)
    (a, b), (c, d) = reuters.load_data(test_split=0.3, num_words=20)
    idx = np.arange(10)
    np.random.RandomState(113).shuffle(idx)
    expected = [[1] + [w + 3 for w in xs[i]] for i in idx]
    expected = [[w if w < 20 else 2 for w in x] for x in expected]
    assert len(a) == 7 and len(c) == 3
    assert [list(s) for s in a] + [list(s) for s in c] == expected
    np.testing.assert_array_equal(np.concatenate([b, d]), ys[idx])
    assert len(reuters.get_label_names()) == 46
    (home / "reuters_word_index.json").write_text('{"said": 3}')
    assert reuters.get_word_index() == {"said": 3}


# --- pickle-free decoding -------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_object_arrays_decode_without_pickle(protocol):
    arr = _object_array([[1, 300, 70000, -5], [], [2 ** 40]])
    out = decode_pickled_array(pickle.dumps(arr, protocol=protocol))
    assert out.dtype == object and [list(s) for s in out] == [[1, 300, 70000, -5], [], [2 ** 40]]
    nested = _object_array([np.arange(3, dtype=np.int32), np.array([1.5, -2.0])])
    out = decode_pickled_array(pickle.dumps(nested, protocol=protocol))
    np.testing.assert_array_equal(out[0], nested[0])
    assert out[0].dtype == np.int32 and out[1].dtype == np.float64


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_code_in_a_dataset_file_is_refused_not_run(home, tmp_path):
    marker = str(tmp_path / "was_run")
    np.savez(home / "imdb.npz", x_train=_object_array([[1], _Evil(marker)]),
             y_train=np.zeros(2), x_test=_object_array([[1]]), y_test=np.zeros(1))
    with pytest.raises(UnsafePickleError, match="mkdir"):
        imdb.load_data()
    assert not os.path.exists(marker)
    with pytest.raises(UnsafePickleError):
        decode_pickled_array(pickle.dumps(_Evil(marker), protocol=4))
    assert not os.path.exists(marker)


def test_numeric_npz_members_load(tmp_path):
    np.savez(tmp_path / "a.npz", a=np.arange(6).reshape(2, 3), b=np.array(["x", "yz"]))
    out = load_npz(str(tmp_path / "a.npz"))
    np.testing.assert_array_equal(out["a"], np.arange(6).reshape(2, 3))
    assert out["b"].tolist() == ["x", "yz"]


# --- cache, offline, download ------------------------------------------------------------
def test_offline_error_names_file_url_and_place(home):
    with pytest.raises(DatasetUnavailableError) as info:
        mnist.load_data()
    msg = str(info.value)
    assert "mnist.npz" in msg and "JKERAS_OFFLINE" in msg
    assert str(home / "mnist.npz") in msg
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in msg
    assert isinstance(info.value, FileNotFoundError)


def test_offline_error_for_cifar_and_fashion(home):
    with pytest.raises(DatasetUnavailableError, match="cifar-10-binary.tar.gz"):
        cifar10.load_data()
    with pytest.raises(DatasetUnavailableError, match="train-labels-idx1-ubyte.gz"):
        fashion_mnist.load_data()


class _Response(io.BytesIO):
    pass


def test_download_failure_is_a_clear_error(home, monkeypatch):
    monkeypatch.delenv("JKERAS_OFFLINE")

    def fail(url, timeout):
        assert timeout <= 60
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(_files, "_urlopen", fail)
    with pytest.raises(DatasetUnavailableError, match="download failed .*no route to host") as e:
        boston_housing.load_data()
    assert str(home / "boston_housing.npz") in str(e.value)
    assert os.listdir(home) == []  # no partial file left behind


def test_download_checks_the_checksum(home, monkeypatch):
    monkeypatch.delenv("JKERAS_OFFLINE")
    payload = b"hello dataset"
    monkeypatch.setattr(_files, "_urlopen", lambda url, timeout: _Response(payload))
    good = hashlib.sha256(payload).hexdigest()
    path = get_file("f.bin", origin="https://example.invalid/f.bin", file_hash=good)
    assert path == str(home / "f.bin") and open(path, "rb").read() == payload
    with pytest.raises(ValueError, match="sha256 .* was expected"):
        get_file("g.bin", origin="https://example.invalid/g.bin", file_hash="0" * 64)
    assert not (home / "g.bin").exists() and sorted(os.listdir(home)) == ["f.bin"]
    md5 = hashlib.md5(payload).hexdigest()
    path = get_file("h.bin", origin="https://example.invalid/h.bin", file_hash=md5,
                    cache_subdir="datasets/sub")
    assert path == str(home / "sub" / "h.bin")


def test_existing_file_is_not_downloaded_again(home, monkeypatch):
    monkeypatch.delenv("JKERAS_OFFLINE")
    (home / "here.bin").write_bytes(b"x")

    def boom(url, timeout):
        raise AssertionError("should not download")

    monkeypatch.setattr(_files, "_urlopen", boom)
    assert get_file("here.bin", origin="https://example.invalid/here.bin") == str(
        home / "here.bin")


def test_extract_refuses_paths_outside_the_folder(home):
    archive = home / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add(tar, "../escape.txt", b"x")
    with pytest.raises(ValueError, match="outside"):
        get_file("bad.tar.gz", extract=True)
    assert not (home.parent / "escape.txt").exists()
    good = home / "good.tar.gz"
    with tarfile.open(good, "w:gz") as tar:
        _add(tar, "pkg/a.txt", b"A")
    assert get_file("good.tar.gz", extract=True) == str(good)
    assert (home / "pkg" / "a.txt").read_bytes() == b"A"


# --- data sets from packages -----------------------------------------------------------
def test_digits():
    pytest.importorskip("sklearn")
    (x, y), (xt, yt) = jkeras.datasets.digits.load_data()
    assert len(x) + len(xt) == 1797 and x.shape[1:] == (8, 8)
    assert x.dtype == np.uint8 and x.max() == 16 and set(np.unique(y)) == set(range(10))
    assert len(xt) == 1797 - int(1797 * 0.8)


def test_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'jkeras\[demo\]'"):
        jkeras.datasets.digits.load_data()
    monkeypatch.setitem(sys.modules, "easy_vqa", None)
    with pytest.raises(ImportError, match="easy-vqa"):
        jkeras.datasets.easy_vqa.get_answers()


def test_easy_vqa():
    pytest.importorskip("easy_vqa")
    pytest.importorskip("PIL")
    from jkeras.datasets import easy_vqa

    train, test = easy_vqa.load_data()
    answers = easy_vqa.get_answers()
    assert len(answers) == 13
    assert train.images.shape == (4000, 64, 64, 3) and train.images.dtype == np.uint8
    assert test.images.shape == (1000, 64, 64, 3)
    n = len(train.question_texts)
    assert train.questions.shape[0] == n == len(train.answers) == len(train.image_index)
    assert train.questions.dtype == np.int32 and train.answers.max() < 13
    assert train.image_index.max() < 4000
    inverse = {i: w for w, i in easy_vqa.get_word_index().items()}
    words = [inverse[i] for i in train.questions[0] if i]
    assert words == easy_vqa.tokenize(train.question_texts[0])
