"""Activation functions by name (Keras names)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.ops import nn as _nn
from jkeras.ops.operation import symbolic_function


def linear(x):
    return x


def exponential(x):
    return jnp.exp(x)


def mish(x):
    return x * jnp.tanh(jax.nn.softplus(x))


relu = _nn.relu
relu6 = _nn.relu6
sigmoid = _nn.sigmoid
softmax = _nn.softmax
log_softmax = _nn.log_softmax
tanh = symbolic_function(jnp.tanh, "tanh")
elu = _nn.elu
selu = _nn.selu
softplus = _nn.softplus
softsign = _nn.softsign
hard_sigmoid = _nn.hard_sigmoid
gelu = _nn.gelu
silu = _nn.silu
swish = _nn.silu
leaky_relu = _nn.leaky_relu

_BY_NAME = {
    "linear": linear, "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "softmax": softmax,
    "log_softmax": log_softmax, "tanh": tanh, "elu": elu, "selu": selu, "softplus": softplus,
    "softsign": softsign, "hard_sigmoid": hard_sigmoid, "gelu": gelu, "silu": silu,
    "swish": swish, "leaky_relu": leaky_relu, "exponential": exponential, "mish": mish,
}


def get(identifier):
    """An activation function from a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(
                f"Unknown activation {identifier!r}. Known: {sorted(_BY_NAME)}, or pass a "
                f"callable."
            )
        return fn
    if isinstance(identifier, dict):
        return get(identifier.get("config", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation {identifier!r}.")


def serialize(fn) -> str:
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", "linear")


deserialize = get
