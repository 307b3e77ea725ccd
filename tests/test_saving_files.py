"""Files: `.keras` archives, `.weights.h5`, their HDF5 layout (Keras 3 paths),
optimizer state, atomic writes and damaged files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import jkeras
from jkeras import Input, Model, Sequential, layers
from jkeras.saving import load_model

h5py = pytest.importorskip("h5py")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _out(model, x):
    out = model(x)
    if isinstance(out, (list, tuple)):
        return [np.asarray(o) for o in out]
    return np.asarray(out)


def _assert_same(a, b, x):
    oa, ob = _out(a, x), _out(b, x)
    for p, q in zip(oa if isinstance(oa, list) else [oa], ob if isinstance(ob, list) else [ob]):
        np.testing.assert_array_equal(p, q)


def _datasets(h5bytes_or_path):
    src = io.BytesIO(h5bytes_or_path) if isinstance(h5bytes_or_path, bytes) else h5bytes_or_path
    out = {}
    with h5py.File(src, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset)
                     else None)
        groups = []
        f.visit(groups.append)
    return out, groups


def _model():
    x = Input(shape=(4,), name="x")
    shared = layers.Dense(3, activation="relu", name="shared")
    h1 = shared(x)
    h2 = shared(layers.Dense(4, name="pre")(x))
    h = layers.concatenate([h1, h2])
    h = layers.BatchNormalization(name="bn")(h)
    out1 = layers.Dense(2, name="out1")(h)
    out2 = layers.Dense(1, activation="sigmoid", name="out2")(h1)
    return Model(x, [out1, out2])


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


# ------------------------------------------------------------------------------------
# .keras round trips and layout
# ------------------------------------------------------------------------------------
def test_keras_file_round_trip_two_outputs_shared_layer(tmp):
    m = _model()
    bn = m.get_layer("bn")
    bn.moving_mean.assign(np.arange(6, dtype="float32"))
    p = tmp / "m.keras"
    m.save(p)
    m2 = load_model(p)
    _assert_same(m, m2, _x(5, 4))
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_archive_layout(tmp):
    m = _model()
    p = tmp / "m.keras"
    m.save(str(p))
    with zipfile.ZipFile(p) as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        meta = json.loads(z.read("metadata.json"))
        assert "keras_version" in meta and "date_saved" in meta
        config = json.loads(z.read("config.json"))
        data, groups = _datasets(z.read("model.weights.h5"))
    assert config["class_name"] == "Functional"
    assert config["module"] == "keras.src.models.functional"
    assert "vars" in groups  # the model's own (empty) variable group
    # Keras 3 names layers by class in `model.layers` order, variables by index
    order = [la for la in jkeras.saving.functional_config.keras_layer_order(m)
             if isinstance(la, layers.Dense)]
    names = ["dense"] + [f"dense_{i}" for i in range(1, len(order))]
    for path_name, layer in zip(names, order):
        np.testing.assert_array_equal(data[f"layers/{path_name}/vars/0"], layer.kernel.numpy())
        np.testing.assert_array_equal(data[f"layers/{path_name}/vars/1"], layer.bias.numpy())
    bn = m.get_layer("bn")
    for i, v in enumerate([bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance]):
        np.testing.assert_array_equal(data[f"layers/batch_normalization/vars/{i}"], v.numpy())
    assert not any(k.startswith("optimizer") for k in data)


def test_nested_model_weight_paths(tmp):
    inner_in = Input(shape=(3,))
    inner = Model(inner_in, layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    seq = Sequential([layers.Dense(2, input_shape=(2,), name="sd")], name="seq")
    x = Input(shape=(3,))
    m = Model(x, seq(inner(x)))
    p = tmp / "w.weights.h5"
    m.save_weights(p)
    data, groups = _datasets(str(p))
    np.testing.assert_array_equal(data["layers/functional/layers/dense/vars/0"],
                                  inner.layers[-1].kernel.numpy())
    np.testing.assert_array_equal(data["layers/sequential/layers/dense/vars/1"],
                                  seq.layers[0].bias.numpy())
    m2 = Model.from_config(m.get_config())
    m2.load_weights(p)
    _assert_same(m, m2, _x(2, 3))


def test_sequential_keras_round_trip_and_save_model_api(tmp):
    s = Sequential([layers.Embedding(7, 3, input_shape=(4,)), layers.Flatten(),
                    layers.Dropout(0.5), layers.Dense(2, activation="softmax")])
    p = tmp / "s.keras"
    jkeras.saving.save_model(s, p)
    s2 = load_model(p)
    assert isinstance(s2, Sequential)
    ids = np.array([[1, 2, 3, 0], [6, 5, 4, 3]], dtype="int32")
    _assert_same(s, s2, ids)
    data, _ = _datasets(zipfile.ZipFile(p).read("model.weights.h5"))
    assert data["layers/embedding/vars/0"].shape == (7, 3)


def test_save_requires_known_extension(tmp):
    m = _model()
    with pytest.raises(ValueError, match=r"\.keras"):
        m.save(tmp / "model")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        m.save_weights(tmp / "w.ckpt")
    (tmp / "exists.keras").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        m.save(tmp / "exists.keras", overwrite=False)
    assert (tmp / "exists.keras").read_bytes() == b"old"


def test_save_to_file_object_and_load_from_file_object(tmp):
    m = _model()
    buf = io.BytesIO()
    m.save(buf)
    buf.seek(0)
    m2 = load_model(buf)
    _assert_same(m, m2, _x(2, 4))


def test_lambda_model_file_needs_safe_mode_off(tmp):
    x = Input(shape=(3,))
    y = layers.Lambda(lambda t: t * 2.0 + 1.0)(layers.Dense(3)(x))
    m = Model(x, y)
    p = tmp / "lam.keras"
    m.save(p)
    with pytest.raises(ValueError, match="safe_mode=False") as e:
        load_model(p)
    assert "lam.keras" in str(e.value) and "bytecode" in str(e.value)
    m2 = load_model(p, safe_mode=False)
    _assert_same(m, m2, _x(2, 3))


# ------------------------------------------------------------------------------------
# weights files
# ------------------------------------------------------------------------------------
def test_weights_round_trip_and_all_or_nothing(tmp):
    m = _model()
    p = tmp / "m.weights.h5"
    m.save_weights(p)
    m2 = _model()
    m2.load_weights(p)
    _assert_same(m, m2, _x(3, 4))
    other = Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(7)])
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError, match="m.weights.h5"):
        other.load_weights(p)
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_weights_from_keras_archive(tmp):
    m = _model()
    p = tmp / "m.keras"
    m.save(p)
    m2 = _model()
    m2.load_weights(p)
    _assert_same(m, m2, _x(2, 4))


def _write_weights_variant(src, dst, edit):
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        for k in f:
            f.copy(k, g)
        edit(g)


def test_wrong_shape_missing_weight_and_skip_mismatch(tmp):
    m = _model()
    p = tmp / "m.weights.h5"
    m.save_weights(p)

    def wrong_shape(g):
        del g["layers/dense/vars/0"]
        g["layers/dense/vars/0"] = np.zeros((9, 9), "float32")

    def missing(g):
        del g["layers/dense/vars/1"]

    bad1, bad2 = tmp / "shape.weights.h5", tmp / "missing.weights.h5"
    _write_weights_variant(p, bad1, wrong_shape)
    _write_weights_variant(p, bad2, missing)
    m2 = _model()
    before = [w.copy() for w in m2.get_weights()]
    with pytest.raises(ValueError, match=r"shape.weights.h5.*shape \(9, 9\)"):
        m2.load_weights(bad1)
    with pytest.raises(ValueError, match=r"missing.weights.h5.*expects 2 variable"):
        m2.load_weights(bad2)
    for a, b in zip(before, m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="skip_mismatch"):
        m2.load_weights(bad1, skip_mismatch=True)
    np.testing.assert_array_equal(m2.get_layer("bn").gamma.numpy(),
                                  m.get_layer("bn").gamma.numpy())


# ------------------------------------------------------------------------------------
# optimizer state / compile
# ------------------------------------------------------------------------------------
def _compiled():
    x = Input(shape=(3,))
    m = Model(x, layers.Dense(1)(layers.Dense(4, activation="tanh")(x)))
    m.compile(optimizer="adam", loss="mse")
    return m


def test_optimizer_state_saved_and_restored_with_weights(tmp):
    x, y = _x(16, 3), _x(16, 1, seed=1)
    m = _compiled()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    p = tmp / "m.weights.h5"
    m.save_weights(p)
    data, _ = _datasets(str(p))
    state = m.optimizer.get_state_arrays()
    assert int(data["optimizer/vars/0"]) == int(state[0]) == 4
    m2 = _compiled()
    m2.fit(x[:1], y[:1], epochs=1, verbose=0)  # builds its own optimizer state
    m2.load_weights(p)
    for a, b in zip(state, m2.optimizer.get_state_arrays()):
        np.testing.assert_array_equal(a, b)
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    m2.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_compiled_model_round_trip_continues_training(tmp):
    x, y = _x(16, 3), _x(16, 1, seed=1)
    m = _compiled()
    if not hasattr(Model, "get_compile_config"):
        # the contract until training exposes get_compile_config(): the compile args
        m._compile_config = {"optimizer": m.optimizer, "loss": "mse"}
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    p = tmp / "c.keras"
    m.save(p)
    m2 = load_model(p)
    assert m2.compiled
    for a, b in zip(m.optimizer.get_state_arrays(), m2.optimizer.get_state_arrays()):
        np.testing.assert_array_equal(a, b)
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    m2.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    m3 = load_model(p, compile=False)
    assert not getattr(m3, "compiled", False)


# ------------------------------------------------------------------------------------
# atomic writes
# ------------------------------------------------------------------------------------
def test_failure_mid_write_leaves_previous_file_intact(tmp, monkeypatch):
    m = _model()
    p = tmp / "m.keras"
    m.save(p)
    original = p.read_bytes()
    m2 = Sequential([layers.Dense(2, input_shape=(4,))])
    import jkeras.saving.keras_file as kf

    real_writestr = zipfile.ZipFile.writestr
    calls = {"n": 0}

    def failing_writestr(self, name, data, *a, **k):
        calls["n"] += 1
        if name == "model.weights.h5":
            real_writestr(self, name, data[: len(data) // 2], *a, **k)
            raise OSError("disk full (simulated)")
        return real_writestr(self, name, data, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(OSError, match="simulated"):
        m2.save(p)
    monkeypatch.undo()
    assert calls["n"] >= 3
    assert p.read_bytes() == original
    assert [f.name for f in tmp.iterdir()] == ["m.keras"]  # temp file cleaned up
    _assert_same(m, load_model(p), _x(2, 4))
    _ = kf


def test_failure_mid_weights_write_leaves_previous_file(tmp, monkeypatch):
    m = _model()
    p = tmp / "m.weights.h5"
    m.save_weights(p)
    original = p.read_bytes()
    import jkeras.saving.weights_h5 as wh5

    def boom(*a, **k):
        raise RuntimeError("crash while serializing (simulated)")

    monkeypatch.setattr(wh5, "_write_array", boom)
    with pytest.raises(RuntimeError):
        m.save_weights(p)
    monkeypatch.undo()
    assert p.read_bytes() == original


def test_saved_file_keeps_permissions_of_replaced_file(tmp):
    m = _model()
    p = tmp / "m.keras"
    m.save(p)
    os.chmod(p, 0o640)
    m.save(p)
    assert (os.stat(p).st_mode & 0o777) == 0o640


# ------------------------------------------------------------------------------------
# damaged files
# ------------------------------------------------------------------------------------
def _saved_bytes(tmp):
    m = _model()
    p = tmp / "good.keras"
    m.save(p)
    return p.read_bytes()


@pytest.mark.parametrize("damage", ["empty", "truncated", "random", "no_config", "bad_json",
                                    "no_weights", "h5_truncated", "weights_random"])
def test_damaged_keras_files_raise_clean_errors(tmp, damage):
    good = _saved_bytes(tmp)
    p = tmp / f"{damage}.keras"
    if damage == "empty":
        data = b""
    elif damage == "truncated":
        data = good[: len(good) // 2]
    elif damage == "random":
        data = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    else:
        zin = zipfile.ZipFile(io.BytesIO(good))
        parts = {n: zin.read(n) for n in zin.namelist()}
        if damage == "no_config":
            del parts["config.json"]
        elif damage == "bad_json":
            parts["config.json"] = parts["config.json"][:-7]
        elif damage == "no_weights":
            del parts["model.weights.h5"]
        elif damage == "h5_truncated":
            parts["model.weights.h5"] = parts["model.weights.h5"][:3000]
        elif damage == "weights_random":
            parts["model.weights.h5"] = b"\x89HDF\r\n\x1a\n" + bytes(200)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for n, d in parts.items():
                z.writestr(n, d)
        data = buf.getvalue()
    p.write_bytes(data)
    with pytest.raises((ValueError, OSError)) as e:
        load_model(p)
    assert f"{damage}.keras" in str(e.value)
    assert not isinstance(e.value, (KeyError,))


def test_missing_file_is_file_not_found(tmp):
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        load_model(tmp / "nope.keras")
    with pytest.raises(FileNotFoundError):
        _model().load_weights(tmp / "nope.weights.h5")


def test_huge_declared_layer_refused_before_allocation(tmp):
    from jkeras.saving.limits import has_engine_hook

    if not has_engine_hook():
        pytest.skip("engine allocation hook not present")
    good = _saved_bytes(tmp)
    zin = zipfile.ZipFile(io.BytesIO(good))
    parts = {n: zin.read(n) for n in zin.namelist()}
    cfg = json.loads(parts["config.json"])
    for e in cfg["config"]["layers"]:
        if e["class_name"] == "Dense":
            e["config"]["units"] = 10**9
            break
    parts["config.json"] = json.dumps(cfg).encode()
    p = tmp / "huge.keras"
    with zipfile.ZipFile(p, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    with pytest.raises(ValueError, match="huge.keras.*bytes"):
        load_model(p)


# ------------------------------------------------------------------------------------
# an archive laid out as Keras 3.6 writes it (hand-built until real fixtures exist)
# ------------------------------------------------------------------------------------
def _policy(name="float32"):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def _keras3_dense(name, units, activation, src, shape):
    return {
        "module": "keras.layers", "class_name": "Dense", "registered_name": None,
        "config": {"name": name, "trainable": True, "dtype": _policy(), "units": units,
                   "activation": activation, "use_bias": True,
                   "kernel_initializer": {"module": "keras.initializers",
                                          "class_name": "GlorotUniform",
                                          "config": {"seed": None}, "registered_name": None},
                   "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                        "config": {}, "registered_name": None},
                   "kernel_regularizer": None, "bias_regularizer": None,
                   "kernel_constraint": None, "bias_constraint": None, "lora_rank": None},
        "build_config": {"input_shape": shape}, "name": name,
        "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": shape, "dtype": "float32", "keras_history": [src, 0, 0]}}],
            "kwargs": {}}]}


def test_loads_archive_in_keras3_layout(tmp):
    rng = np.random.default_rng(3)
    k0, b0 = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=3).astype("float32")
    k1, b1 = rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=2).astype("float32")
    config = {
        "module": "keras.src.models.functional", "class_name": "Functional",
        "registered_name": "Functional", "build_config": {"input_shape": None},
        "config": {"name": "functional", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False,
                        "ragged": False, "name": "input_layer", "optional": False},
             "name": "input_layer", "inbound_nodes": []},
            _keras3_dense("dense", 3, "relu", "input_layer", [None, 4]),
            _keras3_dense("dense_1", 2, "linear", "dense", [None, 3]),
        ], "input_layers": [["input_layer", 0, 0]], "output_layers": [["dense_1", 0, 0]]},
    }
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        f.create_group("vars")
        f.create_group("layers/input_layer/vars")
        for name, (k, b) in (("dense", (k0, b0)), ("dense_1", (k1, b1))):
            g = f.create_group(f"layers/{name}/vars")
            g["0"], g["1"] = k, b
    p = tmp / "k3.keras"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0",
                                                "date_saved": "2024-10-01@12:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", bio.getvalue())
    m = load_model(p)
    x = _x(5, 4)
    out = np.asarray(m(x))
    assert out.shape == (5, 2)  # a list of one output is unpacked, as in Keras
    np.testing.assert_allclose(out, np.maximum(x @ k0 + b0, 0) @ k1 + b1, rtol=1e-5, atol=1e-5)


@jkeras.saving.register_keras_serializable(package="TestFiles")
class TwoLayerNet(jkeras.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="relu")
        self.head = layers.Dense(1)

    def call(self, x):
        return self.head(self.hidden(x))

    def get_config(self):
        return {"name": self.name, "units": self.units}


def test_subclassed_model_weights_walk_attributes(tmp):
    m = TwoLayerNet(4)
    x = _x(2, 3)
    m(x)
    p = tmp / "sub.weights.h5"
    m.save_weights(p)
    data, _ = _datasets(str(p))
    assert set(data) == {"head/vars/0", "head/vars/1", "hidden/vars/0", "hidden/vars/1"}
    m2 = TwoLayerNet(4)
    m2(x)
    m2.load_weights(p)
    _assert_same(m, m2, x)


def test_subclassed_model_keras_file_round_trip(tmp):
    m = TwoLayerNet(4)
    x = _x(2, 3)
    m(x)
    if getattr(m, "_build_input_shape", None) is None:
        pytest.skip("Layer._maybe_build does not record _build_input_shape yet (engine)")
    p = tmp / "sub.keras"
    m.save(p)
    m2 = load_model(p)
    assert isinstance(m2, TwoLayerNet)
    _assert_same(m, m2, x)


def test_models_pickle_and_deepcopy_through_the_keras_format():
    import copy
    import pickle

    model = jkeras.Sequential([jkeras.Input((3,)), jkeras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert clone is not model and clone.compiled
        np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
        assert clone.optimizer.iterations == 1
        assert clone.layers[0].kernel is not model.layers[0].kernel
