"""Array manipulation ops: reshaping, joining, splitting, padding, indexing,
reordering, diagonals and selection (`where`, `select`), with Keras 3's
signatures and argument checks."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.ops.numpy_base import check_int, keras_op, named_op, tensor
from jkeras.ops.operation import symbolic_eval


def _tensors(xs, op: str):
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"ops.{op} expects a list or tuple of tensors; received "
                        f"{type(xs).__name__}.")
    return [tensor(x) for x in xs]


def _canonical_axis(axis: int, ndim: int, op: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"ops.{op}: axis {axis} is out of range for a tensor of rank {ndim}.")
    return axis % ndim


@keras_op
def reshape(x, newshape):
    """`x` with shape `newshape` (one entry may be -1: inferred)."""
    if isinstance(newshape, (int, jnp.integer)):
        newshape = (int(newshape),)
    newshape = tuple(newshape)
    if any(d < -1 for d in newshape) or newshape.count(-1) > 1:
        raise ValueError(f"ops.reshape: `newshape` entries must be >= 0, with at most one -1 "
                         f"(an inferred dimension); received newshape={newshape}.")
    return jnp.reshape(tensor(x), newshape)


@keras_op
def transpose(x, axes=None):
    """`x` with its axes permuted by `axes` (None: reversed)."""
    return jnp.transpose(tensor(x), axes=None if axes is None else tuple(axes))


@keras_op
def moveaxis(x, source, destination):
    """Moves axes `source` of `x` to positions `destination`."""
    return jnp.moveaxis(tensor(x), source, destination)


@keras_op
def swapaxes(x, axis1, axis2):
    """Exchanges axes `axis1` and `axis2`."""
    return jnp.swapaxes(tensor(x), axis1, axis2)


@keras_op
def expand_dims(x, axis):
    """Inserts size-1 axes at `axis` (an int or a tuple)."""
    return jnp.expand_dims(tensor(x), tuple(axis) if isinstance(axis, list) else axis)


@keras_op
def squeeze(x, axis=None):
    """Removes size-1 axes (`axis`: which ones; None: all)."""
    return jnp.squeeze(tensor(x), axis=tuple(axis) if isinstance(axis, list) else axis)


@keras_op
def broadcast_to(x, shape):
    """`x` broadcast to `shape` (numpy broadcasting rules)."""
    return jnp.broadcast_to(tensor(x), tuple(shape) if isinstance(shape, list) else shape)


@keras_op
def ravel(x):
    """The flattened (1-D) tensor."""
    return jnp.ravel(tensor(x))


@keras_op
def flip(x, axis=None):
    """Reverses the order of elements along `axis` (None: all axes)."""
    return jnp.flip(tensor(x), axis=tuple(axis) if isinstance(axis, list) else axis)


@keras_op
def fliplr(x):
    """Reverses axis 1 (left/right); `x` needs rank >= 2."""
    return jnp.fliplr(tensor(x))


@keras_op
def flipud(x):
    """Reverses axis 0 (up/down)."""
    return jnp.flipud(tensor(x))


@keras_op
def roll(x, shift, axis=None):
    """Rolls elements by `shift` along `axis` (None: of the flattened tensor,
    reshaped back)."""
    return jnp.roll(tensor(x), shift, axis=axis)


@keras_op
def rot90(array, k=1, axes=(0, 1)):
    """Rotates by 90 degrees `k` times in the plane of the two `axes` (from the
    first towards the second)."""
    array = tensor(array)
    if array.ndim < 2:
        raise ValueError(f"ops.rot90 needs a tensor of rank >= 2; received shape "
                         f"{array.shape}.")
    axes = tuple(axes)
    if len(axes) != 2 or axes[0] % array.ndim == axes[1] % array.ndim:
        raise ValueError(f"ops.rot90: `axes` must be two different axes; received "
                         f"axes={axes}.")
    return jnp.rot90(array, k=k, axes=axes)


@keras_op
def tile(x, repeats):
    """`x` repeated `repeats` times along each axis."""
    return jnp.tile(tensor(x), repeats)


@keras_op
def repeat(x, repeats, axis=None):
    """Repeats each element `repeats` times (an int or one count per element)
    along `axis` (None: of the flattened tensor)."""
    if isinstance(repeats, list):
        repeats = np.asarray(repeats)
    return jnp.repeat(tensor(x), repeats, axis=axis)


@keras_op
def concatenate(xs, axis=0):
    """Joins the tensors in `xs` along an existing `axis` (None: flattened)."""
    return jnp.concatenate(_tensors(xs, "concatenate"), axis=axis)


@keras_op
def stack(x, axis=0):
    """Joins the tensors in `x` along a new `axis`."""
    return jnp.stack(_tensors(x, "stack"), axis=axis)


@keras_op
def hstack(xs):
    """Concatenates along axis 1 (axis 0 for 1-D tensors)."""
    return jnp.hstack(_tensors(xs, "hstack"))


@keras_op
def vstack(xs):
    """Concatenates along axis 0 (1-D tensors become rows)."""
    return jnp.vstack(_tensors(xs, "vstack"))


@keras_op
def dstack(xs):
    """Concatenates along axis 2 (inputs are made at least 3-D first)."""
    return jnp.dstack(_tensors(xs, "dstack"))


@keras_op
def append(x1, x2, axis=None):
    """`x2` appended to `x1` along `axis` (None: both flattened)."""
    return jnp.append(tensor(x1), tensor(x2), axis=axis)


def _split_spec(fn):
    """Symbolic outputs of a split along an axis whose size is unknown: that axis
    stays None in every piece."""

    def spec(x, indices_or_sections, axis=0, **kwargs):
        if not isinstance(x, KerasTensor) or x.shape[axis % len(x.shape)] is not None:
            return symbolic_eval(fn, (x, indices_or_sections), {"axis": axis, **kwargs})
        count = (indices_or_sections if isinstance(indices_or_sections, int)
                 else len(indices_or_sections) + 1)
        return [KerasTensor(x.shape, x.dtype) for _ in range(count)]

    return spec


def _split(x, indices_or_sections, axis=0):
    """Splits `x` along `axis` into `indices_or_sections` equal parts (an int) or
    at the given indices (a list); unequal parts are a ValueError."""
    if isinstance(indices_or_sections, list):
        indices_or_sections = tuple(indices_or_sections)
    return jnp.split(tensor(x), indices_or_sections, axis=axis)


split = keras_op(_split, name="split", spec=_split_spec(_split))


def _array_split(x, indices_or_sections, axis=0):
    """Splits `x` along `axis` into `indices_or_sections` parts; the first
    `size % sections` parts get one element more."""
    check_int(indices_or_sections, "array_split", "indices_or_sections", minimum=1)
    check_int(axis, "array_split", "axis")
    return jnp.array_split(tensor(x), indices_or_sections, axis=axis)


array_split = keras_op(_array_split, name="array_split",
                       spec=_split_spec(_array_split))


@keras_op
def hsplit(x, indices_or_sections):
    """`split` along axis 1 (axis 0 for 1-D tensors)."""
    return jnp.hsplit(tensor(x), indices_or_sections)


@keras_op
def vsplit(x, indices_or_sections):
    """`split` along axis 0."""
    return jnp.vsplit(tensor(x), indices_or_sections)


@keras_op
def dsplit(x, indices_or_sections):
    """`split` along axis 2 (`x` needs rank >= 3)."""
    return jnp.dsplit(tensor(x), indices_or_sections)


_PAD_MODES = ("constant", "edge", "linear_ramp", "maximum", "mean", "median", "minimum",
              "reflect", "symmetric", "wrap", "empty", "circular")


@keras_op
def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads `x` by `pad_width` ((before, after) per axis, one pair for all axes, or
    an int). `mode` is numpy's ("circular" is "wrap"); `constant_values` (default
    0) only goes with mode "constant"."""
    if mode not in _PAD_MODES:
        raise ValueError(f"ops.pad: unknown mode {mode!r}; expected one of {_PAD_MODES}.")
    kwargs = {}
    if constant_values is not None:
        if mode != "constant":
            raise ValueError(f"ops.pad: `constant_values` can only be given with "
                             f"mode='constant'; received mode={mode!r}.")
        kwargs["constant_values"] = constant_values
    return jnp.pad(tensor(x), pad_width, mode="wrap" if mode == "circular" else mode,
                   **kwargs)


