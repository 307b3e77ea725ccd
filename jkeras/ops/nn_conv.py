"""Convolution and pooling ops with Keras's arguments (`keras.ops.conv`, `max_pool`, ...),
plus `depth_to_space` / `space_to_depth` and torch-style `unfold` / `fold`.

Inputs are (batch, *spatial, channels) for data_format='channels_last' (the global
default from `jkeras.backend.image_data_format()`) or (batch, channels, *spatial), with
1, 2 or 3 spatial dimensions. Kernels are laid out as Keras lays them out:
`conv` (*kernel_size, in_channels // groups, out_channels) (groups follow from the
channel counts), `depthwise_conv` (*kernel_size, in_channels, multiplier),
`conv_transpose` (*kernel_size, out_channels, in_channels). The computations are the
ones the convolution and pooling layers use (`jkeras.ops.conv_kernels`,
`jkeras.ops.pool_kernels`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jkeras.backend.config import standardize_data_format
from jkeras.ops import conv_kernels, pool_kernels
from jkeras.ops.conv_kernels import conv_output_length, deconv_output_length, spatial_axes
from jkeras.ops.spec_function import KerasTensor, spec_function


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def int_tuple(value, n: int, name: str, op: str, min_value: int = 1) -> tuple:
    """`value` (an int or a sequence of n ints, each >= min_value) as a tuple of n ints."""
    values = (value,) * n if _is_int(value) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if values is None or len(values) != n or not all(
            _is_int(v) and v >= min_value for v in values):
        raise ValueError(
            f"{op}: `{name}` must be an integer or a tuple of {n} integers, each >= "
            f"{min_value}, got {name}={value!r}."
        )
    return tuple(int(v) for v in values)


def _padding(value, op: str) -> str:
    v = value.lower() if isinstance(value, str) else value
    if v not in ("valid", "same"):
        raise ValueError(f"{op}: `padding` must be 'valid' or 'same', got padding={value!r}.")
    return v


def _rank(x, op: str, name: str = "inputs") -> int:
    rank = len(x.shape) - 2
    if rank not in (1, 2, 3):
        raise ValueError(
            f"{op}: `{name}` must have rank 3, 4 or 5 (batch, 1 to 3 spatial dimensions and "
            f"channels), got shape {tuple(x.shape)}."
        )
    return rank


def _channels(x, data_format: str):
    return x.shape[-1] if data_format == "channels_last" else x.shape[1]


def _check_kernel(op: str, inputs, kernel, name: str = "kernel") -> int:
    rank = _rank(inputs, op)
    if len(kernel.shape) != rank + 2:
        raise ValueError(
            f"{op}: `{name}` must have rank {rank + 2} (*kernel_size, in, out) for inputs of "
            f"rank {rank + 2}, got {name}.shape={tuple(kernel.shape)} and "
            f"inputs.shape={tuple(inputs.shape)}."
        )
    return rank


def _conv_args(op, inputs, kernel, strides, padding, data_format, dilation_rate, name="kernel"):
    rank = _check_kernel(op, inputs, kernel, name)
    return (rank, int_tuple(strides, rank, "strides", op), _padding(padding, op),
            standardize_data_format(data_format),
            int_tuple(dilation_rate, rank, "dilation_rate", op))


def _spatial_out(op, inputs, kernel_size, strides, padding, data_format, dilation) -> list:
    sizes = [inputs.shape[a] for a in spatial_axes(len(strides), data_format)]
    out = [conv_output_length(n, k, s, padding, d)
           for n, k, s, d in zip(sizes, kernel_size, strides, dilation)]
    if any(o is not None and o <= 0 for o in out):
        raise ValueError(
            f"{op}: inputs of shape {tuple(inputs.shape)} (data_format='{data_format}') are "
            f"smaller than the window {tuple(kernel_size)} (dilation {tuple(dilation)}) with "
            f"padding='valid': the output would be empty. Use padding='same' or larger inputs."
        )
    return out


def _shape_with(batch, data_format, spatial, channels) -> tuple:
    if data_format == "channels_last":
        return (batch, *spatial, channels)
    return (batch, channels, *spatial)


# ---------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------
def _conv_groups(inputs, kernel, data_format) -> int:
    channels, per_group = _channels(inputs, data_format), kernel.shape[-2]
    if channels is not None and channels % per_group:
        raise ValueError(
            f"conv: the number of input channels ({channels}, data_format='{data_format}') "
            f"must be a multiple of the kernel's input channels (kernel.shape[-2] = "
            f"{per_group}); got inputs.shape={tuple(inputs.shape)}, "
            f"kernel.shape={tuple(kernel.shape)}."
        )
    return 1 if channels is None else channels // per_group


def _conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (N = 1, 2, 3) of `inputs` with a (*kernel_size, in // groups, out)
    kernel; inputs whose channels are a multiple of the kernel's in channels make a
    grouped convolution. Inputs are cast to the kernel's dtype."""
    _, strides, padding, data_format, dilation = _conv_args(
        "conv", inputs, kernel, strides, padding, data_format, dilation_rate)
    kernel = jnp.asarray(kernel)
    inputs = jnp.asarray(inputs, kernel.dtype)
    _spatial_out("conv", inputs, kernel.shape[:-2], strides, padding, data_format, dilation)
    return conv_kernels.conv(inputs, kernel, strides, padding.upper(), dilation, data_format,
                             groups=_conv_groups(inputs, kernel, data_format))


