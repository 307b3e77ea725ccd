"""Hostile files: every loader refuses a file whose declared sizes its stored
bytes do not back, or that would take more memory than a load may, before
allocating, with an error naming the file and the entry. Each case writes its
crafted file into tmp_path and must finish in seconds with bounded memory
(peak RSS growth measured after resetting the high-water mark)."""

import contextlib
import gzip
import io
import json
import os
import pickle
import resource
import tarfile
import time
import zipfile
import zlib

import h5py
import numpy as np
import pytest

import jkeras as keras
from jkeras.datasets import boston_housing, cifar10, fashion_mnist, imdb, reuters
from jkeras.datasets._npz import UnsafePickleError, decode_pickled_array, load_npz
from jkeras.saving import limits
from jkeras.saving.limits import FileLimitError

MAX_GROWTH_MB = 150
MAX_SECONDS = 3.0


@contextlib.contextmanager
def bounded():
    """Asserts that the block grows the peak RSS by < MAX_GROWTH_MB and takes
    < MAX_SECONDS (the high-water mark is reset first where Linux allows)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert growth_mb < MAX_GROWTH_MB, f"peak RSS grew by {growth_mb:.0f} MB"
    assert seconds < MAX_SECONDS, f"took {seconds:.1f} s"


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    """No case may read more than 256 MiB, even if a check were missing."""
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "256M")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Files of a tiny model Input(4) -> Dense(5, name='dense'), loaded once so
    that one-time initialisation is not counted against any case."""
    folder = tmp_path_factory.mktemp("base")
    x = keras.Input(shape=(4,), name="x")
    model = keras.Model(x, keras.layers.Dense(5, name="dense")(x))
    paths = {k: str(folder / n) for k, n in [("keras", "m.keras"), ("h5", "m.h5"),
                                             ("weights", "w.h5")]}
    model.save(paths["keras"])
    model.save(paths["h5"])
    model.save_weights(paths["weights"])
    keras.models.load_model(paths["keras"]).load_weights(paths["weights"])
    keras.models.load_model(paths["h5"])
    with zipfile.ZipFile(paths["keras"]) as z:
        paths["config"] = json.loads(z.read("config.json"))
    return paths


def _unwritten(group, name, shape, chunked=True):
    """A float32 dataset that declares `shape` but stores nothing."""
    group.create_dataset(name, shape=shape, dtype="float32",
                         chunks=shape[:-1] + (min(shape[-1], 1 << 16),) if chunked else None)


def _compressed_zeros(group, name, shape, chunk=1 << 18):
    """A gzip dataset of zeros whose every chunk is written (about 1000:1)."""
    chunk_shape = shape[:-1] + (chunk,)
    ds = group.create_dataset(name, shape=shape, dtype="float32", chunks=chunk_shape,
                              compression="gzip")
    data = zlib.compress(bytes(4 * int(np.prod(chunk_shape))), 9)
    for start in range(0, shape[-1], chunk):
        ds.id.write_direct_chunk((0,) * (len(shape) - 1) + (start,), data)


def _keras_file(path, base, units, write):
    """A .keras archive of `base`'s model with Dense(units) whose weights file is
    made by `write(vars_group, units)`."""
    config = json.loads(json.dumps(base["config"]))
    config["config"]["layers"][1]["config"]["units"] = units
    bio = io.BytesIO()
    with h5py.File(bio, "w") as h:
        write(h.create_group("layers/dense/vars"), units)
        h.create_group("layers/x/vars")
        h.create_group("vars")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", bio.getvalue())
    return str(path)


