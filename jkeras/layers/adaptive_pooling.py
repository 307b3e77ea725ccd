"""Adaptive pooling layers: AdaptiveAveragePooling1D/2D/3D and
AdaptiveMaxPooling1D/2D/3D pool any spatial size to a fixed `output_size`
(see `jkeras.ops.adaptive_pooling` for the bins)."""

from __future__ import annotations

import numpy as np

from jkeras.backend.config import standardize_data_format
from jkeras.engine.layer import Layer
from jkeras.layers.convolutional import channel_axis, check_rank
from jkeras.ops.adaptive_pooling import adaptive_average_pool, adaptive_max_pool


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class _AdaptivePooling(Layer):
    """Shared arguments, checks, shapes and config; subclasses set `rank` and `_op`."""

    rank = 1
    _op = staticmethod(adaptive_average_pool)
    _batch_independent = True

    def __init__(self, output_size, data_format=None, **kwargs):
        owner = type(self).__name__
        if _is_int(output_size):
            sizes = (int(output_size),) * self.rank
        elif isinstance(output_size, (list, tuple)):
            if len(output_size) != self.rank:
                raise ValueError(
                    f"{owner}: output_size must be an integer or a tuple of {self.rank} "
                    f"integer(s), got {output_size!r} (length {len(output_size)})."
                )
            sizes = tuple(output_size)
        else:
            raise TypeError(
                f"{owner}: output_size must be an integer or a tuple of {self.rank} "
                f"integer(s), got {output_size!r} of type {type(output_size).__name__}."
            )
        if not all(_is_int(s) and s >= 1 for s in sizes):
            raise ValueError(f"{owner}: every output_size must be a positive integer, got "
                             f"{output_size!r}.")
        super().__init__(**kwargs)
        self.output_size = tuple(int(s) for s in sizes)
        self.data_format = standardize_data_format(data_format)

    def _validate_input(self, inputs) -> None:
        check_rank(self, inputs, self.rank, self.data_format)

    def call(self, inputs):
        return type(self)._op(inputs, self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        channels = input_shape[channel_axis(self.data_format)]
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, channels)
        return (input_shape[0], channels, *self.output_size)

    def get_config(self) -> dict:
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Average pooling of (batch, steps, channels) to `output_size` steps."""

    rank = 1


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Average pooling of (batch, rows, cols, channels) to `output_size` (rows, cols)."""

    rank = 2


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Average pooling of (batch, d1, d2, d3, channels) to `output_size` (d1, d2, d3)."""

    rank = 3


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max pooling of (batch, steps, channels) to `output_size` steps."""

    rank = 1
    _op = staticmethod(adaptive_max_pool)
    _keeps_input_dtype = True


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max pooling of (batch, rows, cols, channels) to `output_size` (rows, cols)."""

    rank = 2
    _op = staticmethod(adaptive_max_pool)
    _keeps_input_dtype = True


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max pooling of (batch, d1, d2, d3, channels) to `output_size` (d1, d2, d3)."""

    rank = 3
    _op = staticmethod(adaptive_max_pool)
    _keeps_input_dtype = True


__all__ = [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
]
