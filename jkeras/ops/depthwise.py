"""Depthwise convolution as a sum of shifted, per-channel scaled copies of the input.

A depthwise convolution multiplies each input channel by its own small kernel: for a
(kh, kw) kernel, output = sum over the kh * kw taps of (the input shifted to that tap) *
(that tap's per-channel weights). Written that way it is a handful of strided slices,
multiplies and adds, which XLA fuses into one loop over the output; its gradients (a
pad-and-scatter of the output gradient, and per-channel reductions for the kernel) are
elementwise work and reductions too. XLA:CPU lowers the same convolution written as a
grouped `lax.conv_general_dilated` (`feature_group_count = channels`) to a generic loop
that is many times slower, most of all in the backward pass: measured on a 2-core Intel
Xeon (AVX-512) for MobileNetV2's 3x3 depthwise layers at batch 32, the training step's
depthwise work (forward + both gradients) ran 4x-45x faster this way (docs/performance.md).

`depthwise_conv` gives the same values as the grouped convolution up to float rounding
(the taps are summed in another order). Accelerators have fast grouped convolutions, so
`jkeras.ops.conv_kernels` uses this formulation on the CPU backend only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

# Above this many taps the unrolled sum makes a large program; the grouped convolution
# is used instead.
MAX_TAPS = 64


def applies(x, kernel) -> bool:
    """Whether `depthwise_conv` covers this depthwise convolution: a floating-point
    input and kernel, and at most `MAX_TAPS` kernel positions."""
    rank = kernel.ndim - 2
    return (jnp.issubdtype(x.dtype, jnp.floating) and jnp.issubdtype(kernel.dtype, jnp.floating)
            and math.prod(kernel.shape[:rank]) <= MAX_TAPS)


def _tap_offsets(kernel_shape: Sequence[int]):
    if not kernel_shape:
        yield ()
        return
    for i in range(kernel_shape[0]):
        for rest in _tap_offsets(kernel_shape[1:]):
            yield (i, *rest)


def depthwise_conv(x, kernel, strides: Sequence[int], pads: Sequence[tuple[int, int]],
                   dilation: Sequence[int], channels_last: bool = True):
    """Depthwise convolution of `x` (N, *spatial, C) — or (N, C, *spatial) when not
    `channels_last` — with a (*k, C, multiplier) kernel: output channel c * multiplier + m
    is input channel c convolved with kernel[..., c, m]. `pads` are explicit (low, high)
    pairs per spatial axis (negative values crop). 16-bit inputs are accumulated in
    float32 and the result cast back. Differentiable in both arguments, in forward and
    reverse mode."""
    rank = len(strides)
    if not channels_last:
        perm = (0, *range(2, rank + 2), 1)
        y = depthwise_conv(jnp.transpose(x, perm), kernel, strides, pads, dilation)
        return jnp.transpose(y, (0, rank + 1, *range(1, rank + 1)))
    out_dtype = jnp.result_type(x.dtype, kernel.dtype)
    compute = jnp.float32 if jnp.finfo(out_dtype).bits < 32 else out_dtype
    x = x.astype(compute)
    kernel = kernel.astype(compute)
    geometry = (tuple(strides), tuple(tuple(p) for p in pads), tuple(dilation))
    if all(s == 1 for s in strides):
        y = _unit_stride_depthwise(x, kernel, geometry)
    else:
        y = _strided_depthwise(x, kernel, geometry)
    return y.astype(out_dtype)


def _out_sizes(sizes, ksize, strides, dilation):
    return [(n - ((k - 1) * d + 1)) // s + 1
            for n, k, s, d in zip(sizes, ksize, strides, dilation)]


def _shifted_sum(x, kernel, geometry, multiply_first: bool = False):
    """Sum over the taps of (the padded input shifted to the tap) * (the tap's weights).
    With `multiply_first`, each tap multiplies the input by its weights before padding and
    shifting (the same values): the form of the kernel tangent, whose transpose (the
    kernel gradient) then reads the input itself instead of keeping every tap's shifted
    copy of it from the forward pass."""
    strides, pads, dilation = geometry
    rank = len(strides)
    channels, multiplier = kernel.shape[-2], kernel.shape[-1]
    ksize = kernel.shape[:rank]
    pad_config = ((0, 0, 0), *((lo, hi, 0) for lo, hi in pads), (0, 0, 0))
    if multiplier > 1:
        x = x[..., None]  # (N, *spatial, C, 1) against (C, M) weights
        pad_config = (*pad_config, (0, 0, 0))
    zero = jnp.zeros((), x.dtype)
    padded = None if multiply_first else lax.pad(x, zero, pad_config)
    padded_sizes = [n + lo + hi for n, (lo, hi) in zip(x.shape[1:rank + 1], pads)]
    out_sizes = _out_sizes(padded_sizes, ksize, strides, dilation)
    tail = (channels, multiplier) if multiplier > 1 else (channels,)
    total = None
    for tap in _tap_offsets(ksize):
        start = [t * d for t, d in zip(tap, dilation)]
        limit = [b + (o - 1) * s + 1 for b, o, s in zip(start, out_sizes, strides)]
        weights = kernel[tap] if multiplier > 1 else kernel[tap][:, 0]
        source = lax.pad(x * weights, zero, pad_config) if multiply_first else padded
        window = lax.slice(source, (0, *start, *(0,) * len(tail)),
                           (source.shape[0], *limit, *source.shape[rank + 1:]),
                           (1, *strides, *(1,) * len(tail)))
        term = window if multiply_first else window * weights
        total = term if total is None else total + term
    if multiplier > 1:
        total = total.reshape((*total.shape[:-2], channels * multiplier))
    return total


def sum_of_tangents(y, *parts):
    """The tangent of `y` as the sum of `part(tangent)` over the (tangent, part) pairs
    whose tangent is not a symbolic zero (an input not being differentiated costs
    nothing); zeros shaped like `y` when all are."""
    total = None
    for tangent, part in parts:
        if not isinstance(tangent, SymbolicZero):
            term = part(tangent)
            total = term if total is None else total + term
    return jnp.zeros_like(y) if total is None else total


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _unit_stride_depthwise(x, kernel, geometry):
    return _shifted_sum(x, kernel, geometry)


def _unit_stride_depthwise_jvp(geometry, primals, tangents):
    # The input tangent is the shifted sum itself (JAX transposes it into pads of the
    # output gradient, fast at stride 1); the kernel tangent multiplies before shifting
    # (`_shifted_sum(multiply_first=True)`): MobileNetV2's training step ran ~18% faster
    # than with the shifted copies autodiff keeps (2-core Xeon).
    x, kernel = primals
    y = _shifted_sum(x, kernel, geometry)
    return y, sum_of_tangents(
        y, (tangents[0], lambda x_dot: _shifted_sum(x_dot, kernel, geometry)),
        (tangents[1], lambda k_dot: _shifted_sum(x, k_dot, geometry, multiply_first=True)))


_unit_stride_depthwise.defjvp(_unit_stride_depthwise_jvp, symbolic_zeros=True)


def _input_gradient(dy, kernel, x_shape, geometry):
    """The gradient with respect to the input of `_shifted_sum` with strides, given the
    output gradient `dy`: computed phase by phase (input positions with the same
    remainder modulo the stride receive gradient from the same taps, through a stride-1
    shifted sum), then interleaved. JAX's own transpose of a strided slice pads with
    holes, which XLA:CPU runs about ten times slower."""
    strides, pads, dilation = geometry
    rank = len(strides)
    channels, multiplier = kernel.shape[-2], kernel.shape[-1]
    ksize = kernel.shape[:rank]
    n_batch = dy.shape[0]
    out_sizes = dy.shape[1:rank + 1]
    padded_sizes = [n + lo + hi for n, (lo, hi) in zip(x_shape[1:rank + 1], pads)]
    q_max = [-(-p // s) for p, s in zip(padded_sizes, strides)]
    e_max = [((k - 1) * d) // s for k, d, s in zip(ksize, dilation, strides)]
    g = dy.reshape((*dy.shape[:-1], channels, multiplier))
    g = lax.pad(g, jnp.zeros((), g.dtype),
                ((0, 0, 0), *((e, max(0, q - o), 0) for e, q, o in
                              zip(e_max, q_max, out_sizes)), (0, 0, 0), (0, 0, 0)))
    phases = []
    for phase in _tap_offsets(strides):
        total = None
        for tap in _tap_offsets(ksize):
            offsets = [t * d for t, d in zip(tap, dilation)]
            if any(o % s != r for o, s, r in zip(offsets, strides, phase)):
                continue
            start = [e - (o - r) // s for e, o, r, s in zip(e_max, offsets, phase, strides)]
            window = lax.slice(g, (0, *start, 0, 0),
                               (n_batch, *(b + q for b, q in zip(start, q_max)),
                                channels, multiplier))
            term = window * kernel[tap]
            total = term if total is None else total + term
        if total is None:
            total = jnp.zeros((n_batch, *q_max, channels, multiplier), g.dtype)
        phases.append(jnp.sum(total, axis=-1))
    # phases in row-major order of the remainders: (s_1, ..., s_r, N, *q, C) ->
    # (N, q_1, s_1, ..., q_r, s_r, C) -> (N, *(q * s), C)
    stacked = jnp.stack(phases).reshape((*strides, n_batch, *q_max, channels))
    order = [rank]
    for axis in range(rank):
        order += [rank + 1 + axis, axis]
    order.append(2 * rank + 1)
    dxp = jnp.transpose(stacked, order).reshape(
        (n_batch, *(q * s for q, s in zip(q_max, strides)), channels))
    dxp = lax.slice(dxp, (0,) * (rank + 2), (n_batch, *padded_sizes, channels))
    # undo the forward padding (a negative pad crops, so this also restores cropped rows)
    return lax.pad(dxp, jnp.zeros((), dxp.dtype),
                   ((0, 0, 0), *((-lo, -hi, 0) for lo, hi in pads), (0, 0, 0)))


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _strided_depthwise(x, kernel, geometry):
    return _shifted_sum(x, kernel, geometry)


def _strided_depthwise_jvp(geometry, primals, tangents):
    # The tangent in the input is the linear transpose of `_input_gradient`, so reverse
    # mode (which transposes it back) runs `_input_gradient` itself; the kernel's
    # tangent is the shifted sum with the kernel tangent (JAX transposes that into
    # per-tap reductions).
    x, kernel = primals
    y = _shifted_sum(x, kernel, geometry)

    def through_input(x_dot):
        return jax.linear_transpose(lambda g: _input_gradient(g, kernel, x.shape, geometry),
                                    jax.ShapeDtypeStruct(y.shape, y.dtype))(x_dot)[0]

    # (multiplying first, as at stride 1, made MobileNetV2's step ~10% slower here: it
    # multiplies at the input's resolution)
    return y, sum_of_tangents(
        y, (tangents[0], through_input),
        (tangents[1], lambda k_dot: _shifted_sum(x, k_dot, geometry)))


_strided_depthwise.defjvp(_strided_depthwise_jvp, symbolic_zeros=True)


__all__ = ["MAX_TAPS", "applies", "depthwise_conv", "sum_of_tangents"]
