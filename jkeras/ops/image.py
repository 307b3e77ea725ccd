"""Image ops (`keras.ops.image`): colour conversions, resizing, padding and cropping,
geometric warps, filters, patches and SSIM.

Every op takes one image `(height, width, channels)` or a batch `(batch, height, width,
channels)` ('channels_last'), or the 'channels_first' layouts `(channels, height, width)` /
`(batch, channels, height, width)`; `data_format=None` means
`jkeras.backend.image_data_format()`. They work on arrays, jkeras Variables, symbolic
tensors (recording a graph node) and inside `jax.jit` (shapes and the Python arguments
are static). Geometric warps (`affine_transform`, `perspective_transform`,
`elastic_transform`) sample with `image_sampling.sample_images`.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import naming
from jkeras.backend.config import standardize_data_format
from jkeras.backend.keras_tensor import KerasTensor, any_symbolic
from jkeras.ops import image_sampling as _sampling
from jkeras.ops.image_sampling import (
    FILL_MODES,
    INTERPOLATIONS,
    check_images,
    gaussian_kernel_1d,
    jit_op,
    key_from_seed,
    separable_blur,
    to_nhwc,
)
from jkeras.ops.operation import Operation, symbolic_function, unwrap_variables

__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches",
    "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images",
    "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
    "scale_and_translate", "sobel_edges", "ssim",
]

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")
SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "triangle", "cubic",
                               "bicubic", "tricubic", "lanczos3", "lanczos5")
# ITU-R 601 luma weights (as tf.image.rgb_to_grayscale).
_LUMA = (0.2989, 0.5870, 0.1140)


def _channels_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else -3


def _hw_axes(data_format: str) -> tuple[int, int]:
    return (-3, -2) if data_format == "channels_last" else (-2, -1)


def _float_dtype(dtype):
    """The float dtype computations on `dtype` images use (float32 for integers)."""
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float32


def _cast_back(x, dtype):
    """`x` (floats) as `dtype`: integer types are rounded and saturated, not wrapped."""
    if jnp.issubdtype(dtype, jnp.integer) or dtype == jnp.bool_:
        if dtype == jnp.bool_:
            return x > 0.5
        info = jnp.iinfo(dtype)
        x = jnp.clip(jnp.round(x), info.min, info.max)
    return x.astype(dtype)


# -- colour -------------------------------------------------------------------------


def _rgb_to_grayscale(images, data_format=None):
    """Converts RGB images to one luma channel (0.2989 R + 0.5870 G + 0.1140 B); a
    1-channel input is returned unchanged. The output keeps the input dtype (integer
    images are rounded)."""
    data_format = standardize_data_format(data_format)
    images = jnp.asarray(images)
    check_images("rgb_to_grayscale", images)
    axis = _channels_axis(data_format)
    if images.shape[axis] not in (1, 3):
        raise ValueError(
            f"rgb_to_grayscale: expected 3 (RGB) or 1 (grayscale) channels on axis {axis} "
            f"({data_format}), got images of shape {images.shape}."
        )
    if images.shape[axis] == 1:
        return images
    x = images.astype(_float_dtype(images.dtype))
    gray = jnp.tensordot(x, jnp.asarray(_LUMA, x.dtype), axes=((axis % x.ndim,), (0,)))
    return _cast_back(jnp.expand_dims(gray, axis), images.dtype)


def _float_rgb(fn: str, images, data_format):
    data_format = standardize_data_format(data_format)
    images = jnp.asarray(images)
    check_images(fn, images)
    if not jnp.issubdtype(images.dtype, jnp.floating):
        raise ValueError(
            f"{fn}: images must have a float dtype (values in [0, 1]), got {images.dtype}. "
            f"Cast them first, e.g. `images.astype('float32') / 255`."
        )
    axis = _channels_axis(data_format)
    if images.shape[axis] != 3:
        raise ValueError(
            f"{fn}: images must have 3 channels on axis {axis} ({data_format}), got shape "
            f"{images.shape}."
        )
    return images, axis


def _rgb_to_hsv(images, data_format=None):
    """Converts float RGB images (values in [0, 1]) to HSV, every component in [0, 1];
    hue 0 is red, 1/3 green, 2/3 blue. Grey pixels get hue and saturation 0."""
    images, axis = _float_rgb("rgb_to_hsv", images, data_format)
    r, g, b = (jnp.take(images, i, axis=axis) for i in range(3))
    value = jnp.maximum(jnp.maximum(r, g), b)
    chroma = value - jnp.minimum(jnp.minimum(r, g), b)
    saturation = jnp.where(value > 0, chroma / jnp.where(value > 0, value, 1), 0)
    safe = jnp.where(chroma > 0, chroma, 1)
    # Hue sector by the largest component (red wins ties, then green), in turns.
    hue = jnp.where(value == r, (g - b) / safe,
                    jnp.where(value == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    hue = jnp.where(chroma > 0, jnp.mod(hue, 1.0), 0)
    return jnp.stack([hue, saturation, value], axis=axis).astype(images.dtype)


def _hsv_to_rgb(images, data_format=None):
    """Converts float HSV images (components in [0, 1]) back to RGB; the inverse of
    `rgb_to_hsv`."""
    images, axis = _float_rgb("hsv_to_rgb", images, data_format)
    h, s, v = (jnp.take(images, i, axis=axis) for i in range(3))
    sector = jnp.mod(h, 1.0) * 6
    # Each channel's weight is a clipped triangle wave of the hue sector.
    red = jnp.clip(jnp.abs(sector - 3) - 1, 0, 1)
    green = jnp.clip(2 - jnp.abs(sector - 2), 0, 1)
    blue = jnp.clip(2 - jnp.abs(sector - 4), 0, 1)
    out = [v * (1 - s + s * c) for c in (red, green, blue)]
    return jnp.stack(out, axis=axis).astype(images.dtype)


# -- resize, pad, crop ----------------------------------------------------------------


def aspect_crop_box(img_h: int, img_w: int, height: int, width: int) -> tuple[int, ...]:
    """The largest centred window of aspect `height / width` in an `img_h x img_w` image:
    (top, left, window height, window width)."""
    crop_h = max(min(img_h, int(img_w * height / width)), 1)
    crop_w = max(min(img_w, int(img_h * width / height)), 1)
    return int((img_h - crop_h) / 2), int((img_w - crop_w) / 2), crop_h, crop_w


def _size_pair(fn: str, size) -> tuple[int, int]:
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, numbers.Integral) and s > 0 for s in size)):
        raise ValueError(f"{fn}: `size` must be (height, width) with two positive integers, "
                         f"got {size!r}.")
    return int(size[0]), int(size[1])


def _resize(images, size, interpolation="bilinear", antialias=False,
            crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode="constant",
            fill_value=0.0, data_format=None):
    """Resizes images to `size` = (height, width) with `interpolation` ('bilinear',
    'nearest', 'bicubic', 'lanczos3', 'lanczos5'; half-pixel centres); `antialias`
    low-pass filters when downsampling. `crop_to_aspect_ratio` first crops the largest
    centred window of the target aspect ratio; `pad_to_aspect_ratio` instead pads the
    short side evenly with `fill_value` (`fill_mode` must be 'constant'). Integer images
    are rounded and saturated back to their dtype."""
    data_format = standardize_data_format(data_format)
    height, width = _size_pair("resize", size)
    images = jnp.asarray(images)
    check_images("resize", images)
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"resize: `interpolation` must be one of {RESIZE_INTERPOLATIONS}, "
                         f"got {interpolation!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of `crop_to_aspect_ratio` and "
                         "`pad_to_aspect_ratio` can be True.")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported (padding with "
                         f"`fill_value`), got {fill_mode!r}.")
    h_axis, w_axis = (a % images.ndim for a in _hw_axes(data_format))
    img_h, img_w = images.shape[h_axis], images.shape[w_axis]
    x = images.astype(_float_dtype(images.dtype))
    if crop_to_aspect_ratio:
        top, left, ch, cw = aspect_crop_box(img_h, img_w, height, width)
        x = jax.lax.slice_in_dim(x, top, top + ch, axis=h_axis)
        x = jax.lax.slice_in_dim(x, left, left + cw, axis=w_axis)
    elif pad_to_aspect_ratio:
        pad_h = max(img_h, int(img_w * height / width))
        pad_w = max(img_w, int(img_h * width / height))
        top, left = (pad_h - img_h) // 2, (pad_w - img_w) // 2
        pads = [(0, 0)] * x.ndim
        pads[h_axis] = (top, pad_h - img_h - top)
        pads[w_axis] = (left, pad_w - img_w - left)
        x = jnp.pad(x, pads, constant_values=fill_value)
    shape = list(x.shape)
    shape[h_axis], shape[w_axis] = height, width
    out = jax.image.resize(x, tuple(shape), method=interpolation, antialias=antialias)
    return _cast_back(out, images.dtype)


def _resolve_sides(fn: str, names: tuple, before, after, target, length: int,
                   padding: bool) -> tuple[int, int]:
    """Keras's pad/crop arguments for one axis: exactly two of (before, after, target)
    are given (`names` spells them); returns the (before, after) amounts."""
    values = (before, after, target)
    if values.count(None) != 1:
        raise ValueError(f"{fn}: give exactly two of {', '.join(names)}; got "
                         + ", ".join(f"{n}={v}" for n, v in zip(names, values)) + ".")
    for n, v in zip(names, values):
        if v is not None and v < 0:
            raise ValueError(f"{fn}: `{n}` must be >= 0, got {v}.")
    # padding: before + length + after == target; cropping: before + target + after == length
    if target is not None:
        total = target - length if padding else length - target
    if before is None:
        before = total - after
    elif after is None:
        after = total - before
    for n, v in zip(names[:2], (before, after)):
        if v < 0:
            raise ValueError(f"{fn}: `{n}` would be {v} for an image side of {length} with "
                             f"{names[2]}={target}; it must be >= 0.")
    return int(before), int(after)


def _pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
                right_padding=None, target_height=None, target_width=None, data_format=None):
    """Pads images with zeros: give two of `top_padding`, `bottom_padding`,
    `target_height` and two of `left_padding`, `right_padding`, `target_width`."""
    data_format = standardize_data_format(data_format)
    images = jnp.asarray(images)
    check_images("pad_images", images)
    h_axis, w_axis = (a % images.ndim for a in _hw_axes(data_format))
    top, bottom = _resolve_sides(
        "pad_images", ("top_padding", "bottom_padding", "target_height"), top_padding,
        bottom_padding, target_height, images.shape[h_axis], padding=True)
    left, right = _resolve_sides(
        "pad_images", ("left_padding", "right_padding", "target_width"), left_padding,
        right_padding, target_width, images.shape[w_axis], padding=True)
    pads = [(0, 0)] * images.ndim
    pads[h_axis], pads[w_axis] = (top, bottom), (left, right)
    return jnp.pad(images, pads)


def _crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                 right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crops images: give two of `top_cropping`, `bottom_cropping`, `target_height`
    and two of `left_cropping`, `right_cropping`, `target_width`."""
    data_format = standardize_data_format(data_format)
    images = jnp.asarray(images)
    check_images("crop_images", images)
    h_axis, w_axis = (a % images.ndim for a in _hw_axes(data_format))
    img_h, img_w = images.shape[h_axis], images.shape[w_axis]
    top, bottom = _resolve_sides(
        "crop_images", ("top_cropping", "bottom_cropping", "target_height"), top_cropping,
        bottom_cropping, target_height, img_h, padding=False)
    left, right = _resolve_sides(
        "crop_images", ("left_cropping", "right_cropping", "target_width"), left_cropping,
        right_cropping, target_width, img_w, padding=False)
    if top + bottom > img_h or left + right > img_w:
        raise ValueError(f"crop_images: cropping ({top}+{bottom}, {left}+{right}) exceeds the "
                         f"image size ({img_h}, {img_w}).")
    x = jax.lax.slice_in_dim(images, top, img_h - bottom, axis=h_axis)
    return jax.lax.slice_in_dim(x, left, img_w - right, axis=w_axis)


