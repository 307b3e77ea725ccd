"""SpatialDropout1D/2D/3D and ActivityRegularization: identity at inference, whole
channels dropped in training (statistics with fixed seeds), Keras 1 names, errors,
configs, the activity loss in fit, and a save/load round trip."""

import jax
import numpy as np
import pytest

import jkeras
from jkeras.engine.stateless import stateless_call
from jkeras.layers.regularization import (
    ActivityRegularization,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

CUSTOM = {"SpatialDropout1D": SpatialDropout1D, "SpatialDropout2D": SpatialDropout2D,
          "SpatialDropout3D": SpatialDropout3D, "ActivityRegularization": ActivityRegularization}


@pytest.mark.parametrize("cls,shape,fmt,channel_axis", [
    (SpatialDropout1D, (40, 6, 8), None, 2),
    (SpatialDropout2D, (40, 3, 4, 8), "channels_last", 3),
    (SpatialDropout2D, (40, 8, 3, 4), "channels_first", 1),
    (SpatialDropout3D, (40, 2, 3, 2, 8), "channels_last", 4),
    (SpatialDropout3D, (40, 8, 2, 3, 2), "channels_first", 1),
])
def test_spatial_dropout_drops_whole_channels(cls, shape, fmt, channel_axis):
    rate = 0.4
    x = np.random.default_rng(0).uniform(1.0, 2.0, size=shape).astype("float32")
    layer = cls(rate) if fmt is None else cls(rate, data_format=fmt)
    np.testing.assert_array_equal(layer(x), x)  # inference: identity
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = np.asarray(layer(x, training=True))
    assert y.shape == x.shape and y.dtype == np.float32
    # every channel of every sample is either all dropped or all kept (scaled 1/(1-rate))
    moved = np.moveaxis(y / x, channel_axis, -1).reshape(shape[0], -1, shape[channel_axis])
    per_channel = moved[:, :1, :]
    np.testing.assert_allclose(moved, np.broadcast_to(per_channel, moved.shape), rtol=1e-6)
    values = np.unique(np.round(per_channel, 5))
    np.testing.assert_allclose(values, [0.0, 1.0 / (1.0 - rate)], rtol=1e-5)
    dropped = float(np.mean(per_channel == 0))  # 320 channel draws
    assert abs(dropped - rate) < 0.1
    assert layer.compute_output_shape(shape) == shape


def test_spatial_dropout_fresh_noise_under_stateless_call_and_seed_repeatability():
    x = np.ones((4, 3, 6), "float32")
    layer = SpatialDropout1D(0.5)

    def run(seed):
        return np.asarray(stateless_call(layer, [], [], x, training=True,
                                         rng=jax.random.key(seed))[0])

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    # eager calls draw from the layer's own SeedGenerator: fresh on every call, and
    # repeatable for a layer made after set_random_seed (as in Keras 3)
    jkeras.utils.set_random_seed(7)
    layer = SpatialDropout1D(0.5)
    a = np.asarray(layer(x, training=True))
    assert not np.array_equal(layer(x, training=True), a)
    jkeras.utils.set_random_seed(7)
    np.testing.assert_array_equal(SpatialDropout1D(0.5)(x, training=True), a)
    np.testing.assert_array_equal(SpatialDropout1D(0.5, seed=3)(x, training=True),
                                  SpatialDropout1D(0.5, seed=3)(x, training=True))
    assert np.all(SpatialDropout1D(0.0)(x, training=True) == x)


def test_spatial_dropout_default_data_format_follows_global_setting():
    assert SpatialDropout2D(0.1).data_format == "channels_last"
    jkeras.backend.set_image_data_format("channels_first")
    assert SpatialDropout3D(0.1).data_format == "channels_first"


def test_spatial_dropout_keras1_names_warn():
    with pytest.warns(DeprecationWarning, match="'p' is the Keras 1 name; use 'rate'"):
        layer = SpatialDropout1D(p=0.25)
    assert layer.rate == 0.25
    with pytest.warns(DeprecationWarning) as record:
        layer = SpatialDropout2D(p=0.1, dim_ordering="th")
    messages = sorted(str(w.message) for w in record)
    assert any("use 'data_format'" in m for m in messages)
    assert any("use 'rate'" in m for m in messages)
    assert layer.data_format == "channels_first"
    with pytest.warns(DeprecationWarning):
        assert SpatialDropout3D(0.1, dim_ordering="default").data_format == "channels_last"


def test_spatial_dropout_errors():
    for bad in (1.0, -0.1, "0.5", True):
        with pytest.raises(ValueError, match=r"SpatialDropout2D: `rate` must be a float in "
                                             r"\[0, 1\).*got"):
            SpatialDropout2D(bad)
    with pytest.raises(ValueError, match="SpatialDropout1D 'spatial_dropout1d.*' expects an "
                                         "input of rank 3.*shape \\(None, 4\\)"):
        SpatialDropout1D(0.5)(jkeras.Input((4,)))
    with pytest.raises(ValueError, match="SpatialDropout2D .*rank 4.*got an input of shape"):
        SpatialDropout2D(0.5)(jkeras.Input((4, 4)))
    with pytest.raises(ValueError, match="data_format"):
        SpatialDropout2D(0.5, data_format="channels_middle")


def test_spatial_dropout_configs_round_trip():
    for layer in (SpatialDropout1D(0.3, seed=3, name="a"),
                  SpatialDropout2D(0.2, data_format="channels_first", name="b"),
                  SpatialDropout3D(0.1, name="c")):
        config = layer.get_config()
        assert config["rate"] == layer.rate
        again = type(layer).from_config(config)
        assert again.get_config() == config
    assert SpatialDropout2D(0.2, data_format="channels_first").get_config()[
        "data_format"] == "channels_first"
    assert "data_format" not in SpatialDropout1D(0.2).get_config()


def test_spatial_dropout_passes_masks():
    inp = jkeras.Input((3, 2))
    masked = jkeras.layers.Masking()(inp)
    out = SpatialDropout1D(0.5)(masked)
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 3)


