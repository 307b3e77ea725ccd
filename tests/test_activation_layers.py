"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax): values
against numpy, Keras 1 argument names, masks, shapes, errors and saving."""

import warnings

import numpy as np
import pytest

import jkeras
from jkeras import compat, layers
from jkeras.layers.activation_layers import (
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
    ThresholdedReLU,
)

X = np.array([[-10.0, -5.0, -1.0, 0.0, 0.5, 1.0, 5.0, 10.0]], dtype="float32")


def _np_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    pos = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        pos = np.minimum(pos, max_value)
    return pos - negative_slope * np.maximum(threshold - x, 0.0)


@pytest.mark.parametrize("kwargs", [
    {}, {"max_value": 5.0}, {"negative_slope": 0.5}, {"threshold": 5.0},
    {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5},
])
def test_relu_matches_keras_definition(kwargs):
    out = np.asarray(ReLU(**kwargs)(X))
    np.testing.assert_allclose(out, _np_relu(X, **kwargs), rtol=1e-6)


def test_relu_documented_examples():
    x = np.array([-10, -5, 0.0, 5, 10], dtype="float32")
    np.testing.assert_allclose(ReLU()(x), [0, 0, 0, 5, 10])
    np.testing.assert_allclose(ReLU(negative_slope=0.5)(x), [-5, -2.5, 0, 5, 10])
    np.testing.assert_allclose(ReLU(max_value=5.0)(x), [0, 0, 0, 5, 5])
    np.testing.assert_allclose(ReLU(threshold=5.0)(x), [0, 0, 0, 0, 10])


def test_leaky_elu_thresholded_values():
    np.testing.assert_allclose(LeakyReLU()(X), np.where(X >= 0, X, 0.3 * X), rtol=1e-6)
    np.testing.assert_allclose(LeakyReLU(negative_slope=0.1)(X), np.where(X >= 0, X, 0.1 * X),
                               rtol=1e-6)
    np.testing.assert_allclose(ELU()(X), np.where(X > 0, X, np.expm1(X)), rtol=1e-6)
    np.testing.assert_allclose(ELU(alpha=0.5)(X), np.where(X > 0, X, 0.5 * np.expm1(X)),
                               rtol=1e-6)
    np.testing.assert_allclose(ThresholdedReLU()(X), np.where(X > 1.0, X, 0.0))
    np.testing.assert_allclose(ThresholdedReLU(theta=0.5)(X), np.where(X > 0.5, X, 0.0))


def test_keras1_alpha_names_warn_and_work():
    with pytest.warns(DeprecationWarning, match="'alpha'.*'negative_slope'"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    with pytest.warns(DeprecationWarning, match="'init'.*'alpha_initializer'"):
        prelu = PReLU(init="zero")
    assert type(prelu.alpha_initializer).__name__ == "Zeros"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ELU(alpha=0.5).alpha == 0.5  # ELU's alpha is its modern name


def test_prelu_alpha_shape_values_and_shared_axes():
    x = jkeras.Input((3, 4, 5))
    full = PReLU()
    full(x)
    assert full.alpha.shape == (3, 4, 5) and full.alpha.trainable
    shared = PReLU(shared_axes=[1, 2])
    y = shared(x)
    assert shared.alpha.shape == (1, 1, 5) and y.shape == (None, 3, 4, 5)
    assert PReLU(shared_axes=2)(x) is not None  # an int is one axis
    alpha = np.linspace(-0.5, 0.5, 5).astype("float32").reshape(1, 1, 5)
    shared.set_weights([alpha])
    v = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype("float32")
    expected = np.where(v >= 0, v, alpha * v)
    np.testing.assert_allclose(shared(v), expected, rtol=1e-6)
    assert [w.path for w in shared.weights] == [f"{shared.name}/alpha"]


def test_softmax_axes_and_mask():
    v = np.random.default_rng(1).normal(size=(2, 3, 4)).astype("float32")

    def np_softmax(a, axis):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    np.testing.assert_allclose(Softmax()(v), np_softmax(v, -1), rtol=1e-5)
    np.testing.assert_allclose(Softmax(axis=1)(v), np_softmax(v, 1), rtol=1e-5)
    np.testing.assert_allclose(Softmax(axis=(1, 2))(v), np_softmax(v, (1, 2)), rtol=1e-5)
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]], dtype=bool)[None]
    out = np.asarray(Softmax()(v, mask=mask))
    masked = np.where(mask, v, -np.inf)
    with np.errstate(invalid="ignore"):
        expected = np.nan_to_num(np_softmax(masked, -1)) * mask
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-7)
    assert np.all(out[:, 2] == 0)  # a fully masked row is all zeros
    np.testing.assert_allclose(Softmax()(v, mask=mask.astype("float32")), out)  # 0/1 masks
    with pytest.raises(ValueError, match=r"Softmax 'softmax.*mask of shape \(3,\)"):
        Softmax()(v, mask=np.ones(3, bool))
    shared = np.array([True, True, False, True])  # broadcasts along the leading axes
    np.testing.assert_allclose(Softmax()(v, mask=shared)[..., 2], 0.0)


def test_softmax_mask_errors_when_the_model_is_built():
    inp = jkeras.Input((3, 4))
    timestep_masked = layers.Dense(4)(layers.Masking()(inp))  # carries a (batch, 3) mask
    with pytest.raises(ValueError, match=r"mask of shape \(None, 3\).*Activation\('softmax'\)"):
        Softmax()(timestep_masked)
    y = Softmax()(inp, mask=jkeras.ops.greater(inp, 0.0))  # an explicit mask of the input's shape
    model = jkeras.Model(inp, y)
    x = np.array([[[1.0, -1.0, 2.0, -3.0]] * 3], "float32")
    out = model.predict(x, verbose=0)
    e = np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum()
    np.testing.assert_allclose(out[0, 0], [e[0], 0, e[1], 0], rtol=1e-5)


def test_symbolic_shapes_dtypes_masks_pass_through():
    ids = jkeras.Input((6,), dtype="int32")
    e = layers.Embedding(10, 4, mask_zero=True)(ids)
    for layer in (ReLU(), LeakyReLU(), PReLU(), ELU(), ThresholdedReLU()):
        y = layer(e)
        assert y.shape == (None, 6, 4) and y.dtype == "float32"
        assert y._keras_mask is not None and y._keras_mask.shape == (None, 6)
    assert ReLU()(jkeras.Input((3,), dtype="int32")).dtype == "float32"
    assert layers.ReLU is ReLU and layers.Softmax is Softmax and layers.PReLU is PReLU


@pytest.mark.parametrize("make, match", [
    (lambda: ReLU(max_value=-1.0), r"ReLU: `max_value` must be >= 0, got -1"),
    (lambda: ReLU(negative_slope=-0.1), r"ReLU: `negative_slope` must be >= 0"),
    (lambda: ReLU(threshold=None), r"ReLU: `threshold` must be a number, got None"),
    (lambda: LeakyReLU(negative_slope=-1), r"LeakyReLU: `negative_slope` must be >= 0"),
    (lambda: ThresholdedReLU(theta=-0.5), r"ThresholdedReLU: `theta` must be >= 0"),
    (lambda: ELU(alpha="big"), r"ELU: `alpha` must be a number"),
    (lambda: Softmax(axis="last"), r"Softmax: `axis` must be an int or a tuple"),
    (lambda: PReLU(shared_axes=[0]), r"PReLU: `shared_axes` must be positive axis numbers"),
])
def test_bad_arguments_name_layer_and_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_prelu_build_errors():
    with pytest.raises(ValueError, match=r"PReLU 'p'.*axes \[1\].*unknown.*shared_axes=\[1\]"):
        PReLU(name="p")(jkeras.Input((None, 3)))
    with pytest.raises(ValueError, match=r"shared_axes=\[3\] names axis 3"):
        PReLU(shared_axes=3)(jkeras.Input((4, 3)))
    assert PReLU(shared_axes=1)(jkeras.Input((None, 3))).shape == (None, None, 3)


def test_config_round_trip():
    for layer in (ReLU(max_value=6.0, negative_slope=0.1, threshold=0.2),
                  LeakyReLU(negative_slope=0.2), ELU(alpha=0.7), ThresholdedReLU(theta=0.3),
                  Softmax(axis=(1, 2)),
                  PReLU(alpha_initializer="ones", alpha_regularizer="l2", shared_axes=[1])):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config
        restored = jkeras.layers.deserialize(jkeras.layers.serialize(layer))
        assert type(restored) is type(layer) and restored.get_config() == config


def test_prelu_model_save_and_load(tmp_path):
    inp = jkeras.Input((3, 4))
    h = layers.Dense(4)(inp)
    h = PReLU(alpha_initializer="random_uniform", shared_axes=[1])(h)
    out = LeakyReLU(negative_slope=0.2)(h)
    model = jkeras.Model(inp, Softmax()(out))
    x = np.random.default_rng(2).normal(size=(2, 3, 4)).astype("float32")
    alpha0 = model.layers[2].get_weights()[0]
    model.compile("sgd", "mse")
    model.train_on_batch(x, np.zeros((2, 3, 4), "float32"))
    assert not np.allclose(model.layers[2].get_weights()[0], alpha0)  # alpha is trained
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = jkeras.models.load_model(tmp_path / "m.keras")
    assert [type(la).__name__ for la in loaded.layers] == [
        "InputLayer", "Dense", "PReLU", "LeakyReLU", "Softmax"]
    np.testing.assert_array_equal(loaded.layers[2].get_weights()[0],
                                  model.layers[2].get_weights()[0])
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-6)


def test_keras1_advanced_activations_import():
    compat.install_keras_alias()
    try:
        from keras.layers.advanced_activations import ELU as KELU  # noqa: N811
        from keras.layers.advanced_activations import LeakyReLU as KLeaky

        assert KLeaky is LeakyReLU and KELU is ELU
    finally:
        compat.uninstall_keras_alias()