def _legacy_file(path, base, whole, write_kernel):
    """`base`'s Keras 2 .h5 (whole model or weights only) with its kernel
    replaced by `write_kernel(group, name)`."""
    with open(base["h5" if whole else "weights"], "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    with h5py.File(path, "r+") as h:
        group = h["model_weights/dense/dense" if whole else "dense/dense"]
        del group["kernel:0"]
        write_kernel(group, "kernel:0")
    return str(path)


# --- .keras ------------------------------------------------------------------------------
def test_keras_file_declaring_unwritten_chunks_is_refused(tmp_path, base):
    def write(g, units):
        _unwritten(g, "0", (4, units))
        _unwritten(g, "1", (units,))

    path = _keras_file(tmp_path / "big.keras", base, 250_000_000, write)
    assert os.path.getsize(path) < 64_000
    with bounded(), pytest.raises(FileLimitError) as info:
        keras.models.load_model(path)
    msg = str(info.value)
    assert path in msg and "layers/dense/vars/" in msg and "stores no data" in msg
    assert "(250000000,)" in msg or "(4, 250000000)" in msg


def test_keras_file_beyond_the_load_limit_is_refused(tmp_path, base):
    def write(g, units):
        _compressed_zeros(g, "0", (4, units))
        _compressed_zeros(g, "1", (units,))

    path = _keras_file(tmp_path / "zeros.keras", base, 25 * (1 << 20), write)
    with bounded(), pytest.raises(FileLimitError) as info:
        keras.models.load_model(path)
    msg = str(info.value)
    assert path in msg and "layers/dense/vars/0" in msg and "(4, 26214400)" in msg
    assert "JKERAS_MAX_LOAD_BYTES=256M" in msg and "max_bytes=" in msg


def test_keras_file_with_a_bigger_array_than_the_config_is_not_read(tmp_path, base,
                                                                     monkeypatch):
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "1G")  # the shape check must refuse, not the limit

    def write(g, units):
        _compressed_zeros(g, "0", (4, 1 << 24))
        g.create_dataset("1", data=np.zeros(units, "float32"))

    path = _keras_file(tmp_path / "mismatch.keras", base, 5, write)
    with bounded(), pytest.raises(ValueError, match=r"vars/0.*\(4, 16777216\).*\(4, 5\)"):
        keras.models.load_model(path)


def test_uncompressed_dataset_storing_part_of_its_data_is_refused(tmp_path, base):
    def chunks_missing(g, units):
        ds = g.create_dataset("0", shape=(4, units), dtype="float32", chunks=(4, 1))
        ds[:, 0] = 1.0
        g.create_dataset("1", data=np.zeros(units, "float32"))

    def never_written(g, units):
        g.create_dataset("0", data=np.zeros((4, units), "float32"))
        g.create_dataset("1", shape=(units,), dtype="float32")  # contiguous, no data

    path = _keras_file(tmp_path / "part.keras", base, 5, chunks_missing)
    with bounded(), pytest.raises(FileLimitError, match=r"vars/0.*stores only 16 bytes"):
        keras.models.load_model(path)
    model = keras.models.load_model(base["keras"])
    path = _keras_file(tmp_path / "empty.keras", base, 5, never_written)
    with pytest.raises(FileLimitError, match=r"vars/1.*never allocated"):
        model.load_weights(path)


def test_data_kept_in_other_files_is_never_read(tmp_path, base):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(5, dtype="float32").tobytes())
    model = keras.models.load_model(base["keras"])

    def external(g, units):
        g.create_dataset("0", data=np.zeros((4, units), "float32"))
        g.create_dataset("1", shape=(units,), dtype="float32", external=[(str(secret), 0, 20)])

    path = _keras_file(tmp_path / "ext.keras", base, 5, external)
    with pytest.raises(FileLimitError, match=r"vars/1.*external file.*secret\.bin"):
        keras.models.load_model(path)

    def linked(g, units):
        g.create_dataset("0", data=np.zeros((4, units), "float32"))
        g["1"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/bias")

    path = _keras_file(tmp_path / "link.keras", base, 5, linked)
    with pytest.raises(FileLimitError, match=r"'layers/dense/vars/1' is a link to another file"):
        model.load_weights(path)


# --- Keras 1/2 .h5 -----------------------------------------------------------------------
def _refusal(path, base, how, error) -> str:
    """The message of `error` raised, within the bounds, by loading the Keras
    1/2 file `path` with load_model, load_weights or load_weights(by_name=True)."""
    model = keras.models.load_model(base["keras"]) if how != "load_model" else None
    with bounded(), pytest.raises(error) as info:
        if model is None:
            keras.models.load_model(path)
        else:
            model.load_weights(path, by_name=how == "by_name")
    return str(info.value)


@pytest.mark.parametrize("columns", [500_000_000, 10_000_000_000])
@pytest.mark.parametrize("how", ["load_model", "load_weights", "by_name"])
def test_legacy_h5_declaring_unwritten_kernel_is_refused(tmp_path, base, how, columns):
    path = _legacy_file(tmp_path / "old.h5", base, how == "load_model",
                        lambda g, name: _unwritten(g, name, (4, columns)))
    msg = _refusal(path, base, how, FileLimitError)
    assert path in msg and "dense/dense/kernel:0" in msg and f"(4, {columns})" in msg
    assert "stores no data" in msg


@pytest.mark.parametrize("how", ["load_model", "load_weights", "by_name"])
def test_legacy_h5_kernel_larger_than_the_model_is_not_read(tmp_path, base, monkeypatch, how):
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "1G")  # the size check must refuse, not the limit
    path = _legacy_file(tmp_path / "old.h5", base, how == "load_model",
                        lambda g, name: _compressed_zeros(g, name, (4, 50 * (1 << 20))))
    msg = _refusal(path, base, how, ValueError)
    assert path in msg and "layer 'dense'" in msg and "(4, 52428800)" in msg
    assert "[(4, 5), (5,)]" in msg and "nothing of it was read" in msg


