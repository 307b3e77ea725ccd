"""Convolution layers against plain numpy convolutions, plus Keras 1 spellings,
parameter counts, configs, input checks and the seed guide's conv models."""

import warnings

import numpy as np
import pytest

import jkeras
from jkeras import Input, Model
from jkeras.layers.convolutional import (
    AtrousConvolution2D,
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Convolution1D,
    Convolution2D,
    Deconvolution2D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    SeparableConvolution2D,
)
from jkeras.layers.core import Flatten
from jkeras.layers.pooling import MaxPooling2D


# ---------------------------------------------------------------------------
# numpy references (channels_last; tiny shapes, plain loops)
# ---------------------------------------------------------------------------
def _pads(sizes, kernel, strides, dilation, padding):
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        extent = (k - 1) * d + 1
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "causal":
            pads.append((extent - 1, 0))
        else:  # TF/Keras 'same': output ceil(n / s), extra padding at the end
            out = -(-n // s)
            total = max((out - 1) * s + extent - n, 0)
            pads.append((total // 2, total - total // 2))
    return pads


def np_conv(x, w, strides=None, padding="valid", dilation=None, groups=1):
    """x (N, *spatial, C), w (*k, C // groups, F) -> (N, *out, F)."""
    rank = x.ndim - 2
    strides = strides or (1,) * rank
    dilation = dilation or (1,) * rank
    pads = _pads(x.shape[1:-1], w.shape[:rank], strides, dilation, padding)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    out = [(xp.shape[1 + i] - ((w.shape[i] - 1) * dilation[i] + 1)) // strides[i] + 1
           for i in range(rank)]
    cin_g, f = w.shape[-2], w.shape[-1]
    f_g = f // groups
    y = np.zeros((x.shape[0], *out, f))
    for idx in np.ndindex(*out):
        for kidx in np.ndindex(*w.shape[:rank]):
            pos = tuple(idx[i] * strides[i] + kidx[i] * dilation[i] for i in range(rank))
            patch = xp[(slice(None), *pos)]  # (N, C)
            for g in range(groups):
                y[(slice(None), *idx, slice(g * f_g, (g + 1) * f_g))] += (
                    patch[:, g * cin_g:(g + 1) * cin_g] @ w[kidx][:, g * f_g:(g + 1) * f_g]
                )
    return y


def np_depthwise(x, w, strides=None, padding="valid"):
    """x (N, *sp, C), w (*k, C, M) -> (N, *out, C * M), channel c * M + m."""
    c, m = w.shape[-2], w.shape[-1]
    outs = []
    for ci in range(c):
        outs.append(np_conv(x[..., ci:ci + 1], w[..., ci:ci + 1, :], strides, padding))
    return np.concatenate(outs, axis=-1).reshape(*outs[0].shape[:-1], c * m)


def np_conv_transpose_valid(x, w, strides, output_padding=None):
    """Scatter form of a 'valid' transposed convolution: x (N, *sp, Cin),
    w (*k, F, Cin); every input pixel adds x * w at position i * stride."""
    rank = x.ndim - 2
    k = w.shape[:rank]
    out = []
    for i in range(rank):
        n, s = x.shape[1 + i], strides[i]
        if output_padding is None:
            out.append(n * s + max(k[i] - s, 0))
        else:
            out.append((n - 1) * s + k[i] + output_padding[i])
    full = [max(o, (x.shape[1 + i] - 1) * strides[i] + k[i]) for i, o in enumerate(out)]
    y = np.zeros((x.shape[0], *full, w.shape[-2]))
    for idx in np.ndindex(*x.shape[1:-1]):
        for kidx in np.ndindex(*k):
            pos = tuple(idx[i] * strides[i] + kidx[i] for i in range(rank))
            y[(slice(None), *pos)] += x[(slice(None), *idx)] @ w[kidx].T
    return y[(slice(None), *[slice(0, o) for o in out])]


# Random initializers compile once per weight shape (slow); numeric tests start
# from zeros and set random weights with set_weights.
Z = {"kernel_initializer": "zeros"}
ZS = {"depthwise_initializer": "zeros", "pointwise_initializer": "zeros"}


def to_cf(x):
    return np.moveaxis(x, -1, 1)


def to_cl(x):
    return np.moveaxis(x, 1, -1)


def run(layer, x):
    """Eager call; checks compute_output_shape agrees with the real output."""
    y = np.asarray(layer(x))
    assert tuple(layer.compute_output_shape((None, *x.shape[1:]))) == (None, *y.shape[1:])
    return y


def set_random_weights(layer, rng):
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.weights])


# ---------------------------------------------------------------------------
# Conv2D / Conv1D
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 1), ("same", 2),
                                             ("valid", 2)])
