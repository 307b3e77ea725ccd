"""Regularisation layers: SpatialDropout1D/2D/3D and ActivityRegularization.

SpatialDropout drops whole channels (feature maps) in training, scaling the kept
ones by `1 / (1 - rate)`; at inference (`training` False or not given) it returns
its input unchanged. Noise comes from the layer's SeedGenerator, as in Dropout.
ActivityRegularization returns its input and adds
`l1 * sum(|x|) + l2 * sum(x ** 2)` as a layer loss.
"""

from __future__ import annotations

import numbers

from jkeras import regularizers
from jkeras.backend.config import standardize_data_format
from jkeras.engine.legacy import legacy_args
from jkeras.engine.seed_generator import SeedGenerator
from jkeras.layers.activation_layers import ShapePreservingLayer
from jkeras.layers.convolutional import legacy_data_format
from jkeras.layers.core import apply_dropout
from jkeras.layers.noise import check_rate

__all__ = ["ActivityRegularization", "SpatialDropout1D", "SpatialDropout2D",
           "SpatialDropout3D"]


class _SpatialDropout(ShapePreservingLayer):
    """Shared implementation: `_rank` is the input rank the layer expects."""

    _batch_independent = True  # each sample's output depends only on it

    _rank = 3
    _keeps_input_dtype = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(type(self).__name__, rate, "channels")
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.data_format = "channels_last"

    def _validate_input(self, inputs) -> None:
        super()._validate_input(inputs)
        shape = tuple(inputs.shape)
        if len(shape) != self._rank:
            spatial = self._rank - 2
            layout = ("(batch, steps, channels)" if spatial == 1 else
                      f"(batch, {spatial} spatial axes, channels) or (batch, channels, "
                      f"{spatial} spatial axes) per data_format")
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects an input of rank {self._rank} "
                f"{layout}, but got an input of shape {shape}."
            )

    def _noise_shape(self, shape) -> tuple:
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + (1,) * (len(shape) - 2)
        return (shape[0],) + (1,) * (len(shape) - 2) + (shape[-1],)

    def call(self, inputs, training=False):
        inputs = self._float_input(inputs)
        if not training or self.rate == 0:
            return inputs
        self._validate_input(inputs)
        return apply_dropout(inputs, self.rate, self._noise_shape(inputs.shape),
                             seed=self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    """Drops entire 1D feature maps: inputs `(batch, steps, channels)`, one draw per
    (sample, channel). Keras 1 called `rate` `p`."""

    _rank = 3

    @legacy_args({"p": "rate"}, include_common=False)
    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops entire 2D feature maps: inputs of rank 4, one draw per (sample, channel);
    the channel axis is last for `data_format='channels_last'` (default: the global
    image data format), axis 1 for `'channels_first'`. Keras 1 called `rate` `p` and
    `data_format` `dim_ordering`."""

    _rank = 4

    @legacy_args({"p": "rate", "dim_ordering": ("data_format", legacy_data_format)},
                 include_common=False)
    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout2D):
    """Drops entire 3D feature maps: inputs of rank 5, one draw per (sample, channel)
    (channel axis per `data_format`, as SpatialDropout2D)."""

    _rank = 5


class ActivityRegularization(ShapePreservingLayer):
    """Returns its input unchanged and adds `l1 * sum(|x|) + l2 * sum(x ** 2)`
    (summed over the whole batch, as Keras 3 does) to the model's losses."""

    _batch_independent = True  # each sample's output depends only on it

    _keeps_input_dtype = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        for arg, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(
                    f"ActivityRegularization: `{arg}` must be a non-negative float (the "
                    f"regularisation factor), got {value!r}."
                )
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = float(l1)
        self.l2 = float(l2)

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
