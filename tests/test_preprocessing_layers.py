"""Rescaling, Normalization (adapt on the host, given statistics, invert), CenterCrop
and Resizing: values against numpy, dtypes, shapes, errors, configs and a save/load
round trip of an adapted model."""

import numpy as np
import pytest

import jkeras
from jkeras.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing

CUSTOM = {"Rescaling": Rescaling, "Normalization": Normalization, "CenterCrop": CenterCrop,
          "Resizing": Resizing}


def _bilinear_1d(x, out_size, axis):
    """Half-pixel-centre linear resampling along `axis` (edges clamped), no antialias."""
    n = x.shape[axis]
    src = (np.arange(out_size) + 0.5) * n / out_size - 0.5
    src = np.clip(src, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = src - lo
    shape = [1] * x.ndim
    shape[axis] = out_size
    w = w.reshape(shape)
    return np.take(x, lo, axis=axis) * (1 - w) + np.take(x, hi, axis=axis) * w


def _bilinear(x, height, width, h_axis=1, w_axis=2):
    return _bilinear_1d(_bilinear_1d(x.astype("float64"), height, h_axis), width, w_axis)


# -- Rescaling ----------------------------------------------------------------------------
def test_rescaling_values_dtypes_and_per_channel():
    img = np.arange(24, dtype="uint8").reshape(1, 2, 4, 3)
    out = Rescaling(1 / 127.5, offset=-1)(img)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, img / 127.5 - 1, rtol=1e-6)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(Rescaling([1.0, 2.0, 3.0], offset=[0.0, 0.5, 1.0])(x),
                               [[1.0, 2.5, 4.0]] * 2)
    sym = Rescaling(0.5)(jkeras.Input((4, 3), dtype="int32"))
    assert sym.shape == (None, 4, 3) and sym.dtype == "float32"


def test_rescaling_errors_and_config():
    with pytest.raises(ValueError, match="Rescaling: `scale` must be a number or a list"):
        Rescaling("big")
    with pytest.raises(ValueError, match="Rescaling: `offset` must be a number"):
        Rescaling(1.0, offset=None)
    layer = Rescaling(np.array([0.5, 0.25]), offset=1, name="r")
    config = layer.get_config()
    assert config["scale"] == [0.5, 0.25] and config["offset"] == 1.0
    assert Rescaling.from_config(config).get_config() == config
    assert layer.compute_output_shape((None, 2)) == (None, 2)


# -- Normalization ------------------------------------------------------------------------
def test_normalization_adapt_matches_keras_examples():
    layer = Normalization(axis=None)
    layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32"))
    np.testing.assert_allclose(layer(np.array([1.0, 2.0, 3.0], "float32")),
                               [-1.4142135, -0.70710677, 0.0], rtol=1e-6)
    data = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0], [0.0, 7.0, 4.0], [2.0, 9.0, 6.0]],
                    "float32")
    layer = Normalization(axis=-1)
    layer.adapt(data)
    np.testing.assert_allclose(layer(np.array([[0.0, 7.0, 4.0]], "float32")), [[-1, -1, -1]])
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.count.dtype == "int32" and int(layer.count.numpy()) == 4
    assert all(not w.trainable for w in layer.weights) and layer.trainable_weights == []
    inverse = Normalization(axis=-1, invert=True)
    inverse.adapt(data)
    np.testing.assert_allclose(inverse(np.array([[-1.0, -1.0, -1.0]], "float32")),
                               [[0.0, 7.0, 4.0]])


