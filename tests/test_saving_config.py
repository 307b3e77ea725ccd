"""Configs: serialize/deserialize, the registry, Functional/Sequential configs in
Keras 3's layout, JSON round trips and clone_model."""

import json

import numpy as np
import pytest

import jkeras
from jkeras import Input, Model, Sequential, layers
from jkeras.saving import (
    clone_model,
    deserialize_keras_object,
    get_registered_name,
    get_registered_object,
    model_from_json,
    register_keras_serializable,
    serialize_keras_object,
)
from jkeras.saving.functional_config import keras_layer_order


def _out(model, x):
    out = model(x)
    if isinstance(out, (list, tuple)):
        return [np.asarray(o) for o in out]
    return np.asarray(out)


def _same_outputs(a, b, x):
    oa, ob = _out(a, x), _out(b, x)
    if isinstance(oa, list):
        for p, q in zip(oa, ob):
            np.testing.assert_allclose(p, q, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_allclose(oa, ob, rtol=1e-6, atol=1e-6)


def _copy_weights(src, dst):
    dst.set_weights(src.get_weights())


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ------------------------------------------------------------------------------------
# objects
# ------------------------------------------------------------------------------------
def test_dense_serializes_in_keras3_layout():
    d = layers.Dense(3, activation="relu", kernel_regularizer="l2", name="d")
    cfg = serialize_keras_object(d)
    assert cfg["module"] == "keras.layers"
    assert cfg["class_name"] == "Dense"
    assert cfg["registered_name"] is None
    assert cfg["config"]["units"] == 3
    assert cfg["config"]["activation"] == "relu"
    assert cfg["config"]["kernel_initializer"]["module"] == "keras.initializers"
    assert cfg["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert cfg["config"]["kernel_regularizer"]["class_name"] == "L2"
    json.dumps(cfg)
    d2 = deserialize_keras_object(cfg)
    assert isinstance(d2, layers.Dense) and d2.units == 3 and d2.name == "d"
    assert d2.kernel_regularizer.l2 == pytest.approx(0.01)


def test_initializers_regularizers_constraints_round_trip():
    for obj in (jkeras.initializers.RandomNormal(0.5, 2.0, seed=3),
                jkeras.regularizers.L1L2(0.1, 0.2), jkeras.constraints.MaxNorm(3.0, axis=1)):
        cfg = serialize_keras_object(obj)
        back = deserialize_keras_object(cfg)
        assert type(back) is type(obj)
        assert back.get_config() == obj.get_config()


def test_plain_values_and_special_entries_round_trip():
    value = {"a": (1, 2), "b": [np.float32(1.5)], "s": slice(1, None, 2), "e": Ellipsis,
             "n": np.arange(3, dtype="int32"), "by": b"xy"}
    cfg = json.loads(json.dumps(serialize_keras_object(value)))
    back = deserialize_keras_object(cfg)
    assert back["a"] == [1, 2] and back["b"] == [1.5]
    assert back["s"] == slice(1, None, 2) and back["e"] is Ellipsis and back["by"] == b"xy"
    np.testing.assert_array_equal(back["n"], np.arange(3))
    assert back["n"].dtype == np.int32


def test_builtin_functions_by_name():
    cfg = serialize_keras_object(jkeras.activations.relu)
    assert cfg["class_name"] == "function" and cfg["config"] == "relu"
    assert deserialize_keras_object(cfg) is jkeras.activations.relu


def test_unknown_class_error_names_it_and_suggests_registration():
    with pytest.raises(ValueError, match="NoSuchLayer.*register_keras_serializable"):
        deserialize_keras_object({"module": "keras.layers", "class_name": "NoSuchLayer",
                                  "config": {}}, kind="layer")


# ------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------
@register_keras_serializable(package="TestPkg")
class Scale(jkeras.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "ones")
        self.built = True

    def call(self, x):
        return x * self.w.value * self.factor

    def compute_output_shape(self, s):
        return s

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_keras_serializable(package="TestPkg", name="my_act")
def my_activation(x):
    return x * 3.0


class Unregistered(jkeras.Layer):
    def call(self, x):
        return x


class HalfInit(jkeras.initializers.Initializer):
    def __call__(self, shape, dtype="float32"):
        import jax.numpy as jnp

        return jnp.full(shape, 0.5, dtype)


def test_register_keras_serializable_names():
    assert get_registered_name(Scale) == "TestPkg>Scale"
    assert get_registered_object("TestPkg>Scale") is Scale
    assert get_registered_name(my_activation) == "TestPkg>my_act"
    assert get_registered_object("my_act") is my_activation
    with pytest.raises(ValueError, match="get_config"):
        register_keras_serializable()(type("NoConfig", (), {}))
    with pytest.raises(ValueError, match="package"):
        register_keras_serializable(package="a>b")


def test_registered_custom_layer_and_activation_in_a_model_round_trip():
    x = Input(shape=(3,))
    y = Scale(1.5)(layers.Dense(2, activation=my_activation)(x))
    m = Model(x, y)
    cfg = m.get_config()
    scale_entry = [e for e in cfg["layers"] if e["class_name"] == "Scale"][0]
    assert scale_entry["registered_name"] == "TestPkg>Scale"
    m2 = Model.from_config(json.loads(json.dumps(cfg)))
    _copy_weights(m, m2)
    _same_outputs(m, m2, _x(4, 3))


def test_unregistered_custom_layer_needs_custom_objects():
    x = Input(shape=(3,))
    m = Model(x, Unregistered(name="u")(x))
    text = m.to_json()
    with pytest.raises(ValueError, match="Unregistered.*custom_objects"):
        model_from_json(text)
    m2 = model_from_json(text, custom_objects={"Unregistered": Unregistered})
    assert isinstance(m2.get_layer("u"), Unregistered)


def test_custom_initializer_via_custom_objects():
    x = Input(shape=(3,))
    m = Model(x, layers.Dense(2, kernel_initializer=HalfInit())(x))
    text = m.to_json()
    with pytest.raises(ValueError, match="HalfInit"):
        model_from_json(text)
    m2 = model_from_json(text, custom_objects={"HalfInit": HalfInit})
    np.testing.assert_allclose(m2.layers[-1].kernel.numpy(), 0.5)


def test_custom_object_scope():
    x = Input(shape=(3,))
    text = Model(x, Unregistered(name="u")(x)).to_json()
    with jkeras.saving.custom_object_scope({"Unregistered": Unregistered}):
        m2 = model_from_json(text)
    assert isinstance(m2.layers[-1], Unregistered)


# ------------------------------------------------------------------------------------
# functional configs
# ------------------------------------------------------------------------------------
def _two_branch():
    a = Input(shape=(4,), name="a")
    b = Input(shape=(4,), name="b")
    shared = layers.Dense(3, name="shared")
    ha, hb = shared(a), shared(b)
    merged = layers.concatenate([ha, hb], name="cat")
    out1 = layers.Dense(2, name="out1")(merged)
    out2 = layers.Dense(1, activation="sigmoid", name="out2")(hb)
    return Model([a, b], [out1, out2], name="two")


def test_functional_config_layout_matches_keras3():
    m = _two_branch()
    cfg = m.get_config()
    assert cfg["name"] == "two"
    assert cfg["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert cfg["output_layers"] == [["out1", 0, 0], ["out2", 0, 0]]
    by_name = {e["name"]: e for e in cfg["layers"]}
    assert by_name["a"]["class_name"] == "InputLayer"
    assert by_name["a"]["config"]["batch_shape"] == [None, 4]
    shared = by_name["shared"]
    assert len(shared["inbound_nodes"]) == 2
    hist = [n["args"][0]["config"]["keras_history"] for n in shared["inbound_nodes"]]
    assert hist == [["a", 0, 0], ["b", 0, 0]]
    cat_args = by_name["cat"]["inbound_nodes"][0]["args"][0]
    assert [t["config"]["keras_history"] for t in cat_args] == [["shared", 0, 0],
                                                                  ["shared", 1, 0]]
    assert by_name["out2"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == [
        "shared", 1, 0]


def test_keras_layer_order_is_depth_first():
    m = _two_branch()
    names = [la.name for la in keras_layer_order(m)]
    assert names.index("shared") < names.index("cat") < names.index("out1")
    assert set(names) == {"a", "b", "shared", "cat", "out1", "out2"}


def test_shared_layers_two_outputs_round_trip():
    m = _two_branch()
    m2 = Model.from_config(json.loads(json.dumps(m.get_config())))
    assert [la.name for la in m2.layers] == [la.name for la in m.layers]
    assert len(m2.get_layer("shared").inbound_nodes) == 2
    _copy_weights(m, m2)
    _same_outputs(m, m2, [_x(5, 4), _x(5, 4, seed=1)])


def test_single_input_config_is_a_leaf_and_structure_is_kept():
    x = Input(shape=(2,))
    m = Model(x, layers.Dense(1)(x))
    cfg = m.get_config()
    assert cfg["input_layers"] == ["input_layer", 0, 0]
    assert cfg["output_layers"] == ["dense", 0, 0]
    m2 = Model.from_config(cfg)
    assert not isinstance(m2.output, list)


def test_dict_inputs_and_outputs_round_trip():
    a = Input(shape=(2,), name="a")
    b = Input(shape=(3,), name="b")
    h = layers.concatenate([a, b])
    m = Model({"a": a, "b": b}, {"y": layers.Dense(1, name="y")(h)})
    cfg = json.loads(json.dumps(m.get_config()))
    assert cfg["input_layers"] == {"a": ["a", 0, 0], "b": ["b", 0, 0]}
    m2 = Model.from_config(cfg)
    _copy_weights(m, m2)
    x = {"a": _x(2, 2), "b": _x(2, 3)}
    np.testing.assert_allclose(np.asarray(m(x)["y"]), np.asarray(m2(x)["y"]), atol=1e-6)


def test_ops_between_layers_are_saved_as_op_nodes():
    x = Input(shape=(3,))
    h = layers.Dense(3)(x)
    y = (h + x) * 2.0 - jkeras.ops.relu(h)
    z = jkeras.ops.concatenate([y, h], axis=-1)[:, 1:4]
    m = Model(x, z)
    cfg = json.loads(json.dumps(m.get_config()))
    classes = {e["class_name"] for e in cfg["layers"]}
    assert {"Add", "Multiply", "Subtract", "Relu", "Concatenate", "GetItem"} <= classes
    add = [e for e in cfg["layers"] if e["class_name"] == "Add"][0]
    assert add["module"].startswith("keras.src.ops")
    m2 = Model.from_config(cfg)
    _copy_weights(m, m2)
    _same_outputs(m, m2, _x(4, 3))


def test_nested_models_and_sequential_round_trip():
    inner_in = Input(shape=(4,))
    inner = Model(inner_in, layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    seq = Sequential([layers.Dense(3, input_shape=(3,), name="s1"), layers.Dense(2, name="s2")],
                     name="seq")
    x = Input(shape=(4,))
    h1 = inner(x)
    h2 = inner(layers.Dense(4)(x))  # nested model shared: two calls
    y = seq(layers.add([h1, h2]))
    m = Model(x, [y, h1])
    cfg = json.loads(json.dumps(m.get_config()))
    entries = {e["name"]: e for e in cfg["layers"]}
    assert entries["inner"]["class_name"] == "Functional"
    assert entries["inner"]["module"] == "keras.src.models.functional"
    assert entries["seq"]["class_name"] == "Sequential"
    assert entries["seq"]["config"]["layers"][0]["class_name"] == "InputLayer"
    # Keras 3: references to a nested Functional's outputs in output_layers are shifted
    assert cfg["output_layers"][1] == ["inner", 1, 0]
    m2 = Model.from_config(cfg)
    _copy_weights(m, m2)
    _same_outputs(m, m2, _x(3, 4))
    assert len(m2.get_layer("inner").inbound_nodes) == 2


def test_submodel_from_intermediate_tensors_round_trips():
    x = Input(shape=(4,))
    h = layers.Dense(3, name="first")(x)
    y = layers.Dense(2, name="second")(h)
    sub = Model(h, y)
    cfg = sub.get_config()
    assert cfg["layers"][0]["class_name"] == "InputLayer"
    sub2 = Model.from_config(cfg)
    sub2.get_layer("second").set_weights(sub.get_layer("second").get_weights())
    _same_outputs(sub, sub2, _x(2, 3))


def test_duplicate_layer_names_refused_at_save():
    x = Input(shape=(2,))
    y = layers.Dense(2, name="same")(layers.Dense(2, name="same")(x))
    with pytest.raises(ValueError, match="same.*unique"):
        Model(x, y).get_config()


def test_inconsistent_config_gives_clean_error():
    m = _two_branch()
    cfg = m.get_config()
    for e in cfg["layers"]:
        if e["name"] == "cat":
            e["inbound_nodes"][0]["args"][0][0]["config"]["keras_history"] = ["shared", 7, 0]
    with pytest.raises(ValueError, match="inconsistent"):
        Model.from_config(cfg)
    cfg = m.get_config()
    cfg["output_layers"] = [["nope", 0, 0]]
    with pytest.raises(ValueError, match="nope"):
        Model.from_config(cfg)


def test_sequential_config_and_round_trip():
    s = Sequential([layers.Dense(4, input_shape=(3,), activation="tanh"), layers.Dropout(0.1),
                    layers.Dense(2)], name="s")
    cfg = json.loads(json.dumps(s.get_config()))
    assert cfg["build_input_shape"] == [None, 3]
    assert [e["class_name"] for e in cfg["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]
    assert "batch_input_shape" not in cfg["layers"][1]["config"]
    s2 = Sequential.from_config(cfg)
    assert [type(la) for la in s2.layers] == [type(la) for la in s.layers]
    _copy_weights(s, s2)
    _same_outputs(s, s2, _x(5, 3))


def test_unbuilt_sequential_round_trips():
    s = Sequential([layers.Dense(2), layers.Dense(1)])
    s2 = Sequential.from_config(json.loads(json.dumps(s.get_config())))
    assert not s2.built and len(s2.layers) == 2


def test_to_json_and_model_from_json():
    m = _two_branch()
    text = m.to_json()
    data = json.loads(text)
    assert data["class_name"] == "Functional" and data["module"] == "keras.src.models.functional"
    m2 = model_from_json(text)
    _copy_weights(m, m2)
    _same_outputs(m, m2, [_x(2, 4), _x(2, 4, seed=3)])
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_json("{not json")


def test_layers_with_batchnorm_and_embedding_round_trip():
    x = Input(shape=(5,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(x)
    h = layers.Flatten()(h)
    h = layers.BatchNormalization()(h)
    h = layers.Reshape((4, 5))(h)
    h = layers.Permute((2, 1))(h)
    h = layers.Flatten()(h)
    h = layers.RepeatVector(2)(layers.Dense(3)(h))
    y = layers.Activation("softmax")(layers.Flatten()(h))
    m = Model(x, y)
    m2 = Model.from_config(json.loads(json.dumps(m.get_config())))
    _copy_weights(m, m2)
    ids = np.random.default_rng(0).integers(0, 10, size=(3, 5)).astype("int32")
    _same_outputs(m, m2, ids)


# ------------------------------------------------------------------------------------
# clone_model
# ------------------------------------------------------------------------------------
def test_clone_model_same_graph_fresh_weights():
    m = _two_branch()
    c = clone_model(m)
    assert c is not m
    assert [la.name for la in c.layers] == [la.name for la in m.layers]
    assert all(a is not b for a, b in zip(c.layers, m.layers))
    assert len(c.get_layer("shared").inbound_nodes) == 1 or len(
        c.get_layer("shared").inbound_nodes) == 2
    assert not np.allclose(c.get_layer("shared").kernel.numpy(),
                           m.get_layer("shared").kernel.numpy())
    _copy_weights(m, c)
    _same_outputs(m, c, [_x(2, 4), _x(2, 4, seed=5)])


def test_clone_model_clones_nested_models_and_ops():
    inner_in = Input(shape=(3,))
    inner = Model(inner_in, layers.Dense(3)(inner_in), name="inner")
    x = Input(shape=(3,))
    y = inner(x) + x
    m = Model(x, y)
    c = clone_model(m)
    assert c.get_layer("inner") is not inner
    assert c.get_layer("inner").layers[-1] is not inner.layers[-1]
    _copy_weights(m, c)
    _same_outputs(m, c, _x(2, 3))


def test_clone_model_with_input_tensors_and_clone_function():
    x = Input(shape=(3,))
    m = Model(x, layers.Dense(2, name="d")(x))
    seen = []

    def fn(layer):
        seen.append(layer.name)
        return layer.__class__.from_config(layer.get_config())

    new_in = Input(shape=(3,), name="new_in")
    c = clone_model(m, input_tensors=new_in, clone_function=fn)
    assert c.inputs[0] is new_in and seen == ["d"]
    s = Sequential([layers.Dense(2, input_shape=(3,))])
    cs = clone_model(s)
    assert isinstance(cs, Sequential) and cs.layers[0] is not s.layers[0]


def test_clone_model_lambda_and_subclassed_error():
    x = Input(shape=(2,))
    m = Model(x, layers.Lambda(lambda t: t * 2.0)(x))
    c = clone_model(m)
    np.testing.assert_allclose(_out(c, _x(1, 2)), _x(1, 2) * 2.0)
    with pytest.raises(ValueError, match="Functional or Sequential"):
        clone_model(layers.Dense(2))


def test_builtin_functions_serialize_as_keras_3_writes_them():
    from jkeras.saving import deserialize_keras_object, serialize_keras_object

    for fn, name in ((jkeras.losses.mean_squared_error, "mean_squared_error"),
                     (jkeras.activations.relu, "relu")):
        config = serialize_keras_object(fn)
        assert config == {"module": "builtins", "class_name": "function", "config": name,
                          "registered_name": "function"}
        assert deserialize_keras_object(config) is fn
    # the form jkeras wrote before still loads
    old = {"module": "keras.losses", "class_name": "function", "config": "mean_squared_error",
           "registered_name": "mean_squared_error"}
    assert deserialize_keras_object(old) is jkeras.losses.mean_squared_error


def test_application_layers_load_from_keras_files(tmp_path):
    """The custom layers of the applications (ConvNeXt's LayerScale,
    InceptionResNetV2's CustomScaleLayer) are found by name when a file is loaded."""
    from jkeras.applications.convnext import LayerScale
    from jkeras.applications.inception_resnet_v2 import CustomScaleLayer

    inputs = jkeras.Input((4,))
    scaled = LayerScale(0.5, 4)(inputs)
    out = CustomScaleLayer(0.1)([inputs, scaled])
    model = jkeras.Model(inputs, out)
    config = model.get_config()
    modules = {layer["class_name"]: layer["module"] for layer in config["layers"]}
    assert modules["LayerScale"] == "keras.src.applications.convnext"
    model.save(tmp_path / "app_layers.keras")
    loaded = jkeras.models.load_model(tmp_path / "app_layers.keras")
    x = np.arange(8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), x + 0.1 * 0.5 * x, rtol=1e-6)
