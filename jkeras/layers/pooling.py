"""Pooling layers: Max/AveragePooling1D/2D/3D and the global poolings, with the
Keras aliases (MaxPool2D, GlobalAvgPool2D, ...) and Keras 1 argument names
(`pool_length=`, `stride=`, `border_mode=`, `dim_ordering=`).

The windows are computed by `jkeras.ops.pool_kernels.pool` (shared with
`jkeras.ops.max_pool` / `average_pool`; see that module for how they are lowered).
Average pooling with padding='same' divides by the number of valid (unpadded)
elements of each window, as Keras does.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

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
from jkeras.ops.pool_kernels import pool, tiled_max  # noqa: F401  (tiled_max: public before)

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
