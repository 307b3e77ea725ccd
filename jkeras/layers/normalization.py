"""BatchNormalization and LayerNormalization."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras import constraints, initializers, regularizers
from jkeras.engine.layer import Layer
from jkeras.engine.legacy import legacy_args


def _axes(axis, rank: int, layer) -> list[int]:
    axes = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}): axis {a} is out of range for "
                f"an input of rank {rank}."
            )
        out.append(a % rank)
    return out



def affine_config(layer) -> dict:
    """The config entries of a normalization layer's gamma/beta weights (their
    initializers, regularizers and constraints), serialized as Keras does."""
    return {
        "beta_initializer": initializers.serialize(layer.beta_initializer),
        "gamma_initializer": initializers.serialize(layer.gamma_initializer),
        "beta_regularizer": regularizers.serialize(layer.beta_regularizer),
        "gamma_regularizer": regularizers.serialize(layer.gamma_regularizer),
        "beta_constraint": constraints.serialize(layer.beta_constraint),
        "gamma_constraint": constraints.serialize(layer.gamma_constraint),
    }

class BatchNormalization(Layer):
    """Normalizes with batch statistics in training and moving statistics in
    inference: `gamma * (x - mean) / sqrt(var + epsilon) + beta`."""

    _keeps_input_dtype = True
    _autocast = False  # statistics and scale stay in float32 under mixed precision

    @legacy_args({"gamma_init": "gamma_initializer", "beta_init": "beta_initializer"},
                 include_common=False)
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, mode=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in (None, 0):
            raise ValueError(
                f"BatchNormalization '{self.name}': Keras 1 mode={mode} is not supported; "
                f"only the feature-wise mode 0 (the modern behaviour)."
            )
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = synchronized
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        self._axes = _axes(self.axis, rank, self)
        shape = tuple(input_shape[a] for a in self._axes)
        if any(d is None for d in shape):
            raise ValueError(
                f"BatchNormalization '{self.name}': the normalized axis {self.axis} of the input "
                f"shape {tuple(input_shape)} must be known."
            )
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer,
                                               trainable=False)
        self._rank = rank
        self.built = True

    def _broadcast(self, v):
        shape = [1] * self._rank
        for a, d in zip(self._axes, v.shape if v.ndim else (1,)):
            shape[a] = d
        return v.reshape(shape)

    def call(self, inputs, training=False, mask=None):
        x = inputs
        reduce_axes = tuple(i for i in range(x.ndim) if i not in self._axes)
        if not self.trainable:
            training = False  # a frozen BatchNormalization runs in inference mode (Keras 3)
        compute = jnp.float32 if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
        xc = x.astype(compute)
        if training:
            if mask is not None:
                w = mask.astype(compute)
                while w.ndim < x.ndim:
                    w = w[..., None]
                w = jnp.broadcast_to(w, x.shape)
                count = jnp.maximum(jnp.sum(w, axis=reduce_axes), 1.0)
                mean = jnp.sum(xc * w, axis=reduce_axes) / count
                var = jnp.sum(jnp.square(xc - self._broadcast(mean)) * w, axis=reduce_axes) / count
            else:
                mean = jnp.mean(xc, axis=reduce_axes)
                var = jnp.var(xc, axis=reduce_axes)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + mean * (1 - m))
            self.moving_variance.assign(self.moving_variance.value * m + var * (1 - m))
        else:
            mean, var = self.moving_mean.value, self.moving_variance.value
        inv = 1.0 / jnp.sqrt(var + self.epsilon)
        if self.gamma is not None:
            inv = inv * self.gamma.value
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self.beta.value
        y = xc * self._broadcast(inv) + self._broadcast(shift)
        return y.astype(x.dtype)

    def batch_independent(self, training=None) -> bool:
        return not training or not self.trainable

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(
                self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
        }


class LayerNormalization(Layer):
    """Normalizes each sample over `axis`: `gamma * (x - mean) / sqrt(var + epsilon) + beta`."""

    _keeps_input_dtype = True
    _autocast = False

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale = center, scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        self._axes = _axes(self.axis, rank, self)
        shape = tuple(input_shape[a] for a in self._axes)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self._rank = rank
        self.built = True

    def _broadcast(self, v):
        shape = [1] * self._rank
        for a, d in zip(self._axes, v.shape):
            shape[a] = d
        return v.reshape(shape)

    def call(self, inputs):
        x = inputs
        compute = jnp.float32 if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
        xc = x.astype(compute)
        axes = tuple(self._axes)
        if self.rms_scaling:
            y = xc * (1.0 / jnp.sqrt(jnp.mean(jnp.square(xc), axis=axes, keepdims=True)
                                     + self.epsilon))
        else:
            mean = jnp.mean(xc, axis=axes, keepdims=True)
            var = jnp.var(xc, axis=axes, keepdims=True)
            y = (xc - mean) / jnp.sqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * self._broadcast(self.gamma.value)
        if self.beta is not None:
            y = y + self._broadcast(self.beta.value)
        return y.astype(x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": self.rms_scaling,
            **affine_config(self),
        }
