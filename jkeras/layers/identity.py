"""Identity: a placeholder layer that returns its inputs unchanged."""

from __future__ import annotations

import jax

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.layer import Layer


class Identity(Layer):
    """Returns its inputs (a tensor or a nested structure of them) as they are;
    masks pass through."""

    _autocast = False
    _batch_independent = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs, *args, **kwargs):
        return jax.tree_util.tree_map(
            lambda x: KerasTensor(x.shape, x.dtype), inputs,
            is_leaf=lambda x: isinstance(x, KerasTensor))


__all__ = ["Identity"]
