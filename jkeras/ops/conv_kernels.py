"""Convolution kernels behind the convolution layers.

`conv` computes the same thing as `jax.lax.conv_general_dilated` (a kernel laid out
`(*spatial, in // groups, out)`, inputs laid out by the Keras data format) and chooses how
to lower it:

- ``"lax"``: one `lax.conv_general_dilated`; JAX's own transpose rules give the gradient.
- ``"ynn"``: a 2D convolution with a custom derivative, meant for XLA:CPU. XLA:CPU
  runs a convolution on its fast YNNPACK path only when it is NHWC/HWIO, its output is
  no larger than its input, it has no base dilation and an elementwise op consumes it
  (see `jkeras.backend.xla_flags`). JAX's input gradient of a VALID convolution is a
  convolution padded so that its output is larger than its input, which XLA:CPU runs
  on its slower generic path. Here the input gradient pads the output gradient
  explicitly (behind an optimization barrier, so that XLA cannot fold the pad back into
  the convolution), convolves it VALID with the flipped kernel and multiplies the
  result by an opaque one. It is a `jax.custom_jvp` whose tangent in the input is the
  linear transpose of that input gradient, so reverse mode gets exactly that form and
  forward mode, Hessians, vmap and remat keep working; the forward pass and the
  kernel gradient are JAX's. Channels-first inputs are transposed to channels-last
  around it (XLA cancels the transposes between consecutive layers).
- ``"winograd"`` / ``"winograd4"``: 3x3 convolutions (stride 1, no dilation, no groups,
  float32) as Winograd F(2x2,3x3) / F(4x4,3x3): batched matrix products in a transform
  domain, with the gradients computed there too (`jkeras.ops.winograd`; reverse mode
  only: forward-mode differentiation of these needs ``"lax"`` or ``"ynn"``). Other
  convolutions use what ``"auto"`` picks. F(4x4,3x3) does fewer multiplies and is less
  accurate (relative error ~1e-5 against ~1e-6).
- ``"auto"`` (the default): ``"ynn"`` where it applies and was measured to help (CPU
  backend, 2D, float32, stride 1, no dilation, no groups, more than 16 input or output
  channels), ``"lax"`` otherwise, and always ``"lax"`` on GPU/TPU. Measured on the
  project's 2-core AMD EPYC (Zen 4) machine, the seed's shared vision model's training
  step took ~8% less CPU time than with ``"lax"``; on a 2-core Intel Xeon (AVX-512) the
  two were within a few percent. ``"auto"`` never picks Winograd: on the Xeon, in the
  shared vision model's and the inception block's training steps, F(2x2,3x3) was
  1.15x-2x slower than the direct convolutions and F(4x4,3x3) 0-7% slower (its
  transforms cost XLA:CPU as much memory traffic as the multiplies they save; see
  docs/performance.md).

Depthwise convolutions (`depthwise_conv`) are computed on the CPU backend as a sum of
shifted, per-channel scaled inputs (`jkeras.ops.depthwise`), many times faster on XLA:CPU
than a grouped convolution; ``"lax"`` (or a GPU/TPU backend) keeps the grouped one.

The choice is made at trace time from `set_conv_implementation` or, when that was not
called, the environment variable ``JKERAS_CONV_IMPL`` (one of `IMPLEMENTATIONS`). A
convolution that ``"ynn"`` does not cover (strides, dilation, groups, other ranks or
dtypes) always uses ``"lax"``; all formulations give the same values and gradients up to
float rounding.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from jkeras.ops import depthwise, winograd

IMPLEMENTATIONS = ("auto", "lax", "ynn", "winograd", "winograd4")
_WINOGRAD_TILE = {"winograd": 2, "winograd4": 4}
ENV_VAR = "JKERAS_CONV_IMPL"

_implementation: str | None = None

# XLA:CPU keeps a convolution with at most this many input and output channels off its
# YNNPACK path, so the custom formulation would only add work there.
_YNN_MIN_CHANNELS = 17


def channels_on_ynn_path(in_channels: int, out_channels: int) -> bool:
    """Whether XLA:CPU runs a convolution with these channel counts on its YNNPACK path
    (more than 16 input or output channels)."""
    return max(in_channels, out_channels) >= _YNN_MIN_CHANNELS

_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


def _check(name, source: str = "set_conv_implementation") -> str:
    value = str(name).strip().lower() if isinstance(name, str) else name
    if value not in IMPLEMENTATIONS:
        raise ValueError(
            f"Unknown convolution implementation {name!r} (from {source}): expected one "
            f"of {list(IMPLEMENTATIONS)}. Set it with jkeras.ops.conv_kernels."
            f"set_conv_implementation(...) or the {ENV_VAR} environment variable."
        )
    return value


def set_conv_implementation(name: str | None) -> None:
    """Selects how convolution layers lower their convolutions: 'auto' (default),
    'lax', 'ynn', 'winograd' or 'winograd4' (see the module docstring); None returns to
    the ``JKERAS_CONV_IMPL`` environment variable.
    Takes effect for functions traced afterwards (already compiled ones keep theirs)."""
    global _implementation
    _implementation = None if name is None else _check(name)


def conv_implementation() -> str:
    """The selected implementation: the value given to `set_conv_implementation`, else
    ``JKERAS_CONV_IMPL``, else 'auto'."""
    if _implementation is not None:
        return _implementation
    env = os.environ.get(ENV_VAR, "").strip()
    return _check(env, f"the {ENV_VAR} environment variable") if env else "auto"


def dimension_numbers(rank: int, data_format: str, kernel_io: str = "IO") -> tuple:
    """`dimension_numbers` for lax.conv_general_dilated: the input/output layout of the
    data format and a kernel laid out (*spatial, I, O) (or (*spatial, O, I))."""
    sp = _SPATIAL[rank]
    lhs = f"N{sp}C" if data_format == "channels_last" else f"NC{sp}"
    return (lhs, sp + kernel_io, lhs)


def spatial_axes(rank: int, data_format: str) -> tuple:
    """Axes of the spatial dimensions of a (rank + 2)-D batch."""
    start = 1 if data_format == "channels_last" else 2
    return tuple(range(start, start + rank))


def conv_output_length(length, kernel: int, stride: int, padding: str, dilation: int = 1):
    """Output length of a convolution or pooling window along one axis (None if
    unknown); may be <= 0 for a 'valid' window larger than the input."""
    if length is None:
        return None
    extent = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (length - extent) // stride + 1
    return (length + stride - 1) // stride  # 'same' and 'causal'


def deconv_output_length(length, kernel: int, stride: int, padding: str,
                         output_padding: int | None, dilation: int = 1):
    """Output length of a transposed convolution along one axis (Keras rules)."""
    if length is None:
        return None
    extent = (kernel - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(extent - stride, 0)
        return length * stride
    pad = extent // 2 if padding == "same" else 0
    return (length - 1) * stride + extent - 2 * pad + output_padding


def explicit_padding(in_spatial: Sequence[int], kernel_spatial: Sequence[int],
                     strides: Sequence[int], dilation: Sequence[int],
                     padding) -> tuple:
    """`padding` ('VALID', 'SAME' or (low, high) pairs) as a tuple of (low, high) pairs."""
    if isinstance(padding, str):
        extents = [(k - 1) * d + 1 for k, d in zip(kernel_spatial, dilation)]
        return tuple(lax.padtype_to_pads(tuple(in_spatial), extents, tuple(strides),
                                         padding.upper()))
    return tuple((int(lo), int(hi)) for lo, hi in padding)


def _lax_conv(x, kernel, strides, pads, dilation, data_format, groups):
    return lax.conv_general_dilated(
        x, kernel, window_strides=tuple(strides), padding=pads,
        rhs_dilation=tuple(dilation),
        dimension_numbers=dimension_numbers(len(strides), data_format),
        feature_group_count=groups,
    )


# ---------------------------------------------------------------------------
# The "ynn" formulation: NHWC input, HWIO kernel, stride 1, no dilation, no groups.
# ---------------------------------------------------------------------------
_NHWC = ("NHWC", "HWIO", "NHWC")


def _nhwc_conv(x, kernel, pads):
    return lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=_NHWC)


def _opaque_one(dtype):
    # A multiplication by this keeps the convolution it follows inside a YNNPACK fusion;
    # the barrier stops XLA from simplifying the multiplication away.
    return lax.optimization_barrier(jnp.ones((), dtype))


def _input_gradient(g, kernel, pads):
    """d(conv)/d(input) applied to `g`: `g` padded by (k - 1 - low, k - 1 - high) and
    convolved, VALID, with the spatially flipped kernel whose in/out axes are swapped."""
    kh, kw = kernel.shape[:2]
    (lo_h, hi_h), (lo_w, hi_w) = pads
    config = ((0, 0, 0), (kh - 1 - lo_h, kh - 1 - hi_h, 0), (kw - 1 - lo_w, kw - 1 - hi_w, 0),
              (0, 0, 0))
    padded = lax.optimization_barrier(lax.pad(g, jnp.zeros((), g.dtype), config))
    flipped = jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2)
    dx = lax.conv_general_dilated(padded, flipped, (1, 1), "VALID", dimension_numbers=_NHWC)
    return dx * _opaque_one(dx.dtype)


def _padded_when_kernel_exceeds_input(x, kernel, pads):
    """(x, kernel, pads) for `_ynn_conv2d`; when the kernel is larger than the input along
    a padded axis, the input padded explicitly behind an optimization barrier and no
    padding instead. XLA:CPU folds such padding into the convolution and then runs it on
    a generic path: measured 30-70x slower on a 2-core Xeon for ResNet50's last stage at
    64x64 inputs (2x2 maps, 512 channels: 280 ms against 4 ms forward, the input gradient
    likewise). The input gradient of the padded form is `_input_gradient`'s explicit pad
    and VALID convolution, which does not have the problem."""
    padded_axes = [(lo, hi) != (0, 0) for lo, hi in pads]
    small = [n < k for n, k in zip(x.shape[1:3], kernel.shape[:2])]
    if not any(p and s for p, s in zip(padded_axes, small)):
        return x, kernel, pads
    config = ((0, 0, 0), *((lo, hi, 0) for lo, hi in pads), (0, 0, 0))
    padded = lax.optimization_barrier(lax.pad(x, jnp.zeros((), x.dtype), config))
    return padded, kernel, ((0, 0), (0, 0))


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _ynn_conv2d(x, kernel, pads):
    return _nhwc_conv(x, kernel, pads)


def _ynn_conv2d_jvp(pads, primals, tangents):
    # The tangent in the input is the linear transpose of `_input_gradient`, so that
    # reverse mode, which transposes it back, differentiates the input through
    # `_input_gradient` exactly. (Forward mode evaluates that transpose: a correct, full
    # convolution.) The kernel tangent is JAX's: its transpose is XLA's usual kernel
    # gradient.
    # Symbolic zeros: a tangent that is zero (an input not being differentiated) costs
    # nothing instead of a convolution of zeros.
    x, kernel = primals
    y = _nhwc_conv(x, kernel, pads)

    def through_input(x_dot):
        return jax.linear_transpose(lambda g: _input_gradient(g, kernel, pads),
                                    jax.ShapeDtypeStruct(y.shape, y.dtype))(x_dot)[0]

    return y, depthwise.sum_of_tangents(
        y, (tangents[0], through_input),
        (tangents[1], lambda kernel_dot: _nhwc_conv(x, kernel_dot, pads)))


_ynn_conv2d.defjvp(_ynn_conv2d_jvp, symbolic_zeros=True)


def ynn_applies(x, kernel, strides, dilation, groups) -> bool:
    """Whether the "ynn" formulation covers this convolution (2D, float32, stride 1,
    no dilation, no groups)."""
    return (len(strides) == 2 and all(s == 1 for s in strides)
            and all(d == 1 for d in dilation) and groups == 1
            and x.dtype == jnp.float32 and kernel.dtype == jnp.float32)


def select_implementation(x, kernel, strides: Sequence[int], dilation: Sequence[int],
                          groups: int = 1, implementation: str | None = None) -> str:
    """'lax', 'ynn', 'winograd' or 'winograd4': how `conv` lowers this convolution when
    `implementation` (default: the selected one) is requested. 'ynn' only where
    `ynn_applies`, Winograd only where `winograd.applies` (elsewhere what 'auto' picks);
    'auto' picks 'ynn' on the CPU backend for convolutions with more than 16 input or
    output channels."""
    impl = conv_implementation() if implementation is None else _check(implementation)
    if impl in _WINOGRAD_TILE:
        if winograd.applies(x, kernel, strides, dilation, groups):
            return impl
        impl = "auto"
    if impl == "lax" or not ynn_applies(x, kernel, strides, dilation, groups):
        return "lax"
    if impl == "ynn":
        return "ynn"
    # auto
    if jax.default_backend() != "cpu":
        return "lax"
    if not channels_on_ynn_path(kernel.shape[-2], kernel.shape[-1]):
        return "lax"
    return "ynn"


def conv(x, kernel, strides: Sequence[int], padding, dilation: Sequence[int],
         data_format: str, groups: int = 1, implementation: str | None = None):
    """`lax.conv_general_dilated(x, kernel, strides, padding, rhs_dilation=dilation,
    feature_group_count=groups)` for inputs laid out by `data_format` and a kernel laid
    out (*spatial, in // groups, out), lowered as `implementation` (default: the selected
    one, see the module docstring) says. `padding` is 'VALID', 'SAME' or (low, high)
    pairs."""
    rank = len(strides)
    impl = select_implementation(x, kernel, strides, dilation, groups, implementation)
    spatial_axes = range(1, rank + 1) if data_format == "channels_last" else range(2, rank + 2)
    pads = explicit_padding([x.shape[a] for a in spatial_axes], kernel.shape[:rank],
                            strides, dilation, padding)
    if impl in _WINOGRAD_TILE and not winograd.padding_supported(
            [x.shape[a] for a in spatial_axes], pads):
        impl = "lax"  # cropping (negative) padding, or an empty output
    if impl == "lax":
        return _lax_conv(x, kernel, strides, pads, dilation, data_format, groups)
    if impl in _WINOGRAD_TILE:
        def channels_last(a, k):
            return winograd.conv3x3(a, k, pads, _WINOGRAD_TILE[impl])
    else:
        def channels_last(a, k):
            return _ynn_conv2d(*_padded_when_kernel_exceeds_input(a, k, pads))
    if data_format == "channels_first":
        y = channels_last(jnp.transpose(x, (0, 2, 3, 1)), kernel)
        return jnp.transpose(y, (0, 3, 1, 2))
    return channels_last(x, kernel)


# ---------------------------------------------------------------------------
# Depthwise and transposed convolutions
# ---------------------------------------------------------------------------
def depthwise_conv(x, kernel, strides: Sequence[int], padding, dilation: Sequence[int],
                   data_format: str):
    """Depthwise convolution of `x` with a (*k, in, multiplier) kernel: output channel
    c * multiplier + m is input channel c convolved with kernel[..., c, m]. `padding` is
    'VALID', 'SAME' or (low, high) pairs.

    On the CPU backend (unless the selected implementation is 'lax') it is computed as a
    sum of shifted, per-channel scaled inputs (`jkeras.ops.depthwise`), which XLA:CPU runs
    many times faster than a grouped convolution; elsewhere, and for kernels with more
    than `depthwise.MAX_TAPS` positions, as one grouped `lax.conv_general_dilated`."""
    rank = len(strides)
    in_ch, mult = kernel.shape[-2], kernel.shape[-1]
    pads = explicit_padding([x.shape[a] for a in spatial_axes(rank, data_format)],
                            kernel.shape[:rank], strides, dilation, padding)
    if _shifted_depthwise_applies(x, kernel, strides, pads, dilation, data_format):
        return depthwise.depthwise_conv(x, kernel, strides, pads, dilation,
                                        channels_last=data_format == "channels_last")
    k = kernel.reshape((*kernel.shape[:-2], 1, in_ch * mult))
    return lax.conv_general_dilated(
        x, k, window_strides=tuple(strides), padding=pads, rhs_dilation=tuple(dilation),
        dimension_numbers=dimension_numbers(rank, data_format),
        feature_group_count=in_ch,
    )


def _shifted_depthwise_applies(x, kernel, strides, pads, dilation, data_format) -> bool:
    if conv_implementation() == "lax" or jax.default_backend() != "cpu":
        return False
    if not depthwise.applies(x, kernel):
        return False
    rank = len(strides)
    sizes = [x.shape[a] for a in spatial_axes(rank, data_format)]
    return all(n + lo + hi >= (k - 1) * d + 1
               for n, (lo, hi), k, d in zip(sizes, pads, kernel.shape[:rank], dilation))


def conv_transpose(x, kernel, strides: Sequence[int], padding: str,
                   output_padding: Sequence[int] | None, dilation: Sequence[int],
                   data_format: str):
    """Transposed convolution (the input gradient of a convolution) with a kernel laid out
    (*k, out, in), padding 'valid' or 'same', and the output lengths of
    `deconv_output_length` (Keras's rules; `output_padding` None or one int per axis)."""
    rank = len(strides)
    sp = [x.shape[a] for a in spatial_axes(rank, data_format)]
    ops = output_padding or (None,) * rank
    pads = []
    for n, k, s, op, d in zip(sp, kernel.shape[:rank], strides, ops, dilation):
        o = deconv_output_length(n, k, s, padding, op, d)
        extent = (k - 1) * d + 1
        # The forward convolution this transposes pads its input by `before`.
        before = max((n - 1) * s + extent - o, 0) // 2
        lo = extent - 1 - before
        pads.append((lo, o - (n - 1) * s + extent - 2 - lo))
    flipped = jnp.flip(kernel, axis=tuple(range(rank)))
    return lax.conv_general_dilated(
        x, flipped, window_strides=(1,) * rank, padding=pads, lhs_dilation=tuple(strides),
        rhs_dilation=tuple(dilation),
        dimension_numbers=dimension_numbers(rank, data_format, "OI"),
    )


# ---------------------------------------------------------------------------
# Folding two linear convolutions into one
# ---------------------------------------------------------------------------
def compose_kernels(kernel1, bias1, kernel2, bias2):
    """Kernel and bias of the single VALID, stride-1 convolution equal to
    `conv(conv(x, kernel1) + bias1, kernel2) + bias2` when both convolutions are VALID,
    stride 1, undilated and ungrouped with no activation between them.

    Kernels are laid out (*k, in, out); the result has spatial size k1 + k2 - 1,
    `kernel1`'s input channels and `kernel2`'s output channels. Biases may be None.
    Differentiable: gradients flow to all four arguments. Folding pays when
    prod(k1 + k2 - 1) * in * out < prod(k1) * in * mid + prod(k2) * mid * out
    (`fold_saves_work`)."""
    rank = kernel1.ndim - 2
    sp = _SPATIAL[rank]
    # kernel1 as a batch of `in` images of `mid` channels, fully convolved with kernel2.
    image = jnp.moveaxis(kernel1, -2, 0)  # (in, *k1, mid)
    k2 = kernel2.shape[:rank]
    folded = lax.conv_general_dilated(
        image, jnp.flip(kernel2, tuple(range(rank))), (1,) * rank,
        [(k - 1, k - 1) for k in k2],
        dimension_numbers=(f"N{sp}C", f"{sp}IO", f"N{sp}C"))  # (in, *k, out)
    kernel = jnp.moveaxis(folded, 0, -2)
    bias = None
    if bias1 is not None:
        bias = jnp.einsum("...co,c->o", kernel2, bias1)
    if bias2 is not None:
        bias = bias2 if bias is None else bias + bias2
    return kernel, bias


def fold_saves_work(kernel1_shape: Sequence[int], kernel2_shape: Sequence[int]) -> bool:
    """Whether one convolution with the composed kernel does fewer multiply-adds per
    output position than the two it replaces."""
    rank = len(kernel1_shape) - 2
    k1, (c_in, mid) = kernel1_shape[:rank], kernel1_shape[rank:]
    k2, c_out = kernel2_shape[:rank], kernel2_shape[-1]
    folded = math.prod(a + b - 1 for a, b in zip(k1, k2)) * c_in * c_out
    return folded < math.prod(k1) * c_in * mid + math.prod(k2) * mid * c_out


__all__ = ["IMPLEMENTATIONS", "compose_kernels", "conv", "conv_implementation",
           "conv_output_length", "conv_transpose", "deconv_output_length", "depthwise_conv",
           "channels_on_ynn_path", "dimension_numbers", "explicit_padding", "fold_saves_work",
           "select_implementation",
           "set_conv_implementation", "spatial_axes", "ynn_applies"]
