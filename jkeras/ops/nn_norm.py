"""Statistics and normalizations: `moments`, `batch_normalization`,
`layer_normalization`, `rms_normalization` and `normalize`, as `keras.ops.nn` has them.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from jkeras.backend import config
from jkeras.ops.operation import symbolic_function

_LOW_PRECISION = (jnp.float16, jnp.bfloat16)


def _axes(axis, ndim: int, op: str) -> tuple:
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not isinstance(a, int) or not -ndim <= a < ndim:
            raise ValueError(
                f"{op}: axis {a!r} is out of range for a tensor of rank {ndim} (axis={axis!r})."
            )
    return tuple(sorted(a % ndim for a in axes))


def _moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of `x` over `axes`. float16/bfloat16 inputs are reduced in float32
    and the results clipped to the input dtype's range. `synchronized` (Keras's flag for
    statistics across devices) changes nothing here: a jkeras array sharded across
    devices is one global array, so its moments are already the global ones."""
    del synchronized
    x = jnp.asarray(x)
    axes = _axes(axes, x.ndim, "moments")
    dtype = x.dtype
    if dtype in _LOW_PRECISION:
        x = x.astype(jnp.float32)
    mean = jnp.mean(x, axis=axes, keepdims=keepdims)
    variance = jnp.var(x, axis=axes, keepdims=keepdims)
    if dtype in _LOW_PRECISION:
        limit = float(jnp.finfo(dtype).max)
        mean = jnp.clip(mean, -limit, limit).astype(dtype)
        variance = jnp.clip(variance, -limit, limit).astype(dtype)
    return mean, variance


def _batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, where mean, variance,
    offset and scale are vectors of length x.shape[axis]."""
    x = jnp.asarray(x)
    axis = _axes(axis, x.ndim, "batch_normalization")[0]
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def vector(v, name):
        v = jnp.asarray(v)
        if v.shape != (x.shape[axis],):
            raise ValueError(
                f"batch_normalization: `{name}` must be a vector of length x.shape[{axis}] = "
                f"{x.shape[axis]}, got shape {v.shape}."
            )
        return v.reshape(shape)

    inv = jax.lax.rsqrt(vector(variance, "variance") + epsilon)
    if scale is not None:
        inv = inv * vector(scale, "scale")
    shift = -vector(mean, "mean") * inv
    if offset is not None:
        shift = shift + vector(offset, "offset")
    return x * inv + shift


def _compute_dtype(x):
    return jnp.promote_types(x.dtype, jnp.float32)


def _layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalizes `x` to zero mean and unit variance over `axis` (an int or a tuple),
    then scales by `gamma` and shifts by `beta` (shaped like those axes, or
    broadcastable). Computed in float32 at least; returns x's dtype. The deprecated
    `rms_scaling=True` divides by sqrt(variance + epsilon) without centring, as Keras
    does (use `rms_normalization` for a root-mean-square normalization)."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(kwargs)}.")
    if rms_scaling:
        warnings.warn(
            "layer_normalization(rms_scaling=True) is deprecated: it scales by the variance, "
            "not the root mean square. Use jkeras.ops.rms_normalization instead.",
            stacklevel=3,
        )
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = jnp.asarray(x)
    dtype = x.dtype
    x = x.astype(_compute_dtype(x))
    axes = _axes(axis, x.ndim, "layer_normalization")
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]

    def param(v):
        if v is None:
            return None
        v = jnp.asarray(v, x.dtype)
        if v.ndim != x.ndim and axes != (x.ndim - 1,):
            v = v.reshape(shape)
        return v

    gamma, beta = param(gamma), param(beta)
    if rms_scaling:
        out = x * jax.lax.rsqrt(jnp.var(x, axis=axes, keepdims=True) + epsilon)
        return (out if gamma is None else out * gamma).astype(dtype)
    mean, variance = _moments(x, axes, keepdims=True)
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    out = x * inv - mean * inv
    if beta is not None:
        out = out + beta
    return out.astype(dtype)


def _rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x**2 over `axis`) + epsilon) * scale, computed in float32 at least;
    returns x's dtype."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = jnp.asarray(x)
    dtype = x.dtype
    x = x.astype(_compute_dtype(x))
    if x.ndim == 0:
        x = x[None]
    axes = _axes(axis, x.ndim, "rms_normalization")
    out = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + epsilon)
    if scale is not None:
        out = out * jnp.asarray(scale, x.dtype)
    return out.astype(dtype)


def _normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its `order`-norm over `axis` (at least epsilon)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"normalize: `order` must be an integer >= 1, got order={order!r}.")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = jnp.asarray(x)
    if x.ndim == 0:
        x = x[None]
    if order == 2:
        inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / epsilon)
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, epsilon)


moments = symbolic_function(_moments, "moments")
batch_normalization = symbolic_function(_batch_normalization, "batch_normalization")
layer_normalization = symbolic_function(_layer_normalization, "layer_normalization")
rms_normalization = symbolic_function(_rms_normalization, "rms_normalization")
normalize = symbolic_function(_normalize, "normalize")

__all__ = ["batch_normalization", "layer_normalization", "moments", "normalize",
           "rms_normalization"]