def _conv_spec(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    _, strides, padding, data_format, dilation = _conv_args(
        "conv", inputs, kernel, strides, padding, data_format, dilation_rate)
    _conv_groups(inputs, kernel, data_format)
    out = _spatial_out("conv", inputs, kernel.shape[:-2], strides, padding, data_format,
                       dilation)
    shape = _shape_with(inputs.shape[0], data_format, out, kernel.shape[-1])
    return KerasTensor(shape, kernel.dtype)


def _check_kernel_channels(op, inputs, kernel, data_format, kernel_axis, layout,
                           name="kernel"):
    channels = _channels(inputs, data_format)
    if channels is not None and kernel.shape[kernel_axis] != channels:
        raise ValueError(
            f"{op}: `{name}` is laid out {layout}, so {name}.shape[{kernel_axis}] must equal "
            f"the input channels ({channels}, data_format='{data_format}'); got "
            f"{name}.shape={tuple(kernel.shape)}, inputs.shape={tuple(inputs.shape)}."
        )


def _check_depthwise_channels(op, inputs, kernel, data_format):
    _check_kernel_channels(op, inputs, kernel, data_format, -2,
                           "(*kernel_size, in_channels, multiplier)")


def _depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                    dilation_rate=1):
    """Convolves each input channel with its own `multiplier` filters of a
    (*kernel_size, in_channels, multiplier) kernel: output channel c * multiplier + m
    is channel c convolved with kernel[..., c, m]."""
    _, strides, padding, data_format, dilation = _conv_args(
        "depthwise_conv", inputs, kernel, strides, padding, data_format, dilation_rate)
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    _check_depthwise_channels("depthwise_conv", inputs, kernel, data_format)
    _spatial_out("depthwise_conv", inputs, kernel.shape[:-2], strides, padding, data_format,
                 dilation)
    return conv_kernels.depthwise_conv(inputs, kernel, strides, padding.upper(), dilation,
                                       data_format)


def _depthwise_spec(inputs, kernel, strides=1, padding="valid", data_format=None,
                    dilation_rate=1):
    _, strides, padding, data_format, dilation = _conv_args(
        "depthwise_conv", inputs, kernel, strides, padding, data_format, dilation_rate)
    _check_depthwise_channels("depthwise_conv", inputs, kernel, data_format)
    out = _spatial_out("depthwise_conv", inputs, kernel.shape[:-2], strides, padding,
                       data_format, dilation)
    channels = kernel.shape[-2] * kernel.shape[-1]
    return KerasTensor(_shape_with(inputs.shape[0], data_format, out, channels), inputs.dtype)


