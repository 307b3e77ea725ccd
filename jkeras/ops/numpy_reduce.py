"""Reductions, statistics, cumulative ops and sorting, with Keras 3's signatures
and result dtypes (e.g. `mean` of integers is float32, float16 is averaged in
float32), including the NaN-ignoring variants."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.backend import config
from jkeras.ops.numpy_base import is_inexact, keras_op, named_op, tensor


def _axis(axis):
    """jax.numpy wants an int, a tuple or None; Keras also takes lists."""
    return tuple(axis) if isinstance(axis, list) else axis


def _reduction(name: str, jnp_fn, doc: str):
    def op(x, axis=None, keepdims=False):
        return jnp_fn(tensor(x), axis=_axis(axis), keepdims=keepdims)

    return named_op(op, name, doc)


_REDUCTIONS = {
    "sum": (jnp.sum, "Sum over `axis` (None: all elements); bools count as int32."),
    "all": (jnp.all, "True where all elements along `axis` are truthy."),
    "any": (jnp.any, "True where any element along `axis` is truthy."),
    "amax": (jnp.amax, "Maximum along `axis`."),
    "amin": (jnp.amin, "Minimum along `axis`."),
    "std": (jnp.std, "Population standard deviation along `axis`; integers give float32."),
    "median": (jnp.median, "Median along `axis`; integers give float32."),
    "ptp": (jnp.ptp, "Range (max - min) along `axis`."),
    "argmax": (jnp.argmax, "Index (int32) of the first maximum along `axis` "
                           "(None: of the flattened tensor)."),
    "argmin": (jnp.argmin, "Index (int32) of the first minimum along `axis` "
                           "(None: of the flattened tensor)."),
    "nansum": (jnp.nansum, "Sum along `axis`, NaNs counted as zero."),
    "nanmean": (jnp.nanmean, "Mean along `axis` of the non-NaN elements."),
    "nanmax": (jnp.nanmax, "Maximum along `axis` ignoring NaNs (NaN if all are NaN)."),
    "nanmin": (jnp.nanmin, "Minimum along `axis` ignoring NaNs (NaN if all are NaN)."),
    "nanprod": (jnp.nanprod, "Product along `axis`, NaNs counted as one."),
    "nanstd": (jnp.nanstd, "Standard deviation along `axis` of the non-NaN elements."),
    "nanvar": (jnp.nanvar, "Variance along `axis` of the non-NaN elements."),
    "nanmedian": (jnp.nanmedian, "Median along `axis` of the non-NaN elements."),
    "nanargmax": (jnp.nanargmax, "Index of the maximum along `axis` ignoring NaNs."),
    "nanargmin": (jnp.nanargmin, "Index of the minimum along `axis` ignoring NaNs."),
}
_g = globals()
for _name, (_fn, _doc) in _REDUCTIONS.items():
    _g[_name] = _reduction(_name, _fn, _doc)
del _g, _name, _fn, _doc


@keras_op
def mean(x, axis=None, keepdims=False):
    """Mean along `axis`. Integer/bool inputs give float32; float16/bfloat16 are
    accumulated in float32 and returned in their own dtype."""
    x = tensor(x)
    compute = jnp.result_type(x.dtype, jnp.float32)
    result = x.dtype if is_inexact(x.dtype) else compute
    return jnp.mean(x, axis=_axis(axis), keepdims=keepdims, dtype=compute).astype(result)


@keras_op
def var(x, axis=None, keepdims=False):
    """Population variance along `axis`, accumulated in (at least) float32;
    integer/bool inputs give floatx, floats keep their dtype."""
    x = tensor(x)
    compute = jnp.result_type(x.dtype, jnp.float32)
    result = x.dtype if is_inexact(x.dtype) else jnp.dtype(config.floatx())
    return jnp.var(x, axis=_axis(axis), keepdims=keepdims, dtype=compute).astype(result)


@keras_op
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """Maximum along `axis`; `initial` is a lower bound (and the result of an empty
    reduction)."""
    return jnp.max(tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@keras_op
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """Minimum along `axis`; `initial` is an upper bound (and the result of an empty
    reduction)."""
    return jnp.min(tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@keras_op
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product along `axis`, accumulated in `dtype` when given."""
    return jnp.prod(tensor(x), axis=_axis(axis), keepdims=keepdims, dtype=dtype)


