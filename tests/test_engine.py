"""Engine behaviour: symbolic tensors, nodes, functional graphs, Sequential, errors."""

import json

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers, ops
from jkeras.layers import Dense, Input


def _mlp():
    inputs = Input(shape=(6,))
    x = Dense(5, activation="relu")(inputs)
    out = Dense(3, activation="softmax")(x)
    return keras.Model(inputs, out)


def test_input_tensor_shape_dtype_and_identity():
    a = Input(shape=(4,), dtype="int32", name="ids")
    assert a.shape == (None, 4)
    assert a.dtype == "int32"
    b = Input(shape=(4,), batch_size=8)
    assert b.shape == (8, 4)
    assert a == a and a != b
    assert len({a, b, a}) == 2


def test_default_names_are_unique():
    assert [Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    keras.backend.clear_session()
    assert Dense(1).name == "dense"


def test_dense_matches_numpy(rng):
    x = rng.normal(size=(4, 6)).astype("float32")
    layer = Dense(3, activation="tanh")
    y = np.asarray(layer(x))
    k, b = layer.get_weights()
    np.testing.assert_allclose(y, np.tanh(x @ k + b), rtol=1e-5, atol=1e-6)


def test_functional_predict_and_call_match(rng):
    model = _mlp()
    x = rng.normal(size=(37, 6)).astype("float32")
    p = model.predict(x, batch_size=8)
    assert p.shape == (37, 3)
    np.testing.assert_allclose(p, np.asarray(model(x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), p[:5], rtol=1e-5, atol=1e-6)


def test_model_is_callable_and_shares_weights(rng):
    model = _mlp()
    new_in = Input(shape=(6,))
    out = model(new_in)
    assert out.shape == (None, 3)
    outer = keras.Model(new_in, out)
    assert outer.count_params() == model.count_params()
    x = rng.normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(outer.predict(x), model.predict(x), rtol=1e-6)
    assert outer.weights[0] is model.weights[0]


def test_keras1_model_spelling_warns_and_works():
    inputs = Input(shape=(3,))
    out = Dense(2)(inputs)
    with pytest.warns(DeprecationWarning, match="inputs"):
        model = keras.Model(input=inputs, output=out)
    assert model.output_shape == (None, 2)


def test_keras1_dense_arguments():
    with pytest.warns(DeprecationWarning, match="units"):
        layer = Dense(output_dim=4, init="zeros", W_regularizer=keras.regularizers.l2(0.1))
    layer(np.ones((1, 2), "float32"))
    assert layer.units == 4
    np.testing.assert_array_equal(layer.get_weights()[0], 0)
    assert len(layer.losses) == 1


def test_multiple_nodes_accessors_and_error():
    shared = Dense(4)
    a, b = Input(shape=(3,)), Input(shape=(3,))
    oa = shared(a)
    assert shared.output == oa
    assert shared.input == a
    ob = shared(b)
    with pytest.raises(AttributeError, match="multiple inbound nodes.*get_output_at"):
        _ = shared.output
    with pytest.raises(AttributeError, match="get_input_at"):
        _ = shared.input
    assert shared.get_output_at(0) == oa and shared.get_output_at(1) == ob
    assert shared.get_input_at(1) == b
    # same shapes on both nodes: input_shape is still well defined (Keras 1/2 behaviour)
    assert shared.input_shape == (None, 3)
    assert len(shared.inbound_nodes) == 2
    with pytest.raises(ValueError, match="only 2 inbound"):
        shared.get_output_at(5)


def test_input_shape_differs_between_nodes():
    layer = layers.Flatten()
    layer(Input(shape=(2, 3)))
    layer(Input(shape=(4, 5)))
    with pytest.raises(AttributeError, match="get_input_shape_at"):
        _ = layer.input_shape
    assert layer.get_input_shape_at(0) == (None, 2, 3)
    assert layer.get_output_shape_at(1) == (None, 20)


def test_submodel_from_intermediate_tensors(rng):
    base = _mlp()
    feats = keras.Model(base.input, [la.output for la in base.layers])
    outs = feats.predict(rng.normal(size=(2, 6)).astype("float32"))
    assert [o.shape for o in outs] == [(2, 6), (2, 5), (2, 3)]
    # a model whose input is an intermediate tensor
    head = keras.Model(base.layers[1].output, base.output)
    assert head.predict(np.ones((2, 5), "float32")).shape == (2, 3)


def test_graph_disconnected_error_names_input_and_layer():
    a, b = Input(shape=(2,), name="first"), Input(shape=(2,), name="second")
    out = layers.add([a, b])
    with pytest.raises(ValueError, match="(?s)second.*needed by layer 'add'.*inputs"):
        keras.Model(a, out)


def test_model_rejects_non_symbolic_inputs():
    with pytest.raises(ValueError, match="symbolic tensor.*Input"):
        keras.Model(np.ones((2, 3)), Dense(2)(Input(shape=(3,))))


def test_dense_on_int_tensor_is_clear_error():
    with pytest.raises(TypeError, match="dense.*float input.*int32.*Embedding"):
        Dense(3)(Input(shape=(4,), dtype="int32"))


def test_wrong_rank_and_size_errors():
    d = Dense(3)
    d(Input(shape=(4,)))
    with pytest.raises(ValueError, match="built for inputs with 4 features.*\\(None, 5\\)"):
        d(Input(shape=(5,)))
    with pytest.raises(ValueError, match="rank >= 2"):
        Dense(2)(np.ones((3,), "float32"))


def test_merge_incompatible_shapes_error():
    with pytest.raises(ValueError, match="same shape.*\\(None, 3\\).*\\(None, 4\\)"):
        layers.add([Input(shape=(3,)), Input(shape=(4,))])
    with pytest.raises(ValueError, match="Concatenate.*except on the concatenation axis"):
        layers.concatenate([Input(shape=(3, 2)), Input(shape=(4, 2))], axis=-1)


def test_set_weights_errors_name_layer_and_shapes():
    d = Dense(2)
    d(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="expects 2 weight arrays.*given 1"):
        d.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="'dense/kernel' has shape \\(3, 2\\).*\\(2, 2\\)"):
        d.set_weights([np.zeros((2, 2)), np.zeros(2)])
    d.set_weights([np.ones((3, 2)), np.zeros(2)])
    np.testing.assert_array_equal(d(np.ones((1, 3), "float32")), [[3, 3]])


def test_predict_input_errors():
    a, b = Input(shape=(2,), name="a"), Input(shape=(2,), name="b")
    model = keras.Model([a, b], layers.add([a, b]))
    with pytest.raises(ValueError, match="expects 2 input.*got 1"):
        model.predict([np.ones((2, 2))])
    with pytest.raises(ValueError, match="key\\(s\\) \\['c'\\].*Valid input names: \\['a', 'b'\\]"):
        model.predict({"a": np.ones((2, 2)), "c": np.ones((2, 2))})
    out = model.predict({"a": np.ones((2, 2)), "b": np.ones((2, 2))})
    np.testing.assert_array_equal(out, 2 * np.ones((2, 2)))
    with pytest.raises(ValueError, match="same number of samples"):
        model.predict([np.ones((2, 2)), np.ones((3, 2))])


def test_dict_inputs_and_outputs(rng):
    a, b = Input(shape=(2,), name="a"), Input(shape=(3,), name="b")
    x = layers.concatenate([a, b])
    model = keras.Model({"a": a, "b": b}, {"sum": Dense(1, name="s")(x), "y": x})
    assert model.output_names == ["sum", "y"]
    out = model.predict({"a": np.ones((4, 2)), "b": np.zeros((4, 3))})
    assert set(out) == {"sum", "y"} and out["y"].shape == (4, 5)


def test_ops_on_symbolic_tensors_record_nodes(rng):
    a = Input(shape=(3,))
    y = ops.relu(a * 2.0 - 1.0)[:, :2] + ops.sum(a, axis=-1, keepdims=True)
    model = keras.Model(a, y)
    x = rng.normal(size=(5, 3)).astype("float32")
    expected = np.maximum(x * 2 - 1, 0)[:, :2] + x.sum(-1, keepdims=True)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="truth value"):
        bool(a)


