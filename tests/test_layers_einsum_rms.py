"""EinsumDense, RMSNormalization, Identity, InputSpec and the Convolution*Transpose
aliases: values against numpy, Keras 3's weight shapes/counts and configs, errors."""

import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers as L
from jkeras.layers import InputSpec


# -- EinsumDense ----------------------------------------------------------------------------
@pytest.mark.parametrize("equation, out_shape, bias_axes, x_shape, kernel, bias, y_shape", [
    # Keras 3.15 gives these kernel/bias shapes (read from the reference while developing)
    ("ab,bc->ac", 4, "c", (2, 6), (6, 4), (4,), (2, 4)),
    ("abc,cd->abd", (None, 4), "d", (2, 5, 6), (6, 4), (4,), (2, 5, 4)),
    ("abc,cde->abde", (5, 2, 3), "de", (2, 5, 6), (6, 2, 3), (2, 3), (2, 5, 2, 3)),
    ("...b,bc->...c", 4, "c", (2, 3, 5, 6), (6, 4), (4,), (2, 3, 5, 4)),
    ("ab...,bc->ac...", (5,), "c", (2, 4, 3), (4, 5), (5, 1), (2, 5, 3)),
    ("abc,cd->abd", (5, 4), None, (2, 5, 6), (6, 4), None, (2, 5, 4)),
])
def test_einsum_dense_against_numpy(equation, out_shape, bias_axes, x_shape, kernel, bias,
                                    y_shape):
    rng = np.random.default_rng(0)
    layer = L.EinsumDense(equation, out_shape, bias_axes=bias_axes, activation="relu",
                          bias_initializer="random_normal")
    x = rng.normal(size=x_shape).astype("float32")
    y = np.asarray(layer(x))
    assert layer.kernel.shape == kernel
    assert (layer.bias.shape if layer.bias is not None else None) == bias
    expected = np.einsum(equation, x, np.asarray(layer.kernel.value))
    if bias is not None:
        expected = expected + np.asarray(layer.bias.value)
    np.testing.assert_allclose(y, np.maximum(expected, 0), rtol=1e-5, atol=1e-6)
    assert y.shape == y_shape
    sym = layer.compute_output_shape((None, *x_shape[1:]))
    assert sym == (None, *y_shape[1:])


def test_einsum_dense_symbolic_shapes_params_and_config():
    x = jkeras.Input((5, 6))
    layer = L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
    y = layer(x)
    assert y.shape == (None, 5, 2, 3)  # None filled in from the input
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert layer.count_params() == 42  # Keras 3: 6*2*3 + 2*3
    config = layer.get_config()
    for key in ("output_shape", "equation", "activation", "bias_axes", "kernel_initializer",
                "bias_initializer", "kernel_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "bias_constraint",
                "quantization_config"):
        assert key in config
    assert config["output_shape"] == (None, 2, 3) and config["equation"] == "abc,cde->abde"
    clone = L.EinsumDense.from_config(config)
    assert clone(x).shape == (None, 5, 2, 3)


def test_einsum_dense_glorot_fans_follow_the_equation():
    # fan_in = 64 (the input axis), fan_out = 4 * 8 (the two output axes): limit sqrt(6/96)
    layer = L.EinsumDense("ab,bnh->anh", (4, 8), kernel_initializer="glorot_uniform")
    layer.build((None, 64))
    k = np.asarray(layer.kernel.value)
    limit = np.sqrt(6.0 / (64 + 32))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit


def test_einsum_dense_lora():
    rng = np.random.default_rng(1)
    layer = L.EinsumDense("...b,bc->...c", 4, bias_axes="c", lora_rank=2, lora_alpha=4)
    x = rng.normal(size=(3, 6)).astype("float32")
    layer(x)
    assert not layer.kernel.trainable
    assert sorted(w.name for w in layer.trainable_weights) == [
        "bias", "lora_kernel_a", "lora_kernel_b"]
    assert layer.count_params() == 48  # Keras 3: 24 + 4 + 12 + 8
    layer.lora_kernel_b.assign(rng.normal(size=(2, 4)).astype("float32"))
    merged = np.asarray(layer.kernel.value) + 2.0 * (
        np.asarray(layer.lora_kernel_a.value) @ np.asarray(layer.lora_kernel_b.value))
    np.testing.assert_allclose(layer(x), x @ merged + np.asarray(layer.bias.value), rtol=1e-5)
    assert layer.get_config()["lora_rank"] == 2 and layer.get_config()["lora_alpha"] == 4
    with pytest.raises(ValueError, match="already enabled"):
        layer.enable_lora(2)