# -- ActivityRegularization ---------------------------------------------------------------
def test_activity_regularization_identity_and_loss_values():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], "float32")
    layer = ActivityRegularization(l1=0.1, l2=0.01)
    out, _, losses = stateless_call(layer, [], [], x, training=True, rng=jax.random.key(0))
    np.testing.assert_array_equal(out, x)
    expected = 0.1 * np.abs(x).sum() + 0.01 * np.square(x).sum()
    assert len(losses) == 1
    np.testing.assert_allclose(float(losses[0]), expected, rtol=1e-6)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-6)
    assert layer.compute_output_shape((None, 2)) == (None, 2)


def test_activity_regularization_loss_enters_fit_and_evaluate():
    x = np.array([[1.0, -2.0, 0.0], [0.5, 3.0, -1.0]], "float32")
    y = np.zeros((2, 1), "float32")
    inp = jkeras.Input((3,))
    hidden = ActivityRegularization(l1=0.1, l2=0.05)(inp)
    out = jkeras.layers.Dense(1, kernel_initializer="zeros", use_bias=False)(hidden)
    model = jkeras.Model(inp, out)
    model.compile(optimizer=jkeras.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    # mse is 0 (zero kernel, zero targets): the loss is the activity term alone
    expected = 0.1 * np.abs(x).sum() + 0.05 * np.square(x).sum()
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)


def test_activity_regularization_errors_and_config():
    with pytest.raises(ValueError, match="ActivityRegularization: `l1` must be a non-negative"):
        ActivityRegularization(l1=-1.0)
    with pytest.raises(ValueError, match="`l2` must be a non-negative float.*got 'x'"):
        ActivityRegularization(l2="x")
    layer = ActivityRegularization(l1=0.5, name="reg")
    config = layer.get_config()
    assert config["l1"] == 0.5 and config["l2"] == 0.0 and "activity_regularizer" not in config
    again = ActivityRegularization.from_config(config)
    assert again.get_config() == config and again.activity_regularizer.l1 == 0.5


def test_save_and_load_round_trip(tmp_path):
    inp = jkeras.Input((4, 3))
    h = SpatialDropout1D(0.5)(inp)
    h = ActivityRegularization(l2=0.1)(h)
    out = jkeras.layers.Dense(2)(jkeras.layers.Flatten()(h))
    model = jkeras.Model(inp, out)
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = jkeras.models.load_model(path, custom_objects=CUSTOM)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    kinds = [type(la).__name__ for la in loaded.layers]
    assert "SpatialDropout1D" in kinds and "ActivityRegularization" in kinds
    reg = next(la for la in loaded.layers if isinstance(la, ActivityRegularization))
    assert reg.l2 == 0.1


def test_shared_layers_are_batch_independent_and_losses_add_up():
    for layer in (SpatialDropout1D(0.5), ActivityRegularization(l1=0.1)):
        assert layer.batch_independent(True) and layer.batch_independent(False)
    a = np.array([[1.0, -2.0]], "float32")
    b = np.array([[0.5, 3.0]], "float32")
    reg = ActivityRegularization(l1=0.1)
    ia, ib = jkeras.Input((2,)), jkeras.Input((2,))
    dense = jkeras.layers.Dense(1, kernel_initializer="zeros", use_bias=False)
    model = jkeras.Model([ia, ib], jkeras.layers.Add()([dense(reg(ia)), dense(reg(ib))]))
    model.compile(optimizer=jkeras.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit([a, b], np.zeros((1, 1), "float32"), epochs=1, verbose=0)
    expected = 0.1 * (np.abs(a).sum() + np.abs(b).sum())
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
