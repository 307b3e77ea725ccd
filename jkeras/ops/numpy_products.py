"""Products and related reductions over pairs of tensors: dot/matmul/tensordot/
einsum, outer/inner/vdot/kron/cross, correlation, `slogdet` and `trapezoid`."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.ops.numpy_base import binary_op, keras_op, tensor


def _int8_accumulator(*operands):
    """int32 accumulation for all-int8 operands (as Keras asks XLA), else None."""
    return jnp.int32 if all(o.dtype == jnp.int8 for o in operands) else None


@keras_op
def matmul(x1, x2):
    """Matrix product with numpy broadcasting of the batch axes; int8 x int8 gives
    int32."""
    x1, x2 = tensor(x1), tensor(x2)
    return jnp.matmul(x1, x2, preferred_element_type=_int8_accumulator(x1, x2))


@keras_op
def dot(x1, x2):
    """numpy `dot`: matrix product for 2-D, sum product over the last axis of
    `x1` and the second-to-last of `x2` otherwise."""
    return jnp.dot(tensor(x1), tensor(x2))


@keras_op
def tensordot(x1, x2, axes=2):
    """Sum product over the last `axes` axes of `x1` and the first of `x2`, or
    over the pairs of axes `(axes_x1, axes_x2)`."""
    return jnp.tensordot(tensor(x1), tensor(x2), axes=axes)


@keras_op
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation (numpy notation); all-int8 operands accumulate in int32."""
    operands = [tensor(o) for o in operands]
    kwargs.setdefault("preferred_element_type", _int8_accumulator(*operands))
    return jnp.einsum(subscripts, *operands, **kwargs)


outer = binary_op("outer", jnp.outer, doc="Outer product of the flattened inputs.")
inner = binary_op("inner", jnp.inner, doc="Sum product over the last axes of `x1` and `x2`.")
vdot = binary_op("vdot", jnp.vdot,
                 doc="Dot product of the flattened inputs (conjugating `x1` if complex).")
kron = binary_op("kron", jnp.kron, doc="Kronecker product.")


@keras_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 2- or 3-element vectors along `axisa`/`axisb`, written
    along `axisc` (`axis` sets all three)."""
    return jnp.cross(tensor(x1), tensor(x2), axisa=axisa, axisb=axisb, axisc=axisc,
                     axis=axis)


_CORRELATE_MODES = ("valid", "same", "full")


@keras_op
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D tensors; `mode` is "valid", "same" or "full"."""
    x1, x2 = tensor(x1), tensor(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"ops.correlate needs two 1-D tensors; received shapes "
                         f"{x1.shape} and {x2.shape}.")
    if mode not in _CORRELATE_MODES:
        raise ValueError(f"ops.correlate: `mode` must be one of {_CORRELATE_MODES}; "
                         f"received {mode!r}.")
    return jnp.correlate(x1, x2, mode=mode)


@keras_op
def corrcoef(x):
    """Pearson correlation coefficients between the rows (variables) of `x`."""
    return jnp.corrcoef(tensor(x))


@keras_op
def slogdet(x):
    """(sign, log|det|) of the square matrices in `x` (batched over leading axes)."""
    return tuple(jnp.linalg.slogdet(tensor(x)))


@keras_op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of `y` along `axis` by the trapezoidal rule, at sample points `x`
    (or spacing `dx`)."""
    return jnp.trapezoid(tensor(y), None if x is None else tensor(x), dx=dx, axis=axis)


__all__ = [
    "matmul", "dot", "tensordot", "einsum", "outer", "inner", "vdot", "kron", "cross",
    "correlate", "corrcoef", "slogdet", "trapezoid",
]
