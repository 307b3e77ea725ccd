"""Neural-network ops (activations and friends) on arrays and KerasTensors."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.ops.operation import symbolic_function


def _relu(x):
    return jax.nn.relu(x)


def _relu6(x):
    return jax.nn.relu6(x)


def _sigmoid(x):
    return jax.nn.sigmoid(x)


def _softmax(x, axis=-1):
    return jax.nn.softmax(x, axis=axis)


def _log_softmax(x, axis=-1):
    return jax.nn.log_softmax(x, axis=axis)


def _elu(x, alpha=1.0):
    return jax.nn.elu(x, alpha)


def _selu(x):
    return jax.nn.selu(x)


def _softplus(x):
    return jax.nn.softplus(x)


def _softsign(x):
    return x / (1.0 + jnp.abs(x))


def _hard_sigmoid(x):
    return jax.nn.relu6(x + 3.0) / 6.0


def _gelu(x, approximate=False):
    return jax.nn.gelu(x, approximate=approximate)


def _silu(x):
    return jax.nn.silu(x)


def _leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(x, negative_slope)


def _tanh(x):
    return jnp.tanh(x)


relu = symbolic_function(_relu, "relu")
relu6 = symbolic_function(_relu6, "relu6")
sigmoid = symbolic_function(_sigmoid, "sigmoid")
softmax = symbolic_function(_softmax, "softmax")
log_softmax = symbolic_function(_log_softmax, "log_softmax")
elu = symbolic_function(_elu, "elu")
selu = symbolic_function(_selu, "selu")
softplus = symbolic_function(_softplus, "softplus")
softsign = symbolic_function(_softsign, "softsign")
hard_sigmoid = symbolic_function(_hard_sigmoid, "hard_sigmoid")
gelu = symbolic_function(_gelu, "gelu")
silu = symbolic_function(_silu, "silu")
swish = silu
leaky_relu = symbolic_function(_leaky_relu, "leaky_relu")
