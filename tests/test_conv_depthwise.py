"""jkeras.ops.depthwise (depthwise convolution as a sum of shifted, scaled inputs, used on
the CPU backend): values and gradients against a grouped lax.conv_general_dilated, for
both data formats, ranks 1-3, odd sizes, strides, dilation, depth multipliers, explicit
and cropping padding; where it is chosen; and the layers that use it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jkeras as keras
from jkeras.ops import conv_kernels as ck
from jkeras.ops import depthwise

# (data_format, input shape, kernel spatial, multiplier, strides, dilation, padding)
CASES = [
    ("channels_last", (2, 7, 9, 3), (3, 3), 1, (1, 1), (1, 1), "SAME"),
    ("channels_last", (2, 9, 8, 4), (3, 3), 2, (2, 2), (1, 1), "SAME"),
    ("channels_last", (1, 8, 7, 5), (5, 5), 1, (2, 1), (1, 1), "VALID"),
    ("channels_last", (2, 11, 10, 3), (3, 2), 1, (1, 2), (2, 3), "SAME"),
    ("channels_last", (1, 6, 6, 2), (3, 3), 3, (1, 1), (1, 1), ((-1, 2), (0, 1))),
    ("channels_first", (2, 3, 9, 7), (3, 3), 1, (2, 2), (1, 1), "SAME"),
    ("channels_first", (1, 4, 6, 5), (3, 3), 2, (1, 1), (2, 1), "VALID"),
    ("channels_last", (2, 13, 3), (5,), 2, (2,), (1,), "SAME"),
    ("channels_first", (2, 3, 10), (3,), 1, (1,), (3,), "VALID"),
    ("channels_last", (1, 5, 6, 7, 2), (3, 3, 3), 1, (2, 1, 1), (1, 1, 1), "SAME"),
]


@pytest.fixture(autouse=True)
def _default_implementation(monkeypatch):
    """Each test starts from 'auto' and leaves the selection as it found it."""
    monkeypatch.delenv(ck.ENV_VAR, raising=False)
    monkeypatch.setattr(ck, "_implementation", None)


def _grouped(x, k, strides, padding, dilation, fmt):
    """The reference: one grouped lax convolution."""
    rank = len(strides)
    in_ch, mult = k.shape[-2], k.shape[-1]
    return lax.conv_general_dilated(
        x, k.reshape((*k.shape[:rank], 1, in_ch * mult)), strides, padding,
        rhs_dilation=dilation, dimension_numbers=ck.dimension_numbers(rank, fmt),
        feature_group_count=in_ch)


def _inputs(rng):
    out = []
    for fmt, shape, ksize, mult, strides, dilation, padding in CASES:
        cin = shape[-1] if fmt == "channels_last" else shape[1]
        x = rng.normal(size=shape).astype("float32")
        k = rng.normal(size=(*ksize, cin, mult)).astype("float32")
        y_shape = jax.eval_shape(
            lambda a, b, s=strides, p=padding, d=dilation, f=fmt: _grouped(a, b, s, p, d, f),
            x, k).shape
        out.append((x, k, rng.normal(size=y_shape).astype("float32")))
    return out


@jax.jit
def _all_results(inputs):
    """For every case, (value, d/dx, d/dkernel) of sum(conv * r), shifted and grouped
    (one compilation for all)."""
    results = []
    for (fmt, _, _, _, strides, dilation, padding), (x, k, r) in zip(CASES, inputs):
        def shifted(a, b, s=strides, p=padding, d=dilation, f=fmt):
            pads = ck.explicit_padding(
                [a.shape[i] for i in ck.spatial_axes(len(s), f)], b.shape[:len(s)], s, d, p)
            return depthwise.depthwise_conv(a, b, s, pads, d, f == "channels_last")

        def grouped(a, b, s=strides, p=padding, d=dilation, f=fmt):
            return _grouped(a, b, s, p, d, f)

        pair = []
        for fn in (shifted, grouped):
            y, vjp = jax.vjp(fn, x, k)
            pair.append((y, *vjp(r)))
        results.append(pair)
    return results


def test_values_and_gradients_match_the_grouped_convolution(rng):
    inputs = _inputs(rng)
    for case, (got, want) in zip(CASES, _all_results(inputs)):
        for name, g, w in zip(("value", "d/dx", "d/dkernel"), got, want):
            assert g.shape == w.shape, (case, name)
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(w))),
                                       err_msg=f"{name} {case}")


def test_cpu_uses_the_shifted_sum_and_lax_setting_the_grouped_convolution():
    x, k = jnp.ones((1, 8, 8, 4)), jnp.ones((3, 3, 4, 1))

    def jaxpr():
        return str(jax.make_jaxpr(lambda a: ck.depthwise_conv(
            a, k, (1, 1), "SAME", (1, 1), "channels_last"))(x))

    assert jax.default_backend() == "cpu"
    assert "conv_general_dilated" not in jaxpr()
    ck.set_conv_implementation("lax")
    assert "conv_general_dilated" in jaxpr()
    ck.set_conv_implementation("auto")
    # a kernel of more than MAX_TAPS positions, an integer input, or an empty output:
    # the grouped convolution
    big = jnp.ones((9, 9, 4, 1))
    assert "conv_general_dilated" in str(jax.make_jaxpr(lambda a: ck.depthwise_conv(
        a, big, (1, 1), "SAME", (1, 1), "channels_last"))(x))
    assert not depthwise.applies(x.astype("int32"), k.astype("int32"))
    y = ck.depthwise_conv(jnp.ones((1, 2, 2, 4)), k, (1, 1), ((0, 0), (0, 0)), (1, 1),
                          "channels_last")
    assert y.shape == (1, 0, 0, 4)


def test_bfloat16_accumulates_in_float32(rng):
    x = rng.normal(size=(1, 6, 6, 3)).astype("float32")
    k = rng.normal(size=(3, 3, 3, 1)).astype("float32")
    want = _grouped(x, k, (1, 1), "SAME", (1, 1), "channels_last")
    got = depthwise.depthwise_conv(jnp.asarray(x, jnp.bfloat16), jnp.asarray(k, jnp.bfloat16),
                                   (1, 1), ((1, 1), (1, 1)), (1, 1))
    assert got.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=0.05, atol=0.1)


@pytest.mark.parametrize("layer_cls", ["DepthwiseConv2D", "SeparableConv2D"])
def test_layers_match_the_grouped_convolution(rng, layer_cls):
    x = rng.normal(size=(2, 9, 9, 4)).astype("float32")
    kwargs = {"depth_multiplier": 2, "strides": 2, "padding": "same"}
    if layer_cls == "SeparableConv2D":
        kwargs["filters"] = 3
    layer = getattr(keras.layers, layer_cls)(kernel_size=3, **kwargs)
    y_auto = np.asarray(layer(x))
    ck.set_conv_implementation("lax")
    y_lax = np.asarray(layer(x))
    np.testing.assert_allclose(y_auto, y_lax, rtol=1e-5, atol=1e-5)
    assert y_auto.shape == (2, 5, 5, 8 if layer_cls == "DepthwiseConv2D" else 3)


def test_forward_mode_and_second_derivatives_work_with_strides(rng):
    x = jnp.asarray(rng.normal(size=(1, 7, 6, 2)).astype("float32"))
    k = jnp.asarray(rng.normal(size=(3, 3, 2, 2)).astype("float32"))
    tx = jnp.asarray(rng.normal(size=x.shape).astype("float32"))
    tk = jnp.asarray(rng.normal(size=k.shape).astype("float32"))
    pads = ((1, 1), (0, 1))

    def shifted(a, b):
        return depthwise.depthwise_conv(a, b, (2, 2), pads, (1, 1))

    def grouped(a, b):
        return _grouped(a, b, (2, 2), pads, (1, 1), "channels_last")

    got = jax.jvp(shifted, (x, k), (tx, tk))
    want = jax.jvp(grouped, (x, k), (tx, tk))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # a Hessian-vector product through the input gradient
    hvp = jax.jvp(jax.grad(lambda a: jnp.sum(shifted(a, k) ** 3)), (x,), (tx,))[1]
    want = jax.jvp(jax.grad(lambda a: jnp.sum(grouped(a, k) ** 3)), (x,), (tx,))[1]
    np.testing.assert_allclose(hvp, want, rtol=1e-4, atol=1e-4)
