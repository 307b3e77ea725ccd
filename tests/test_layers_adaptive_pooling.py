"""Adaptive pooling: ops.adaptive_average_pool / adaptive_max_pool against explicit
bins (start = floor(i*n/out), end = ceil((i+1)*n/out)), and the six layers."""

import itertools
import math

import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers as L
from jkeras import ops


def _reference(x, output_size, reduce, channels_last=True):
    """Pools the spatial axes of x by looping over every output cell's bin."""
    if not channels_last:
        x = np.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    bins = [[(math.floor(i * n / o), math.ceil((i + 1) * n / o)) for i in range(o)]
            for n, o in zip(spatial, output_size)]
    out = np.zeros((x.shape[0], *output_size, x.shape[-1]), x.dtype)
    for idx in itertools.product(*[range(o) for o in output_size]):
        window = tuple(slice(*bins[a][i]) for a, i in enumerate(idx))
        block = x[(slice(None), *window)]
        out[(slice(None), *idx)] = reduce(block.reshape(x.shape[0], -1, x.shape[-1]), axis=1)
    return out if channels_last else np.moveaxis(out, -1, 1)


@pytest.mark.parametrize("shape, output_size", [
    ((2, 7, 3), (3,)),          # bins of sizes 3, 3, 3 overlapping
    ((2, 10, 2), (6,)),         # two bin sizes (2 and 3)
    ((1, 2, 2), (3,)),          # more bins than inputs
    ((2, 7, 5, 3), (3, 4)),
    ((1, 5, 4, 3, 2), (2, 3, 2)),
])
def test_adaptive_pooling_ops_against_explicit_bins(shape, output_size):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    np.testing.assert_allclose(ops.adaptive_average_pool(x, output_size),
                               _reference(x, output_size, np.mean), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ops.adaptive_max_pool(x, output_size),
                                  _reference(x, output_size, np.max))


def test_adaptive_pooling_channels_first_int_size_jit_grad_and_symbolic():
    x = np.random.default_rng(1).normal(size=(2, 3, 9, 6)).astype("float32")
    y = ops.adaptive_average_pool(x, 4, data_format="channels_first")
    np.testing.assert_allclose(y, _reference(x, (4, 4), np.mean, channels_last=False),
                               rtol=1e-5, atol=1e-6)
    # the gradient of a sum of average-pooled cells counts each input once per bin
    grad = jax.grad(lambda v: ops.adaptive_average_pool(v, (9, 6), "channels_first").sum())(x)
    np.testing.assert_allclose(grad, np.ones_like(x), rtol=1e-6)
    maxed = ops.adaptive_max_pool(x, (2, 3), "channels_first")
    np.testing.assert_array_equal(maxed, _reference(x, (2, 3), np.max, channels_last=False))
    sym = ops.adaptive_max_pool(jkeras.Input((9, 6, 3)), (2, 3))
    assert sym.shape == (None, 2, 3, 3)
    ints = ops.adaptive_max_pool(np.arange(12, dtype="int32").reshape(1, 6, 2), 2)
    assert ints.dtype == np.int32
    np.testing.assert_array_equal(ints[0], [[4, 5], [10, 11]])
    with pytest.raises(ValueError, match="adaptive_average_pool: output_size"):
        ops.adaptive_average_pool(x, (2, 2, 2))
    with pytest.raises(ValueError, match="rank 3, 4 or 5"):
        ops.adaptive_max_pool(np.ones((2, 3)), 2)


@pytest.mark.parametrize("cls, rank, reduce", [
    (L.AdaptiveAveragePooling1D, 1, np.mean), (L.AdaptiveMaxPooling1D, 1, np.max),
    (L.AdaptiveAveragePooling2D, 2, np.mean), (L.AdaptiveMaxPooling2D, 2, np.max),
    (L.AdaptiveAveragePooling3D, 3, np.mean), (L.AdaptiveMaxPooling3D, 3, np.max),
])
def test_adaptive_pooling_layers(cls, rank, reduce):
    size = (2, 3, 2)[:rank]
    x = np.random.default_rng(2).normal(size=(2, *(5, 4, 3)[:rank], 2)).astype("float32")
    layer = cls(size)
    np.testing.assert_allclose(layer(x), _reference(x, size, reduce), rtol=1e-5, atol=1e-6)
    assert layer(jkeras.Input(x.shape[1:])).shape == (None, *size, 2)
    config = layer.get_config()
    assert config["output_size"] == size and config["data_format"] == "channels_last"
    first = cls.from_config({**config, "data_format": "channels_first"})
    assert first.compute_output_shape((None, 2, *x.shape[1:-1])) == (None, 2, *size)
    assert cls(3).output_size == (3,) * rank


def test_adaptive_pooling_layer_errors():
    with pytest.raises(ValueError, match="tuple of 2 integer"):
        L.AdaptiveAveragePooling2D((2, 2, 2))
    with pytest.raises(TypeError, match="output_size must be an integer"):
        L.AdaptiveMaxPooling1D("2")
    with pytest.raises(ValueError, match="positive integer"):
        L.AdaptiveMaxPooling1D(0)
    with pytest.raises(ValueError, match="data_format"):
        L.AdaptiveMaxPooling1D(2, data_format="nhwc")
    with pytest.raises(ValueError, match="rank 4"):
        L.AdaptiveAveragePooling2D(2)(jkeras.Input((5, 3)))