@keras_op
def take(x, indices, axis=None):
    """Elements of `x` at `indices` along `axis` (None: of the flattened tensor).
    Negative indices count from the end; out-of-range ones give NaN (floats) or
    the dtype's minimum."""
    return jnp.take(tensor(x), tensor(indices), axis=axis)


@keras_op
def take_along_axis(x, indices, axis=None):
    """Elements of `x` picked by `indices` (of `x`'s rank) along `axis` (None: the
    flattened `x` with 1-D indices)."""
    return jnp.take_along_axis(tensor(x), tensor(indices), axis=axis)


def _index_key(key):
    """Keras indexes with a list as with a tuple."""
    return tuple(key) if isinstance(key, list) else key


@keras_op(name="getitem")
def get_item(x, key):
    """`x[key]` (numpy indexing: ints, slices, None, Ellipsis, integer or boolean
    arrays; a list counts as a tuple)."""
    return tensor(x)[_index_key(key)]


@keras_op
def unravel_index(indices, shape):
    """The coordinates (a tuple of int tensors) of flat `indices` in an array of
    `shape`."""
    return jnp.unravel_index(tensor(indices), tuple(shape))


@keras_op
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D tensors; `indexing` is "xy" (cartesian) or "ij"
    (matrix)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"ops.meshgrid: `indexing` must be 'xy' or 'ij'; received "
                         f"{indexing!r}.")
    return jnp.meshgrid(*[tensor(v) for v in x], indexing=indexing)