def test_sequential_add_pop_and_deferred_build(rng):
    model = keras.Sequential()
    model.add(Dense(4, input_dim=3))
    model.add(Dense(2))
    assert model.output_shape == (None, 2)
    assert model.count_params() == 16 + 10
    model.pop()
    assert model.output_shape == (None, 4)
    deferred = keras.Sequential([Dense(4), Dense(1)])
    assert not deferred.built
    out = deferred.predict(rng.normal(size=(3, 7)).astype("float32"))
    assert out.shape == (3, 1) and deferred.count_params() == 32 + 5
    with pytest.raises(TypeError, match="Layer instance"):
        model.add("dense")


def test_get_layer_and_summary():
    model = _mlp()
    assert model.get_layer("dense_1") is model.layers[2]
    assert model.get_layer(index=1).name == "dense"
    with pytest.raises(ValueError, match="No layer named 'nope'.*dense_1"):
        model.get_layer("nope")
    lines = []
    model.summary(print_fn=lines.append, show_trainable=True)
    text = "\n".join(lines)
    assert "dense_1 (Dense)" in text and "(None, 3)" in text and "Connected to" in text
    assert f"Total params: {model.count_params():,}" in text
    assert "Trainable" in text


def test_trainable_is_recursive_and_frozen_weights_are_non_trainable():
    model = _mlp()
    outer_in = Input(shape=(6,))
    outer = keras.Model(outer_in, Dense(1)(model(outer_in)))
    model.trainable = False
    assert all(not la.trainable for la in model.layers)
    assert len(outer.trainable_weights) == 2
    assert len(outer.non_trainable_weights) == 4
    lines = []
    outer.summary(print_fn=lines.append)
    assert any("Non-trainable params: 53" in ln for ln in lines)