def test_conv2d_matches_numpy(rng, data_format, padding, strides):
    x = rng.normal(size=(2, 7, 6, 3)).astype("float32")
    layer = Conv2D(4, (3, 2), strides=strides, padding=padding, data_format=data_format, **Z)
    xin = x if data_format == "channels_last" else to_cf(x)
    layer.build((None, *xin.shape[1:]))
    set_random_weights(layer, rng)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 3, 4) and bias.shape == (4,)
    y = run(layer, xin)
    expected = np_conv(x, kernel, (strides, strides), padding) + bias
    if data_format == "channels_first":
        y = to_cl(y)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_conv2d_dilation_groups_activation(rng):
    x = rng.normal(size=(2, 7, 7, 4)).astype("float32")
    layer = Conv2D(6, 3, dilation_rate=2, groups=2, padding="same", activation="relu", **Z)
    layer.build((None, 7, 7, 4))
    set_random_weights(layer, rng)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 2, 6)
    y = run(layer, x)
    expected = np.maximum(np_conv(x, kernel, None, "same", (2, 2), groups=2) + bias, 0)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding,strides,dilation", [
    ("valid", 1, 1), ("same", 2, 1), ("causal", 1, 1), ("causal", 1, 2), ("causal", 2, 1),
])
def test_conv1d_matches_numpy(rng, data_format, padding, strides, dilation):
    x = rng.normal(size=(2, 9, 3)).astype("float32")
    layer = Conv1D(5, 3, strides=strides, padding=padding, dilation_rate=dilation,
                   data_format=data_format, **Z)
    xin = x if data_format == "channels_last" else to_cf(x)
    layer.build((None, *xin.shape[1:]))
    set_random_weights(layer, rng)
    kernel, bias = layer.get_weights()
    y = run(layer, xin)
    if data_format == "channels_first":
        y = to_cl(y)
    expected = np_conv(x, kernel, (strides,), padding, (dilation,)) + bias
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_causal_conv1d_does_not_see_the_future(rng):
    x = rng.normal(size=(1, 8, 2)).astype("float32")
    layer = Conv1D(3, 4, padding="causal")
    y1 = np.asarray(layer(x))
    x2 = x.copy()
    x2[:, 5:] += 10.0
    y2 = np.asarray(layer(x2))
    np.testing.assert_allclose(y1[:, :5], y2[:, :5], rtol=1e-6)
    assert not np.allclose(y1[:, 5:], y2[:, 5:])


def test_causal_padding_only_for_conv1d():
    with pytest.raises(ValueError, match="padding must be one of"):
        Conv2D(2, 3, padding="causal")


def test_conv3d_shape_and_values(rng):
    x = rng.normal(size=(1, 4, 4, 4, 2)).astype("float32")
    layer = Conv3D(3, 2, padding="valid", **Z)
    layer.build((None, 4, 4, 4, 2))
    set_random_weights(layer, rng)
    kernel, bias = layer.get_weights()
    y = run(layer, x)
    np.testing.assert_allclose(y, np_conv(x, kernel) + bias, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------
# Transposed convolutions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kernel,strides,output_padding", [
    (3, 2, None), (2, 2, None), (2, 3, None), (3, 1, None), (3, 2, 1),
])
def test_conv2d_transpose_valid_matches_scatter(rng, kernel, strides, output_padding):
    x = rng.normal(size=(2, 3, 4, 3)).astype("float32")
    layer = Conv2DTranspose(2, kernel, strides=strides, padding="valid",
                            output_padding=output_padding, **Z)
    layer.build((None, 3, 4, 3))
    set_random_weights(layer, rng)
    w, b = layer.get_weights()
    assert w.shape == (kernel, kernel, 2, 3)  # (kh, kw, filters, in_channels)
    y = run(layer, x)
    op = None if output_padding is None else (output_padding,) * 2
    expected = np_conv_transpose_valid(x, w, (strides, strides), op) + b
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kernel,strides,output_padding,padding", [
    (3, 2, None, "same"), (4, 2, None, "same"), (3, 1, None, "same"), (1, 3, None, "same"),
    (3, 2, 1, "same"), (3, 2, None, "valid"), (2, 3, None, "valid"),
])
def test_conv_transpose_is_adjoint_of_conv(rng, data_format, kernel, strides,
                                           output_padding, padding):
    """<conv(a), b> == <a, conv_transpose(b)> for the convolution (same kernel,
    strides and padding) that maps the transposed output back to its input."""
    b = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    layer = Conv2DTranspose(2, kernel, strides=strides, padding=padding,
                            output_padding=output_padding, use_bias=False,
                            data_format=data_format, **Z)
    bin_ = b if data_format == "channels_last" else to_cf(b)
    layer.build((None, *bin_.shape[1:]))
    set_random_weights(layer, rng)
    (w,) = layer.get_weights()
    t = run(layer, bin_)
    if data_format == "channels_first":
        t = to_cl(t)
    a = rng.normal(size=t.shape)
    fwd = np_conv(a, w, (strides, strides), padding)
    assert fwd.shape == b.shape
    np.testing.assert_allclose(np.sum(fwd * b), np.sum(a * t), rtol=1e-4)


