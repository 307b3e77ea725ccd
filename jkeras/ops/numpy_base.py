"""Shared machinery of the numpy-style ops (`jkeras.ops.numpy`).

`keras_op` turns an array function with Keras's signature into an op that also
works on jkeras Variables and on symbolic KerasTensors; the dtype helpers encode
the Keras 3 result-dtype rules that differ from plain jax.numpy.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jkeras.backend import config
from jkeras.backend.keras_tensor import KerasTensor, any_symbolic
from jkeras.ops.operation import FunctionOperation, unwrap_variables

# Errors jax raises when a function needs the value of an abstract input.
_VALUE_ERRORS = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerBoolConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerArrayConversionError,
    jax.errors.NonConcreteBooleanIndexError,
)


class SpecFunctionOperation(FunctionOperation):
    """A FunctionOperation whose symbolic outputs come from `spec_fn` (for ops
    whose output shape depends on input values, such as `nonzero`)."""

    def __init__(self, fn, name: str, spec_fn):
        super().__init__(fn, name)
        self.spec_fn = spec_fn

    def compute_output_spec(self, *args, **kwargs):
        return self.spec_fn(*args, **kwargs)


def keras_op(fn=None, *, name: str | None = None, spec=None, symbolic: bool = True):
    """Decorator making `fn` (an array function with Keras's signature) an op.

    On arrays and Variables it calls `fn`; with a KerasTensor among the arguments
    it records a graph node and returns KerasTensors. `spec(*args, **kwargs)`,
    when given, computes the symbolic outputs (value-dependent shapes); otherwise
    they come from abstract evaluation. `symbolic=False` makes symbolic inputs a
    TypeError (ops whose arguments must be known numbers)."""
    if fn is None:
        return functools.partial(keras_op, name=name, spec=spec, symbolic=symbolic)
    op_name = name or fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not any_symbolic(args, kwargs):
            return fn(*unwrap_variables(args), **unwrap_variables(kwargs))
        if not symbolic:
            raise TypeError(
                f"ops.{op_name} needs concrete numbers, not symbolic tensors (its arguments "
                f"set the output's shape). Pass Python numbers or arrays."
            )
        op = SpecFunctionOperation(fn, op_name, spec) if spec else FunctionOperation(fn, op_name)
        try:
            return op(*args, **kwargs)
        except _VALUE_ERRORS as e:
            raise ValueError(
                f"ops.{op_name} cannot be applied to symbolic tensors here: the shape of its "
                f"result depends on the values of its inputs. Call it on arrays (eagerly) "
                f"instead. ({type(e).__name__})"
            ) from None
        except (ValueError, TypeError) as e:
            shapes = _unknown_dim_shapes(args, kwargs)
            if not shapes or type(e) not in (ValueError, TypeError):
                raise
            raise type(e)(
                f"{e} [ops.{op_name} on symbolic inputs of shapes {shapes}: their unknown "
                f"(None) dimensions were evaluated with stand-in sizes 7 and 11.]"
            ) from e

    wrapper.__name__ = op_name
    wrapper.__qualname__ = op_name
    return wrapper


def _unknown_dim_shapes(args, kwargs) -> list:
    """Shapes of the KerasTensor arguments, if any has an unknown dimension."""
    tensors = [x for x in jax.tree_util.tree_leaves((args, kwargs),
                                                    is_leaf=lambda v: isinstance(v, KerasTensor))
               if isinstance(x, KerasTensor)]
    return [t.shape for t in tensors] if any(None in t.shape for t in tensors) else []


def tensor(x, dtype=None):
    """`x` as a jax array (Keras's convert_to_tensor: lists and scalars too)."""
    return jnp.asarray(x, dtype=dtype)


def is_inexact(dtype) -> bool:
    return jnp.issubdtype(dtype, jnp.inexact)


def floating(x):
    """`x` as an array of a floating (or complex) dtype: integer and bool inputs
    become floatx, as Keras casts them before transcendental functions."""
    x = tensor(x)
    return x if is_inexact(x.dtype) else x.astype(config.floatx())


def floating_pair(x1, x2):
    """Both inputs cast to their common floating dtype (ints/bools give floatx).
    Python scalars are weakly typed: `arctan2(float16_array, 2.0)` stays float16."""
    dtype = jnp.result_type(x1, x2)
    if not is_inexact(dtype):
        dtype = jnp.dtype(config.floatx())
    return tensor(x1).astype(dtype), tensor(x2).astype(dtype)


def named_op(op, name: str, doc: str, symbolic: bool = True):
    """`op` (a function with Keras's signature, made by a factory) named `name`,
    documented by `doc`, as a keras_op."""
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return keras_op(op, symbolic=symbolic)


def unary_op(name: str, jnp_fn, prepare=None, doc: str = ""):
    """An op `name(x)` computing `jnp_fn(prepare(x))` (prepare: `tensor`)."""
    prepare = prepare or tensor

    def op(x):
        return jnp_fn(prepare(x))

    return named_op(op, name, doc or f"Element-wise `{name}` of `x` (numpy semantics).")


def binary_op(name: str, jnp_fn, prepare=None, doc: str = "", arg_names=("x1", "x2")):
    """An op `name(x1, x2)` (or `name(x, y)`) computing `jnp_fn(*prepare(x1, x2))`
    (prepare: both as tensors)."""
    if prepare is None:
        prepare = lambda a, b: (tensor(a), tensor(b))
    if arg_names == ("x1", "x2"):
        def op(x1, x2):
            return jnp_fn(*prepare(x1, x2))
    else:
        def op(x, y):
            return jnp_fn(*prepare(x, y))

    return named_op(op, name, doc or f"Element-wise `{name}` of the two inputs (broadcast).")


def default_float(dtype):
    """Keras's default for creation ops: `dtype` or floatx()."""
    return dtype if dtype is not None else config.floatx()


def check_int(value, op: str, arg: str, minimum: int | None = None) -> int:
    """`value` as a Python int; a clear TypeError/ValueError naming the op
    and argument otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"ops.{op}: `{arg}` must be a Python int; received {value!r} of type "
            f"{type(value).__name__}."
        )
    if minimum is not None and value < minimum:
        raise ValueError(f"ops.{op}: `{arg}` must be >= {minimum}; received {value}.")
    return value


__all__ = [
    "SpecFunctionOperation", "keras_op", "named_op", "unary_op", "binary_op", "tensor", "floating",
    "floating_pair", "default_float", "check_int", "is_inexact",
]
