"""Adaptive pooling: average or max pooling to a fixed output size whatever the
input size (Keras 3's `ops.adaptive_average_pool` / `ops.adaptive_max_pool`).

Along a spatial axis of length `n` pooled to `out` bins, bin `i` covers
`[floor(i * n / out), ceil((i + 1) * n / out))`, so bins may overlap and take at
most two different sizes. Each axis is pooled in turn (averages and maxima over a
box are the same as over its axes one after the other): for each bin size, one
stride-1 `lax.reduce_window` of that size, from which the bins' windows are picked
by their start.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jkeras.backend.config import floatx, standardize_data_format
from jkeras.ops.operation import symbolic_function


def _output_size(fn: str, output_size, rank: int) -> tuple:
    """`output_size` (an int or `rank` ints, each >= 1) as a tuple of `rank` ints."""
    values = (output_size,) * rank if isinstance(output_size, (int, np.integer)) else None
    if values is None:
        try:
            values = tuple(output_size)
        except TypeError:
            values = ()
    if len(values) != rank or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise ValueError(
            f"{fn}: output_size must be a positive integer or a tuple of {rank} positive "
            f"integers for a {rank}D input, got {output_size!r}."
        )
    return tuple(int(v) for v in values)


def bin_edges(length: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the `bins` windows pooling an axis of `length`:
    start = floor(i * length / bins), end = ceil((i + 1) * length / bins)."""
    i = np.arange(bins)
    starts = (i * length) // bins
    ends = -((-(i + 1) * length) // bins)
    return starts, ends


def _pool_axis(x, axis: int, bins: int, reduce):
    """`x` pooled along `axis` into `bins` windows with `reduce(x, window, size)`, a
    stride-1 VALID window reduction of `size` elements along that axis."""
    starts, ends = bin_edges(x.shape[axis], bins)
    sizes = ends - starts
    out = None
    for size in np.unique(sizes):
        window = tuple(int(size) if a == axis else 1 for a in range(x.ndim))
        pooled = jnp.take(reduce(x, window, int(size)), jnp.asarray(starts), axis=axis)
        if out is None:
            out = pooled
        else:
            pick = (sizes == size).reshape([bins if a == axis else 1 for a in range(x.ndim)])
            out = jnp.where(jnp.asarray(pick), pooled, out)
    return out


def _window_sum(x, window, size):
    strides = (1,) * x.ndim
    # a concrete (numpy) initial value lets JAX see a differentiable window sum
    return lax.reduce_window(x, np.zeros((), x.dtype), lax.add, window, strides,
                             "VALID") / jnp.asarray(size, x.dtype)


def _window_max(x, window, size):
    strides = (1,) * x.ndim
    if jnp.issubdtype(x.dtype, jnp.floating):
        init = np.array(-np.inf, x.dtype)
    elif x.dtype == jnp.bool_:
        init = np.array(False)
    else:
        init = np.array(jnp.iinfo(x.dtype).min, x.dtype)
    return lax.reduce_window(x, init, lax.max, window, strides, "VALID")


@functools.partial(jax.jit, static_argnames=("sizes", "first", "reduce"))
def _pool(x, sizes: tuple, first: int, reduce):
    """The pooled array (one compiled program per shape and configuration)."""
    for axis, bins in zip(range(first, first + len(sizes)), sizes):
        x = _pool_axis(x, axis, bins, reduce)
    return x


def _adaptive_pool(fn: str, inputs, output_size, data_format, reduce):
    x = jnp.asarray(inputs)
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(
            f"{fn}: inputs must have rank 3, 4 or 5 (batch, spatial axes, channels), got "
            f"shape {tuple(x.shape)}."
        )
    sizes = _output_size(fn, output_size, rank)
    data_format = standardize_data_format(data_format)
    return _pool(x, sizes, 1 if data_format == "channels_last" else 2, reduce)


def _adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling of a 3D/4D/5D batch to spatial size `output_size` (an int or
    one int per spatial axis); `data_format` defaults to the image data format.
    Integer inputs are averaged in floatx."""
    x = jnp.asarray(inputs)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(floatx())
    return _adaptive_pool("adaptive_average_pool", x, output_size, data_format, _window_sum)


def _adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling of a 3D/4D/5D batch to spatial size `output_size` (an int or one
    int per spatial axis); `data_format` defaults to the image data format."""
    return _adaptive_pool("adaptive_max_pool", inputs, output_size, data_format, _window_max)


adaptive_average_pool = symbolic_function(_adaptive_average_pool, "adaptive_average_pool")
adaptive_max_pool = symbolic_function(_adaptive_max_pool, "adaptive_max_pool")

__all__ = ["adaptive_average_pool", "adaptive_max_pool"]
