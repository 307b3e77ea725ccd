"""Keras 1/2 HDF5 files: weights by topology and by name, whole Keras 2 models,
Keras 1 weight conversions; files built here with h5py in the Keras 1/2 layout."""

import json
import warnings

import numpy as np
import pytest

import jkeras
from jkeras import Input, Model, Sequential, layers
from jkeras.saving import load_model

h5py = pytest.importorskip("h5py")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _write_layers(group, layer_weights, version="2.15.0", backend="tensorflow", keras1=False):
    """layer_weights: list of (layer_name, [(weight_name, array)])."""
    group.attrs["layer_names"] = np.array([n.encode() for n, _ in layer_weights])
    group.attrs["backend"] = backend.encode()
    if version is not None:
        group.attrs["keras_version"] = version.encode()
    for name, weights in layer_weights:
        g = group.create_group(name)
        names = [wn if keras1 else f"{name}/{wn}:0" for wn, _ in weights]
        g.attrs["weight_names"] = np.array([n.encode() for n in names])
        for n, (_, arr) in zip(names, weights):
            g.create_dataset(n, data=arr)


def _keras2_functional_config():
    dense = lambda name, units, act: {  # noqa: E731
        "class_name": "Dense",
        "config": {"name": name, "trainable": True, "dtype": "float32", "units": units,
                   "activation": act, "use_bias": True,
                   "kernel_initializer": {"class_name": "GlorotUniform",
                                          "config": {"seed": None}},
                   "bias_initializer": {"class_name": "Zeros", "config": {}},
                   "kernel_regularizer": None, "bias_regularizer": None,
                   "activity_regularizer": None, "kernel_constraint": None,
                   "bias_constraint": None}}
    layers_cfg = [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "input_1"}},
        {**dense("dense", 3, "relu"), "name": "dense",
         "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {**dense("dense_1", 3, "tanh"), "name": "dense_1",
         "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"class_name": "Concatenate", "name": "concatenate",
         "config": {"name": "concatenate", "trainable": True, "dtype": "float32", "axis": -1},
         "inbound_nodes": [[["dense", 0, 0, {}], ["dense_1", 0, 0, {}]]]},
        {**dense("dense_2", 2, "softmax"), "name": "dense_2",
         "inbound_nodes": [[["concatenate", 0, 0, {}]]]},
    ]
    return {"class_name": "Functional", "config": {
        "name": "model", "layers": layers_cfg, "input_layers": [["input_1", 0, 0]],
        "output_layers": [["dense_2", 0, 0]]}}


def _keras2_weights():
    rng = np.random.default_rng(1)
    w = lambda *s: rng.normal(size=s).astype("float32")  # noqa: E731
    return [("input_1", []),
            ("dense", [("kernel", w(4, 3)), ("bias", w(3))]),
            ("dense_1", [("kernel", w(4, 3)), ("bias", w(3))]),
            ("concatenate", []),
            ("dense_2", [("kernel", w(6, 2)), ("bias", w(2))])]