def _separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                    data_format=None, dilation_rate=1):
    """`depthwise_conv(inputs, depthwise_kernel, ...)` followed by a 1x1 `conv` with
    `pointwise_kernel` (1, ..., 1, in_channels * multiplier, out_channels)."""
    y = _depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                        dilation_rate)
    data_format = standardize_data_format(data_format)
    _check_pointwise(y, pointwise_kernel, data_format)
    return _conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def _check_pointwise(y, pointwise_kernel, data_format):
    rank = len(y.shape) - 2
    expected = ((1,) * rank, _channels(y, data_format))
    if (len(pointwise_kernel.shape) != rank + 2
            or tuple(pointwise_kernel.shape[:rank]) != expected[0]
            or pointwise_kernel.shape[-2] not in (expected[1], None)):
        raise ValueError(
            f"separable_conv: `pointwise_kernel` must have shape ({', '.join(['1'] * rank)}, "
            f"{expected[1]}, out_channels) (in_channels * depth multiplier inputs), got "
            f"pointwise_kernel.shape={tuple(pointwise_kernel.shape)}."
        )


def _separable_spec(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                    data_format=None, dilation_rate=1):
    y = _depthwise_spec(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    data_format = standardize_data_format(data_format)
    _check_pointwise(y, pointwise_kernel, data_format)
    shape = list(y.shape)
    shape[-1 if data_format == "channels_last" else 1] = pointwise_kernel.shape[-1]
    return KerasTensor(shape, inputs.dtype)


def _transpose_args(inputs, kernel, strides, padding, output_padding, data_format,
                    dilation_rate):
    op = "conv_transpose"
    rank, strides, padding, data_format, dilation = _conv_args(
        op, inputs, kernel, strides, padding, data_format, dilation_rate)
    if output_padding is not None:
        output_padding = int_tuple(output_padding, rank, "output_padding", op, min_value=0)
    _check_kernel_channels(op, inputs, kernel, data_format, -1,
                           "(*kernel_size, out_channels, in_channels)")
    return strides, padding, output_padding, data_format, dilation


def _conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                    data_format=None, dilation_rate=1):
    """Transposed convolution (the gradient of `conv` with respect to its input) with a
    (*kernel_size, out_channels, in_channels) kernel. Output lengths follow Keras:
    `input * stride` ('same') or `input * stride + max(kernel - stride, 0)` ('valid'),
    or `(input - 1) * stride + kernel - 2 * pad + output_padding` when output_padding
    is given."""
    strides, padding, output_padding, data_format, dilation = _transpose_args(
        inputs, kernel, strides, padding, output_padding, data_format, dilation_rate)
    kernel = jnp.asarray(kernel)
    return conv_kernels.conv_transpose(jnp.asarray(inputs, kernel.dtype), kernel, strides,
                                       padding, output_padding, dilation, data_format)


def _conv_transpose_spec(inputs, kernel, strides=1, padding="valid", output_padding=None,
                         data_format=None, dilation_rate=1):
    strides, padding, output_padding, data_format, dilation = _transpose_args(
        inputs, kernel, strides, padding, output_padding, data_format, dilation_rate)
    sizes = [inputs.shape[a] for a in spatial_axes(len(strides), data_format)]
    out = [deconv_output_length(n, k, s, padding, p, d) for n, k, s, p, d in zip(
        sizes, kernel.shape[:-2], strides, output_padding or (None,) * len(strides), dilation)]
    shape = _shape_with(inputs.shape[0], data_format, out, kernel.shape[-2])
    return KerasTensor(shape, kernel.dtype)


conv = spec_function(_conv, _conv_spec, "conv")
depthwise_conv = spec_function(_depthwise_conv, _depthwise_spec, "depthwise_conv")
separable_conv = spec_function(_separable_conv, _separable_spec, "separable_conv")
conv_transpose = spec_function(_conv_transpose, _conv_transpose_spec, "conv_transpose")


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------
def _pool_args(op, inputs, pool_size, strides, padding, data_format):
    rank = _rank(inputs, op)
    pool_size = int_tuple(pool_size, rank, "pool_size", op)
    strides = pool_size if strides is None else int_tuple(strides, rank, "strides", op)
    return pool_size, strides, _padding(padding, op), standardize_data_format(data_format)