def test_conv_transpose_output_padding_must_be_below_stride():
    with pytest.raises(ValueError, match="output_padding"):
        Conv2DTranspose(2, 3, strides=2, output_padding=2)


def test_conv1d_transpose_shape(rng):
    layer = Conv1DTranspose(4, 3, strides=2, padding="same")
    y = run(layer, rng.normal(size=(2, 5, 3)).astype("float32"))
    assert y.shape == (2, 10, 4)


# ---------------------------------------------------------------------------
# Separable and depthwise
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depthwise_conv2d_matches_numpy(rng, data_format):
    x = rng.normal(size=(2, 6, 5, 3)).astype("float32")
    layer = DepthwiseConv2D(3, depth_multiplier=2, padding="same", strides=2,
                            data_format=data_format, depthwise_initializer="zeros")
    xin = x if data_format == "channels_last" else to_cf(x)
    layer.build((None, *xin.shape[1:]))
    assert [v.path.split("/")[-1] for v in layer.weights] == ["kernel", "bias"]
    set_random_weights(layer, rng)
    w, b = layer.get_weights()
    assert w.shape == (3, 3, 3, 2) and b.shape == (6,)
    y = run(layer, xin)
    if data_format == "channels_first":
        y = to_cl(y)
    np.testing.assert_allclose(y, np_depthwise(x, w, (2, 2), "same") + b, rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_separable_conv2d_matches_numpy(rng, data_format):
    x = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    layer = SeparableConv2D(4, (3, 3), depth_multiplier=2, data_format=data_format, **ZS)
    xin = x if data_format == "channels_last" else to_cf(x)
    layer.build((None, *xin.shape[1:]))
    assert [v.path.split("/")[-1] for v in layer.weights] == [
        "depthwise_kernel", "pointwise_kernel", "bias"]
    set_random_weights(layer, rng)
    dw, pw, b = layer.get_weights()
    assert dw.shape == (3, 3, 3, 2) and pw.shape == (1, 1, 6, 4) and b.shape == (4,)
    assert layer.count_params() == 3 * 3 * 3 * 2 + 6 * 4 + 4
    y = run(layer, xin)
    if data_format == "channels_first":
        y = to_cl(y)
    expected = np_depthwise(x, dw) @ pw[0, 0] + b
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_separable_conv1d(rng):
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    layer = SeparableConv1D(4, 3, padding="same", **ZS)
    layer.build((None, 7, 3))
    set_random_weights(layer, rng)
    dw, pw, b = layer.get_weights()
    assert dw.shape == (3, 3, 1) and pw.shape == (1, 3, 4)
    y = run(layer, x)
    np.testing.assert_allclose(y, np_depthwise(x, dw, None, "same") @ pw[0] + b, rtol=1e-4,
                               atol=1e-4)


# ---------------------------------------------------------------------------
# Keras 1 spellings
# ---------------------------------------------------------------------------
def test_keras1_convolution2d_dim_ordering_th():
    x = Input(shape=(3, 32, 32))
    with pytest.warns(DeprecationWarning) as record:
        conv = Convolution2D(16, 3, 3, border_mode="same", dim_ordering="th")
    messages = " | ".join(str(r.message) for r in record)
    assert "kernel_size=(3, 3)" in messages
    assert "'padding'" in messages and "'data_format'" in messages
    # warnings point at the user's line, not at jkeras internals
    assert all(r.filename == __file__ for r in record)
    y = conv(x)
    assert y.shape == (None, 16, 32, 32)
    assert conv.input_shape == (None, 3, 32, 32)
    assert conv.kernel.shape == (3, 3, 3, 16) and conv.strides == (1, 1)
    assert conv.count_params() == 3 * 3 * 3 * 16 + 16
    assert isinstance(conv, Conv2D)


def test_keras1_convolution2d_global_channels_first():
    jkeras.backend.set_image_data_format("channels_first")
    x = Input(shape=(3, 32, 32))
    with pytest.warns(DeprecationWarning) as record:
        y = Convolution2D(16, 3, 3, border_mode="same")(x)
    assert any("'padding'" in str(r.message) for r in record)
    assert y.shape == (None, 16, 32, 32)
    with pytest.warns(DeprecationWarning):
        y = Convolution2D(8, 3, 3, subsample=(2, 2), init="he_normal", bias=False)(x)
    assert y.shape == (None, 8, 15, 15)


def test_keras1_keyword_kernel_dims_and_regularizers():
    with pytest.warns(DeprecationWarning):
        conv = Convolution2D(nb_filter=4, nb_row=3, nb_col=2, W_regularizer="l2",
                             b_regularizer="l1")
    assert conv.filters == 4 and conv.kernel_size == (3, 2)
    assert conv.kernel_regularizer is not None and conv.bias_regularizer is not None


def test_keras2_convolution2d_tuple_kernel_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        conv = Convolution2D(32, (3, 3), strides=(2, 2), padding="same")
    assert conv.kernel_size == (3, 3) and conv.strides == (2, 2)
    assert conv.name.startswith("conv2")  # named like Conv2D, as Keras 2/3 alias


def test_conv2d_positional_third_arg_is_strides_keras3():
    conv = Conv2D(16, 3, 3)
    assert conv.kernel_size == (3, 3) and conv.strides == (3, 3)


def test_keras1_convolution1d_channels_last_even_if_global_first():
    jkeras.backend.set_image_data_format("channels_first")
    with pytest.warns(DeprecationWarning):
        conv = Convolution1D(nb_filter=8, filter_length=3, border_mode="same",
                             subsample_length=1, input_dim=5, input_length=10)
    assert conv.data_format == "channels_last"
    y = conv(Input(shape=(10, 5)))
    assert y.shape == (None, 10, 8)
    # the modern Conv1D follows the global default, as in Keras 3
    assert Conv1D(8, 3).data_format == "channels_first"


def test_keras1_atrous_deconv_separable():
    with pytest.warns(DeprecationWarning):
        atrous = AtrousConvolution2D(4, 3, 3, atrous_rate=(2, 2), border_mode="same")
    assert atrous.dilation_rate == (2, 2) and atrous.padding == "same"
    with pytest.warns(DeprecationWarning) as record:
        deconv = Deconvolution2D(3, 3, 3, output_shape=(None, 14, 14, 3), subsample=(2, 2))
    assert any("output_shape" in str(r.message) for r in record)
    assert deconv(Input(shape=(6, 6, 2))).shape == (None, 13, 13, 3)
    with pytest.warns(DeprecationWarning):
        sep = SeparableConvolution2D(8, 3, 3, init="he_uniform", depth_multiplier=2)
    assert type(sep.depthwise_initializer).__name__ == "HeUniform"
    assert type(sep.pointwise_initializer).__name__ == "HeUniform"


def test_full_padding_is_rejected_with_advice():
    with pytest.raises(ValueError, match="ZeroPadding"), pytest.warns(DeprecationWarning):
        Convolution2D(4, 3, 3, border_mode="full")


# ---------------------------------------------------------------------------
# Errors, configs, parameter counts
# ---------------------------------------------------------------------------
def test_wrong_rank_error_names_layer_and_shapes():
    conv = Conv2D(4, 3, name="myconv")
    with pytest.raises(ValueError) as e:
        conv(Input(shape=(10, 3)))
    msg = str(e.value)
    assert "myconv" in msg and "rank 4" in msg and "(None, 10, 3)" in msg


def test_channel_mismatch_after_build():
    conv = Conv2D(4, 3, name="c")
    conv(Input(shape=(8, 8, 3)))
    with pytest.raises(ValueError, match=r"built for inputs with 3 channels.*\(None, 8, 8, 5\)"):
        conv(Input(shape=(8, 8, 5)))
    with pytest.raises(ValueError, match="3 channels"):
        conv(np.zeros((1, 8, 8, 2), "float32"))


def test_input_too_small_for_valid_kernel():
    with pytest.raises(ValueError, match="too small"):
        Conv2D(4, 5)(Input(shape=(3, 3, 1)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="dilation_rate"):
        Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="groups"):
        Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="data_format"):
        Conv2D(2, 3, data_format="nhwc")


