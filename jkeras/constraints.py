"""Weight constraints, applied to a variable after each optimizer step."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.backend.by_name import get_by_name, serialize_object


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    def __init__(self, max_value=2.0, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = jnp.sqrt(jnp.sum(jnp.square(w), axis=self.axis, keepdims=True))
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (1e-7 + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (1e-7 + jnp.sqrt(jnp.sum(jnp.square(w), axis=self.axis, keepdims=True)))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = jnp.sqrt(jnp.sum(jnp.square(w), axis=self.axis, keepdims=True))
        desired = self.rate * jnp.clip(norms, self.min_value, self.max_value) + (
            1 - self.rate
        ) * norms
        return w * (desired / (1e-7 + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


_BY_NAME = {
    "max_norm": MaxNorm, "maxnorm": MaxNorm, "MaxNorm": MaxNorm, "non_neg": NonNeg,
    "nonneg": NonNeg, "NonNeg": NonNeg, "unit_norm": UnitNorm, "unitnorm": UnitNorm,
    "UnitNorm": UnitNorm, "min_max_norm": MinMaxNorm, "MinMaxNorm": MinMaxNorm,
}
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm


def get(identifier):
    """A constraint from a name, a config dict, an instance or a callable (None: none)."""
    return get_by_name("constraint", _BY_NAME, identifier, "jkeras.constraints.MaxNorm(2.0)")


def serialize(c):
    """The Keras-style config dict of a constraint (None for none)."""
    return serialize_object("keras.constraints", c)


deserialize = get
