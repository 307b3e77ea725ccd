"""UnitNormalization and GroupNormalization (Keras 3 semantics and names)."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from jkeras import constraints, initializers, regularizers
from jkeras.engine.layer import Layer
from jkeras.layers.activation_layers import ShapePreservingLayer
from jkeras.layers.normalization import affine_config

__all__ = ["GroupNormalization", "UnitNormalization"]

# Keras's floor on the squared norm, so an all-zero vector maps to zeros.
_UNIT_NORM_EPSILON = 1e-12


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_axes(layer, axes, rank: int) -> tuple[int, ...]:
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': axis {a} is out of range for an "
                f"input of rank {rank}."
            )
        out.append(a % rank)
    return tuple(out)


class UnitNormalization(ShapePreservingLayer):
    """Scales each vector along `axis` (an int or a list of ints) to unit L2 norm:
    `x / sqrt(max(sum(x ** 2, axis), 1e-12))`."""

    _batch_independent = True  # each sample's output depends only on it

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if _is_int(axis):
            self.axis = int(axis)
        elif isinstance(axis, (list, tuple)) and axis and all(_is_int(a) for a in axis):
            self.axis = [int(a) for a in axis]
        else:
            raise ValueError(
                f"UnitNormalization: `axis` must be an int or a non-empty list/tuple of ints "
                f"(the axes normalized together), got {axis!r}."
            )

    def _axes(self, rank: int) -> tuple[int, ...]:
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        return _positive_axes(self, axes, rank)

    def _validate_input(self, inputs) -> None:
        super()._validate_input(inputs)
        self._axes(len(inputs.shape))

    def call(self, inputs):
        x = self._float_input(inputs)
        compute = jnp.float32 if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
        xc = x.astype(compute)
        square_sum = jnp.sum(jnp.square(xc), axis=self._axes(x.ndim), keepdims=True)
        return (xc * jax.lax.rsqrt(jnp.maximum(square_sum, _UNIT_NORM_EPSILON))).astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class GroupNormalization(Layer):
    """Splits the channels (`axis`) into `groups` groups and normalizes each sample
    over each group (the group's channels and all other non-batch axes):
    `gamma * (x - mean) / sqrt(var + epsilon) + beta`, with `gamma` and `beta` of
    shape `(channels,)`. `groups=-1` means one group per channel (InstanceNormalization);
    `groups=1` normalizes over all non-batch axes together."""

    _batch_independent = True  # each sample's output depends only on it

    _keeps_input_dtype = True
    _autocast = False  # statistics and scale stay in float32 under mixed precision

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not _is_int(groups) or (groups <= 0 and groups != -1):
            raise ValueError(
                f"GroupNormalization '{self.name}': `groups` must be a positive integer (or -1 "
                f"for one group per channel), got {groups!r}."
            )
        if not _is_int(axis):
            raise ValueError(
                f"GroupNormalization '{self.name}': `axis` must be an int (the channel axis), "
                f"got {axis!r}."
            )
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or epsilon < 0:
            raise ValueError(
                f"GroupNormalization '{self.name}': `epsilon` must be a non-negative float, "
                f"got {epsilon!r}."
            )
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _channels(self, input_shape) -> tuple[int, int]:
        """(positive channel axis, number of channels), checked against `groups`."""
        rank = len(input_shape)
        if rank < 2:
            raise ValueError(
                f"GroupNormalization '{self.name}' expects an input of rank >= 2 (batch, ..., "
                f"channels), but got an input of shape {tuple(input_shape)}."
            )
        (axis,) = _positive_axes(self, [self.axis], rank)
        if axis == 0:
            raise ValueError(
                f"GroupNormalization '{self.name}': `axis` must not be the batch axis 0; "
                f"give the channel axis (e.g. -1)."
            )
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(
                f"GroupNormalization '{self.name}': the channel axis {self.axis} of the input "
                f"shape {tuple(input_shape)} must be known."
            )
        groups = dim if self.groups == -1 else self.groups
        if dim < groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': groups={groups} cannot be more than the "
                f"number of channels ({dim}) of the input shape {tuple(input_shape)}."
            )
        if dim % groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': the number of channels ({dim}) must be a "
                f"multiple of groups={groups}, but it is not (input shape "
                f"{tuple(input_shape)}). Choose groups dividing {dim}."
            )
        return axis, dim

    def _validate_input(self, inputs) -> None:
        shape = getattr(inputs, "shape", None)
        if shape is not None:
            _, dim = self._channels(tuple(shape))
            if not jnp.issubdtype(jnp.dtype(inputs.dtype), jnp.floating):
                raise TypeError(
                    f"GroupNormalization '{self.name}' expects a float input, but got dtype "
                    f"{jnp.dtype(inputs.dtype).name}. Cast it first (ops.cast(x, 'float32'))."
                )
            if self.built and dim != self._dim:
                raise ValueError(
                    f"GroupNormalization '{self.name}' was built for {self._dim} channels, "
                    f"but got an input of shape {tuple(shape)}."
                )

    def build(self, input_shape):
        _, dim = self._channels(tuple(input_shape))
        self._dim = dim
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", (dim,), self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", (dim,), self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.built = True

    def call(self, inputs):
        x = inputs
        axis, dim = self._channels(x.shape)
        groups = dim if self.groups == -1 else self.groups
        compute = jnp.float32 if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
        xc = x.astype(compute)
        grouped = xc.reshape(*x.shape[:axis], groups, dim // groups, *x.shape[axis + 1:])
        reduce_axes = tuple(i for i in range(1, grouped.ndim) if i != axis)
        mean = jnp.mean(grouped, axis=reduce_axes, keepdims=True)
        var = jnp.mean(jnp.square(grouped - mean), axis=reduce_axes, keepdims=True)
        y = ((grouped - mean) * jax.lax.rsqrt(var + self.epsilon)).reshape(x.shape)
        bshape = [1] * x.ndim
        bshape[axis] = dim
        if self.gamma is not None:
            y = y * self.gamma.value.astype(compute).reshape(bshape)
        if self.beta is not None:
            y = y + self.beta.value.astype(compute).reshape(bshape)
        return y.astype(x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            **affine_config(self),
        }