@pytest.mark.parametrize("make", [
    lambda: Conv2D(4, (3, 2), strides=2, padding="same", activation="relu",
                   kernel_regularizer="l2", data_format="channels_first"),
    lambda: Conv1D(3, 2, padding="causal", dilation_rate=2),
    lambda: Conv2DTranspose(3, 3, strides=2, output_padding=1, padding="same"),
    lambda: SeparableConv2D(4, 3, depth_multiplier=2, pointwise_regularizer="l1"),
    lambda: DepthwiseConv2D(3, depth_multiplier=3, use_bias=False),
    lambda: Convolution2D(4, (3, 3)),
])
def test_config_round_trip(rng, make):
    layer = make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    shape = (1, 6, 6, 4) if getattr(layer, "data_format", "") == "channels_last" else (
        1, 4, 6, 6)
    if isinstance(layer, Conv1D):
        shape = (1, 6, 4)
    x = rng.normal(size=shape).astype("float32")
    y = np.asarray(layer(x))
    clone.build((None, *shape[1:]))
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), y, rtol=1e-6)


def test_keras_names_in_config():
    config = Conv2D(4, 3).get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format",
                "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer",
                "bias_initializer", "kernel_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "bias_constraint"):
        assert key in config
    assert config["kernel_size"] == (3, 3) and config["data_format"] == "channels_last"