# -- geometric warps -------------------------------------------------------------------


def _check_interpolation(fn: str, interpolation) -> int:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{fn}: `interpolation` must be one of {sorted(INTERPOLATIONS)}, "
                         f"got {interpolation!r}.")
    return INTERPOLATIONS[interpolation]


def _check_fill_mode(fn: str, fill_mode) -> None:
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{fn}: `fill_mode` must be one of {sorted(FILL_MODES)}, got "
                         f"{fill_mode!r}.")


def _affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                      fill_value=0, data_format=None):
    """Applies projective transforms: each `transform` row
    `[a0, a1, a2, b0, b1, b2, c0, c1]` ((8,) for all images or (batch, 8)) maps output
    pixel (x, y) to the input point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1 (the inverse of the image's motion). `interpolation` is
    'nearest' or 'bilinear'; input points outside the image follow `fill_mode`:
    'constant' (`fill_value`), 'nearest' (edge pixel), 'wrap', 'mirror' (about the edge
    pixels) or 'reflect' (about the edges). Keras's JAX backend ignores `c0`, `c1`;
    here, as with TensorFlow, they take effect."""
    order = _check_interpolation("affine_transform", interpolation)
    _check_fill_mode("affine_transform", fill_mode)
    images = jnp.asarray(images)
    check_images("affine_transform", images)
    transform = jnp.asarray(transform)
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(
            f"affine_transform: `transform` must have shape (8,) or (batch, 8) "
            f"([a0, a1, a2, b0, b1, b2, c0, c1] per image), got {transform.shape}."
        )
    x, restore = to_nhwc(images, data_format)
    out = _sampling.warp_projective(x, transform, order, fill_mode, fill_value)
    return restore(_cast_back(out, images.dtype))


