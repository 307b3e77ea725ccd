"""Activation layers (Keras 2/3 `keras.layers.ReLU`, ..., Keras 1
`keras.layers.advanced_activations`): ReLU, LeakyReLU, PReLU, ELU,
ThresholdedReLU, Softmax.

Each keeps its input's shape and passes masks through unchanged. Float inputs
keep their dtype (the compute dtype under a mixed policy); integer inputs are
computed in the layer's compute dtype.
"""

from __future__ import annotations

import numbers

import jax.numpy as jnp

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.layer import Layer
from jkeras.engine.legacy import legacy_args

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"]


def _number(layer_name: str, arg: str, value, *, minimum: float | None = 0.0,
            allow_none: bool = False, hint: str = "") -> float | None:
    """`value` as a float, checked against `minimum`; errors name the layer and argument."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{layer_name}: `{arg}` must be a number{' or None' if allow_none else ''}, "
            f"got {value!r}.{hint}"
        )
    value = float(value)
    if minimum is not None and not value >= minimum:
        raise ValueError(
            f"{layer_name}: `{arg}` must be >= {minimum:g}, got {value!r}.{hint}"
        )
    return value


class ShapePreservingLayer(Layer):
    """Base of layers whose output has the input's shape (and, for float inputs,
    its dtype). Subclasses implement `call`; masks pass through unchanged."""

    # Non-float inputs are computed (and returned) in the compute dtype.
    _casts_non_float = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _validate_input(self, inputs) -> None:
        if not hasattr(inputs, "shape") or not hasattr(inputs, "dtype"):
            raise TypeError(
                f"Layer '{self.name}' ({type(self).__name__}) takes a single tensor, got "
                f"{type(inputs).__name__}. Call it on one tensor at a time."
            )

    def _output_dtype(self, dtype) -> str:
        dtype = jnp.dtype(dtype)
        if jnp.issubdtype(dtype, jnp.floating):
            mixed = self._autocast and self.dtype_policy.is_mixed
            return self.compute_dtype if mixed else dtype.name
        return self.compute_dtype if self._casts_non_float else dtype.name

    def _float_input(self, x):
        """`x` as an array in the dtype the layer computes in."""
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating) and self._casts_non_float:
            x = x.astype(self.compute_dtype)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs, *args, **kwargs):
        self._validate_input(inputs)
        return KerasTensor(tuple(inputs.shape), self._output_dtype(inputs.dtype))


class ReLU(ShapePreservingLayer):
    """Rectified linear unit with an optional ceiling, slope and threshold:

    `f(x) = min(x, max_value)` for `x > threshold`,
    `f(x) = negative_slope * (x - threshold)` otherwise (Keras's definition).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        hint = " ReLU arguments are non-negative floats (max_value may be None)."
        self.max_value = _number("ReLU", "max_value", max_value, allow_none=True, hint=hint)
        self.negative_slope = _number("ReLU", "negative_slope", negative_slope, hint=hint)
        self.threshold = _number("ReLU", "threshold", threshold, hint=hint)

    def call(self, inputs):
        x = self._float_input(inputs)
        return activations.relu(x, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(ShapePreservingLayer):
    """`f(x) = x` for `x >= 0`, `negative_slope * x` otherwise. Keras 1/2 called the
    slope `alpha` (accepted, with a DeprecationWarning)."""

    @legacy_args({"alpha": "negative_slope"}, include_common=False)
    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)

    def call(self, inputs):
        return activations.leaky_relu(self._float_input(inputs),
                                      negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(ShapePreservingLayer):
    """Leaky ReLU with a learned slope: `f(x) = x` for `x >= 0`, `alpha * x`
    otherwise. `alpha` has the shape of one sample (`input_shape[1:]`), with size 1
    along the (1-based) `shared_axes`."""

    @legacy_args({"init": "alpha_initializer"}, include_common=False)
    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= 1
                       for a in axes):
                raise ValueError(
                    f"PReLU: `shared_axes` must be positive axis numbers (1 is the first axis "
                    f"after the batch), got {shared_axes!r}."
                )
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= rank:
                raise ValueError(
                    f"PReLU '{self.name}': shared_axes={self.shared_axes} names axis {axis}, "
                    f"but the input of shape {input_shape} has axes 1..{rank - 1} after the "
                    f"batch."
                )
            param_shape[axis - 1] = 1
        unknown = [i + 1 for i, d in enumerate(param_shape) if d is None]
        if unknown:
            raise ValueError(
                f"PReLU '{self.name}': axes {unknown} of the input shape {input_shape} are "
                f"unknown, so alpha cannot be sized. Give them a size in the Input shape or "
                f"share alpha along them with shared_axes={unknown}."
            )
        self.alpha = self.add_weight("alpha", tuple(param_shape), self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        x = self._float_input(inputs)
        alpha = self.alpha.value.astype(x.dtype)
        return jnp.where(x > 0, x, alpha * x)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class ELU(ShapePreservingLayer):
    """Exponential linear unit: `f(x) = x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number("ELU", "alpha", alpha, minimum=None)

    def call(self, inputs):
        return activations.elu(self._float_input(inputs), alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ThresholdedReLU(ShapePreservingLayer):
    """`f(x) = x` for `x > theta`, 0 otherwise."""

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = _number("ThresholdedReLU", "theta", theta)

    def call(self, inputs):
        x = self._float_input(inputs)
        return jnp.where(x > self.theta, x, 0).astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


def _large_negative(dtype) -> float:
    # Large enough to vanish under exp, small enough to stay finite in the dtype.
    return -3e4 if jnp.dtype(dtype) == jnp.float16 else -1e9


class Softmax(ShapePreservingLayer):
    """Softmax over `axis` (an int or a tuple of ints).

    Call argument `mask`: booleans (or 0/1 values) broadcastable to the input,
    True where a value takes part. Masked positions get probability 0; a slice
    whose positions are all masked is all 0.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, numbers.Integral) for a in axis):
                raise ValueError(f"Softmax: `axis` must be an int or a tuple of ints, got "
                                 f"{axis!r}.")
            self.axis = tuple(int(a) for a in axis)
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise ValueError(f"Softmax: `axis` must be an int or a tuple of ints, got {axis!r}.")
        self._rank = None

    def build(self, input_shape):
        self._rank = len(input_shape)
        self.built = True

    def batch_independent(self, training=None) -> bool:
        """False when the softmax runs across the batch axis."""
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if self._rank is None:
            return 0 not in axes and super().batch_independent(training)
        return all(a % self._rank != 0 for a in axes) and super().batch_independent(training)

    def _check_mask(self, x_shape, mask_shape) -> None:
        """Raises unless the mask broadcasts to the input as numpy broadcasts (aligned
        on the last axis), as Keras requires; None sizes are unknown (accepted)."""
        x_shape, mask_shape = tuple(x_shape), tuple(mask_shape)
        if len(mask_shape) <= len(x_shape) and all(
            m is None or d is None or m in (1, d)
            for m, d in zip(reversed(mask_shape), reversed(x_shape))
        ):
            return
        hint = ""
        if mask_shape[1:] == x_shape[1:len(mask_shape)]:
            hint = (
                " This looks like a (batch, timesteps) mask from Masking or "
                "Embedding(mask_zero=True) upstream, which Keras's Softmax layer cannot use "
                "either: apply the softmax with Activation('softmax') or a Dense layer's "
                "activation='softmax' (they pass the mask on unchanged)."
            )
        raise ValueError(
            f"Softmax '{self.name}': the mask of shape {mask_shape} does not broadcast to "
            f"the input of shape {x_shape}. Pass a mask of the input's shape (1 = keep, "
            f"0 = mask), with size-1 axes where it is shared.{hint}"
        )

    def compute_output_spec(self, inputs, *args, mask=None, **kwargs):
        if isinstance(mask, KerasTensor):  # fail when the model is built, not when it runs
            self._check_mask(inputs.shape, mask.shape)
        return super().compute_output_spec(inputs)

    def call(self, inputs, mask=None):
        x = self._float_input(inputs)
        if mask is not None:
            mask = jnp.asarray(mask)
            self._check_mask(x.shape, mask.shape)
            if mask.dtype != jnp.bool_:
                mask = mask > 0.5
            x = jnp.where(mask, x, jnp.asarray(_large_negative(x.dtype), x.dtype))
        out = activations.softmax(x, axis=self.axis)
        if mask is not None:
            out = jnp.where(mask, out, jnp.zeros((), out.dtype))
        return out

    def get_config(self):
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {**super().get_config(), "axis": axis}