def test_legacy_h5_oversized_kernel_is_skipped_with_skip_mismatch(tmp_path, base):
    path = _legacy_file(tmp_path / "old.h5", base, False,
                        lambda g, name: _compressed_zeros(g, name, (4, 1 << 22)))
    model = keras.models.load_model(base["keras"])
    before = [w.copy() for w in model.get_weights()]
    with bounded(), pytest.warns(UserWarning, match="Skipping layer 'dense'"):
        model.load_weights(path, skip_mismatch=True)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# --- the bound and its override ----------------------------------------------------------
def test_max_bytes_and_the_environment_variable_set_the_bound(base, monkeypatch):
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "64")
    with pytest.raises(FileLimitError, match=r"more than the 64 bytes \(JKERAS_MAX_LOAD_BYTES"):
        keras.models.load_model(base["keras"])
    model = keras.models.load_model(base["keras"], max_bytes="1M")
    with pytest.raises(FileLimitError, match=r"max_bytes=10\)"):
        model.load_weights(base["weights"], max_bytes=10)
    with pytest.raises(FileLimitError, match="max_bytes=10"):
        keras.models.load_model(base["h5"], max_bytes=10)
    model.load_weights(base["weights"], max_bytes=1 << 20)
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "lots")
    with pytest.raises(ValueError, match="JKERAS_MAX_LOAD_BYTES must be a number of bytes"):
        keras.models.load_model(base["keras"])


def test_default_bound_is_half_the_available_memory(monkeypatch):
    monkeypatch.delenv(limits.ENV_MAX_BYTES)
    assert 0 < limits.available_memory_bytes() <= limits.physical_memory_bytes()
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 8_000_000_000)
    limit = limits.load_limit()
    assert limit.max_bytes == 4_000_000_000 and "8,000,000,000" in limit.origin
    assert limits.load_limit("2G").max_bytes == 2 << 30
    assert limits.parse_byte_size("1.5K", "x") == 1536
    with pytest.raises(ValueError, match="max_bytes"):
        limits.load_limit(-1)


# --- data sets ---------------------------------------------------------------------------
def _npz(path, members: dict) -> str:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def _npy_header(shape, descr) -> bytes:
    bio = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        bio, {"descr": descr, "fortran_order": False, "shape": shape})
    return bio.getvalue()


def _npy(array) -> bytes:
    bio = io.BytesIO()
    np.save(bio, array)
    return bio.getvalue()


def test_npz_member_declaring_more_than_it_holds_is_refused(tmp_path):
    path = _npz(tmp_path / "boston.npz", {
        "x.npy": _npy_header((10_000_000, 1_000_000), "|u1") + bytes(100),
        "y.npy": _npy(np.zeros(3))})
    with bounded(), pytest.raises(ValueError) as info:
        boston_housing.load_data(path=path)
    msg = str(info.value)
    assert path in msg and "'x.npy'" in msg and "(10000000, 1000000)" in msg
    assert "holds 100 bytes" in msg