@keras_op
def count_nonzero(x, axis=None):
    """Number (int32) of non-zero elements along `axis`."""
    return jnp.count_nonzero(tensor(x), axis=_axis(axis)).astype("int32")


@keras_op
def average(x, axis=None, weights=None):
    """Weighted mean along `axis` (`weights` of the shape of `x`, or 1-D along
    `axis`); computed in the common floating dtype of `x` and `weights`."""
    x = tensor(x)
    dtypes = [x.dtype] if weights is None else [x.dtype, tensor(weights).dtype]
    dtype = jnp.result_type(*dtypes, 1.0)
    if weights is not None:
        weights = tensor(weights).astype(dtype)
    return jnp.average(x.astype(dtype), axis=_axis(axis), weights=weights)


def _quantile_op(name: str, jnp_fn, doc: str):
    def op(x, q, axis=None, method="linear", keepdims=False):
        return jnp_fn(tensor(x), tensor(q), axis=_axis(axis), method=method, keepdims=keepdims)

    return named_op(op, name, doc)


quantile = _quantile_op("quantile", jnp.quantile,
                        "`q`-th quantile(s) (0 <= q <= 1) along `axis`; `method` is numpy's "
                        "(linear, lower, higher, midpoint, nearest).")
percentile = _quantile_op("percentile", jnp.percentile,
                          "`q`-th percentile(s) (0 <= q <= 100) along `axis`, as `quantile`.")
nanquantile = _quantile_op("nanquantile", jnp.nanquantile,
                           "`quantile` of the non-NaN elements.")
nanpercentile = _quantile_op("nanpercentile", jnp.nanpercentile,
                             "`percentile` of the non-NaN elements.")


def _cumulative(name: str, jnp_fn, doc: str):
    def op(x, axis=None, dtype=None):
        return jnp_fn(tensor(x), axis=axis, dtype=dtype)

    return named_op(op, name, doc)


cumsum = _cumulative("cumsum", jnp.cumsum,
                     "Cumulative sum along `axis` (None: of the flattened tensor).")
cumprod = _cumulative("cumprod", jnp.cumprod,
                      "Cumulative product along `axis` (None: of the flattened tensor).")
nancumsum = _cumulative("nancumsum", jnp.nancumsum, "`cumsum` with NaNs counted as zero.")
nancumprod = _cumulative("nancumprod", jnp.nancumprod, "`cumprod` with NaNs counted as one.")


@keras_op
def sort(x, axis=-1):
    """Sorted copy of `x` along `axis` (None: the flattened tensor)."""
    return jnp.sort(tensor(x), axis=axis)


@keras_op
def argsort(x, axis=-1):
    """Indices (int32) that sort `x` along `axis` (None, or a scalar input: the
    flattened tensor)."""
    x = tensor(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


@keras_op
def argpartition(x, kth, axis=-1):
    """Indices that partition `x` along `axis` so that element `kth` is in its
    sorted place, smaller ones before it and larger ones after (None: the
    flattened tensor)."""
    if isinstance(kth, bool) or not isinstance(kth, int):
        raise ValueError(f"ops.argpartition: `kth` must be a Python int; received {kth!r}.")
    x = tensor(x)
    if axis is None:
        return jnp.argpartition(x.reshape(-1), kth, axis=0)
    return jnp.argpartition(x, kth, axis=axis)


__all__ = [
    *_REDUCTIONS, "mean", "var", "max", "min", "prod", "count_nonzero", "average",
    "quantile", "percentile", "nanquantile", "nanpercentile", "cumsum", "cumprod",
    "nancumsum", "nancumprod", "sort", "argsort", "argpartition",
]
