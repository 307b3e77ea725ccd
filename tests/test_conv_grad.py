"""jkeras.ops.conv_kernels: the "ynn" custom-gradient convolution gives lax's values and
gradients; the implementation switch and its fallbacks; the layers use it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jkeras.engine.stateless import stateless_call
from jkeras.layers.convolutional import Conv1D, Conv2D, SeparableConv2D
from jkeras.ops import conv_kernels as ck


@pytest.fixture(autouse=True)
def _default_implementation(monkeypatch):
    monkeypatch.delenv(ck.ENV_VAR, raising=False)
    ck.set_conv_implementation(None)
    yield
    ck.set_conv_implementation(None)


def _reference(x, k, strides, padding, dilation, data_format, groups=1):
    """Plain lax convolution, written independently of conv_kernels."""
    rank = len(strides)
    sp = "HW"[:rank] if rank < 3 else "DHW"
    lhs = f"N{sp}C" if data_format == "channels_last" else f"NC{sp}"
    return lax.conv_general_dilated(x, k, strides, padding, rhs_dilation=dilation,
                                    dimension_numbers=(lhs, f"{sp}IO", lhs),
                                    feature_group_count=groups)


def _value_and_grads(fn, x, k, r):
    return jax.value_and_grad(lambda a, b: jnp.sum(fn(a, b) * r), (0, 1))(x, k)


CASES = [
    # kernel size, padding
    ((3, 3), "VALID"),
    ((2, 3), "SAME"),
    ((3, 2), ((2, 0), (1, 3))),   # asymmetric explicit padding
    ((2, 2), ((0, 0), (3, 3))),   # padding wider than the kernel: cropped gradient
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kernel_size,padding", CASES)
def test_ynn_matches_lax_values_and_gradients(rng, data_format, kernel_size, padding):
    shape = (2, 7, 6, 3) if data_format == "channels_last" else (2, 3, 7, 6)
    x = jnp.asarray(rng.normal(size=shape).astype("float32"))
    k = jnp.asarray(rng.normal(size=(*kernel_size, 3, 5)).astype("float32"))
    ref = _reference(x, k, (1, 1), padding, (1, 1), data_format)
    r = jnp.asarray(rng.normal(size=ref.shape).astype("float32"))

    def ynn(a, b):
        return ck.conv(a, b, (1, 1), padding, (1, 1), data_format, implementation="ynn")

    (v_ref, g_ref) = _value_and_grads(
        lambda a, b: _reference(a, b, (1, 1), padding, (1, 1), data_format), x, k, r)
    (v, g) = jax.jit(lambda a, b: _value_and_grads(ynn, a, b, r))(x, k)
    np.testing.assert_allclose(ynn(x, k), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v, v_ref, rtol=1e-5, atol=1e-4)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


@jax.jit
def _small_map_results(x1, k1, r1, x2, k2, r2):
    """ynn against lax on maps smaller than the kernel (one compilation)."""
    out = []
    for x, k, r, padding in ((x1, k1, r1, "SAME"), (x2, k2, r2, ((1, 1), (2, 0)))):
        def ynn(a, b, padding=padding):
            return ck.conv(a, b, (1, 1), padding, (1, 1), "channels_last",
                           implementation="ynn")

        def ref(a, b, padding=padding):
            return _reference(a, b, (1, 1), padding, (1, 1), "channels_last")

        out.append((_value_and_grads(ynn, x, k, r), _value_and_grads(ref, x, k, r)))
    return out


def test_ynn_on_maps_smaller_than_the_kernel_pads_explicitly(rng):
    # ResNet50's last stage at 64x64 inputs: 2x2 maps under 3x3 'same' kernels (XLA:CPU
    # runs such padded convolutions 30-70x slower unless the padding is explicit)
    x1 = rng.normal(size=(2, 2, 3, 4)).astype("float32")
    k1 = rng.normal(size=(3, 3, 4, 5)).astype("float32")
    r1 = rng.normal(size=(2, 2, 3, 5)).astype("float32")
    x2 = rng.normal(size=(2, 1, 2, 3)).astype("float32")
    k2 = rng.normal(size=(3, 3, 3, 2)).astype("float32")
    r2 = rng.normal(size=(2, 1, 1, 2)).astype("float32")
    for (v, g), (v_ref, g_ref) in _small_map_results(x1, k1, r1, x2, k2, r2):
        np.testing.assert_allclose(v, v_ref, rtol=1e-5, atol=1e-4)
        for a, b in zip(g, g_ref):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    jaxpr = str(jax.make_jaxpr(lambda a: ck.conv(a, jnp.asarray(k1), (1, 1), "SAME", (1, 1),
                                                 "channels_last", implementation="ynn"))(x1))
    assert "optimization_barrier" in jaxpr and "padding=((0, 0), (0, 0))" in jaxpr
    # a map at least as large as the kernel keeps the padding inside the convolution
    big = str(jax.make_jaxpr(lambda a: ck.conv(a, jnp.asarray(k1), (1, 1), "SAME", (1, 1),
                                               "channels_last", implementation="ynn"))(
        jnp.ones((1, 4, 4, 4))))
    assert "padding=((1, 1), (1, 1))" in big


def test_ynn_is_a_custom_jvp_and_lax_is_not(rng):
    x = jnp.ones((1, 5, 5, 2))
    k = jnp.ones((3, 3, 2, 4))

    def jaxpr(impl):
        return str(jax.make_jaxpr(
            lambda a: ck.conv(a, k, (1, 1), "VALID", (1, 1), "channels_last",
                              implementation=impl))(x))

    assert "name=_ynn_conv2d" in jaxpr("ynn")
    assert "name=_ynn_conv2d" not in jaxpr("lax")


def test_ynn_supports_forward_mode_and_second_order(rng):
    """Forward mode (jvp), forward-over-reverse and reverse-over-reverse all agree."""
    x = jnp.asarray(rng.normal(size=(2, 6, 5, 3)).astype("float32"))
    k = jnp.asarray(rng.normal(size=(3, 2, 3, 4)).astype("float32"))
    tx, tk = jnp.ones_like(x) * 0.3, jnp.ones_like(k) * -0.2

    def results(impl):
        def f(a, b):
            return ck.conv(a, b, (1, 1), ((1, 1), (0, 1)), (1, 1), "channels_last",
                           implementation=impl)

        def loss(a):
            return jnp.sum(jnp.tanh(f(a, k)))

        jvp = jax.jvp(f, (x, k), (tx, tk))[1]
        hvp_fwd = jax.jvp(jax.grad(loss), (x,), (tx,))[1]
        hvp_rev = jax.grad(lambda a: jnp.vdot(jax.grad(loss)(a), tx))(x)
        return jvp, hvp_fwd, hvp_rev

    for a, b in zip(results("ynn"), results("lax")):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("strides,dilation,groups,dtype", [
    ((2, 2), (1, 1), 1, "float32"),
    ((1, 1), (2, 2), 1, "float32"),
    ((1, 1), (1, 1), 2, "float32"),
    ((1, 1), (1, 1), 1, "bfloat16"),
])
def test_uncovered_convolutions_fall_back_to_lax(rng, strides, dilation, groups, dtype):
    x = jnp.asarray(rng.normal(size=(2, 8, 8, 4)), dtype)
    k = jnp.asarray(rng.normal(size=(3, 3, 4 // groups, 6)), dtype)
    assert ck.select_implementation(x, k, strides, dilation, groups, "ynn") == "lax"
    y = ck.conv(x, k, strides, "SAME", dilation, "channels_last", groups, implementation="ynn")
    ref = _reference(x, k, strides, "SAME", dilation, "channels_last", groups)
    np.testing.assert_allclose(np.asarray(y, "float32"), np.asarray(ref, "float32"),
                               rtol=1e-5, atol=1e-5)
    # 1D and 3D convolutions too
    assert ck.select_implementation(jnp.ones((1, 5, 4)), jnp.ones((3, 4, 20)), (1,), (1,), 1,
                                    "ynn") == "lax"
    assert ck.select_implementation(jnp.ones((1, 5, 5, 5, 4)), jnp.ones((3, 3, 3, 4, 20)),
                                    (1, 1, 1), (1, 1, 1), 1, "ynn") == "lax"


def test_auto_choice():
    x, small, wide = jnp.ones((1, 8, 8, 1)), jnp.ones((3, 3, 1, 16)), jnp.ones((3, 3, 1, 64))
    expected = "ynn" if jax.default_backend() == "cpu" else "lax"
    assert ck.select_implementation(x, wide, (1, 1), (1, 1), 1) == expected
    # XLA:CPU keeps convolutions with <= 16 channels off YNNPACK: nothing to gain there
    assert ck.select_implementation(x, small, (1, 1), (1, 1), 1) == "lax"
    assert ck.select_implementation(x, wide, (1, 1), (1, 1), 1, "lax") == "lax"


def test_switch_env_setter_and_errors(monkeypatch):
    assert ck.conv_implementation() == "auto"
    monkeypatch.setenv(ck.ENV_VAR, "LAX")
    assert ck.conv_implementation() == "lax"
    ck.set_conv_implementation("ynn")
    assert ck.conv_implementation() == "ynn"  # the setter wins over the environment
    ck.set_conv_implementation(None)
    assert ck.conv_implementation() == "lax"
    monkeypatch.setenv(ck.ENV_VAR, "fast")
    with pytest.raises(ValueError, match=r"'fast'.*\['auto', 'lax', 'ynn', 'winograd', "
                                         r"'winograd4'\].*JKERAS_CONV_IMPL"):
        ck.conv_implementation()
    with pytest.raises(ValueError, match="Unknown convolution implementation 'im2col'"):
        ck.set_conv_implementation("im2col")


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_layer_gives_the_same_training_gradients_under_each_implementation(
        rng, data_format):
    shape = (3, 9, 9, 2) if data_format == "channels_last" else (3, 2, 9, 9)
    x = jnp.asarray(rng.normal(size=shape).astype("float32"))
    layer = Conv2D(20, 3, padding="same", activation="relu", data_format=data_format,
                   bias_initializer="uniform")
    layer(x)
    variables = layer.trainable_variables
    values = [jnp.asarray(v.value) for v in variables]

    def loss(vals, inputs):
        out = stateless_call(layer, variables, vals, inputs, training=True)[0]
        return jnp.sum(out ** 2)

    grads = {}
    for impl in ("lax", "ynn"):
        ck.set_conv_implementation(impl)  # read when the function is traced
        grads[impl] = jax.jit(jax.grad(loss, (0, 1)))(values, x)
    for a, b in zip(jax.tree.leaves(grads["ynn"]), jax.tree.leaves(grads["lax"])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # the layer routes through conv_kernels
    ck.set_conv_implementation("ynn")
    assert "name=_ynn_conv2d" in str(jax.make_jaxpr(lambda v: layer(v))(x))
    ck.set_conv_implementation("lax")
    assert "name=_ynn_conv2d" not in str(jax.make_jaxpr(lambda v: layer(v))(x))


def test_conv1d_and_separable_layers_unchanged_by_switch(rng):
    x1 = rng.normal(size=(2, 10, 3)).astype("float32")
    c1 = Conv1D(4, 3, padding="causal", dilation_rate=2)
    x2 = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    sep = SeparableConv2D(24, 3, padding="same")
    outs = {}
    for impl in ("lax", "ynn"):
        ck.set_conv_implementation(impl)
        outs[impl] = (np.asarray(c1(x1)), np.asarray(sep(x2)))
    for a, b in zip(outs["lax"], outs["ynn"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rank", [1, 2])
def test_compose_kernels_folds_two_linear_valid_convolutions(rng, rank):
    fmt = "channels_last"
    k1s, k2s = ((3,), (2,)) if rank == 1 else ((3, 2), (2, 3))
    x = jnp.asarray(rng.normal(size=(2, *(9,) * rank, 2)).astype("float32"))
    params = [jnp.asarray(rng.normal(size=s).astype("float32"))
              for s in ((*k1s, 2, 5), (5,), (*k2s, 5, 3), (3,))]
    ones = (1,) * rank

    def two(p):
        y = ck.conv(x, p[0], ones, "VALID", ones, fmt, implementation="lax") + p[1]
        return ck.conv(y, p[2], ones, "VALID", ones, fmt, implementation="lax") + p[3]

    def one(p):
        k, b = ck.compose_kernels(*p)
        return ck.conv(x, k, ones, "VALID", ones, fmt, implementation="lax") + b

    np.testing.assert_allclose(one(params), two(params), rtol=1e-4, atol=1e-4)
    g1 = jax.grad(lambda p: jnp.sum(jnp.sin(one(p))))(params)
    g2 = jax.grad(lambda p: jnp.sum(jnp.sin(two(p))))(params)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    k, b = ck.compose_kernels(params[0], None, params[2], None)
    assert k.shape == (*(a + c - 1 for a, c in zip(k1s, k2s)), 2, 3) and b is None


def test_fold_saves_work():
    # the seed's shared vision tower: conv 1->64 (3x3), conv 64->64 (3x3): 1,600 vs 37,440
    assert ck.fold_saves_work((3, 3, 1, 64), (3, 3, 64, 64))
    assert not ck.fold_saves_work((3, 3, 64, 64), (3, 3, 64, 64))
