"""Ops about the values of a tensor: searching (`nonzero`, `searchsorted`,
`digitize`, `isin`), counting (`unique`, `bincount`, `histogram`), `size`/`ndim`
and `vectorize`.

`nonzero`, `unique` (without `size`) and `bincount` have result shapes that
depend on the values: on symbolic tensors they return KerasTensors whose
value-dependent dimensions are None (as Keras does); such a graph runs eagerly
but cannot be compiled with jax.jit.
"""

from __future__ import annotations

import builtins

import jax
import jax.numpy as jnp

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.ops.numpy_base import check_int, keras_op, tensor
from jkeras.ops.operation import symbolic_eval, symbolic_function


def _nonzero_spec(x):
    return tuple(KerasTensor((None,), "int32") for _ in range(len(x.shape)))


@keras_op(spec=_nonzero_spec)
def nonzero(x):
    """The indices of the non-zero elements: one int32 tensor per axis of `x`."""
    return jnp.nonzero(tensor(x))


def _unique_spec(x, sorted=True, return_index=False, return_inverse=False,  # noqa: A002
                 return_counts=False, axis=None, size=None, fill_value=None):
    if size is not None:
        return symbolic_eval(_unique, (x,), dict(
            sorted=sorted, return_index=return_index, return_inverse=return_inverse,
            return_counts=return_counts, axis=axis, size=size, fill_value=fill_value))
    if axis is None:
        values = KerasTensor((None,), x.dtype)
        inverse_shape = x.shape
    else:
        axis = axis % len(x.shape)
        values = KerasTensor(x.shape[:axis] + (None,) + x.shape[axis + 1:], x.dtype)
        inverse_shape = (x.shape[axis],)
    outputs = [values]
    if return_index:
        outputs.append(KerasTensor((None,), "int32"))
    if return_inverse:
        outputs.append(KerasTensor(inverse_shape, "int32"))
    if return_counts:
        outputs.append(KerasTensor((None,), "int32"))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _unique(x, sorted=True, return_index=False, return_inverse=False,  # noqa: A002
            return_counts=False, axis=None, size=None, fill_value=None):
    """The unique elements of `x` (of the flattened `x`, or slices along `axis`),
    sorted unless `sorted=False`; optionally also the first indices, the inverse
    indices (to rebuild `x`) and the counts. `size` pads/truncates the result to a
    fixed length (with `fill_value`, default the minimum), which makes it work
    under jax.jit."""
    return jnp.unique(tensor(x), return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=False, size=size,
                      fill_value=fill_value, sorted=sorted)


unique = keras_op(_unique, name="unique", spec=_unique_spec)


def _bincount_spec(x, weights=None, minlength=0, sparse=False):
    dtype = "int32" if weights is None else weights.dtype
    return KerasTensor(tuple(x.shape[:-1]) + (None,), dtype)


@keras_op(spec=_bincount_spec)
def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each value 0..max(x) in the non-negative ints `x` (summed
    `weights` instead of counts when given), at least `minlength` long. A 2-D `x`
    counts each row (rows share one length)."""
    if sparse:
        raise ValueError("ops.bincount: sparse=True is not supported by jkeras (no sparse "
                         "tensors); use sparse=False.")
    x = tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"ops.bincount needs a 1-D or 2-D tensor; received shape {x.shape}.")
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"ops.bincount needs integer values; received dtype {x.dtype}.")
    if isinstance(x, jax.core.Tracer):
        raise ValueError("ops.bincount cannot run under jax.jit or other tracing: the length "
                         "of its result depends on the values of `x`. Call it eagerly, or use "
                         "ops.one_hot(x, n) summed over the counted axis for a fixed length n.")
    weights = None if weights is None else tensor(weights)
    length = builtins.max(int(minlength), int(jnp.max(x)) + 1 if x.size else 0)
    if x.ndim == 1:
        return jnp.bincount(x, weights=weights, length=length)
    count_row = lambda row, w: jnp.bincount(row, weights=w, length=length)
    in_axes = (0, None if weights is None else 0)
    return jax.vmap(count_row, in_axes=in_axes)(x, weights)


@keras_op
def histogram(x, bins=10, range=None):  # noqa: A002 - Keras's name
    """(counts, bin edges) of the 1-D `x` in `bins` equal-width bins spanning
    `range` (a (min, max) tuple; default: the data's min and max)."""
    check_int(bins, "histogram", "bins", minimum=0)
    if range is not None:
        if not isinstance(range, tuple) or len(range) != 2:
            raise ValueError(f"ops.histogram: `range` must be a tuple (min, max); received "
                             f"{range!r}.")
        if range[1] < range[0]:
            raise ValueError(f"ops.histogram: `range` must have min <= max; received {range}.")
    x = tensor(x)
    if x.ndim != 1:
        raise ValueError(f"ops.histogram needs a 1-D tensor; received shape {x.shape}.")
    return jnp.histogram(x, bins=bins, range=range)


@keras_op
def searchsorted(sorted_sequence, values, side="left"):
    """Indices (int32) where `values` would be inserted into the 1-D ascending
    `sorted_sequence` to keep it sorted (`side`: "left" or "right" of equal ones)."""
    sorted_sequence = tensor(sorted_sequence)
    if sorted_sequence.ndim != 1:
        raise ValueError(f"ops.searchsorted needs a 1-D `sorted_sequence`; received shape "
                         f"{sorted_sequence.shape}. Use ops.vectorized_map for batches.")
    if side not in ("left", "right"):
        raise ValueError(f"ops.searchsorted: `side` must be 'left' or 'right'; received "
                         f"{side!r}.")
    return jnp.searchsorted(sorted_sequence, tensor(values), side=side)


@keras_op
def digitize(x, bins):
    """Index (int32) of the bin of each element of `x`, for the monotonic 1-D
    `bins` (bins[i-1] <= x < bins[i] gives i)."""
    bins = tensor(bins)
    if bins.ndim != 1:
        raise ValueError(f"ops.digitize: `bins` must be 1-D; received shape {bins.shape}.")
    return jnp.digitize(tensor(x), bins)


@keras_op
def isin(x1, x2, assume_unique=False, invert=False):
    """Element-wise: is the element of `x1` among the values of `x2` (negated with
    `invert`)."""
    return jnp.isin(tensor(x1), tensor(x2), assume_unique=assume_unique, invert=invert)


@keras_op
def size(x):
    """Number of elements of `x`."""
    return jnp.size(tensor(x))


@keras_op
def ndim(x):
    """Number of axes of `x`."""
    return jnp.ndim(tensor(x))


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc`, vectorised over leading axes as numpy.vectorize (`signature`
    such as "(n),(n)->()" for core dimensions; `excluded`: argument positions or
    names passed through unchanged). The result works on symbolic tensors too."""
    if not callable(pyfunc):
        raise ValueError(f"ops.vectorize expects a callable `pyfunc`; received {pyfunc!r}.")
    fn = jnp.vectorize(pyfunc, excluded=excluded or set(), signature=signature)
    return symbolic_function(fn, "vectorize")


__all__ = [
    "nonzero", "unique", "bincount", "histogram", "searchsorted", "digitize", "isin",
    "size", "ndim", "vectorize",
]