def test_nested_summary_expand(rng):
    inner = _mlp()
    x = Input(shape=(6,))
    outer = keras.Model(x, inner(x))
    lines = []
    outer.summary(print_fn=lines.append, expand_nested=True)
    assert any(ln.startswith("  dense_1") for ln in lines)


def test_image_data_format_sources(tmp_path, monkeypatch):
    from jkeras.backend import config

    assert config.image_data_format() == "channels_last"
    monkeypatch.setenv("JKERAS_HOME", str(tmp_path))
    (tmp_path / "jkeras.json").write_text(json.dumps({"image_data_format": "channels_first"}))
    assert config.image_data_format() == "channels_first"
    monkeypatch.setenv("JKERAS_IMAGE_DATA_FORMAT", "channels_last")
    assert config.image_data_format() == "channels_last"
    with pytest.warns(DeprecationWarning):
        keras.backend.set_image_dim_ordering("th")
    assert keras.backend.image_data_format() == "channels_first"
    assert keras.backend.image_dim_ordering() == "th"
    with pytest.raises(ValueError, match="channels_last"):
        keras.backend.set_image_data_format("nchw")


def test_embedding_mask_and_int_input():
    ids = Input(shape=(4,), dtype="int32")
    emb = layers.Embedding(10, 3, mask_zero=True)
    e = emb(ids)
    assert e.dtype == "float32" and e.shape == (None, 4, 3)
    assert e._keras_mask is not None and e._keras_mask.shape == (None, 4)
    mask = emb.compute_mask(np.array([[1, 2, 0, 0]]))
    np.testing.assert_array_equal(mask, [[True, True, False, False]])


