"""Math ops of `keras.ops` that numpy does not have: segment reductions, `top_k` /
`in_top_k`, `logsumexp`, `cdist`, `erf` and friends, `logdet`, complex views, and the
spectral ops (FFTs, STFT) re-exported from `math_fft`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import config
from jkeras.ops.math_fft import (  # noqa: F401  (keras.ops names)
    extract_sequences,
    fft,
    fft2,
    ifft2,
    irfft,
    istft,
    rfft,
    stft,
)
from jkeras.ops.operation import symbolic_function
from jkeras.ops.spec_function import KerasTensor, spec_function


# ---------------------------------------------------------------------------
# Segment reductions
# ---------------------------------------------------------------------------
def _check_segments(op, data, segment_ids):
    if len(segment_ids.shape) != 1:
        raise ValueError(
            f"{op}: `segment_ids` must be a 1D vector (one id per row of data), got shape "
            f"{tuple(segment_ids.shape)}. Flatten data and ids first, or vmap the op."
        )
    n, m = segment_ids.shape[0], data.shape[0] if len(data.shape) else None
    if n is not None and m is not None and n != m:
        raise ValueError(
            f"{op}: `segment_ids` (shape {tuple(segment_ids.shape)}) needs one id per row of "
            f"`data` (shape {tuple(data.shape)})."
        )


def _segment_op(name, reduce):
    op = f"segment_{name}"

    def fn(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
        data, segment_ids = jnp.asarray(data), jnp.asarray(segment_ids)
        _check_segments(op, data, segment_ids)
        if num_segments is None:
            if isinstance(segment_ids, jax.core.Tracer):
                raise ValueError(
                    f"{op}: `num_segments` must be given when `segment_ids` is traced (inside "
                    f"jax.jit, grad, ...): it fixes the output shape."
                )
            num_segments = int(np.max(np.asarray(segment_ids), initial=-1)) + 1
        return reduce(data, segment_ids, num_segments, indices_are_sorted=bool(sorted))

    def spec(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
        _check_segments(op, data, segment_ids)
        return KerasTensor((num_segments, *data.shape[1:]), data.dtype)

    fn.__name__ = op
    fn.__doc__ = (
        f"The {name} of the rows of `data` with each segment id, shape (num_segments, "
        f"*data.shape[1:]) (segments without rows get the reduction's identity). "
        f"`num_segments` defaults to max(segment_ids) + 1 (it must be given under jit); "
        f"`sorted=True` promises sorted ids."
    )
    return spec_function(fn, spec, op)


segment_sum = _segment_op("sum", jax.ops.segment_sum)
segment_max = _segment_op("max", jax.ops.segment_max)
segment_min = _segment_op("min", jax.ops.segment_min)
segment_prod = _segment_op("prod", jax.ops.segment_prod)


# ---------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------
def _top_k(x, k, sorted=True):  # noqa: A002
    """(values, indices) of the `k` largest entries along the last axis, largest first
    (also when sorted=False); indices are int32."""
    x = jnp.asarray(x)
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k={k} must be between 0 and the size of the last axis "
                         f"({x.shape[-1]}, shape {x.shape}).")
    values, indices = jax.lax.top_k(x, k)
    return values, indices.astype(jnp.int32)


def _top_k_spec(x, k, sorted=True):  # noqa: A002
    shape = (*x.shape[:-1], k)
    return KerasTensor(shape, x.dtype), KerasTensor(shape, "int32")


def _in_top_k(targets, predictions, k):
    """Whether each target class is among the `k` largest predictions of its row (ties
    count in its favour; a NaN prediction for the target never is)."""
    targets, predictions = jnp.asarray(targets), jnp.asarray(predictions)
    at_target = jnp.take_along_axis(predictions, targets[..., None].astype(jnp.int32), axis=-1)
    at_target = jnp.where(jnp.isnan(at_target), -jnp.inf, at_target)
    return jnp.sum(predictions > at_target, axis=-1) < k


# ---------------------------------------------------------------------------
# Elementwise and reductions
# ---------------------------------------------------------------------------
def _inexact(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(config.floatx())


def _logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x), axis)), computed stably."""
    return jax.nn.logsumexp(_inexact(x), axis=axis, keepdims=keepdims)


def _rsqrt(x):
    """1 / sqrt(x)."""
    return jax.lax.rsqrt(_inexact(x))


def _erf(x):
    """The error function."""
    return jax.scipy.special.erf(_inexact(x))


def _erfc(x):
    """1 - erf(x), accurate for large x."""
    return jax.scipy.special.erfc(_inexact(x))


def _erfinv(x):
    """The inverse of erf on (-1, 1)."""
    return jax.scipy.special.erfinv(_inexact(x))


def _logdet(x):
    """log |det(x)| of each matrix in the last two axes (the log determinant of a positive
    definite matrix)."""
    return jnp.linalg.slogdet(_inexact(x))[1]


def _cdist(x, y):
    """Euclidean distances between the rows of x (..., m, d) and y (..., n, d), with
    broadcast leading axes: shape (..., m, n)."""
    x, y = _inexact(x), _inexact(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"cdist: `x` and `y` must have rank >= 2 and the same last dimension, got shapes "
            f"{x.shape} and {y.shape}."
        )
    diff = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(diff * diff, axis=-1))


def _view_as_complex(x):
    """A complex64 tensor from a float tensor whose last axis (size 2) holds the real and
    imaginary parts."""
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last axis of x must have size 2 (real, "
                         f"imaginary), got shape {x.shape}.")
    return jax.lax.complex(x[..., 0].astype(jnp.float32), x[..., 1].astype(jnp.float32))


def _view_as_real(x):
    """The real and imaginary parts of `x` stacked on a new last axis."""
    x = jnp.asarray(x)
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


top_k = spec_function(_top_k, _top_k_spec, "top_k")
in_top_k = symbolic_function(_in_top_k, "in_top_k")
logsumexp = symbolic_function(_logsumexp, "logsumexp")
rsqrt = symbolic_function(_rsqrt, "rsqrt")
erf = symbolic_function(_erf, "erf")
erfc = symbolic_function(_erfc, "erfc")
erfinv = symbolic_function(_erfinv, "erfinv")
logdet = symbolic_function(_logdet, "logdet")
cdist = symbolic_function(_cdist, "cdist")
view_as_complex = symbolic_function(_view_as_complex, "view_as_complex")
view_as_real = symbolic_function(_view_as_real, "view_as_real")

__all__ = [
    "cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2",
    "in_top_k", "irfft", "istft", "logdet", "logsumexp", "rfft", "rsqrt", "segment_max",
    "segment_min", "segment_prod", "segment_sum", "stft", "top_k", "view_as_complex",
    "view_as_real",
]