def compute_homography_matrix(start_points, end_points):
    """The projective transforms `[a0, a1, a2, b0, b1, b2, c0, c1]` (batch, 8) that map
    each of the 4 `end_points` (x, y) onto the matching `start_points`, i.e. output pixels
    to input pixels, as `affine_transform` takes them."""
    start = jnp.asarray(start_points, jnp.float32)
    end = jnp.asarray(end_points, jnp.float32)
    xs, ys = start[..., 0], start[..., 1]
    xe, ye = end[..., 0], end[..., 1]
    zero, one = jnp.zeros_like(xe), jnp.ones_like(xe)
    rows_x = jnp.stack([xe, ye, one, zero, zero, zero, -xs * xe, -xs * ye], axis=-1)
    rows_y = jnp.stack([zero, zero, zero, xe, ye, one, -ys * xe, -ys * ye], axis=-1)
    a = jnp.concatenate([rows_x, rows_y], axis=-2)
    rhs = jnp.concatenate([xs, ys], axis=-1)
    return jnp.linalg.solve(a, rhs[..., None])[..., 0]


def _check_points(name: str, points) -> None:
    if points.shape[-2:] != (4, 2) or points.ndim not in (2, 3):
        raise ValueError(f"perspective_transform: `{name}` must have shape (4, 2) or "
                         f"(batch, 4, 2) (four (x, y) corners), got {points.shape}.")


