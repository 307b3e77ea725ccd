"""Masking: skips timesteps whose features all equal `mask_value`."""

from __future__ import annotations

import numbers

import jax.numpy as jnp

from jkeras.layers.activation_layers import ShapePreservingLayer

__all__ = ["Masking"]


class Masking(ShapePreservingLayer):
    """Masks every timestep whose features (last axis) all equal `mask_value`.

    The output is the input with those timesteps set to 0; the output mask,
    `any(inputs != mask_value, axis=-1)`, is consumed by the layers that follow
    (LSTM, GRU and SimpleRNN skip masked steps), as Embedding(mask_zero=True)'s is.
    """

    _casts_non_float = False
    _autocast = False  # compares and copies values: compute in the input's own dtype

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Number):
            raise ValueError(f"Masking: `mask_value` must be a number, got {mask_value!r}.")
        self.mask_value = mask_value

    def _validate_input(self, inputs) -> None:
        super()._validate_input(inputs)
        if len(inputs.shape) < 2:
            raise ValueError(
                f"Layer '{self.name}' (Masking) expects an input of rank >= 2 "
                f"(batch, ..., features), got shape {tuple(inputs.shape)}."
            )

    def compute_mask(self, inputs, mask=None):
        return jnp.any(jnp.asarray(inputs) != self.mask_value, axis=-1)

    def call(self, inputs):
        x = jnp.asarray(inputs)
        keep = jnp.any(x != self.mask_value, axis=-1, keepdims=True)
        return jnp.where(keep, x, jnp.zeros((), x.dtype))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
