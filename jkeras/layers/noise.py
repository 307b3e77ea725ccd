"""Noise layers (regularisation, active only in training): GaussianNoise,
GaussianDropout, AlphaDropout.

At inference (`training` False or not given) each returns its input unchanged.
In training, noise is drawn from the layer's SeedGenerator (`seed`), so it is
repeatable and fresh at every step of a compiled loop (see `jkeras.random`).
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp

from jkeras.engine.legacy import legacy_args
from jkeras.engine.seed_generator import SeedGenerator, draw_key
from jkeras.layers.activation_layers import ShapePreservingLayer
from jkeras.layers.core import resolve_noise_shape

__all__ = ["AlphaDropout", "GaussianDropout", "GaussianNoise"]

# SELU's constants: AlphaDropout drops to SELU's negative saturation value.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def check_rate(layer: str, rate, what: str = "inputs") -> float:
    """`rate` as a float in [0, 1), else a ValueError naming `layer` (the fraction
    of `what` it drops)."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(
            f"{layer}: `rate` must be a float in [0, 1) (the fraction of {what} to drop), "
            f"got {rate!r}."
        )
    return float(rate)


class GaussianNoise(ShapePreservingLayer):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` in training.
    Keras 1 called `stddev` `sigma`."""

    @legacy_args({"sigma": "stddev"}, include_common=False)
    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or not stddev >= 0:
            raise ValueError(
                f"GaussianNoise: `stddev` must be a non-negative float (the noise's standard "
                f"deviation), got {stddev!r}."
            )
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def call(self, inputs, training=False):
        inputs = self._float_input(inputs)
        if not training or self.stddev == 0:
            return inputs
        noise = jax.random.normal(draw_key(self.seed_generator), inputs.shape, inputs.dtype)
        return inputs + self.stddev * noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(ShapePreservingLayer):
    """Multiplies the inputs by Gaussian noise of mean 1 and standard deviation
    `sqrt(rate / (1 - rate))` in training. Keras 1 called `rate` `p`."""

    @legacy_args({"p": "rate"}, include_common=False)
    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("GaussianDropout", rate)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def call(self, inputs, training=False):
        inputs = self._float_input(inputs)
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = jax.random.normal(draw_key(self.seed_generator), inputs.shape, inputs.dtype)
        return inputs * (1.0 + stddev * noise)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(ShapePreservingLayer):
    """Dropout that keeps the mean and variance of its inputs (for SELU networks):
    in training a fraction `rate` of the values is set to SELU's negative saturation
    value `-alpha * scale`, then all values go through the affine map `a * x + b`
    that restores zero mean and unit variance. `noise_shape` (None entries take the
    input's size) shares the drop pattern along axes of size 1."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("AlphaDropout", rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def call(self, inputs, training=False):
        inputs = self._float_input(inputs)
        if not training or self.rate == 0:
            return inputs
        dropped_value = -_SELU_ALPHA * _SELU_SCALE
        shape = resolve_noise_shape(self, self.noise_shape, inputs.shape)
        keep = jax.random.uniform(draw_key(self.seed_generator), shape) >= self.rate
        a = ((1.0 - self.rate) * (1.0 + self.rate * dropped_value ** 2)) ** -0.5
        b = -a * dropped_value * self.rate
        x = jnp.where(keep, inputs, jnp.asarray(dropped_value, inputs.dtype))
        return (a * x + b).astype(inputs.dtype)

    def get_config(self):
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise_shape,
                "seed": self.seed}
