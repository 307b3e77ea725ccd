"""numpy-style ops (`keras.ops.numpy`) that work on arrays, jkeras Variables and
KerasTensors.

The ops live in topic modules (numpy_math, numpy_reduce, numpy_shape,
numpy_create, numpy_products, numpy_values); this module is the public
namespace with all of Keras 3's names, plus `batch_dot` (used by layers).
"""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.ops import (
    numpy_create,
    numpy_math,
    numpy_products,
    numpy_reduce,
    numpy_shape,
    numpy_values,
)
from jkeras.ops.linalg import norm  # noqa: F401 - also jkeras.ops.norm, as in Keras
from jkeras.ops.numpy_create import *  # noqa: F401,F403
from jkeras.ops.numpy_math import *  # noqa: F401,F403
from jkeras.ops.numpy_products import *  # noqa: F401,F403
from jkeras.ops.numpy_reduce import *  # noqa: F401,F403
from jkeras.ops.numpy_shape import *  # noqa: F401,F403
from jkeras.ops.numpy_shape import get_item
from jkeras.ops.numpy_values import *  # noqa: F401,F403
from jkeras.ops.operation import symbolic_function

# isort: split
# Keras keeps these in keras.ops.core / keras.ops.nn; jkeras.ops.numpy re-exports them
# for older jkeras code (one implementation each).
from jkeras.ops.core import cast, stop_gradient  # noqa: F401,E402
from jkeras.ops.nn_targets import one_hot  # noqa: F401,E402

# The op `x[key]` records on a KerasTensor (graph node name "getitem").
getitem = get_item


def _batch_dot(x, y, axes):
    """Keras `batch_dot`: dot product over `axes` for each sample."""
    if isinstance(axes, int):
        axes = (axes, axes)
    ax = axes[0] % x.ndim
    ay = axes[1] % y.ndim
    out = jnp.einsum(
        x.swapaxes(ax, -1).reshape(x.shape[0], -1, x.shape[ax]),
        [0, 1, 3],
        y.swapaxes(ay, 1).reshape(y.shape[0], y.shape[ay], -1),
        [0, 3, 2],
        [0, 1, 2],
    )
    x_rest = [d for i, d in enumerate(x.shape) if i not in (0, ax)]
    y_rest = [d for i, d in enumerate(y.shape) if i not in (0, ay)]
    out = out.reshape((x.shape[0], *x_rest, *y_rest))
    if out.ndim == 1:
        out = out[:, None]
    return out


batch_dot = symbolic_function(_batch_dot, "batch_dot")


__all__ = [
    *numpy_create.__all__, *numpy_math.__all__, *numpy_products.__all__,
    *numpy_reduce.__all__, *numpy_shape.__all__, *numpy_values.__all__,
    "getitem", "batch_dot", "norm",
]