def test_npz_members_beyond_the_load_limit_are_refused(tmp_path, monkeypatch):
    path = _npz(tmp_path / "a.npz", {"big.npy": _npy(np.zeros(4096)), "s.npy": _npy(1)})
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "8K")
    with pytest.raises(FileLimitError, match=r"a\.npz.*largest: member 'big\.npy'.*"
                                             r"JKERAS_MAX_LOAD_BYTES=N"):
        load_npz(path)
    assert load_npz(path, max_bytes="1M")["big"].shape == (4096,)


def _object_member(payload: bytes, n: int) -> bytes:
    return _npy_header((n,), "|O") + payload


def test_raw_pickle_in_a_dataset_is_refused_naming_file_and_member(tmp_path):
    path = _npz(tmp_path / "reuters.npz", {
        "x.npy": _object_member(pickle.dumps(os.system, protocol=0), 3),
        "y.npy": _npy(np.zeros(3, np.int64))})
    with bounded(), pytest.raises(UnsafePickleError) as info:
        reuters.load_data(path=path)
    msg = str(info.value)
    assert path in msg and "'x.npy'" in msg and "system" in msg


@pytest.mark.parametrize("payload", [b"c", b"\x80\x02]q\x00(K\x01", b"\x80\x02h\x07.",
                                     b"\x80\x02" + b"]" * 2000 + b"."])
def test_malformed_pickle_streams_are_clean_errors(tmp_path, payload):
    path = _npz(tmp_path / "imdb.npz", {"x_train.npy": _object_member(payload, 1)})
    with bounded(), pytest.raises(UnsafePickleError, match=r"imdb\.npz.*'x_train\.npy'"):
        imdb.load_data(path=path)


def test_shared_nested_lists_do_not_explode(tmp_path):
    nested = [1]
    for _ in range(60):  # 2**60 leaves when expanded; a few hundred bytes as a pickle
        nested = [nested, nested]
    arr = np.empty(1, dtype=object)
    arr[0] = nested
    path = _npz(tmp_path / "reuters.npz", {
        "x.npy": _npy_header((1,), "|O") + pickle.dumps(arr, protocol=2),
        "y.npy": _npy(np.zeros(1, np.int64))})
    with bounded(), pytest.raises(ValueError, match=r"reuters\.npz: 'x' item 0 is not a flat "
                                                    r"sequence of integers"):
        reuters.load_data(path=path)
    cyclic = []
    cyclic.append(cyclic)
    out = decode_pickled_array(pickle.dumps(cyclic, protocol=2))
    assert out[0] is out


def test_decoding_objects_counts_against_the_limit(tmp_path, monkeypatch):
    seqs = np.empty(2, dtype=object)
    seqs[0], seqs[1] = list(range(1000, 101_000)), [5]
    path = _npz(tmp_path / "imdb.npz", {"x_train.npy": _npy_header((2,), "|O")
                                        + pickle.dumps(seqs, protocol=3)})
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "1M")
    with bounded(), pytest.raises(FileLimitError, match=r"imdb\.npz: member 'x_train\.npy'.*"
                                                        r"Python objects"):
        imdb.load_data(path=path)


def test_gzip_bomb_behind_an_idx_header_is_not_read(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big")
                                           for n in (60_000, 100_000, 100_000))
    zeros = gzip.compress(bytes(1 << 20))  # gzip members concatenate: 300 MB from 300 KB
    path.write_bytes(gzip.compress(header) + zeros * 300)
    with bounded(), pytest.raises(FileLimitError) as info:
        fashion_mnist.read_idx(str(path))
    assert str(path) in str(info.value) and "(60000, 100000, 100000)" in str(info.value)


def test_cifar_member_larger_than_the_limit_is_not_read(tmp_path, monkeypatch):
    path = tmp_path / "cifar.tar"
    with tarfile.open(path, "w") as tar:
        data = bytes(2 * 3073)
        info = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    monkeypatch.setenv(limits.ENV_MAX_BYTES, "4K")
    with bounded(), pytest.raises(FileLimitError, match=r"cifar\.tar: member "
                                                        r"'cifar-10-batches-bin/data_batch_1"):
        cifar10.load_data(path=str(path))
