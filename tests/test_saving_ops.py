"""Ops between layers in saved graphs, exchanged with Keras 3: the op classes Keras
records (`Einsum`, `GetItem`, `LayerNorm`, `Resize`, `Det`, ...), their constructor
arguments in the op's config and the call arguments in the node.

tests/data/keras_ops/functional_ops.json is `model.get_config()` of a graph of ops
written by Keras 3.15.1 (tests/data/keras_ops/make_config.py)."""

import copy
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import jkeras
from jkeras.engine.functional import Functional

DATA = Path(__file__).parent / "data" / "keras_ops"
KERAS_CONFIG = json.loads((DATA / "functional_ops.json").read_text())
RNG = np.random.default_rng(0)
INPUTS = [RNG.normal(size=(2, 4, 6)).astype("float32"), RNG.normal(size=(2, 6)).astype("float32"),
          RNG.normal(size=(2, 8, 8, 3)).astype("float32"),
          np.array([[0, 3, 4], [1, 1, 2]], "int32")]


def _build_like_keras():
    """The graph of make_config.py, built with jkeras."""
    spec = importlib.util.spec_from_file_location("keras_ops_make_config", DATA / "make_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(jkeras)


@pytest.fixture(scope="module")
def jkeras_model():
    return _build_like_keras()


def _expected(a, b, img, idx):
    e = np.einsum("bij,bj->bi", a, b)
    sm = np.exp(e - e.max(-1, keepdims=True))
    sm /= sm.sum(-1, keepdims=True)
    s = a[:, 1:3, ::2].sum(1)
    mu, var = a.mean(-1, keepdims=True), a.var(-1, keepdims=True)
    ln = ((a - mu) / np.sqrt(var + jkeras.config.epsilon())).reshape(-1, 24)
    g = img.mean((1, 2))  # bilinear 8 -> 4 without antialias averages 2x2 blocks
    d = np.linalg.det(a @ a.transpose(0, 2, 1) + np.eye(4))[:, None]
    order = np.argsort(-e, axis=-1, kind="stable")[:, :2]
    v = np.take_along_axis(e, order, -1)
    oh = np.eye(5, dtype="float32")[idx].reshape(-1, 15)
    return np.concatenate([sm, s, ln, g, d, v, order.astype("float32"), oh], -1)


def _op_entries(config):
    """Each op entry as (module, class, config without the name, nodes with tensor
    references reduced to shapes), sorted: comparable across Keras and jkeras names."""
    def strip(x):
        if isinstance(x, dict):
            if x.get("class_name") == "__keras_tensor__":
                return ["tensor", x["config"]["shape"], x["config"]["dtype"]]
            return {k: strip(v) for k, v in x.items()}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    out = []
    for entry in config["layers"]:
        if entry["module"].startswith("keras.src.ops"):
            inner = {k: v for k, v in entry["config"].items() if k != "name"}
            out.append(json.dumps([entry["module"], entry["class_name"], entry["registered_name"],
                                   inner, strip(entry["inbound_nodes"])], sort_keys=True))
    return sorted(out)


def test_config_of_ops_is_written_as_keras_writes_it(jkeras_model):
    config = json.loads(json.dumps(jkeras_model.get_config()))
    assert _op_entries(config) == _op_entries(KERAS_CONFIG)
    by_class = {e["class_name"]: e for e in config["layers"]}
    assert by_class["Einsum"]["config"]["subscripts"] == "bij,bj->bi"
    assert by_class["Einsum"]["module"] == "keras.src.ops.numpy"
    assert by_class["LayerNorm"]["module"] == "keras.src.ops.nn"
    assert by_class["Det"]["module"] == "keras.src.ops.linalg"
    assert by_class["Resize"]["module"] == "keras.src.ops.image"
    assert by_class["Cast"]["module"] == "keras.src.ops.core"
    assert by_class["TopK"]["module"] == "keras.src.ops.math"
    # the node holds only the call arguments (the tensors)
    einsum_args = by_class["Einsum"]["inbound_nodes"][0]["args"]
    assert [x["class_name"] for x in einsum_args] == ["__keras_tensor__"] * 2


def test_keras_config_loads_and_computes():
    model = Functional.from_config(copy.deepcopy(KERAS_CONFIG))
    got = np.asarray(model.predict(INPUTS, verbose=0))
    np.testing.assert_allclose(got, _expected(*INPUTS), rtol=1e-5, atol=1e-5)
    # saved again, the config is Keras's
    assert _op_entries(json.loads(json.dumps(model.get_config()))) == _op_entries(KERAS_CONFIG)


def test_keras_file_round_trip(tmp_path, jkeras_model):
    path = tmp_path / "ops.keras"
    jkeras_model.save(path)
    loaded = jkeras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.predict(INPUTS, verbose=0)),
                               _expected(*INPUTS), rtol=1e-5, atol=1e-5)
    assert _op_entries(json.loads(json.dumps(loaded.get_config()))) == _op_entries(
        KERAS_CONFIG)


def test_older_jkeras_configs_keep_loading():
    # jkeras wrote the whole call in the node and only the name in the config
    x = jkeras.Input((2, 3), name="x")
    y = jkeras.Input((3,), name="y")
    config = json.loads(json.dumps(jkeras.Model([x, y], jkeras.ops.einsum("bij,bj->bi", x, y))
                                   .get_config()))
    entry = next(e for e in config["layers"] if e["class_name"] == "Einsum")
    entry["config"] = {"name": entry["config"]["name"]}
    entry["inbound_nodes"][0]["args"].insert(0, "bij,bj->bi")
    model = Functional.from_config(config)
    a, b = np.ones((1, 2, 3), "float32"), np.arange(3, dtype="float32")[None]
    np.testing.assert_allclose(np.asarray(model.predict([a, b], verbose=0)), [[3.0, 3.0]])


def test_group_query_attention_is_saved_under_keras_name():
    layer = jkeras.layers.GroupQueryAttention(head_dim=2, num_query_heads=2,
                                              num_key_value_heads=1)
    entry = jkeras.saving.serialize_keras_object(layer)
    assert (entry["module"], entry["class_name"]) == ("keras.layers", "GroupQueryAttention")
    assert type(jkeras.saving.deserialize_keras_object(entry)) is type(layer)