def test_parameter_counts():
    x = Input(shape=(8, 8, 3))
    for layer, n in [
        (Conv2D(16, 3, **Z), 3 * 3 * 3 * 16 + 16),
        (Conv2D(16, 3, use_bias=False, **Z), 3 * 3 * 3 * 16),
        (Conv2DTranspose(5, 2, **Z), 2 * 2 * 5 * 3 + 5),
        (DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer="zeros"), 3 * 3 * 3 * 2 + 6),
        (SeparableConv2D(7, 3, **ZS), 3 * 3 * 3 + 3 * 7 + 7),
    ]:
        layer(x)
        assert layer.count_params() == n, type(layer).__name__


def test_integer_images_are_cast(rng):
    x = rng.integers(0, 255, size=(1, 5, 5, 1)).astype("uint8")
    layer = Conv2D(2, 3)
    y = np.asarray(layer(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, np_conv(x.astype("float32"), layer.get_weights()[0]),
                               rtol=1e-4, atol=1e-3)


def test_jit_grad_through_conv(rng):
    import jax

    layer = Conv2D(2, 3, padding="same", data_format="channels_first")
    x = rng.normal(size=(2, 3, 5, 5)).astype("float32")
    layer(x)
    g = jax.jit(jax.grad(lambda v: layer(v).sum()))(x)
    assert g.shape == x.shape and np.isfinite(np.asarray(g)).all()


# ---------------------------------------------------------------------------
# Seed guide models (build only)
# ---------------------------------------------------------------------------
def test_seed_inception_module_channels_first():
    jkeras.backend.set_image_data_format("channels_first")
    from jkeras.layers import concatenate

    inp = Input(shape=(3, 256, 256))
    t1 = Conv2D(64, (1, 1), padding="same", activation="relu", **Z)(inp)
    t1 = Conv2D(64, (3, 3), padding="same", activation="relu", **Z)(t1)
    t2 = Conv2D(64, (1, 1), padding="same", activation="relu", **Z)(inp)
    t2 = Conv2D(64, (5, 5), padding="same", activation="relu", **Z)(t2)
    with pytest.warns(DeprecationWarning, match="padding"):
        t3 = MaxPooling2D((3, 3), strides=(1, 1), border_mode="same")(inp)
    t3 = Conv2D(64, (1, 1), padding="same", activation="relu", **Z)(t3)
    out = concatenate([t1, t2, t3], axis=1)
    assert out.shape == (None, 192, 256, 256)
    assert Model(inp, out).count_params() == 140_160


def test_seed_shared_vision_tower_keras1():
    jkeras.backend.set_image_data_format("channels_first")
    digit = Input(shape=(1, 27, 27))
    with pytest.warns(DeprecationWarning):
        x = Convolution2D(64, 3, 3)(digit)
        x = Convolution2D(64, 3, 3)(x)
    x = MaxPooling2D((2, 2))(x)
    out = Flatten()(x)
    assert out.shape == (None, 7744)
    model = Model(digit, out)
    assert model.count_params() == (9 * 64 + 64) + (9 * 64 * 64 + 64)
