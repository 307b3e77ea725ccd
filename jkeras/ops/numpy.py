"""numpy-style ops that work on arrays, jkeras Variables and KerasTensors."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.ops.operation import symbolic_function

# Functions whose jax.numpy meaning is the numpy one.
_SAME_AS_JNP = [
    "abs", "absolute", "add", "all", "any", "append", "arange", "arccos", "arcsin", "arctan",
    "arctan2", "argmax", "argmin", "argsort", "around", "array", "average", "broadcast_to",
    "ceil", "clip", "concatenate", "conj", "copy", "cos", "cosh", "count_nonzero", "cross",
    "cumprod", "cumsum", "diag", "diagonal", "diff", "divide", "dot", "einsum", "equal", "exp",
    "expand_dims", "expm1", "eye", "flip", "floor", "floor_divide", "full", "full_like",
    "greater", "greater_equal", "hstack", "identity", "isclose", "isfinite", "isinf", "isnan",
    "less", "less_equal", "linspace", "log", "log10", "log1p", "log2", "logaddexp",
    "logical_and", "logical_not", "logical_or", "logical_xor", "matmul", "max", "maximum",
    "mean", "median", "meshgrid", "min", "minimum", "mod", "moveaxis", "multiply", "nan_to_num",
    "negative", "not_equal", "ones", "ones_like", "outer", "pad", "positive", "power", "prod",
    "quantile", "ravel", "real", "reciprocal", "repeat", "reshape", "roll", "round", "sign",
    "sin", "sinh", "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "subtract",
    "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh", "tensordot", "tile", "trace",
    "transpose", "tril", "triu", "true_divide", "var", "vstack", "where", "zeros", "zeros_like",
]

_g = globals()
for _name in _SAME_AS_JNP:
    _g[_name] = symbolic_function(getattr(jnp, _name), _name)
del _g, _name


def _getitem(x, key):
    return x[key]


getitem = symbolic_function(_getitem, "getitem")


def _cast(x, dtype):
    return jnp.asarray(x).astype(dtype)


cast = symbolic_function(_cast, "cast")


def _norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    return jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


norm = symbolic_function(_norm, "norm")


def _one_hot(x, num_classes, axis=-1, dtype="float32"):
    return jax.nn.one_hot(x, num_classes, axis=axis, dtype=dtype)


one_hot = symbolic_function(_one_hot, "one_hot")


def _stop_gradient(x):
    return jax.lax.stop_gradient(x)


stop_gradient = symbolic_function(_stop_gradient, "stop_gradient")


def _batch_dot(x, y, axes):
    """Keras `batch_dot`: dot product over `axes` for each sample."""
    if isinstance(axes, int):
        axes = (axes, axes)
    ax, ay = (a % x.ndim for a in (axes[0],)), None
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