def _perspective_transform(images, start_points, end_points, interpolation="bilinear",
                           fill_value=0, data_format=None):
    """Warps images so that the 4 `start_points` (x, y) of the input land on the
    `end_points` of the output ((4, 2) or (batch, 4, 2) each); outside points get
    `fill_value`. `interpolation` is 'nearest' or 'bilinear'."""
    order = _check_interpolation("perspective_transform", interpolation)
    images = jnp.asarray(images)
    check_images("perspective_transform", images)
    start, end = jnp.asarray(start_points), jnp.asarray(end_points)
    _check_points("start_points", start)
    _check_points("end_points", end)
    if start.shape != end.shape:
        raise ValueError(f"perspective_transform: `start_points` and `end_points` must have "
                         f"the same shape, got {start.shape} and {end.shape}.")
    x, restore = to_nhwc(images, data_format)
    transform = compute_homography_matrix(start, end)
    out = _sampling.warp_projective(x, transform, order, "constant", fill_value)
    return restore(_cast_back(out, images.dtype))


def _map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Values of `inputs` at `coordinates` (one array of positions per input
    dimension, stacked on the leading axis), by nearest (`order=0`) or linear
    (`order=1`) interpolation; `fill_mode` is 'constant' (`fill_value`), 'nearest',
    'wrap', 'mirror' or 'reflect'."""
    inputs = jnp.asarray(inputs)
    coords = [jnp.asarray(c) for c in coordinates]
    if len(coords) != inputs.ndim:
        raise ValueError(f"map_coordinates: `coordinates` must hold one coordinate array per "
                         f"input dimension ({inputs.ndim}), got {len(coords)}.")
    if coords and coords[0].ndim < 1:
        raise ValueError("map_coordinates: `coordinates` must have rank >= 2 (the leading "
                         "axis indexes the input dimensions).")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"map_coordinates: `fill_mode` must be one of {sorted(FILL_MODES)}, "
                         f"got {fill_mode!r}.")
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: `order` must be 0 (nearest) or 1 (linear), got "
                         f"{order!r}.")
    return jax.scipy.ndimage.map_coordinates(inputs, coords, order, fill_mode, fill_value)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Elastically deforms images: every pixel moves by `alpha` times a random
    displacement field (normal noise scaled by `sigma`, smoothed by a Gaussian of
    standard deviation `sigma` over `int(6 * sigma) | 1` taps), independently along rows
    and columns; `seed` is an int, a `SeedGenerator` or None. Outside points follow
    `fill_mode` (default 'reflect'). (Keras's JAX backend draws the same field for both
    axes, moving pixels only diagonally.)"""
    config = {"alpha": alpha, "sigma": float(sigma), "interpolation": interpolation,
              "fill_mode": fill_mode, "fill_value": fill_value, "data_format": data_format}
    if any_symbolic((images,), {}):
        return _ElasticTransform(seed, config)(images)
    return _elastic_core(images, key=key_from_seed(seed), **config)


