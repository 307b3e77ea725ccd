"""UnitNormalization and GroupNormalization: values against numpy, weights (names,
shapes), errors, configs, mixed precision, training and a save/load round trip."""

import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras.layers.normalization_extra import GroupNormalization, UnitNormalization

CUSTOM = {"GroupNormalization": GroupNormalization, "UnitNormalization": UnitNormalization}


def _group_norm_reference(x, groups, axis, eps, gamma, beta):
    axis = axis % x.ndim
    c = x.shape[axis]
    moved = np.moveaxis(x, axis, -1).astype("float64")
    g = moved.reshape(*moved.shape[:-1], groups, c // groups)
    reduce = tuple(range(1, g.ndim - 2)) + (g.ndim - 1,)
    mean = g.mean(axis=reduce, keepdims=True)
    var = g.var(axis=reduce, keepdims=True)
    y = ((g - mean) / np.sqrt(var + eps)).reshape(moved.shape) * gamma + beta
    return np.moveaxis(y, -1, axis)


# -- UnitNormalization --------------------------------------------------------------------
def test_unit_normalization_against_numpy():
    x = np.random.default_rng(0).normal(size=(3, 4, 5)).astype("float32")
    x[0, 0] = 0.0  # an all-zero vector stays zero (the 1e-12 floor)
    expected = x / np.sqrt(np.maximum((x ** 2).sum(-1, keepdims=True), 1e-12))
    np.testing.assert_allclose(UnitNormalization()(x), expected, rtol=1e-5, atol=1e-7)
    assert np.all(np.asarray(UnitNormalization()(x))[0, 0] == 0)
    expected = x / np.sqrt((x ** 2).sum((1, 2), keepdims=True))
    np.testing.assert_allclose(UnitNormalization(axis=[1, 2])(x), expected, rtol=1e-5)
    expected = x / np.sqrt((x ** 2).sum(1, keepdims=True))
    np.testing.assert_allclose(UnitNormalization(axis=1)(x), expected, rtol=1e-5)
    out = UnitNormalization()(np.array([[3, 4]], "int32"))
    np.testing.assert_allclose(out, [[0.6, 0.8]], rtol=1e-6)
    assert out.dtype == np.float32


def test_unit_normalization_errors_config_and_shape():
    with pytest.raises(ValueError, match="UnitNormalization: `axis` must be an int or a "
                                         "non-empty list/tuple of ints.*got 'x'"):
        UnitNormalization(axis="x")
    with pytest.raises(ValueError, match="UnitNormalization 'unit_normalization.*axis 3 is out "
                                         "of range for an input of rank 2"):
        UnitNormalization(axis=3)(jkeras.Input((4,)))
    layer = UnitNormalization(axis=[1, 2], name="u")
    config = layer.get_config()
    assert config["axis"] == [1, 2]
    assert UnitNormalization.from_config(config).get_config() == config
    assert layer.compute_output_shape((None, 2, 3)) == (None, 2, 3)
    assert UnitNormalization()(jkeras.Input((2, 3))).shape == (None, 2, 3)


# -- GroupNormalization -------------------------------------------------------------------
@pytest.mark.parametrize("groups,axis,shape", [
    (2, -1, (3, 4, 5, 6)),
    (3, 1, (2, 6, 4)),
    (1, -1, (2, 3, 4)),
    (-1, -1, (2, 5, 4)),
])
def test_group_normalization_against_numpy(groups, axis, shape):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 3 + 1).astype("float32")
    layer = GroupNormalization(groups=groups, axis=axis, epsilon=1e-3)
    out = np.asarray(layer(x))
    channels = shape[axis]
    assert [w.name for w in layer.weights] == ["gamma", "beta"]
    assert [w.shape for w in layer.weights] == [(channels,), (channels,)]
    gamma = rng.normal(size=channels).astype("float32")
    beta = rng.normal(size=channels).astype("float32")
    n_groups = channels if groups == -1 else groups
    bshape = [1] * len(shape)
    bshape[axis] = channels
    ref = _group_norm_reference(x, n_groups, axis, 1e-3, 1.0, 0.0)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    layer.set_weights([gamma, beta])
    expected = ref * gamma.reshape(bshape) + beta.reshape(bshape)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-5)
    # each sample is normalized on its own: batch independence
    np.testing.assert_allclose(layer(x[:1]), expected[:1], rtol=1e-4, atol=1e-5)