def _diagonal_op(name: str, jnp_fn, doc: str):
    def op(x, k=0):
        return jnp_fn(tensor(x), k=k)

    return named_op(op, name, doc)


diag = _diagonal_op("diag", jnp.diag,
                     "The `k`-th diagonal of a 2-D `x`, or a 2-D tensor with 1-D `x` on it.")


diagflat = _diagonal_op("diagflat", jnp.diagflat,
                         "A 2-D tensor with the flattened `x` on its `k`-th diagonal.")


@keras_op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal at `offset` of the 2-D slices spanned by `axis1` and `axis2`,
    as the last axis."""
    x = tensor(x)
    if _canonical_axis(axis1, x.ndim, "diagonal") == _canonical_axis(axis2, x.ndim,
                                                                      "diagonal"):
        raise ValueError(f"ops.diagonal: `axis1` and `axis2` must differ; received "
                         f"axis1={axis1}, axis2={axis2}.")
    return jnp.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


@keras_op
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along the diagonal at `offset` of the slices spanned by `axis1`, `axis2`."""
    return jnp.trace(tensor(x), offset=offset, axis1=axis1, axis2=axis2)


tril = _diagonal_op("tril", jnp.tril,
                     "`x` with the elements above the `k`-th diagonal zeroed.")


triu = _diagonal_op("triu", jnp.triu,
                     "`x` with the elements below the `k`-th diagonal zeroed.")


@keras_op
def diff(a, n=1, axis=-1):
    """`n`-th discrete difference along `axis`."""
    return jnp.diff(tensor(a), n=n, axis=axis)


def _where_spec(condition, x1=None, x2=None):
    if x1 is None and x2 is None:
        return tuple(KerasTensor((None,), "int32") for _ in range(len(condition.shape)))
    return symbolic_eval(_where, (condition, x1, x2), {})


def _where(condition, x1=None, x2=None):
    """Elements of `x1` where `condition`, else of `x2` (broadcast together). With
    the condition only, the indices where it is true (as `nonzero`)."""
    if (x1 is None) != (x2 is None):
        raise ValueError("ops.where: give both `x1` and `x2`, or neither (then the "
                         "result is the indices where `condition` is true).")
    if x1 is None:
        return jnp.nonzero(tensor(condition))
    return jnp.where(tensor(condition), x1, x2)


where = keras_op(_where, name="where", spec=_where_spec)


@keras_op
def select(condlist, choicelist, default=0):
    """Element-wise, the entry of `choicelist` for the first true condition of
    `condlist` (lists of tensors of one shape), else `default`."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError(f"ops.select: `condlist` and `choicelist` must be lists of "
                         f"tensors; received {type(condlist).__name__} and "
                         f"{type(choicelist).__name__}.")
    if not condlist or not choicelist:
        raise ValueError("ops.select: `condlist` and `choicelist` must not be empty.")
    return jnp.select([tensor(c) for c in condlist], [tensor(c) for c in choicelist], default)


__all__ = [
    "reshape", "transpose", "moveaxis", "swapaxes", "expand_dims", "squeeze", "broadcast_to",
    "ravel", "flip", "fliplr", "flipud", "roll", "rot90", "tile", "repeat", "concatenate",
    "stack", "hstack", "vstack", "dstack", "append", "split", "array_split", "hsplit",
    "vsplit", "dsplit", "pad", "take", "take_along_axis", "get_item", "unravel_index",
    "meshgrid", "diag", "diagflat", "diagonal", "trace", "tril", "triu", "diff", "where",
    "select",
]