def _reference(weights, x):
    d = dict(weights)
    k0, b0 = d["dense"][0][1], d["dense"][1][1]
    k1, b1 = d["dense_1"][0][1], d["dense_1"][1][1]
    k2, b2 = d["dense_2"][0][1], d["dense_2"][1][1]
    h = np.concatenate([np.maximum(x @ k0 + b0, 0), np.tanh(x @ k1 + b1)], axis=-1)
    z = h @ k2 + b2
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_load_whole_keras2_model(tmp_path):
    p = tmp_path / "k2.h5"
    weights = _keras2_weights()
    with h5py.File(p, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(_keras2_functional_config())
        f.attrs["training_config"] = json.dumps({
            "loss": "categorical_crossentropy", "metrics": ["accuracy"],
            "optimizer_config": {"class_name": "Adam", "config": {
                "name": "Adam", "learning_rate": 0.01, "decay": 0.0, "beta_1": 0.9,
                "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}})
        _write_layers(f.create_group("model_weights"), weights)
    m = load_model(p)
    x = _x(5, 4)
    out = np.asarray(m(x))
    assert out.shape == (5, 2)  # single output unpacked, as in Keras 2
    np.testing.assert_allclose(out, _reference(weights, x), rtol=1e-5, atol=1e-6)
    if getattr(m, "compiled", False):
        assert m.optimizer.learning_rate == pytest.approx(0.01)
    m2 = load_model(p, compile=False)
    assert not getattr(m2, "compiled", False)


def test_load_keras2_weights_by_topology_and_by_name(tmp_path):
    p = tmp_path / "w.h5"
    weights = _keras2_weights()
    with h5py.File(p, "w") as f:
        _write_layers(f, weights)
    m = jkeras.saving.model_from_config(_keras2_functional_config())
    m.load_weights(p)
    x = _x(3, 4)
    np.testing.assert_allclose(np.asarray(m(x)), _reference(weights, x), rtol=1e-5, atol=1e-6)
    # by name: a different architecture sharing two layer names
    inp = Input(shape=(4,))
    other = Model(inp, layers.Dense(3, name="dense_1")(layers.Dense(4, name="dense")(inp)))
    with pytest.raises(ValueError, match="dense.*shape"):
        other.load_weights(p, by_name=True)
    with pytest.warns(UserWarning):
        other.load_weights(p, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(other.get_layer("dense_1").kernel.numpy(),
                                  dict(weights)["dense_1"][0][1])


def test_topology_mismatch_is_a_clear_error(tmp_path):
    p = tmp_path / "w.h5"
    with h5py.File(p, "w") as f:
        _write_layers(f, _keras2_weights())
    s = Sequential([layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match="3 layer.*1 layer.*by_name"):
        s.load_weights(p)


def test_keras1_model_with_merge_and_keras1_weight_names(tmp_path):
    cfg = {"class_name": "Model", "config": {"name": "model_1", "layers": [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "input_dtype": "float32", "sparse": False,
                    "name": "input_1"}},
        {"class_name": "Dense", "name": "dense_1", "inbound_nodes": [[["input_1", 0, 0]]],
         "config": {"W_constraint": None, "b_constraint": None, "name": "dense_1",
                    "activity_regularizer": None, "trainable": True, "init": "glorot_uniform",
                    "bias": True, "input_dim": None, "b_regularizer": None,
                    "W_regularizer": None, "activation": "relu", "output_dim": 3}},
        {"class_name": "Dense", "name": "dense_2", "inbound_nodes": [[["input_1", 0, 0]]],
         "config": {"name": "dense_2", "trainable": True, "init": "glorot_uniform",
                    "bias": True, "activation": "tanh", "output_dim": 3,
                    "W_regularizer": None, "b_regularizer": None,
                    "activity_regularizer": None, "W_constraint": None,
                    "b_constraint": None, "input_dim": None}},
        {"class_name": "Merge", "name": "merge_1",
         "inbound_nodes": [[["dense_1", 0, 0], ["dense_2", 0, 0]]],
         "config": {"name": "merge_1", "concat_axis": -1, "mode_type": "raw", "dot_axes": -1,
                    "mode": "concat", "output_shape": None, "output_shape_type": "raw",
                    "output_mask_type": "raw", "arguments": {}, "output_mask": None}},
        {"class_name": "Dense", "name": "dense_3", "inbound_nodes": [[["merge_1", 0, 0]]],
         "config": {"name": "dense_3", "trainable": True, "init": "glorot_uniform",
                    "bias": True, "activation": "softmax", "output_dim": 2,
                    "W_regularizer": None, "b_regularizer": None,
                    "activity_regularizer": None, "W_constraint": None,
                    "b_constraint": None, "input_dim": None}},
    ], "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_3", 0, 0]]}}
    k2 = _keras2_weights()
    d = dict(k2)
    keras1_weights = [("input_1", []),
                      ("dense_1", [("dense_1_W", d["dense"][0][1]),
                                   ("dense_1_b", d["dense"][1][1])]),
                      ("dense_2", [("dense_2_W", d["dense_1"][0][1]),
                                   ("dense_2_b", d["dense_1"][1][1])]),
                      ("merge_1", []),
                      ("dense_3", [("dense_3_W", d["dense_2"][0][1]),
                                   ("dense_3_b", d["dense_2"][1][1])])]
    p = tmp_path / "k1.h5"
    with h5py.File(p, "w") as f:
        f.attrs["model_config"] = json.dumps(cfg).encode()
        _write_layers(f.create_group("model_weights"), keras1_weights, version=None,
                      keras1=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        m = load_model(p)
    assert isinstance(m.get_layer("merge_1"), layers.Concatenate)
    x = _x(3, 4)
    np.testing.assert_allclose(np.asarray(m(x)), _reference(k2, x), rtol=1e-5, atol=1e-6)


def test_keras1_lstm_weights_are_fused_in_keras2_gate_order(tmp_path):
    from jkeras.layers.recurrent import LSTM

    units, dim = 2, 3
    rng = np.random.default_rng(0)
    parts = {}
    for gate in "icfo":
        parts[gate] = (rng.normal(size=(dim, units)).astype("float32"),
                       rng.normal(size=(units, units)).astype("float32"),
                       rng.normal(size=(units,)).astype("float32"))
    names = []
    for gate in "icfo":  # Keras 1 order: i, c, f, o
        names += [(f"lstm_1_W_{gate}", parts[gate][0]), (f"lstm_1_U_{gate}", parts[gate][1]),
                  (f"lstm_1_b_{gate}", parts[gate][2])]
    p = tmp_path / "lstm1.h5"
    with h5py.File(p, "w") as f:
        _write_layers(f, [("lstm_1", names)], version=None, keras1=True)
    inp = Input(shape=(5, dim))
    lstm = LSTM(units, name="lstm_1")
    m = Model(inp, lstm(inp))
    m.load_weights(p)
    kernel, rec, bias = [w for w in m.get_weights()]
    order = "ifco"  # Keras 2 order
    np.testing.assert_array_equal(kernel, np.concatenate([parts[g][0] for g in order], -1))
    np.testing.assert_array_equal(rec, np.concatenate([parts[g][1] for g in order], -1))
    np.testing.assert_array_equal(bias, np.concatenate([parts[g][2] for g in order], -1))


def test_theano_conv_kernels_are_flipped(tmp_path):
    from jkeras.saving.legacy_h5 import convert_kernel

    conv_cls = jkeras.layers.Conv2D
    k = np.arange(2 * 2 * 1 * 1, dtype="float32").reshape(2, 2, 1, 1)
    p = tmp_path / "th.h5"
    with h5py.File(p, "w") as f:
        _write_layers(f, [("conv", [("kernel", k), ("bias", np.zeros(1, "float32"))])],
                      version="2.1.0", backend="theano")
    inp = Input(shape=(4, 4, 1))
    m = Model(inp, conv_cls(1, (2, 2), name="conv")(inp))
    m.load_weights(p)
    np.testing.assert_array_equal(m.get_weights()[0], convert_kernel(k))
    np.testing.assert_array_equal(convert_kernel(k)[..., 0, 0], k[::-1, ::-1, 0, 0])


def test_jkeras_writes_keras2_layout_h5_and_reads_it_back(tmp_path):
    x = Input(shape=(4,))
    h = layers.Dense(3, name="d1")(x)
    y = layers.Dense(2, name="d2")(layers.BatchNormalization(name="bn")(h))
    m = Model(x, y)
    p = tmp_path / "w.h5"
    m.save_weights(p)
    with h5py.File(p, "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        assert "d1" in names and "bn" in names
        wn = [n.decode() for n in f["bn"].attrs["weight_names"]]
        assert len(wn) == 4
        np.testing.assert_array_equal(f["d1"][f["d1"].attrs["weight_names"][0].decode()][()],
                                      m.get_layer("d1").kernel.numpy())
    m2 = Model.from_config(m.get_config())
    m2.load_weights(p)
    xx = _x(3, 4)
    np.testing.assert_array_equal(np.asarray(m(xx)), np.asarray(m2(xx)))
    m2.load_weights(p, by_name=True)
    full = tmp_path / "m.h5"
    m.save(full)
    m3 = load_model(full)
    np.testing.assert_array_equal(np.asarray(m(xx)), np.asarray(m3(xx)))
    with h5py.File(full, "r") as f:
        assert "model_config" in f.attrs and "model_weights" in f


def test_tf_only_layers_are_refused_clearly(tmp_path):
    cfg = _keras2_functional_config()
    cfg["config"]["layers"][3] = {
        "class_name": "TFOpLambda", "name": "tf.concat",
        "config": {"name": "tf.concat", "function": "concat"},
        "inbound_nodes": [[["dense", 0, 0, {}], ["dense_1", 0, 0, {}]]]}
    with pytest.raises(ValueError, match="TFOpLambda.*TensorFlow"):
        jkeras.saving.model_from_config(cfg)


def test_weights_only_h5_load_model_error(tmp_path):
    p = tmp_path / "w.h5"
    with h5py.File(p, "w") as f:
        _write_layers(f, _keras2_weights())
    with pytest.raises(ValueError, match="weights-only"):
        load_model(p)