def test_normalization_adapt_against_numpy_axes_and_batches():
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(50, 4, 3)) * [1.0, 2.0, 5.0] + [0.0, -3.0, 10.0]).astype("float32")
    layer = Normalization()  # per feature of the last axis
    layer.adapt(iter([data[:7], data[7:30], data[30:]]))  # streamed batches
    np.testing.assert_allclose(layer.mean.numpy(), data.mean((0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.variance.numpy(), data.var((0, 1)), rtol=1e-5)
    assert int(layer.count.numpy()) == 200
    expected = (data - data.mean((0, 1))) / data.std((0, 1))
    np.testing.assert_allclose(layer(data), expected, rtol=1e-4, atol=1e-5)
    both = Normalization(axis=(1, 2))
    both.adapt(data)
    assert both.mean.shape == (4, 3)
    np.testing.assert_allclose(both.variance.numpy(), data.var(0), rtol=1e-5)
    scalar = Normalization(axis=None)
    scalar.adapt(data)
    assert scalar.mean.shape == ()
    np.testing.assert_allclose(scalar.mean.numpy(), data.mean(), rtol=1e-5)
    steps = Normalization()
    steps.adapt(iter([data[:10], data[10:]]), steps=1)
    np.testing.assert_allclose(steps.mean.numpy(), data[:10].mean((0, 1)), rtol=1e-5)


def test_normalization_given_statistics_and_zero_variance():
    layer = Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(layer(np.array([[1.0], [2.0], [3.0]], "float32")).ravel(),
                               [-1.4142135, -0.70710677, 0.0], rtol=1e-6)
    assert layer.weights == []
    per_feature = Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    out = np.asarray(per_feature(np.array([[3.0, 2.0]], "float32")))
    eps = jkeras.backend.epsilon()
    np.testing.assert_allclose(out, [[1.0, 0.0]])  # zero variance: divided by eps, not by 0
    assert np.isfinite(per_feature(np.array([[3.0, 3.0]], "float32"))).all()
    np.testing.assert_allclose(per_feature(np.array([[0.0, 2.5]], "float32")),
                               [[-0.5, 0.5 / eps]], rtol=1e-5)
    inverse = Normalization(mean=[1.0, 2.0], variance=[4.0, 1.0], invert=True)
    np.testing.assert_allclose(inverse(np.array([[1.0, -1.0]], "float32")), [[3.0, 1.0]])
    ints = Normalization(mean=1.0, variance=1.0)(np.array([[2, 3]], "int32"))
    assert ints.dtype == np.float32


def test_normalization_errors():
    with pytest.raises(ValueError, match="give both `mean` and `variance` or neither"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="`variance` must be non-negative"):
        Normalization(mean=0.0, variance=-1.0)
    with pytest.raises(ValueError, match="Normalization: `axis` must be an int"):
        Normalization(axis="last")
    with pytest.raises(ValueError, match="may not be the batch axis 0"):
        Normalization(axis=0)(jkeras.Input((3,)))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        Normalization(axis=2)(jkeras.Input((3,)))
    with pytest.raises(ValueError, match="cannot be adapted"):
        Normalization(mean=0.0, variance=1.0).adapt(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"must broadcast to the statistics shape \(3,\)"):
        Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(jkeras.Input((3,)))
    layer = Normalization()
    layer.adapt(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"built for statistics of shape \(3,\)"):
        layer.adapt(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="holds no samples"):
        Normalization().adapt(iter([]))


def test_normalization_config_round_trip():
    for layer in (Normalization(axis=(1, 2), invert=True, name="n"),
                  Normalization(axis=None, mean=[1.0, 2.0], variance=[3.0, 4.0])):
        config = layer.get_config()
        assert Normalization.from_config(config).get_config() == config
    config = Normalization(mean=np.array([1.0, 2.0]), variance=[3.0, 4.0]).get_config()
    assert config["mean"] == [1.0, 2.0] and config["variance"] == [3.0, 4.0]
    assert config["axis"] == -1 and config["invert"] is False


# -- CenterCrop ---------------------------------------------------------------------------
def test_center_crop_values_formats_and_small_inputs():
    img = np.arange(2 * 5 * 6 * 3, dtype="uint8").reshape(2, 5, 6, 3)
    out = CenterCrop(3, 4)(img)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, img[:, 1:4, 1:5])
    np.testing.assert_array_equal(CenterCrop(2, 3)(img[0]), img[0, 1:3, 1:4])  # unbatched
    chw = np.moveaxis(img, -1, 1)
    out = CenterCrop(3, 4, data_format="channels_first")(chw)
    np.testing.assert_array_equal(out, chw[:, :, 1:4, 1:5])
    # smaller than the target: crop to the target aspect ratio, then resize (bilinear)
    small = np.random.default_rng(0).uniform(size=(1, 4, 6, 2)).astype("float32")
    out = np.asarray(CenterCrop(8, 8)(small))
    np.testing.assert_allclose(out, _bilinear(small[:, :, 1:5], 8, 8), rtol=1e-5, atol=1e-6)
    layer = CenterCrop(3, 4)
    assert layer.compute_output_shape((None, 5, 6, 3)) == (None, 3, 4, 3)
    assert layer(jkeras.Input((5, 6, 3))).shape == (None, 3, 4, 3)


def test_center_crop_errors_and_config():
    with pytest.raises(ValueError, match="CenterCrop: `height` must be a positive integer"):
        CenterCrop(0, 3)
    with pytest.raises(ValueError, match="CenterCrop 'center_crop.*' expects images of rank 4"):
        CenterCrop(2, 2)(jkeras.Input((5,)))
    with pytest.raises(ValueError, match="needs known image height and width"):
        CenterCrop(2, 2)(jkeras.Input((None, None, 3)))
    layer = CenterCrop(3, 4, data_format="channels_first", name="cc")
    config = layer.get_config()
    assert (config["height"], config["width"], config["data_format"]) == (
        3, 4, "channels_first")
    assert CenterCrop.from_config(config).get_config() == config


# -- Resizing -----------------------------------------------------------------------------
def test_resizing_bilinear_against_numpy():
    x = np.random.default_rng(1).uniform(size=(2, 4, 6, 3)).astype("float32")
    np.testing.assert_allclose(Resizing(8, 9)(x), _bilinear(x, 8, 9), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Resizing(2, 3)(x), _bilinear(x, 2, 3), rtol=1e-5, atol=1e-6)
    chw = np.moveaxis(x, -1, 1)
    out = Resizing(8, 9, data_format="channels_first")(chw)
    np.testing.assert_allclose(out, _bilinear(chw, 8, 9, 2, 3), rtol=1e-5, atol=1e-6)
    nearest = np.asarray(Resizing(8, 12, interpolation="nearest")(x))
    np.testing.assert_array_equal(nearest, x.repeat(2, axis=1).repeat(2, axis=2))
    assert Resizing(3, 3, interpolation="bicubic")(x).shape == (2, 3, 3, 3)
    assert Resizing(3, 3, antialias=True)(x).shape == (2, 3, 3, 3)


def test_resizing_crop_and_pad_to_aspect_ratio():
    x = np.random.default_rng(2).uniform(size=(1, 4, 8, 1)).astype("float32")
    out = Resizing(2, 2, crop_to_aspect_ratio=True)(x)
    np.testing.assert_allclose(out, _bilinear(x[:, :, 2:6], 2, 2), rtol=1e-5, atol=1e-6)
    out = Resizing(8, 8, pad_to_aspect_ratio=True, fill_value=0.5)(x)
    padded = np.pad(x, [(0, 0), (2, 2), (0, 0), (0, 0)], constant_values=0.5)
    np.testing.assert_allclose(out, padded, rtol=1e-6)
    img = np.zeros((1, 4, 8, 3), "uint8")
    assert Resizing(2, 2)(img).dtype == np.float32


def test_resizing_errors_and_config():
    with pytest.raises(ValueError, match="Resizing 'resizing.*': `interpolation` must be one of"):
        Resizing(2, 2, interpolation="cubic-ish")
    with pytest.raises(ValueError, match="only one of `crop_to_aspect_ratio` and "
                                         "`pad_to_aspect_ratio`"):
        Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="Resizing: `width` must be a positive integer"):
        Resizing(2, -1)
    layer = Resizing(3, 5, interpolation="nearest", crop_to_aspect_ratio=True, name="rs")
    config = layer.get_config()
    for key in ("height", "width", "interpolation", "crop_to_aspect_ratio",
                "pad_to_aspect_ratio", "fill_mode", "fill_value", "antialias", "data_format"):
        assert key in config
    assert Resizing.from_config(config).get_config() == config
    assert layer.compute_output_shape((None, 7, 7, 3)) == (None, 3, 5, 3)
    assert Resizing(3, 5, data_format="channels_first").compute_output_shape(
        (None, 3, 7, 7)) == (None, 3, 3, 5)