class _ElasticTransform(Operation):
    """`elastic_transform` as a graph node: the shape is known without drawing a key, and
    each run draws from `seed` (or the training step's key stream for None)."""

    def __init__(self, seed, config: dict):
        super().__init__(name=naming.unique_name("elastic_transform"))
        self.seed, self.config = seed, config

    def call(self, images):
        return _elastic_core(unwrap_variables(images), key=key_from_seed(self.seed),
                             **self.config)

    def compute_output_spec(self, images):
        check_images("elastic_transform", images)
        return KerasTensor(images.shape, images.dtype)


def _elastic_core(images, alpha, sigma, interpolation, fill_mode, fill_value, key,
                  data_format):
    order = _check_interpolation("elastic_transform", interpolation)
    _check_fill_mode("elastic_transform", fill_mode)
    images = jnp.asarray(images)
    check_images("elastic_transform", images)
    x, restore = to_nhwc(images, data_format)
    out = _sampling.elastic_warp(x, alpha, sigma, int(6 * sigma) | 1, key, order, fill_mode,
                                 fill_value)
    return restore(_cast_back(out, images.dtype))


def _scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                         antialias=True):
    """Resamples `images` to `output_shape`, mapping input location `x` of each of
    the `spatial_dims` to `x * scale + translation` (half-pixel centres; outside samples
    are 0), with `method` ('linear'/'bilinear'/'trilinear'/'triangle', 'cubic'/'bicubic'/
    'tricubic', 'lanczos3', 'lanczos5'); `antialias` filters when downsampling."""
    if method not in SCALE_AND_TRANSLATE_METHODS:
        raise ValueError(f"scale_and_translate: `method` must be one of "
                         f"{SCALE_AND_TRANSLATE_METHODS}, got {method!r}.")
    images = jnp.asarray(images)
    return jax.image.scale_and_translate(
        images, tuple(int(d) for d in output_shape), tuple(spatial_dims),
        jnp.asarray(scale), jnp.asarray(translation), method, antialias)


# -- filters ----------------------------------------------------------------------------


def _pair(fn: str, arg: str, value, kind) -> tuple:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(value)
    if isinstance(value, kind) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, (jax.Array, np.ndarray)) and value.shape in ((), (2,)):
        return (value[0], value[1]) if value.shape == (2,) else (value, value)
    raise ValueError(f"{fn}: `{arg}` must be a pair (height, width) or a single value, got "
                     f"{value!r}.")


def _gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blurs every channel with a Gaussian of `kernel_size` = (height, width) taps
    and standard deviations `sigma` = (along height, along width), zero padding at the
    borders; the output has the input's shape and dtype."""
    images = jnp.asarray(images)
    check_images("gaussian_blur", images)
    kh, kw = _pair("gaussian_blur", "kernel_size", kernel_size, numbers.Integral)
    if not all(isinstance(k, numbers.Integral) and k > 0 for k in (kh, kw)):
        raise ValueError(f"gaussian_blur: `kernel_size` must hold positive integers, got "
                         f"{kernel_size!r}.")
    sh, sw = _pair("gaussian_blur", "sigma", sigma, numbers.Real)
    x, restore = to_nhwc(images, data_format)
    x = x.astype(_float_dtype(x.dtype))
    out = separable_blur(x, gaussian_kernel_1d(int(kh), sh, x.dtype),
                         gaussian_kernel_1d(int(kw), sw, x.dtype))
    return restore(_cast_back(out, images.dtype))


