"""Pooling and spatial reshaping layers against plain numpy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jkeras
from jkeras import Input
from jkeras.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
    pool,
)
from jkeras.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)


def np_pool(x, mode, pool_size, strides, padding):
    """x (N, *spatial, C) channels_last; 'same' windows use only valid elements."""
    rank = x.ndim - 2
    sizes = x.shape[1:-1]
    out, before = [], []
    for n, p, s in zip(sizes, pool_size, strides):
        if padding == "valid":
            out.append((n - p) // s + 1)
            before.append(0)
        else:
            o = -(-n // s)
            out.append(o)
            before.append(max((o - 1) * s + p - n, 0) // 2)
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for idx in np.ndindex(*out):
        window = []
        for i in range(rank):
            start = idx[i] * strides[i] - before[i]
            window.append(slice(max(start, 0), min(start + pool_size[i], sizes[i])))
        patch = x[(slice(None), *window)]
        axes = tuple(range(1, rank + 1))
        y[(slice(None), *idx)] = patch.max(axis=axes) if mode == "max" else patch.mean(axis=axes)
    return y


def to_cf(x):
    return np.moveaxis(x, -1, 1)


def to_cl(x):
    return np.moveaxis(x, 1, -1)


def run(layer, x):
    """Eager call; checks compute_output_shape agrees with the real output."""
    y = np.asarray(layer(x))
    assert tuple(layer.compute_output_shape((None, *x.shape[1:]))) == (None, *y.shape[1:])
    return y


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("cls,mode", [(MaxPooling2D, "max"), (AveragePooling2D, "avg")])
@pytest.mark.parametrize("pool_size,strides,padding,size", [
    ((2, 2), None, "valid", (5, 6)),     # tiled, odd size cropped
    ((2, 2), None, "same", (4, 6)),      # tiled, no padding needed
    ((2, 2), None, "same", (5, 5)),      # same with a padded edge
    ((3, 3), (1, 1), "same", (4, 5)),    # overlapping, padded on both sides
    ((3, 2), (2, 1), "valid", (7, 5)),
])
def test_pooling2d_matches_numpy(rng, data_format, cls, mode, pool_size, strides, padding,
                                 size):
    x = rng.normal(size=(2, *size, 3)).astype("float32")
    layer = cls(pool_size, strides=strides, padding=padding, data_format=data_format)
    xin = x if data_format == "channels_last" else to_cf(x)
    y = run(layer, xin)
    if data_format == "channels_first":
        y = to_cl(y)
    expected = np_pool(x, mode, pool_size, strides or pool_size, padding)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("cls,mode", [(MaxPooling1D, "max"), (AveragePooling1D, "avg")])
@pytest.mark.parametrize("pool_size,strides,padding", [(2, None, "valid"), (3, 1, "same"),
                                                       (2, None, "same")])
def test_pooling1d_matches_numpy(rng, data_format, cls, mode, pool_size, strides, padding):
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    layer = cls(pool_size, strides=strides, padding=padding, data_format=data_format)
    xin = x if data_format == "channels_last" else to_cf(x)
    y = run(layer, xin)
    if data_format == "channels_first":
        y = to_cl(y)
    expected = np_pool(x, mode, (pool_size,), (strides or pool_size,), padding)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_avg_pool_same_counts_only_valid_elements():
    x = np.ones((1, 3, 3, 1), "float32")
    y = np.asarray(AveragePooling2D((2, 2), strides=(2, 2), padding="same")(x))
    np.testing.assert_allclose(y, np.ones((1, 2, 2, 1)))  # zero padding would give < 1


def test_maxpool3d(rng):
    x = rng.normal(size=(1, 4, 4, 4, 2)).astype("float32")
    y = run(MaxPooling3D(), x)
    np.testing.assert_allclose(y, np_pool(x, "max", (2, 2, 2), (2, 2, 2), "valid"))


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_tiled_pooling_matches_reduce_window_value_and_gradient(rng, mode):
    """The reshape fast path equals lax.reduce_window, gradient included."""
    x = jnp.asarray(rng.normal(size=(2, 3, 6, 4)).astype("float32"))  # channels_first

    def fast(v):
        return (pool(v, mode, (2, 2), (2, 2), "valid", "channels_first") ** 2).sum()

    def slow(v):
        w, s = (1, 1, 2, 2), (1, 1, 2, 2)
        if mode == "max":
            r = lax.reduce_window(v, -jnp.inf, lax.max, w, s, "VALID")
        else:
            r = lax.reduce_window(v, 0.0, lax.add, w, s, "VALID") / 4
        return (r ** 2).sum()

    np.testing.assert_allclose(fast(x), slow(x), rtol=1e-5)
    np.testing.assert_allclose(jax.grad(fast)(x), jax.grad(slow)(x), rtol=1e-5, atol=1e-6)


def test_pool_aliases_and_defaults():
    assert MaxPool2D is MaxPooling2D and AvgPool2D is AveragePooling2D
    layer = MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2) and layer.padding == "valid"
    assert MaxPooling1D().pool_size == (2,)


def test_keras1_pooling_arguments():
    with pytest.warns(DeprecationWarning) as record:
        layer = MaxPooling2D((3, 3), strides=(1, 1), border_mode="same", dim_ordering="th")
    assert {"'padding'" in str(r.message) or "'data_format'" in str(r.message)
            for r in record} == {True}
    assert layer.padding == "same" and layer.data_format == "channels_first"
    assert layer(Input(shape=(3, 8, 8))).shape == (None, 3, 8, 8)


def test_keras1_pooling1d_names_stay_channels_last():
    jkeras.backend.set_image_data_format("channels_first")
    with pytest.warns(DeprecationWarning) as record:
        layer = MaxPooling1D(pool_length=3, stride=1)
    assert any("'pool_size'" in str(r.message) for r in record)
    assert layer.pool_size == (3,) and layer.strides == (1,)
    assert layer.data_format == "channels_last"
    assert layer(Input(shape=(10, 4))).shape == (None, 8, 4)
    assert MaxPooling1D(2).data_format == "channels_first"  # modern: global default


def test_pooling_errors():
    with pytest.raises(ValueError) as e:
        MaxPooling2D(name="pool")(Input(shape=(8, 3)))
    assert "pool" in str(e.value) and "rank 4" in str(e.value) and "(None, 8, 3)" in str(e.value)
    with pytest.raises(ValueError, match="smaller than pool_size"):
        MaxPooling2D((4, 4))(Input(shape=(3, 3, 1)))
    with pytest.raises(ValueError, match="padding"):
        MaxPooling2D(padding="causal")


def test_pooling_config_round_trip():
    layer = AveragePooling2D((3, 2), strides=1, padding="same", data_format="channels_first")
    config = layer.get_config()
    assert config["pool_size"] == (3, 2) and config["strides"] == (1, 1)
    assert AveragePooling2D.from_config(config).get_config() == config


# ---------------------------------------------------------------------------
# Global pooling
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_2d(rng, data_format, keepdims):
    x = rng.normal(size=(2, 4, 5, 3)).astype("float32")
    xin = x if data_format == "channels_last" else to_cf(x)
    axes = (1, 2) if data_format == "channels_last" else (2, 3)
    for cls, fn in [(GlobalMaxPooling2D, np.max), (GlobalAveragePooling2D, np.mean)]:
        layer = cls(data_format=data_format, keepdims=keepdims)
        y = run(layer, xin)
        np.testing.assert_allclose(y, fn(xin, axis=axes, keepdims=keepdims), rtol=1e-5)


def test_global_pooling_1d_and_mask(rng):
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(run(GlobalMaxPooling1D(), x), x.max(axis=1), rtol=1e-6)
    np.testing.assert_allclose(run(GlobalAveragePooling1D(data_format="channels_first"), x),
                               x.mean(axis=2), rtol=1e-6)
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    y = np.asarray(GlobalAveragePooling1D()(x, mask=mask))
    np.testing.assert_allclose(y[0], x[0, :2].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(y[1], x[1].mean(axis=0), rtol=1e-5)


def test_global_pooling_errors_and_config():
    with pytest.raises(ValueError, match="rank 4"):
        GlobalAveragePooling2D()(Input(shape=(5, 3)))
    layer = GlobalMaxPooling2D(data_format="channels_first", keepdims=True)
    config = layer.get_config()
    assert GlobalMaxPooling2D.from_config(config).get_config() == config
    with pytest.warns(DeprecationWarning):
        assert GlobalMaxPooling2D(dim_ordering="th").data_format == "channels_first"


# ---------------------------------------------------------------------------
# ZeroPadding / Cropping / UpSampling
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding,pairs", [
    (1, ((1, 1), (1, 1))), ((1, 2), ((1, 1), (2, 2))), (((0, 1), (2, 3)), ((0, 1), (2, 3))),
])
def test_zero_padding2d(rng, data_format, padding, pairs):
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    xin = x if data_format == "channels_last" else to_cf(x)
    layer = ZeroPadding2D(padding, data_format=data_format)
    y = run(layer, xin)
    if data_format == "channels_first":
        y = to_cl(y)
    np.testing.assert_array_equal(y, np.pad(x, [(0, 0), *pairs, (0, 0)]))
    config = layer.get_config()
    assert config["padding"] == pairs
    assert ZeroPadding2D.from_config(config).get_config() == config


def test_zero_padding_1d_3d_and_keras1(rng):
    x = rng.normal(size=(2, 3, 2)).astype("float32")
    np.testing.assert_array_equal(run(ZeroPadding1D((1, 2)), x),
                                  np.pad(x, [(0, 0), (1, 2), (0, 0)]))
    x3 = rng.normal(size=(1, 2, 2, 2, 1)).astype("float32")
    assert run(ZeroPadding3D(1), x3).shape == (1, 4, 4, 4, 1)
    with pytest.warns(DeprecationWarning):
        layer = ZeroPadding2D((1, 1), dim_ordering="th")
    assert layer(Input(shape=(3, 8, 8))).shape == (None, 3, 10, 10)
    with pytest.raises(ValueError, match="padding"):
        ZeroPadding2D((1, 2, 3))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cropping2d(rng, data_format):
    x = rng.normal(size=(2, 6, 7, 2)).astype("float32")
    xin = x if data_format == "channels_last" else to_cf(x)
    layer = Cropping2D(((1, 2), (0, 3)), data_format=data_format)
    y = run(layer, xin)
    if data_format == "channels_first":
        y = to_cl(y)
    np.testing.assert_array_equal(y, x[:, 1:4, 0:4])
    assert Cropping2D.from_config(layer.get_config()).cropping == ((1, 2), (0, 3))


def test_cropping1d_and_errors(rng):
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    np.testing.assert_array_equal(run(Cropping1D((2, 1)), x), x[:, 2:5])
    jkeras.backend.set_image_data_format("channels_first")
    assert Cropping1D().data_format == "channels_last"  # Keras: always (batch, steps, feat)
    with pytest.raises(ValueError, match="leaves nothing"):
        Cropping2D(2, data_format="channels_last")(Input(shape=(4, 8, 1)))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_upsampling2d_nearest(rng, data_format):
    x = rng.normal(size=(2, 3, 2, 2)).astype("float32")
    xin = x if data_format == "channels_last" else to_cf(x)
    y = run(UpSampling2D((2, 3), data_format=data_format), xin)
    if data_format == "channels_first":
        y = to_cl(y)
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))


def _np_bilinear_axis(x, axis, scale):
    n = x.shape[axis]
    src = np.clip((np.arange(n * scale) + 0.5) / scale - 0.5, 0, n - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    frac = src - i0
    shape = [1] * x.ndim
    shape[axis] = -1
    return (np.take(x, i0, axis=axis) * (1 - frac).reshape(shape)
            + np.take(x, i1, axis=axis) * frac.reshape(shape))


def test_upsampling2d_bilinear(rng):
    x = rng.normal(size=(1, 3, 4, 2)).astype("float32")
    layer = UpSampling2D(2, interpolation="bilinear")
    y = run(layer, x)
    expected = _np_bilinear_axis(_np_bilinear_axis(x, 1, 2), 2, 2)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert UpSampling2D.from_config(layer.get_config()).interpolation == "bilinear"
    with pytest.raises(ValueError, match="interpolation"):
        UpSampling2D(interpolation="area")


def test_upsampling_1d_3d_and_keras1(rng):
    x = rng.normal(size=(2, 3, 2)).astype("float32")
    np.testing.assert_array_equal(run(UpSampling1D(3), x), np.repeat(x, 3, axis=1))
    with pytest.warns(DeprecationWarning, match="size"):
        assert UpSampling1D(length=2).size == (2,)
    assert UpSampling1D.from_config(UpSampling1D(4).get_config()).size == (4,)
    x3 = rng.normal(size=(1, 2, 2, 2, 1)).astype("float32")
    assert run(UpSampling3D(), x3).shape == (1, 4, 4, 4, 1)
    with pytest.warns(DeprecationWarning):
        layer = UpSampling2D((2, 2), dim_ordering="th")
    assert layer(Input(shape=(3, 4, 5))).shape == (None, 3, 8, 10)


def test_reshaping_rank_errors():
    for layer in (ZeroPadding2D(), Cropping2D(), UpSampling2D()):
        with pytest.raises(ValueError, match=r"rank 4.*\(None, 5, 3\)"):
            layer(Input(shape=(5, 3)))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_tiled_max_gradient_goes_to_first_max_like_reduce_window(data_format):
    """Tied maxima: all of a window's gradient goes to its first maximum (row-major),
    exactly as lax.reduce_window's gradient; forward mode agrees too."""
    x = np.zeros((1, 5, 4, 2), "float32")  # 5 rows: the last one is cropped away
    x[0, 0:2, 0:2, 0] = [[1.0, 1.0], [1.0, 0.0]]  # three-way tie at the first slot
    x[0, 0:2, 2:4, 0] = [[0.0, 2.0], [2.0, 2.0]]
    x[0, 2:4, :, 1] = [[-1.0, 3.0, 5.0, 5.0], [3.0, 3.0, 5.0, 5.0]]
    x = jnp.asarray(x if data_format == "channels_last" else x.transpose(0, 3, 1, 2))
    sp = (1, 2) if data_format == "channels_last" else (2, 3)
    window = [1] * 4
    window[sp[0]] = window[sp[1]] = 2

    def fast(v):
        return pool(v, "max", (2, 2), (2, 2), "valid", data_format)

    def slow(v):
        return lax.reduce_window(v, -jnp.inf, lax.max, window, window, "VALID")

    g = jnp.asarray(np.random.default_rng(0).normal(size=slow(x).shape).astype("float32"))
    np.testing.assert_array_equal(fast(x), slow(x))
    np.testing.assert_array_equal(jax.vjp(fast, x)[1](g)[0], jax.vjp(slow, x)[1](g)[0])
    t = jnp.arange(x.size, dtype="float32").reshape(x.shape)
    np.testing.assert_array_equal(jax.jvp(fast, (x,), (t,))[1], jax.jvp(slow, (x,), (t,))[1])
    grad = np.asarray(jax.vjp(fast, x)[1](jnp.ones_like(g))[0])
    if data_format == "channels_first":
        grad = grad.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(grad[0, 0:2, 0:2, 0], [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(grad[0, 0:2, 2:4, 0], [[0.0, 1.0], [0.0, 0.0]])
    assert grad[0, 4].sum() == 0.0  # the cropped row gets no gradient


def test_tiled_max_3d_windows_second_order_and_vmap(rng):
    """3x3x3 windows (index dtype beyond two slots), a Hessian-vector product and
    vmap all match lax.reduce_window."""
    x = jnp.asarray(rng.normal(size=(2, 7, 6, 6, 3)).astype("float32"))
    w = (1, 3, 3, 3, 1)

    def fast(v):
        return (pool(v, "max", (3, 3, 3), (3, 3, 3), "valid", "channels_last") ** 3).sum()

    def slow(v):
        return (lax.reduce_window(v, -jnp.inf, lax.max, w, w, "VALID") ** 3).sum()

    np.testing.assert_allclose(jax.grad(fast)(x), jax.grad(slow)(x), rtol=1e-6)
    hvp = [jax.jvp(jax.grad(f), (x,), (jnp.ones_like(x),))[1] for f in (fast, slow)]
    np.testing.assert_allclose(hvp[0], hvp[1], rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(fast)(x[:, None]), jax.vmap(slow)(x[:, None]), rtol=1e-6)
