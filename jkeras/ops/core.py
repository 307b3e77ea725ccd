"""Core ops of `keras.ops`: conversions (`cast`, `convert_to_tensor`, `saturate_cast`,
...), indexing (`slice`, `scatter`, `unstack`, ...), control flow (`cond`, `scan`,
`while_loop`, ...) and `custom_gradient`, with Keras's signatures.

The control-flow ops take Python callables and run them with `jax.lax`, so they work
on arrays, inside `jax.jit` and under `jax.grad`; called on KerasTensors they record a
graph node whose output shapes come from tracing the callables abstractly.
"""

from __future__ import annotations

import builtins

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.ops.einops import rearrange  # noqa: F401  (keras.ops.rearrange)
from jkeras.ops.operation import symbolic_function, unwrap_variables
from jkeras.ops.spec_function import KerasTensor, spec_function


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------
def _standard_dtype(dtype, op: str) -> str:
    try:
        return jnp.dtype(dtype).name
    except TypeError as e:
        raise ValueError(f"{op}: {dtype!r} is not a dtype (e.g. 'float32', 'int32').") from e


def _cast(x, dtype):
    """`x` converted to `dtype` (floats to ints truncate towards zero)."""
    return jnp.asarray(x).astype(_standard_dtype(dtype, "cast"))


def _dtype_limits(dtype) -> tuple:
    if dtype == jnp.bool_:
        return 0, 1
    info = jnp.iinfo(dtype) if jnp.issubdtype(dtype, jnp.integer) else jnp.finfo(dtype)
    return info.min, info.max


def _saturate_cast(x, dtype):
    """`x` clipped to the range of `dtype`, then cast: out-of-range values become the
    dtype's minimum or maximum instead of wrapping around."""
    dtype = jnp.dtype(_standard_dtype(dtype, "saturate_cast"))
    x = jnp.asarray(x)
    in_lo, in_hi = _dtype_limits(x.dtype)
    out_lo, out_hi = _dtype_limits(dtype)
    with np.errstate(over="ignore"):
        lo = np.asarray(builtins.max(in_lo, out_lo)).astype(x.dtype)
        hi = np.asarray(builtins.min(in_hi, out_hi)).astype(x.dtype)
    # A limit rounded outside the target range (float32(2**31 - 1) == 2**31) steps in;
    # compared as Python numbers, which compare exactly.
    if float(lo) < out_lo:
        lo = np.nextafter(lo, np.zeros((), x.dtype))
    if float(hi) > out_hi:
        hi = np.nextafter(hi, np.zeros((), x.dtype))
    return jnp.clip(x, lo, hi).astype(dtype)


def _no_sparse_or_ragged(sparse, ragged):
    if sparse or ragged:
        raise ValueError(
            "convert_to_tensor: sparse=True and ragged=True are not supported (jkeras has no "
            "sparse or ragged tensors); leave them None or False."
        )


def _convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    _no_sparse_or_ragged(sparse, ragged)
    return jnp.asarray(x, None if dtype is None else _standard_dtype(dtype, "convert_to_tensor"))


_convert_to_tensor_op = symbolic_function(_convert_to_tensor, "convert_to_tensor")


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """An array on the default device (a jkeras Variable gives its value), of `dtype`
    when given."""
    return _convert_to_tensor_op(x, dtype=dtype, sparse=sparse, ragged=ragged)


def convert_to_numpy(x) -> np.ndarray:
    """A numpy array copy of an array or Variable."""
    return np.asarray(unwrap_variables(x))


def shape(x) -> tuple:
    """Static shape (unknown dimensions of symbolic tensors are None)."""
    return tuple(x.shape)


def dtype(x) -> str:
    """The dtype's name ('float32', ...)."""
    return jnp.dtype(x.dtype).name


def is_tensor(x) -> bool:
    """Whether `x` is a JAX array (or tracer): not a numpy array, Variable or
    KerasTensor."""
    return isinstance(x, jax.Array)


def _stop_gradient(variable):
    """`variable` (an array or Variable value) as a constant for differentiation."""
    return jax.lax.stop_gradient(variable)