def _pool_op(op: str, mode: str, doc: str):
    """The `op` ('max_pool' / 'average_pool') of `pool_kernels.pool` in `mode`."""
    def pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
        pool_size, strides, padding, data_format = _pool_args(
            op, inputs, pool_size, strides, padding, data_format)
        inputs = jnp.asarray(inputs)
        _spatial_out(op, inputs, pool_size, strides, padding, data_format,
                     (1,) * len(pool_size))
        return pool_kernels.pool(inputs, mode, pool_size, strides, padding, data_format)

    def spec(inputs, pool_size, strides=None, padding="valid", data_format=None):
        pool_size, strides, padding, data_format = _pool_args(
            op, inputs, pool_size, strides, padding, data_format)
        out = _spatial_out(op, inputs, pool_size, strides, padding, data_format,
                           (1,) * len(pool_size))
        shape = _shape_with(inputs.shape[0], data_format, out, _channels(inputs, data_format))
        return KerasTensor(shape, inputs.dtype)

    pool.__doc__ = doc
    return spec_function(pool, spec, op)


max_pool = _pool_op("max_pool", "max", """Max over windows of `pool_size` (an int or one per
    spatial axis) moved by `strides` (default: pool_size).""")
average_pool = _pool_op("average_pool", "avg", """Mean over windows of `pool_size` moved by
    `strides` (default: pool_size); with padding='same' each window's mean counts only its
    valid (unpadded) entries.""")


# ---------------------------------------------------------------------------
# Pixel shuffles
# ---------------------------------------------------------------------------
def _block_args(op, x, block_size, data_format):
    if not _is_int(block_size) or block_size < 2:
        raise ValueError(f"{op}: `block_size` must be an integer >= 2, got {block_size!r}.")
    if len(x.shape) != 4:
        raise ValueError(f"{op}: `x` must be a 4D tensor (an image batch), got shape "
                         f"{tuple(x.shape)}.")
    data_format = standardize_data_format(data_format)
    if data_format == "channels_last":
        n, h, w, c = x.shape
    else:
        n, c, h, w = x.shape
    return int(block_size), data_format, (n, h, w, c)


def _times(d, b):
    return None if d is None else d * b


def _divided(op, what, d, b):
    if d is not None and d % b:
        raise ValueError(f"{op}: the {what} ({d}) must be divisible by {b}.")
    return None if d is None else d // b


def _depth_to_space(x, block_size, data_format="channels_last"):
    """Moves blocks of `block_size**2` channels into block_size x block_size spatial
    blocks: (n, h, w, c) -> (n, h * b, w * b, c / b**2) channels_last, where output
    pixel (i, j) of a block takes channels [(i * b + j) * c', ...); channels_first
    takes channels [k * b * b + i * b + j]."""
    b, data_format, (n, h, w, c) = _block_args("depth_to_space", x, block_size, data_format)
    new_c = _divided("depth_to_space", "number of channels", c, b * b)
    x = jnp.asarray(x)
    if data_format == "channels_last":
        y = x.reshape(n, h, w, b, b, new_c).transpose(0, 1, 3, 2, 4, 5)
        return y.reshape(n, h * b, w * b, new_c)
    y = x.reshape(n, new_c, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, new_c, h * b, w * b)


def _depth_to_space_spec(x, block_size, data_format="channels_last"):
    b, data_format, (n, h, w, c) = _block_args("depth_to_space", x, block_size, data_format)
    new_c = _divided("depth_to_space", "number of channels", c, b * b)
    shape = (n, _times(h, b), _times(w, b))
    return KerasTensor(_shape_with(n, data_format, shape[1:], new_c), x.dtype)