def _sobel_edges(images, data_format=None):
    """Sobel gradients of a batch of images: shape `images.shape + (2,)`, the last axis
    holding (d/dy, d/dx) per channel (3x3 Sobel kernels, zero padding)."""
    images = jnp.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"sobel_edges: expected a batch of images of rank 4, got shape "
                         f"{images.shape}.")
    x, restore = to_nhwc(images, data_format)
    x = x.astype(_float_dtype(x.dtype))
    smooth = jnp.asarray([1.0, 2.0, 1.0], x.dtype)
    diff = jnp.asarray([-1.0, 0.0, 1.0], x.dtype)
    dy = separable_blur(x, diff, smooth)
    dx = separable_blur(x, smooth, diff)
    return jnp.stack([restore(dy), restore(dx)], axis=-1)


def _ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
          data_format=None):
    """Structural similarity of `image1` and `image2` (same shape): Gaussian-weighted
    (`filter_size` taps, `filter_sigma`) local SSIM over full windows, averaged over
    positions and channels; one value per image (a scalar for unbatched inputs), 1 for
    identical images. `max_val` is the dynamic range (1.0, or 255 for 8-bit values)."""
    image1, image2 = jnp.asarray(image1), jnp.asarray(image2)
    for name, im in (("image1", image1), ("image2", image2)):
        check_images("ssim", im, name)
    if image1.shape != image2.shape:
        raise ValueError(f"ssim: `image1` and `image2` must have the same shape, got "
                         f"{image1.shape} and {image2.shape}.")
    x1, _ = to_nhwc(image1, data_format)
    x2, _ = to_nhwc(image2, data_format)
    dtype = _float_dtype(jnp.result_type(x1.dtype, x2.dtype))
    x1, x2 = x1.astype(dtype), x2.astype(dtype)
    kernel = gaussian_kernel_1d(int(filter_size), filter_sigma, dtype)

    def mean(z):
        return separable_blur(z, kernel, kernel, padding="VALID")

    mu1, mu2 = mean(x1), mean(x2)
    var1 = mean(x1 * x1) - mu1 ** 2
    var2 = mean(x2 * x2) - mu2 ** 2
    cov = mean(x1 * x2) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    ssim_map = ((2 * mu1 * mu2 + c1) * (2 * cov + c2)) / (
        (mu1 ** 2 + mu2 ** 2 + c1) * (var1 + var2 + c2))
    out = jnp.mean(ssim_map, axis=(1, 2, 3))
    return out[0] if image1.ndim == 3 else out


# -- patches -----------------------------------------------------------------------------


def _tuple(fn: str, arg: str, value, n: int) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),) * n
    if (not isinstance(value, (tuple, list)) or len(value) != n
            or not all(isinstance(v, numbers.Integral) and v > 0 for v in value)):
        raise ValueError(f"{fn}: `{arg}` must be a positive integer or a tuple of {n} positive "
                         f"integers, got {value!r}.")
    return tuple(int(v) for v in value)


