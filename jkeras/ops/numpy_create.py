"""Tensor creation ops: ranges, constant fills, identity-like matrices, window
functions, Vandermonde matrices and dtype views. Creation ops without a dtype
make floatx tensors, as in Keras."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.backend import config
from jkeras.ops.numpy_base import check_int, default_float, keras_op, named_op, tensor


@keras_op
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (`arange(n)`: 0 .. n-1). The default
    dtype follows the arguments: int32 for ints, float32 when any is a float."""
    return jnp.arange(start, stop, step, dtype=dtype)


@keras_op
def array(x, dtype=None):
    """A tensor copy of `x` (nested lists, numpy arrays, scalars), optionally cast."""
    return jnp.array(x, dtype=dtype)


@keras_op
def copy(x):
    """A copy of `x`."""
    return jnp.copy(tensor(x))


@keras_op
def view(x, dtype=None):
    """The bits of `x` reinterpreted as `dtype` (the last axis is rescaled when the
    item sizes differ)."""
    return tensor(x).view(dtype)


def _shape(shape):
    return tuple(shape) if isinstance(shape, list) else shape


@keras_op
def zeros(shape, dtype=None):
    """A tensor of zeros (default dtype: floatx)."""
    return jnp.zeros(_shape(shape), dtype=default_float(dtype))


@keras_op
def ones(shape, dtype=None):
    """A tensor of ones (default dtype: floatx)."""
    return jnp.ones(_shape(shape), dtype=default_float(dtype))


@keras_op
def empty(shape, dtype=None):
    """A tensor of the given shape whose values are unspecified (jax gives zeros);
    default dtype floatx."""
    return jnp.empty(_shape(shape), dtype=default_float(dtype))


@keras_op
def full(shape, fill_value, dtype=None):
    """A tensor filled with `fill_value` (default dtype: floatx, also for int fills)."""
    return jnp.full(_shape(shape), fill_value, dtype=default_float(dtype))


@keras_op
def zeros_like(x, dtype=None):
    """Zeros of the shape (and, by default, dtype) of `x`."""
    return jnp.zeros_like(tensor(x), dtype=dtype)


@keras_op
def ones_like(x, dtype=None):
    """Ones of the shape (and, by default, dtype) of `x`."""
    return jnp.ones_like(tensor(x), dtype=dtype)


@keras_op
def empty_like(x, dtype=None):
    """An uninitialised tensor (zeros under jax) like `x`."""
    return jnp.empty_like(tensor(x), dtype=dtype)


@keras_op
def full_like(x, fill_value, dtype=None):
    """`fill_value` in the shape (and, by default, dtype) of `x`."""
    return jnp.full_like(tensor(x), fill_value, dtype=dtype)


def _check_matrix_size(value, name: str, op: str, allow_none: bool = False):
    if value is None and allow_none:
        return
    if isinstance(value, float) or jnp.issubdtype(getattr(value, "dtype", int), jnp.floating):
        raise TypeError(f"ops.{op}: `{name}` must be an integer"
                        f"{' or None' if allow_none else ''}; received {value!r}.")


@keras_op
def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's names
    """An N x M matrix with ones on the `k`-th diagonal (default dtype floatx)."""
    _check_matrix_size(N, "N", "eye")
    _check_matrix_size(M, "M", "eye", allow_none=True)
    return jnp.eye(N, M=M, k=k, dtype=default_float(dtype))


@keras_op
def identity(n, dtype=None):
    """The n x n identity matrix (default dtype floatx)."""
    return jnp.identity(n, dtype=default_float(dtype))


@keras_op
def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's names
    """An N x M matrix with ones at and below the `k`-th diagonal (default floatx)."""
    return jnp.tri(N, M=M, k=k, dtype=default_float(dtype))


@keras_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` (included when `endpoint`);
    with `retstep`, also the spacing."""
    return jnp.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep,
                        dtype=dtype, axis=axis)


@keras_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`num` values `base ** t` for t evenly spaced from `start` to `stop`."""
    return jnp.logspace(start, stop, num=num, endpoint=endpoint, base=base, dtype=dtype,
                        axis=axis)


@keras_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values in geometric progression from `start` to `stop`."""
    return jnp.geomspace(start, stop, num=num, endpoint=endpoint, dtype=dtype, axis=axis)


def _window(name: str, jnp_fn, doc: str):
    def op(x):
        return jnp_fn(x).astype(config.floatx())

    return named_op(op, name, doc, symbolic=False)


bartlett = _window("bartlett", jnp.bartlett, "The Bartlett (triangular) window of length x.")
blackman = _window("blackman", jnp.blackman, "The Blackman window of length x.")
hamming = _window("hamming", jnp.hamming, "The Hamming window of length x.")
hanning = _window("hanning", jnp.hanning, "The Hann window of length x.")


@keras_op(symbolic=False)
def kaiser(x, beta):
    """The Kaiser window of length x with shape parameter `beta`."""
    return jnp.kaiser(x, beta).astype(config.floatx())


@keras_op
def vander(x, N=None, increasing=False):  # noqa: N803 - Keras's name
    """The Vandermonde matrix of 1-D `x`: columns are powers of `x`, decreasing
    from N-1 (or increasing from 0 with `increasing=True`); N defaults to len(x)."""
    x = tensor(x)
    if x.ndim != 1:
        raise ValueError(f"ops.vander needs a 1-D input; received shape {x.shape}.")
    if N is not None:
        check_int(N, "vander", "N", minimum=0)
    if not isinstance(increasing, bool):
        raise TypeError(f"ops.vander: `increasing` must be a bool; received {increasing!r}.")
    return jnp.vander(x, N=N, increasing=increasing)


__all__ = [
    "arange", "array", "copy", "view", "zeros", "ones", "empty", "full", "zeros_like",
    "ones_like", "empty_like", "full_like", "eye", "identity", "tri", "linspace", "logspace",
    "geomspace", "bartlett", "blackman", "hamming", "hanning", "kaiser", "vander",
]