def test_layer_shape_helpers_and_lambda(rng):
    x = Input(shape=(2, 3))
    assert layers.Permute((2, 1))(x).shape == (None, 3, 2)
    assert layers.Reshape((-1,))(x).shape == (None, 6)
    assert layers.RepeatVector(4)(Input(shape=(5,))).shape == (None, 4, 5)
    with pytest.raises(ValueError, match="cannot reshape.*\\(4, 2\\)"):
        layers.Reshape((4, 2))(x)
    lam = layers.Lambda(lambda t: t * 3)
    model = keras.Model(x, lam(x))
    v = rng.normal(size=(2, 2, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(v), 3 * v, rtol=1e-6)


def test_dropout_only_in_training():
    d = layers.Dropout(0.5)
    x = np.ones((200, 10), "float32")
    np.testing.assert_array_equal(d(x), x)
    y = np.asarray(d(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.3 < (y == 0).mean() < 0.7


def test_batchnorm_inference_and_training_numpy(rng):
    bn = layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-3)
    x = rng.normal(size=(8, 3, 2)).astype("float32")
    bn.build(x.shape)
    mean = rng.normal(size=3).astype("float32")
    var = rng.uniform(0.5, 2, size=3).astype("float32")
    gamma, beta = rng.normal(size=3).astype("float32"), rng.normal(size=3).astype("float32")
    bn.set_weights([gamma, beta, mean, var])
    b = lambda v: v[None, :, None]  # noqa: E731
    expected = b(gamma) * (x - b(mean)) / np.sqrt(b(var) + 1e-3) + b(beta)
    np.testing.assert_allclose(bn(x), expected, rtol=1e-4, atol=1e-5)
    y = np.asarray(bn(x, training=True))
    bm, bv = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    expected_t = b(gamma) * (x - b(bm)) / np.sqrt(b(bv) + 1e-3) + b(beta)
    np.testing.assert_allclose(y, expected_t, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.9 * mean + 0.1 * bm, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 * var + 0.1 * bv, rtol=1e-5)


def test_layer_normalization_numpy(rng):
    ln = layers.LayerNormalization()
    x = rng.normal(size=(3, 4)).astype("float32")
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(ln(x), expected, rtol=1e-4, atol=1e-5)


def test_merge_layers_numerics(rng):
    a, b = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(layers.Add()([a, b]), a + b, rtol=1e-6)
    np.testing.assert_allclose(layers.Subtract()([a, b]), a - b, rtol=1e-6)
    np.testing.assert_allclose(layers.Multiply()([a, b]), a * b, rtol=1e-6)
    np.testing.assert_allclose(layers.Average()([a, b]), (a + b) / 2, rtol=1e-6)
    np.testing.assert_allclose(layers.Maximum()([a, b]), np.maximum(a, b), rtol=1e-6)
    np.testing.assert_allclose(layers.Minimum()([a, b]), np.minimum(a, b), rtol=1e-6)
    np.testing.assert_allclose(layers.Concatenate()([a, b]), np.concatenate([a, b], -1))
    np.testing.assert_allclose(layers.Dot(axes=1)([a, b]), (a * b).sum(-1, keepdims=True),
                               rtol=1e-5)
    cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    np.testing.assert_allclose(layers.Dot(axes=1, normalize=True)([a, b])[:, 0], cos, rtol=1e-5)


@pytest.mark.parametrize("mode,expected", [
    ("concat", lambda a, b: np.concatenate([a, b], -1)), ("sum", lambda a, b: a + b),
    ("mul", lambda a, b: a * b), ("ave", lambda a, b: (a + b) / 2),
    ("max", np.maximum),
])
def test_keras1_merge_modes(mode, expected, rng):
    a, b = Input(shape=(3,)), Input(shape=(3,))
    with pytest.warns(DeprecationWarning, match="Keras 1"):
        out = layers.merge([a, b], mode=mode)
    model = keras.Model([a, b], out)
    xa, xb = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(model.predict([xa, xb]), expected(xa, xb), rtol=1e-5)


def test_shared_tower_runs_once_on_concatenated_batch(rng, monkeypatch):
    tin = Input(shape=(4,))
    tower = keras.Model(tin, Dense(3, activation="relu")(Dense(5)(tin)))
    a, b = Input(shape=(4,)), Input(shape=(4,))
    merged = layers.concatenate([tower(a), tower(b)])
    model = keras.Model([a, b], Dense(1)(merged))
    calls = []
    original = type(tower).call_with_masks

    def spy(self, inputs, training=None, mask=None):
        if self is tower:
            calls.append(tuple(inputs.shape))
        return original(self, inputs, training, mask)

    monkeypatch.setattr(type(tower), "call_with_masks", spy)
    xa, xb = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
    out = np.asarray(model([xa, xb]))
    assert calls == [(6, 4)]  # one call on both inputs stacked
    ka, ba, kb, bb = tower.get_weights()
    ta = np.maximum((xa @ ka + ba) @ kb + bb, 0)
    tb = np.maximum((xb @ ka + ba) @ kb + bb, 0)
    k, bias = model.layers[-1].get_weights()
    np.testing.assert_allclose(out, np.concatenate([ta, tb], -1) @ k + bias, rtol=1e-5,
                               atol=1e-6)


def test_shared_layer_not_batched_when_batch_statistics_matter(monkeypatch):
    bn = layers.BatchNormalization()
    a, b = Input(shape=(2,)), Input(shape=(2,))
    model = keras.Model([a, b], [bn(a), bn(b)])
    xa = np.array([[0.0, 0.0], [2.0, 2.0]], "float32")
    xb = np.array([[10.0, 10.0], [30.0, 30.0]], "float32")
    ya, yb = model([xa, xb], training=True)
    # each call normalised with its own batch statistics
    np.testing.assert_allclose(np.asarray(ya)[:, 0], [-1, 1], atol=1e-2)
    np.testing.assert_allclose(np.asarray(yb)[:, 0], [-1, 1], atol=1e-2)


def test_weights_are_made_on_first_use_in_creation_order():
    keras.utils.set_random_seed(7)
    a, b = Dense(3), Dense(3)
    a.build((None, 2))
    b.build((None, 2))
    assert a.kernel._array is None  # not allocated by building or counting
    assert a.count_params() == 9
    wb, wa = b.get_weights()[0], a.get_weights()[0]  # read in the other order
    keras.utils.set_random_seed(7)
    a2, b2 = Dense(3), Dense(3)
    a2.build((None, 2))
    b2.build((None, 2))
    np.testing.assert_array_equal(a2.get_weights()[0], wa)
    np.testing.assert_array_equal(b2.get_weights()[0], wb)
    assert not np.array_equal(wa, wb)


def test_predict_on_pydataset_and_generator(rng):
    model = _mlp()
    x = rng.normal(size=(10, 6)).astype("float32")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i * 4:(i + 1) * 4]

    expected = model.predict(x)
    np.testing.assert_allclose(model.predict(Batches()), expected, rtol=1e-5, atol=1e-6)
    gen = ((x[i:i + 5],) for i in range(0, 10, 5))
    np.testing.assert_allclose(model.predict(gen), expected, rtol=1e-5, atol=1e-6)


def test_constraint_and_regularizer_lookup():
    from jkeras import constraints, regularizers

    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    reg = regularizers.get({"class_name": "L2", "config": {"l2": 0.5}})
    assert isinstance(reg, regularizers.L2)
    assert regularizers.serialize(reg)["config"] == reg.get_config()
    assert regularizers.get(regularizers.serialize(reg)).get_config() == reg.get_config()
    with pytest.raises(ValueError, match=r"Unknown constraint 'maxnorm2'.*MaxNorm\(2.0\)"):
        constraints.get("maxnorm2")
    with pytest.raises(ValueError, match="Unknown regularizer class 'L3'"):
        regularizers.get({"class_name": "L3"})
    with pytest.raises(ValueError, match="Could not interpret regularizer 3"):
        regularizers.get(3)


def test_dropout_noise_shape_shares_the_mask_and_is_checked():
    from jkeras.layers import Dropout

    x = np.ones((4, 3, 5), "float32")
    out = np.asarray(Dropout(0.5, noise_shape=(None, 1, None))(x, training=True))
    assert set(np.unique(out)) <= {0.0, 2.0}
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))  # shared on axis 1
    with pytest.raises(ValueError, match=r"Dropout '.*': noise_shape=\(None, 1\) has 2 entries"):
        Dropout(0.5, noise_shape=(None, 1))(x, training=True)