def _patches(fn: str, images, size, strides, dilation_rate, padding, data_format, n: int):
    """Patches of `n` spatial dims: each output position holds the flattened
    (patch_dims..., channels) window."""
    data_format = standardize_data_format(data_format)
    images = jnp.asarray(images)
    if images.ndim not in (n + 1, n + 2):
        raise ValueError(f"{fn}: expected inputs of rank {n + 1} (unbatched) or {n + 2} "
                         f"(batched), got shape {images.shape}.")
    size = _tuple(fn, "size", size, n)
    strides = size if strides is None else _tuple(fn, "strides", strides, n)
    dilation = _tuple(fn, "dilation_rate", dilation_rate, n)
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{fn}: `padding` must be 'valid' or 'same', got {padding!r}.")
    x = images if images.ndim == n + 2 else images[None]
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    out_sizes, pads = [], [(0, 0)]
    for length, k, s, d in zip(spatial, size, strides, dilation):
        span = (k - 1) * d + 1
        if padding == "same":
            out = -(-length // s)
            total = max((out - 1) * s + span - length, 0)
            pads.append((total // 2, total - total // 2))
        else:
            out = max((length - span) // s + 1, 0)
            pads.append((0, 0))
        out_sizes.append(out)
    x = jnp.pad(x, pads + [(0, 0)])
    windows = []
    for offset in np.ndindex(*size):
        index = [slice(None)]
        for o, s, d, m in zip(offset, strides, dilation, out_sizes):
            index.append(slice(o * d, o * d + (m - 1) * s + 1, s))
        windows.append(x[tuple(index)])
    patches = jnp.stack(windows, axis=-2)
    patches = patches.reshape(*patches.shape[:-2], -1)
    if data_format == "channels_first":
        patches = jnp.moveaxis(patches, -1, 1)
    return patches if images.ndim == n + 2 else patches[0]


def _extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                     data_format=None):
    """Extracts patches: `size` = (height, width) (or an int) gives 2D patches of
    images, (depth, height, width) 3D patches of volumes. Each output position holds one
    window flattened as (patch rows, patch columns, channels); `strides` default to
    `size`, `dilation_rate` spaces the window taps, `padding` is 'valid' or 'same'."""
    if not isinstance(size, numbers.Integral) and (
            not isinstance(size, (tuple, list)) or len(size) not in (2, 3)):
        raise ValueError(f"extract_patches: `size` must be an int, or a tuple of 2 (2D "
                         f"patches) or 3 (3D patches) ints, got {size!r}.")
    n = 3 if isinstance(size, (tuple, list)) and len(size) == 3 else 2
    return _patches("extract_patches", images, size, strides, dilation_rate, padding,
                    data_format, n)


def _extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                        data_format=None):
    """Extracts 3D patches of volumes `(depth, height, width, channels)` (batched
    or not): `extract_patches` with a 3-dim `size`."""
    return _patches("extract_patches_3d", volumes, size, strides, dilation_rate, padding,
                    data_format, 3)


_elastic_core = jit_op(_elastic_core, "sigma", "interpolation", "fill_mode", "data_format")
_PAD = ("top_padding", "left_padding", "bottom_padding", "right_padding", "target_height",
        "target_width", "data_format")
_CROP = tuple(n.replace("padding", "cropping") for n in _PAD)
_PATCHES = ("size", "strides", "dilation_rate", "padding", "data_format")
rgb_to_grayscale = symbolic_function(jit_op(_rgb_to_grayscale, "data_format"),
                                     "rgb_to_grayscale")
rgb_to_hsv = symbolic_function(jit_op(_rgb_to_hsv, "data_format"), "rgb_to_hsv")
hsv_to_rgb = symbolic_function(jit_op(_hsv_to_rgb, "data_format"), "hsv_to_rgb")
resize = symbolic_function(jit_op(
    _resize, "size", "interpolation", "antialias", "crop_to_aspect_ratio",
    "pad_to_aspect_ratio", "fill_mode", "data_format"), "resize")
pad_images = symbolic_function(jit_op(_pad_images, *_PAD), "pad_images")
crop_images = symbolic_function(jit_op(_crop_images, *_CROP), "crop_images")
affine_transform = symbolic_function(jit_op(
    _affine_transform, "interpolation", "fill_mode", "data_format"), "affine_transform")
perspective_transform = symbolic_function(jit_op(
    _perspective_transform, "interpolation", "data_format"), "perspective_transform")
map_coordinates = symbolic_function(_map_coordinates, "map_coordinates")
scale_and_translate = symbolic_function(jit_op(
    _scale_and_translate, "output_shape", "spatial_dims", "method", "antialias"),
    "scale_and_translate")
gaussian_blur = symbolic_function(jit_op(_gaussian_blur, "kernel_size", "data_format"),
                                  "gaussian_blur")
sobel_edges = symbolic_function(jit_op(_sobel_edges, "data_format"), "sobel_edges")
ssim = symbolic_function(jit_op(_ssim, "filter_size", "data_format"), "ssim")
extract_patches = symbolic_function(jit_op(_extract_patches, *_PATCHES), "extract_patches")
extract_patches_3d = symbolic_function(jit_op(_extract_patches_3d, *_PATCHES),
                                       "extract_patches_3d")