# ---------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------
def _scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at `indices` (..., index_depth):
    repeated indices add up."""
    values = jnp.asarray(values)
    indices = jnp.asarray(indices)
    return jnp.zeros(shape, values.dtype).at[tuple(jnp.moveaxis(indices, -1, 0))].add(values)


def _scatter_spec(indices, values, shape):
    return KerasTensor(shape, values.dtype)


_REDUCTIONS = {None: "set", "add": "add", "max": "max", "min": "min", "mul": "multiply"}


def _scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with entries at `indices` (num_updates, index_depth) replaced by (or, with
    `reduction` 'add' / 'max' / 'min' / 'mul', combined with) `updates`."""
    name = reduction.lower() if isinstance(reduction, str) else reduction
    if name not in _REDUCTIONS:
        raise ValueError(
            f"scatter_update: `reduction` must be None, 'add', 'max', 'min' or 'mul', got "
            f"{reduction!r}."
        )
    inputs = jnp.asarray(inputs)
    key = tuple(jnp.asarray(indices).T)
    return getattr(inputs.at[key], _REDUCTIONS[name])(jnp.asarray(updates))


def _slice_shape(inputs_shape, start_indices, shape) -> tuple:
    if len(shape) != len(inputs_shape) or len(start_indices) != len(inputs_shape):
        raise ValueError(
            f"slice: `start_indices` and `shape` need one entry per dimension of inputs (shape "
            f"{tuple(inputs_shape)}), got start_indices={start_indices!r}, shape={shape!r}."
        )
    return tuple(n - s if d == -1 else d for n, s, d in zip(inputs_shape, start_indices, shape))


def _slice(inputs, start_indices, shape):
    """The block of `inputs` of `shape` (-1: to the end) starting at `start_indices`
    (which may be traced); starts are clamped so that the block fits, as lax.dynamic_slice
    does."""
    inputs = jnp.asarray(inputs)
    return jax.lax.dynamic_slice(inputs, start_indices,
                                 _slice_shape(inputs.shape, start_indices, shape))


def _slice_spec(inputs, start_indices, shape):
    if len(shape) != len(inputs.shape):
        _slice_shape(inputs.shape, (0,) * len(inputs.shape), shape)  # raises
    known = not isinstance(start_indices, KerasTensor)
    out = [d if d != -1 else (n - start_indices[i] if known and n is not None else None)
           for i, (n, d) in enumerate(zip(inputs.shape, shape))]
    return KerasTensor(out, inputs.dtype)


def _slice_update(inputs, start_indices, updates):
    """`inputs` with the block at `start_indices` replaced by `updates`."""
    inputs = jnp.asarray(inputs)
    return jax.lax.dynamic_update_slice(inputs, jnp.asarray(updates, inputs.dtype),
                                        start_indices)


