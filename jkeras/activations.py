"""Activation functions by name (Keras names), with Keras's arguments and defaults.

Most are the `jkeras.ops` functions of the same name; `relu` (with negative_slope,
max_value and threshold) and `gelu` (exact by default, where ops.gelu defaults to the
tanh approximation) differ from their ops as Keras's do.
"""

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


def _relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    # Written with selects (jnp.where, jax.nn.relu/relu6), never jnp.maximum/minimum:
    # JAX's derivative of maximum/minimum splits ties evenly and XLA:CPU runs it several
    # times slower (measured on MobileNetV2's ReLU(6.) layers: 81 ms vs 12 ms per
    # (32, 48, 48, 96) training-step activation on a 2-core Xeon).
    x = jnp.asarray(x)
    if negative_slope == 0.0 and threshold == 0.0:
        if max_value is None:
            return jax.nn.relu(x)
        if max_value == 6:
            return jax.nn.relu6(x)
    zero = jnp.zeros((), x.dtype)
    y = jnp.where(x > threshold, x, zero)
    if max_value is not None:
        cap = jnp.asarray(max_value, x.dtype)
        y = jnp.where(y < cap, y, cap)
    if negative_slope != 0.0:
        y = y + jnp.where(x < threshold, negative_slope * (x - threshold), zero)
    return y


def _gelu(x, approximate=False):
    return jax.nn.gelu(x, approximate=approximate)


_relu_op = symbolic_function(_relu, "relu")


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), generalised as Keras's: values below `threshold` become
    `negative_slope * (x - threshold)`, values above it stay x (capped at `max_value`
    when given)."""
    return _relu_op(x, negative_slope=negative_slope, max_value=max_value,
                    threshold=threshold)


gelu = symbolic_function(_gelu, "gelu")
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
silu = _nn.silu
swish = _nn.silu
leaky_relu = _nn.leaky_relu
celu = _nn.celu
glu = _nn.glu
hard_shrink = _nn.hard_shrink
hard_silu = _nn.hard_silu
hard_swish = _nn.hard_silu
hard_tanh = _nn.hard_tanh
log_sigmoid = _nn.log_sigmoid
soft_shrink = _nn.soft_shrink
sparse_plus = _nn.sparse_plus
sparse_sigmoid = _nn.sparse_sigmoid
sparsemax = _nn.sparsemax
squareplus = _nn.squareplus
tanh_shrink = _nn.tanh_shrink
threshold = _nn.threshold

# Names in serialization order: the first name of a function is the one `serialize`
# writes (Keras writes 'silu' for swish and 'hard_silu' for hard_swish).
_BY_NAME = {
    "linear": linear, "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "softmax": softmax,
    "log_softmax": log_softmax, "tanh": tanh, "elu": elu, "selu": selu, "softplus": softplus,
    "softsign": softsign, "hard_sigmoid": hard_sigmoid, "gelu": gelu, "silu": silu,
    "swish": swish, "leaky_relu": leaky_relu, "exponential": exponential, "mish": mish,
    "celu": celu, "glu": glu, "hard_shrink": hard_shrink, "hard_silu": hard_silu,
    "hard_swish": hard_swish, "hard_tanh": hard_tanh, "log_sigmoid": log_sigmoid,
    "soft_shrink": soft_shrink, "sparse_plus": sparse_plus, "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax, "squareplus": squareplus, "tanh_shrink": tanh_shrink,
    "threshold": threshold,
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