def test_group_normalization_without_center_scale_and_training_identical():
    x = np.random.default_rng(2).normal(size=(2, 3, 4)).astype("float32")
    layer = GroupNormalization(groups=2, center=False, scale=False)
    assert layer(x).shape == x.shape and layer.weights == []
    np.testing.assert_allclose(layer(x, training=True), layer(x, training=False))
    np.testing.assert_allclose(layer(x), _group_norm_reference(x, 2, -1, 1e-3, 1.0, 0.0),
                               rtol=1e-4, atol=1e-5)
    only_gamma = GroupNormalization(groups=4, center=False)
    only_gamma.build((None, 3, 4))
    assert [w.name for w in only_gamma.weights] == ["gamma"]


def test_group_normalization_errors():
    inp = jkeras.Input((5, 6))
    with pytest.raises(ValueError, match="GroupNormalization 'group_normalization.*': the number "
                                         r"of channels \(6\) must be a multiple of groups=4"):
        GroupNormalization(groups=4)(inp)
    with pytest.raises(ValueError, match=r"groups=32 cannot be more than the number of channels "
                                         r"\(6\)"):
        GroupNormalization()(inp)
    with pytest.raises(ValueError, match="`groups` must be a positive integer.*got 0"):
        GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="must not be the batch axis 0"):
        GroupNormalization(groups=1, axis=0)(inp)
    with pytest.raises(ValueError, match="must be known"):
        GroupNormalization(groups=1)(jkeras.Input((5, None)))
    with pytest.raises(TypeError, match="expects a float input, but got dtype int32"):
        GroupNormalization(groups=2)(jkeras.Input((6,), dtype="int32"))
    layer = GroupNormalization(groups=2)
    layer(np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match="was built for 4 channels"):
        layer(jkeras.Input((6,)))


def test_group_normalization_config_round_trip():
    layer = GroupNormalization(groups=4, axis=1, epsilon=1e-5, center=False,
                               gamma_initializer="zeros", gamma_regularizer="l2",
                               beta_constraint="non_neg", name="gn")
    config = layer.get_config()
    for key in ("groups", "axis", "epsilon", "center", "scale", "beta_initializer",
                "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                "beta_constraint", "gamma_constraint"):
        assert key in config
    assert config["groups"] == 4 and config["axis"] == 1 and config["epsilon"] == 1e-5
    again = GroupNormalization.from_config(config)
    assert again.get_config() == config
    assert layer.compute_output_shape((None, 8, 3)) == (None, 8, 3)


def test_group_normalization_mixed_precision_keeps_float32_weights():
    layer = GroupNormalization(groups=2, dtype="mixed_bfloat16")
    x = np.random.default_rng(3).normal(size=(2, 4)).astype("float32")
    out = layer(x.astype("bfloat16"))
    assert out.dtype == jnp.bfloat16 and layer.gamma.dtype == "float32"
    np.testing.assert_allclose(np.asarray(out, "float32"),
                               _group_norm_reference(x, 2, -1, 1e-3, 1.0, 0.0), atol=0.05)


def test_model_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, 3, 4)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    inp = jkeras.Input((3, 4))
    h = GroupNormalization(groups=2)(inp)
    h = UnitNormalization()(h)
    out = jkeras.layers.Dense(1)(jkeras.layers.Flatten()(h))
    model = jkeras.Model(inp, out)
    model.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    gn = model.layers[1]
    assert isinstance(gn, GroupNormalization)
    assert not np.allclose(gn.get_weights()[0], before[0])  # gamma trained
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = jkeras.models.load_model(path, custom_objects=CUSTOM)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_shared_layers_are_batch_independent():
    rng = np.random.default_rng(5)
    a, b = (rng.normal(size=(2, 3, 4)).astype("float32") for _ in range(2))
    for layer in (GroupNormalization(groups=2), UnitNormalization()):
        assert layer.batch_independent(True) and layer.batch_independent(False)
        ia, ib = jkeras.Input((3, 4)), jkeras.Input((3, 4))
        model = jkeras.Model([ia, ib], [layer(ia), layer(ib)])
        out_a, out_b = model.predict([a, b], verbose=0)
        np.testing.assert_allclose(out_a, layer(a), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out_b, layer(b), rtol=1e-5, atol=1e-6)