# -- a model using them -------------------------------------------------------------------
def test_adapted_model_saves_and_loads(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 255, size=(6, 6, 8, 3)).astype("uint8")
    norm = Normalization()
    norm.adapt(images.astype("float32") / 255.0)
    inp = jkeras.Input((6, 8, 3), dtype="uint8")
    h = Rescaling(1 / 255.0)(inp)
    h = norm(h)
    h = CenterCrop(4, 6)(h)
    h = Resizing(2, 3)(h)
    out = jkeras.layers.Dense(2)(jkeras.layers.Flatten()(h))
    model = jkeras.Model(inp, out)
    expected = model.predict(images, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = jkeras.models.load_model(path, custom_objects=CUSTOM)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, rtol=1e-5,
                               atol=1e-6)
    loaded_norm = next(la for la in loaded.layers if isinstance(la, Normalization))
    np.testing.assert_allclose(loaded_norm.mean.numpy(), norm.mean.numpy())
    np.testing.assert_allclose(loaded_norm.variance.numpy(), norm.variance.numpy())
    assert int(loaded_norm.count.numpy()) == int(norm.count.numpy()) == 6 * 6 * 8
    assert len(loaded_norm.non_trainable_weights) == 3 and not loaded_norm.trainable_weights


def test_shared_layers_are_batch_independent():
    rng = np.random.default_rng(5)
    a, b = (rng.uniform(size=(2, 4, 6, 3)).astype("float32") for _ in range(2))
    norm = Normalization(mean=[0.5, 0.2, 0.1], variance=[1.0, 2.0, 4.0])
    for layer in (Rescaling(2.0), norm, CenterCrop(2, 3), Resizing(3, 3)):
        assert layer.batch_independent(True) and layer.batch_independent(False)
        ia, ib = jkeras.Input((4, 6, 3)), jkeras.Input((4, 6, 3))
        model = jkeras.Model([ia, ib], [layer(ia), layer(ib)])
        out_a, out_b = model.predict([a, b], verbose=0)
        np.testing.assert_allclose(out_a, layer(a), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out_b, layer(b), rtol=1e-5, atol=1e-6)


def test_adapt_after_the_model_is_built_updates_it():
    data = np.array([[1.0, 10.0], [3.0, 30.0]], "float32")
    inp = jkeras.Input((2,))
    norm = Normalization()
    model = jkeras.Model(inp, norm(inp))
    np.testing.assert_allclose(model.predict(data, verbose=0), data)  # not adapted: identity
    norm.adapt(data)
    np.testing.assert_allclose(model.predict(data, verbose=0), [[-1.0, -1.0], [1.0, 1.0]],
                               rtol=1e-6)
    assert int(norm.count.numpy()) == 2
