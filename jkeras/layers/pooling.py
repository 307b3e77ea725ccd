"""Pooling layers: Max/AveragePooling1D/2D/3D and the global poolings, with the
Keras aliases (MaxPool2D, GlobalAvgPool2D, ...) and Keras 1 argument names
(`pool_length=`, `stride=`, `border_mode=`, `dim_ordering=`).

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

from jkeras.backend.config import standardize_data_format
from jkeras.engine.layer import Layer
from jkeras.layers.convolutional import (
    _K1_MARKERS,
    channel_axis,
    check_rank,
    conv_output_length,
    legacy_data_format,
    normalize_padding,
    normalize_tuple,
    rename_keras1,
    spatial_axes,
)

_K1_POOL_TABLE = {
    "border_mode": ("padding", None),
    "dim_ordering": ("data_format", legacy_data_format),
    "pool_length": ("pool_size", None),
    "stride": ("strides", None),
}


def _keras1_pool_init(init):
    """Renames Keras 1 pooling arguments; 1D layers given Keras 1 names default to
    channels_last (Keras 1 and 2 1D layers were always channels_last)."""

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        if (self.rank == 1 and "data_format" not in kwargs
                and any(k in kwargs for k in _K1_MARKERS)):
            kwargs["data_format"] = "channels_last"
        kwargs = rename_keras1(type(self).__name__, dict(kwargs), _K1_POOL_TABLE)
        return init(self, *args, **kwargs)

    return wrapper


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
    window = [1] * x.ndim
    step = [1] * x.ndim
    for a, p, s in zip(axes, pool_size, strides):
        window[a], step[a] = p, s
    pad = padding.upper()
    if mode == "max":
        if jnp.issubdtype(x.dtype, jnp.floating):
            init = jnp.array(-jnp.inf, x.dtype)
        else:
            init = jnp.array(jnp.iinfo(x.dtype).min, x.dtype)
        return lax.reduce_window(x, init, lax.max, window, step, pad)
    total = lax.reduce_window(x, jnp.array(0, x.dtype), lax.add, window, step, pad)
    if padding == "valid":
        return total / np.prod(pool_size)
    counts = _window_counts(sizes, pool_size, strides, out)
    shape = [1] * x.ndim
    for a, o in zip(axes, out):
        shape[a] = o
    return total / jnp.asarray(counts.reshape(shape), total.dtype)


class _Pooling(Layer):
    rank = 2
    mode = "max"
    _keeps_input_dtype = True

    @_keras1_pool_init
    def __init__(self, pool_size=None, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        if pool_size is None:  # Keras default: 2 along every spatial axis
            pool_size = 2
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", owner)
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, self.rank, "strides", owner))
        self.padding = normalize_padding(padding, owner)
        self.data_format = standardize_data_format(data_format)
        self.supports_masking = False

    def _validate_input(self, inputs):
        check_rank(self, inputs, self.rank, self.data_format)

    def call(self, inputs):
        self._validate_input(inputs)
        return pool(jnp.asarray(inputs), self.mode, self.pool_size, self.strides,
                    self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for i, a in enumerate(spatial_axes(self.rank, self.data_format)):
            o = conv_output_length(shape[a], self.pool_size[i], self.strides[i], self.padding)
            if o is not None and o <= 0:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): an input of shape "
                    f"{tuple(input_shape)} is smaller than pool_size={self.pool_size} with "
                    f"padding='valid'. Use padding='same' or a larger input."
                )
            shape[a] = o
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """Max over windows of `pool_size` steps (default 2; Keras 1: pool_length=, stride=)."""

    rank, mode = 1, "max"


class MaxPooling2D(_Pooling):
    """Max over `pool_size` windows of an image (default (2, 2); strides default to
    pool_size)."""

    rank, mode = 2, "max"


class MaxPooling3D(_Pooling):
    """Max over `pool_size` windows of a volume (default (2, 2, 2))."""

    rank, mode = 3, "max"


class AveragePooling1D(_Pooling):
    """Mean over windows of `pool_size` steps; with padding='same' only valid
    elements count."""

    rank, mode = 1, "avg"


class AveragePooling2D(_Pooling):
    """Mean over `pool_size` windows of an image; with padding='same' only valid
    elements count."""

    rank, mode = 2, "avg"


class AveragePooling3D(_Pooling):
    """Mean over `pool_size` windows of a volume."""

    rank, mode = 3, "avg"


class _GlobalPooling(Layer):
    rank = 2
    mode = "max"
    _keeps_input_dtype = True

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        if "dim_ordering" in kwargs:
            rename_keras1(type(self).__name__, kwargs,
                          {"dim_ordering": ("data_format", legacy_data_format)})
            data_format = kwargs.pop("data_format")
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def _validate_input(self, inputs):
        check_rank(self, inputs, self.rank, self.data_format)

    def call(self, inputs):
        self._validate_input(inputs)
        axes = spatial_axes(self.rank, self.data_format)
        x = jnp.asarray(inputs)
        if self.mode == "max":
            return jnp.max(x, axis=axes, keepdims=self.keepdims)
        return jnp.mean(x, axis=axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        axes = spatial_axes(self.rank, self.data_format)
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return (input_shape[0], input_shape[channel_axis(self.data_format)])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling):
    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    rank, mode = 3, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over steps; with a mask (batch, steps) only unmasked steps count."""

    rank, mode = 1, "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        self._validate_input(inputs)
        x = jnp.asarray(inputs)
        steps = 1 if self.data_format == "channels_last" else 2
        m = jnp.expand_dims(jnp.asarray(mask).astype(x.dtype), 2 if steps == 1 else 1)
        total = jnp.sum(x * m, axis=steps, keepdims=self.keepdims)
        count = jnp.sum(m, axis=steps, keepdims=self.keepdims)
        return total / jnp.maximum(count, 1)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    rank, mode = 2, "avg"


class GlobalAveragePooling3D(_GlobalPooling):
    rank, mode = 3, "avg"


MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D",
    "AvgPool3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D",
    "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalMaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D",
]