@pytest.mark.parametrize("kwargs, match", [
    ({"equation": "ab,bc", "output_shape": 4}, "invalid einsum equation"),
    ({"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "z"}, "bias_axes 'z'"),
    ({"equation": "ab,bcz->ac", "output_shape": 4}, "kernel axis 'z'"),
    ({"equation": "ab,bc->acz", "output_shape": (4, 2)}, "output axis 'z'"),
    ({"equation": "ab,bc->ac", "output_shape": (4, 2)}, "output_shape must give 1"),
    ({"equation": "abc,cd->abd", "output_shape": (None, 4)}, "rank 3"),
])
def test_einsum_dense_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.EinsumDense(**kwargs)(np.ones((2, 6), "float32"))


# -- RMSNormalization, Identity -----------------------------------------------------------
def test_rms_normalization_formula_weights_and_config():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 6)).astype("float32")
    layer, multi, first = (L.RMSNormalization(epsilon=1e-3), L.RMSNormalization(axis=[1, 2]),
                           L.RMSNormalization(axis=1))
    for la in (layer, multi, first):
        la.build(x.shape)
    assert [(w.name, w.shape) for w in layer.weights] == [("scale", (6,))]
    assert multi.scale.shape == (5, 6) and first.scale.shape == (5,)
    scale = rng.normal(size=(6,)).astype("float32")
    layer.scale.assign(scale)
    # one compiled program for the three layers (keeps the test fast)
    y, y_multi, y_first = jax.jit(lambda v: (layer(v), multi(v), first(v)))(x)
    np.testing.assert_allclose(
        y, x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-3) * scale, rtol=1e-5)
    np.testing.assert_allclose(
        y_multi, x / np.sqrt((x ** 2).mean((1, 2), keepdims=True) + 1e-6), rtol=1e-5)
    # a non-trailing axis: the scale broadcasts along it
    np.testing.assert_allclose(
        y_first, x / np.sqrt((x ** 2).mean(1, keepdims=True) + 1e-6), rtol=1e-5)
    assert layer.get_config()["axis"] == [-1] and layer.get_config()["epsilon"] == 1e-3
    with pytest.raises(ValueError, match="out of range"):
        L.RMSNormalization(axis=3)(x)


def test_identity_passes_values_masks_and_structures():
    x = jkeras.Input((3,), dtype="int32")
    emb = L.Embedding(5, 2, mask_zero=True)(x)
    y = L.Identity()(emb)
    assert y._keras_mask is not None and y.shape == (None, 3, 2)
    a = np.arange(6, dtype="int32").reshape(2, 3)
    out = L.Identity()([a, a])
    assert out[0] is a and L.Identity().count_params() == 0


# -- InputSpec -------------------------------------------------------------------------------
class _Spec(L.Layer):
    def __init__(self, spec, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = spec

    def call(self, inputs):
        return inputs


@pytest.mark.parametrize("spec, shape, dtype, match", [
    (InputSpec(ndim=3), (2, 4), "float32", "expected ndim=3, found ndim=2"),
    (InputSpec(min_ndim=3), (2, 4), "float32", "expected min_ndim=3"),
    (InputSpec(max_ndim=2), (2, 4, 1), "float32", "expected max_ndim=2"),
    (InputSpec(dtype="int32"), (2, 4), "float32", "expected dtype=int32, found dtype=float32"),
    (InputSpec(axes={-1: 5}), (2, 4), "float32", "expected axis -1 of the input to have size 5"),
    (InputSpec(shape=(None, 3)), (2, 4), "float32", r"expected shape=\(None, 3\)"),
])
def test_input_spec_errors_name_the_layer(spec, shape, dtype, match):
    layer = _Spec(spec, name="checked")
    with pytest.raises(ValueError, match=match) as info:
        layer(np.zeros(shape, dtype))
    assert "'checked'" in str(info.value)
    with pytest.raises(ValueError, match=match):
        _Spec(spec)(jkeras.Input(shape[1:], dtype=dtype))


def test_input_spec_accepts_fitting_inputs_and_checks_lists():
    squeeze = _Spec(InputSpec(shape=(None, 4, 1), allow_last_axis_squeeze=True))
    assert squeeze(np.zeros((2, 4), "float32")).shape == (2, 4)
    pair = _Spec([InputSpec(ndim=2), InputSpec(ndim=3)])
    pair([np.zeros((1, 2)), np.zeros((1, 2, 3))])
    with pytest.raises(ValueError, match="expects 2 input"):
        pair([np.zeros((1, 2))])
    named = _Spec([InputSpec(ndim=2, name="a")])
    named({"a": np.zeros((1, 2))})
    with pytest.raises(ValueError, match="missing"):
        named({"b": np.zeros((1, 2))})
    config = InputSpec(ndim=2, axes={1: 3}).get_config()
    assert InputSpec.from_config(config).axes == {1: 3}
    with pytest.raises(TypeError, match="integer keys"):
        InputSpec(axes={"x": 1})
    with pytest.raises(ValueError, match="out of range"):
        InputSpec(ndim=2, axes={3: 1})


def test_convolution_transpose_aliases_are_the_keras_classes():
    assert L.Convolution1DTranspose is L.Conv1DTranspose
    assert L.Convolution3DTranspose is L.Conv3DTranspose
    layer = L.Convolution1DTranspose(2, 3, strides=2)
    assert layer(np.ones((1, 4, 3), "float32")).shape == (1, 9, 2)
    assert layer.kernel.shape == (3, 2, 3)