def _unstack(x, num=None, axis=0):
    """The slices of `x` along `axis`, as a list."""
    x = jnp.asarray(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(
            f"unstack: num={num} does not match the size {x.shape[axis]} of axis {axis} of x "
            f"(shape {x.shape})."
        )
    return [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


def _unstack_spec(x, num=None, axis=0):
    axis = axis % len(x.shape)
    n = x.shape[axis] if num is None else num
    if n is None:
        raise ValueError(
            f"unstack: the size of axis {axis} of x (shape {x.shape}) is unknown; pass `num`."
        )
    rest = x.shape[:axis] + x.shape[axis + 1:]
    return [KerasTensor(rest, x.dtype) for _ in range(n)]


# ---------------------------------------------------------------------------
# Control flow
# ---------------------------------------------------------------------------
def _cond(pred, true_fn, false_fn):
    """true_fn() if pred else false_fn(); both must return the same structure of shapes
    and dtypes."""
    return jax.lax.cond(pred, true_fn, false_fn)


def _switch(index, branches, *operands):
    """branches[index](*operands), `index` clamped to the valid range."""
    return jax.lax.switch(index, branches, *operands)


def _map(f, xs):
    """[f(x) for x in xs] along the first axis of every leaf of `xs`, stacked."""
    return jax.lax.map(f, xs)


def _vectorized_map(function, elements):
    """`function` applied to each slice along the first axis of `elements` at once
    (jax.vmap), the results stacked."""
    return jax.vmap(function)(elements)


def _scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops `carry, y = f(carry, x)` over the first axis of `xs` (or `length` times with
    x=None); returns (final carry, stacked ys)."""
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: `unroll` must be a positive integer or a bool, got {unroll!r}.")
    return jax.lax.scan(f, init, xs, length=length, reverse=reverse, unroll=unroll)


def _associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive prefix scan of `elems` along `axis` with the associative `f(a, b)`
    (e.g. cumulative sums with `add`), computed in parallel."""
    return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)


def _fori_loop(lower, upper, body_fun, init_val):
    """val = body_fun(i, val) for i in range(lower, upper); returns the final val."""
    return jax.lax.fori_loop(lower, upper, body_fun, init_val)


def _while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeats `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` (and fewer than
    `maximum_iterations` times when given). `loop_vars` may be one tensor or a tuple/list;
    `body` returns the same structure, and so does the loop."""
    packed = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if packed else (loop_vars,)

    def as_tuple(out):
        if packed:
            if not isinstance(out, (tuple, list)) or len(out) != len(state):
                raise ValueError(
                    f"while_loop: `body` must return {len(state)} values, like loop_vars, "
                    f"got {out!r:.100}."
                )
            return tuple(out)
        return (out,)

    if maximum_iterations is None:
        out = jax.lax.while_loop(lambda s: cond(*s), lambda s: as_tuple(body(*s)), state)
    else:
        def bounded_cond(s):
            return jnp.logical_and(cond(*s[0]), s[1] < maximum_iterations)

        def bounded_body(s):
            return as_tuple(body(*s[0])), s[1] + 1

        out, _ = jax.lax.while_loop(bounded_cond, bounded_body, (state, 0))
    return type(loop_vars)(out) if packed else out[0]


def custom_gradient(f):
    """Decorator: `f(*args)` returns `(output, grad_fn)` where `grad_fn(upstream)` (also
    callable as `grad_fn(upstream=...)`) returns the gradient with respect to each
    argument (one value for a single argument, a tuple for several). The result is
    differentiable with `jax.grad` through that gradient. Variables passed in are read."""
    def vjp_form(*args):
        output, grad_fn = f(*args)

        def vjp(upstream):
            grads = grad_fn(upstream)
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)

        return output, vjp

    differentiable = jax.custom_gradient(vjp_form)

    def wrapper(*args, **kwargs):
        return differentiable(*unwrap_variables(args), **unwrap_variables(kwargs))

    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapper.__doc__ = f.__doc__
    return wrapper


cast = symbolic_function(_cast, "cast")
saturate_cast = symbolic_function(_saturate_cast, "saturate_cast")
stop_gradient = symbolic_function(_stop_gradient, "stop_gradient")
scatter = spec_function(_scatter, _scatter_spec, "scatter")
scatter_update = symbolic_function(_scatter_update, "scatter_update")
slice = spec_function(_slice, _slice_spec, "slice")  # noqa: A001  (Keras's name)
slice_update = symbolic_function(_slice_update, "slice_update")
unstack = spec_function(_unstack, _unstack_spec, "unstack")
cond = symbolic_function(_cond, "cond")
switch = symbolic_function(_switch, "switch")
map = symbolic_function(_map, "map")  # noqa: A001  (Keras's name)
vectorized_map = symbolic_function(_vectorized_map, "vectorized_map")
scan = symbolic_function(_scan, "scan")
associative_scan = symbolic_function(_associative_scan, "associative_scan")
fori_loop = symbolic_function(_fori_loop, "fori_loop")
while_loop = symbolic_function(_while_loop, "while_loop")

__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor",
    "custom_gradient", "dtype", "fori_loop", "is_tensor", "map", "rearrange",
    "saturate_cast", "scan", "scatter", "scatter_update", "shape", "slice", "slice_update",
    "stop_gradient", "switch", "unstack", "vectorized_map", "while_loop",
]
