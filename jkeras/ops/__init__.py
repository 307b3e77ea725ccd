"""numpy-style ops that work on arrays and on symbolic tensors alike.

On arrays (or jkeras Variables) each op computes with jax.numpy; on a
KerasTensor it records a graph node, so ops can be used between layers when
building a functional model.
"""

from jkeras.ops import image  # noqa: F401  (keras.ops.image)
from jkeras.ops.nn import (  # noqa: F401
    elu,
    gelu,
    hard_sigmoid,
    leaky_relu,
    log_softmax,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    swish,
)
from jkeras.ops.numpy import *  # noqa: F401,F403
from jkeras.ops.numpy import batch_dot, cast, getitem, norm, one_hot, stop_gradient  # noqa: F401
from jkeras.ops.operation import Operation, symbolic_function  # noqa: F401


def convert_to_tensor(x, dtype=None):
    """An array on the default device (a jkeras Variable gives its value)."""
    import jax.numpy as jnp

    if getattr(x, "_is_variable", False):
        x = x.value
    return jnp.asarray(x, dtype=dtype)


def convert_to_numpy(x):
    """A numpy array copy of an array or Variable."""
    import numpy as np

    if getattr(x, "_is_variable", False):
        x = x.value
    return np.asarray(x)


def shape(x) -> tuple:
    """Static shape (batch dim None for symbolic tensors)."""
    return tuple(x.shape)


def dtype(x) -> str:
    import jax.numpy as jnp

    return jnp.dtype(x.dtype).name