def _space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of `depth_to_space`: (n, h, w, c) -> (n, h / b, w / b, c * b**2)
    channels_last."""
    b, data_format, (n, h, w, c) = _block_args("space_to_depth", x, block_size, data_format)
    _divided("space_to_depth", "height", h, b)
    _divided("space_to_depth", "width", w, b)
    x = jnp.asarray(x)
    if data_format == "channels_last":
        y = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
        return y.reshape(n, h // b, w // b, c * b * b)
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 1, 3, 5, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


def _space_to_depth_spec(x, block_size, data_format="channels_last"):
    b, data_format, (n, h, w, c) = _block_args("space_to_depth", x, block_size, data_format)
    spatial = (_divided("space_to_depth", "height", h, b),
               _divided("space_to_depth", "width", w, b))
    return KerasTensor(_shape_with(n, data_format, spatial, _times(c, b * b)),
                       x.dtype)


depth_to_space = spec_function(_depth_to_space, _depth_to_space_spec, "depth_to_space")
space_to_depth = spec_function(_space_to_depth, _space_to_depth_spec, "space_to_depth")


# ---------------------------------------------------------------------------
# unfold / fold (torch layout: NCHW images, (N, C * kh * kw, L) blocks)
# ---------------------------------------------------------------------------
def _fold_args(op, kernel_size, dilation, padding, stride):
    return (int_tuple(kernel_size, 2, "kernel_size", op), int_tuple(dilation, 2, "dilation", op),
            int_tuple(padding, 2, "padding", op, min_value=0),
            int_tuple(stride, 2, "stride", op))


def _blocks_per_axis(size, k, d, p, s):
    return None if size is None else (size + 2 * p - d * (k - 1) - 1) // s + 1


def _unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of an (N, C, H, W) batch as (N, C * kh * kw, L) columns (L blocks,
    row-major; each column ordered channel, then kernel row, then kernel column), as
    torch.nn.functional.unfold."""
    k, d, p, s = _fold_args("unfold", kernel_size, dilation, padding, stride)
    x = jnp.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"unfold: `x` must be a 4D (N, C, H, W) tensor, got shape {x.shape}.")
    x = jnp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    patches = lax.conv_general_dilated_patches(
        x, k, s, "VALID", rhs_dilation=d, dimension_numbers=("NCHW", "OIHW", "NCHW"))
    n, ckk = patches.shape[:2]
    return patches.reshape(n, ckk, -1)


def _unfold_spec(x, kernel_size, dilation=1, padding=0, stride=1):
    k, d, p, s = _fold_args("unfold", kernel_size, dilation, padding, stride)
    if len(x.shape) != 4:
        raise ValueError(f"unfold: `x` must be a 4D (N, C, H, W) tensor, got shape {x.shape}.")
    n, c, h, w = x.shape
    blocks = [_blocks_per_axis(size, *a) for size, a in zip((h, w), zip(k, d, p, s))]
    length = None if None in blocks else blocks[0] * blocks[1]
    return KerasTensor((n, _times(c, k[0] * k[1]), length), x.dtype)


def _fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of `unfold`: sums (N, C * kh * kw, L) blocks into an (N, C, *output_size)
    batch (overlapping entries add up), as torch.nn.functional.fold."""
    op = "fold"
    k, d, p, s = _fold_args(op, kernel_size, dilation, padding, stride)
    out = int_tuple(output_size, 2, "output_size", op)
    x = jnp.asarray(x)
    if x.ndim != 3 or x.shape[1] % (k[0] * k[1]):
        raise ValueError(
            f"{op}: `x` must be a 3D (N, C * kh * kw, L) tensor with its second dimension a "
            f"multiple of kh * kw = {k[0] * k[1]}, got shape {x.shape}."
        )
    blocks = [_blocks_per_axis(size, *a) for size, a in zip(out, zip(k, d, p, s))]
    if x.shape[2] != blocks[0] * blocks[1]:
        raise ValueError(
            f"{op}: output_size={out} with kernel_size={k}, dilation={d}, padding={p}, "
            f"stride={s} has {blocks[0]} x {blocks[1]} = {blocks[0] * blocks[1]} blocks, but "
            f"x has L={x.shape[2]} (shape {x.shape})."
        )
    image = jax.ShapeDtypeStruct((x.shape[0], x.shape[1] // math.prod(k), *out), x.dtype)
    (y,) = jax.linear_transpose(lambda img: _unfold(img, k, d, p, s), image)(x)
    return y


def _fold_spec(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    k, _, _, _ = _fold_args("fold", kernel_size, dilation, padding, stride)
    out = int_tuple(output_size, 2, "output_size", "fold")
    if len(x.shape) != 3:
        raise ValueError(f"fold: `x` must be a 3D (N, C * kh * kw, L) tensor, got shape "
                         f"{x.shape}.")
    channels = _divided("fold", "second dimension of x", x.shape[1], k[0] * k[1])
    return KerasTensor((x.shape[0], channels, *out), x.dtype)


unfold = spec_function(_unfold, _unfold_spec, "unfold")
fold = spec_function(_fold, _fold_spec, "fold")

__all__ = ["average_pool", "conv", "conv_transpose", "depth_to_space", "depthwise_conv",
           "fold", "int_tuple", "max_pool", "separable_conv", "space_to_depth", "unfold"]
