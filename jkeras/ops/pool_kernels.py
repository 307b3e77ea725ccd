"""Max and average pooling windows behind the pooling layers and `jkeras.ops.max_pool`
/ `average_pool`.

A window whose stride equals its size and that needs no padding is computed as
a reshape and a max/mean over the window axes (its gradient is several times
faster on XLA:CPU than `lax.reduce_window`'s); on the CPU backend a
channels_first input takes that path channels-last (transposed around it), since
window axes innermost run several times slower there. Tiled max pooling has a
custom derivative (`tiled_max`): the gradient of each window goes to its first
maximum in row-major order, as `lax.reduce_window`'s does (plain `jnp.max` would
split it between tied maxima), and the reverse pass is a select of the output
gradient by each window's first-max index (`jnp.max`'s gradient also counted
ties, and XLA:CPU ran that part several times slower). Other windows use
`lax.reduce_window`. Average pooling with padding='same' divides by the number
of valid (unpadded) elements of each window, as Keras does.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jkeras.ops.conv_kernels import conv_output_length, spatial_axes


def _window_counts(sizes, pool, strides, out) -> np.ndarray:
    """Number of valid (unpadded) elements in each 'same' window, as an array of
    the output's spatial shape."""
    per_axis = []
    for n, p, s, o in zip(sizes, pool, strides, out):
        before = max((o - 1) * s + p - n, 0) // 2
        starts = np.arange(o) * s - before
        per_axis.append(np.minimum(starts + p, n) - np.maximum(starts, 0))
    counts = per_axis[0]
    for c in per_axis[1:]:
        counts = np.multiply.outer(counts, c)
    return counts


def _window_view(x, axes: tuple, pool: tuple):
    """`x` cropped to whole windows and reshaped so that each spatial axis a becomes
    (windows, window): the window axes are `_window_axes(axes)`."""
    crop = [slice(None)] * x.ndim
    shape = list(x.shape[:axes[0]])
    for a, p in zip(axes, pool):
        o = x.shape[a] // p
        crop[a] = slice(0, o * p)
        shape += [o, p]
    shape += list(x.shape[axes[-1] + 1:])
    return x[tuple(crop)].reshape(shape)


def _window_axes(axes: tuple) -> tuple:
    return tuple(axes[0] + 2 * i + 1 for i in range(len(axes)))


def _first_max_index(view, y, axes: tuple, pool: tuple):
    """Row-major position, within its window, of the first element equal to the
    window's max `y` (the last position when none is, e.g. a NaN max)."""
    size = int(np.prod(pool))
    dtype = jnp.int8 if size <= 127 else jnp.int32
    index = jnp.full(y.shape, size - 1, dtype)
    window_axes = _window_axes(axes)
    for k in range(size - 2, -1, -1):
        part = view
        for ax, pos in sorted(zip(window_axes, np.unravel_index(k, pool)), reverse=True):
            part = lax.index_in_dim(part, int(pos), ax, keepdims=False)
        index = jnp.where(part == y, jnp.asarray(k, dtype), index)
    return index


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def tiled_max(x, axes: tuple, pool: tuple):
    """Max over non-overlapping windows `pool` along spatial `axes` (a remainder
    that fills no window is dropped). Its derivative takes each window's value
    at its first maximum (row-major), as `lax.reduce_window`'s does."""
    return jnp.max(_window_view(x, axes, pool), axis=_window_axes(axes))


@tiled_max.defjvp
def _tiled_max_jvp(axes, pool, primals, tangents):
    (x,), (t,) = primals, tangents
    view = _window_view(x, axes, pool)
    window_axes = _window_axes(axes)
    y = jnp.max(view, axis=window_axes)
    index = jnp.expand_dims(_first_max_index(view, y, axes, pool), window_axes)
    positions = np.arange(int(np.prod(pool)))
    shape = [1] * view.ndim
    for ax, p in zip(window_axes, pool):
        shape[ax] = p
    positions = jnp.asarray(positions.reshape(shape), index.dtype)
    # Linear in `t`: its transpose (the reverse pass) is a select of the output
    # gradient broadcast over each window, then the transpose of the crop (a pad).
    t_view = _window_view(t, axes, pool)
    y_dot = jnp.sum(jnp.where(index == positions, t_view, jnp.zeros((), t.dtype)),
                    axis=window_axes)
    return y, y_dot


def _cpu_backend() -> bool:
    return jax.default_backend() == "cpu"


def pool(x, mode: str, pool_size: tuple, strides: tuple, padding: str,
         data_format: str):
    """Max ('max') or average ('avg') pooling of a (rank + 2)-D array."""
    rank = len(pool_size)
    axes = spatial_axes(rank, data_format)
    sizes = [x.shape[a] for a in axes]
    out = [conv_output_length(n, p, s, padding) for n, p, s in zip(sizes, pool_size, strides)]
    tiles = tuple(strides) == tuple(pool_size) and (
        padding == "valid" or all(n % p == 0 for n, p in zip(sizes, pool_size))
    )
    if tiles and data_format == "channels_first" and _cpu_backend():
        # On XLA:CPU the window axes must not be the innermost ones (a size-2 innermost
        # axis runs several times slower): pool channels-last. Around a convolution,
        # which runs channels-last on CPU anyway, XLA cancels the transposes.
        perm = (0, *range(2, x.ndim), 1)
        y = pool(jnp.transpose(x, perm), mode, pool_size, strides, padding, "channels_last")
        return jnp.transpose(y, (0, x.ndim - 1, *range(1, x.ndim - 1)))
    if tiles and mode == "max" and jnp.issubdtype(x.dtype, jnp.floating):
        return tiled_max(x, tuple(axes), tuple(int(p) for p in pool_size))
    if tiles:
        # Non-overlapping windows: crop the remainder, split each spatial axis into
        # (windows, window) and reduce over the window axes.
        crop = [slice(None)] * x.ndim
        new_shape = list(x.shape[:axes[0]])
        for a, o, p in zip(axes, out, pool_size):
            crop[a] = slice(0, o * p)
            new_shape += [o, p]
        new_shape += list(x.shape[axes[-1] + 1:])
        x = x[tuple(crop)].reshape(new_shape)
        window_axes = tuple(axes[0] + 2 * i + 1 for i in range(rank))
        return jnp.max(x, axis=window_axes) if mode == "max" else jnp.mean(x, axis=window_axes)
    # Init values are numpy constants: lax.reduce_window is differentiable only when it
    # can see that they are the identity of max / add (a jnp.array made under jit is not).
    window = [1] * x.ndim
    step = [1] * x.ndim
    for a, p, s in zip(axes, pool_size, strides):
        window[a], step[a] = p, s
    pad = padding.upper()
    if mode == "max":
        if jnp.issubdtype(x.dtype, jnp.floating):
            init = np.array(-np.inf, x.dtype)
        else:
            init = np.array(jnp.iinfo(x.dtype).min, x.dtype)
        return lax.reduce_window(x, init, lax.max, window, step, pad)
    total = lax.reduce_window(x, np.array(0, x.dtype), lax.add, window, step, pad)
    if padding == "valid":
        return total / np.prod(pool_size)
    counts = _window_counts(sizes, pool_size, strides, out)
    shape = [1] * x.ndim
    for a, o in zip(axes, out):
        shape[a] = o
    return total / jnp.asarray(counts.reshape(shape), total.dtype)


__all__ = ["pool", "tiled_max"]
