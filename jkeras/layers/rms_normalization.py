"""RMSNormalization (Zhang & Sennrich 2019): `x / sqrt(mean(x**2) + epsilon) * scale`,
the mean taken over `axis`, with a trainable `scale` over those axes."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.engine.layer import Layer


def _as_axes(owner: str, axis) -> list[int]:
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"{owner}: axis must be an integer or a list of integers, got "
                        f"{axis!r}.")
    return axes


class RMSNormalization(Layer):
    """Root-mean-square normalization over `axis` (default -1), scaled by the weight
    `scale` (shape: the input's sizes along `axis`, initialised to ones).

    Computes in at least float32 and returns the input's dtype.
    """

    _batch_independent = True
    _keeps_input_dtype = True

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        _as_axes(f"RMSNormalization '{self.name}'", axis)
        self.axis = axis
        self.epsilon = float(epsilon)
        self.supports_masking = True

    def _resolved_axes(self, rank: int) -> list[int]:
        axes = _as_axes(f"RMSNormalization '{self.name}'", self.axis)
        bad = [a for a in axes if not -rank <= a < rank]
        if bad:
            raise ValueError(
                f"RMSNormalization '{self.name}': axis {bad[0]} is out of range for inputs "
                f"of rank {rank} (axis={self.axis})."
            )
        return sorted(a % rank for a in axes)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self._resolved_axes(rank)
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(
                f"RMSNormalization '{self.name}': the input's size along axis {self.axis} "
                f"must be known, got shape {tuple(input_shape)}."
            )
        # Keras keeps the axes as a sorted list once built
        self.axis = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        self.scale = self.add_weight("scale", shape, "ones")
        self.built = True

    def call(self, inputs):
        x = jnp.asarray(inputs)
        dtype = x.dtype
        x = x.astype(jnp.result_type(dtype, jnp.float32))
        axes = self._resolved_axes(x.ndim)
        mean_square = jnp.mean(jnp.square(x), axis=tuple(axes), keepdims=True)
        y = x * jnp.reciprocal(jnp.sqrt(mean_square + self.epsilon))
        # the scale broadcasts along the normalised axes wherever they are
        shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
        y = y * jnp.reshape(self.scale.value.astype(y.dtype), shape)
        return y.astype(dtype)

    def compute_output_shape(self, input_shape):
        self._resolved_axes(len(input_shape))
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


__all__ = ["RMSNormalization"]
