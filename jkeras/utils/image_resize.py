"""Resizing images held in host (numpy) memory, for data loading.

`resize_image` follows `jax.image.resize(..., antialias=False)` (what Keras's
JAX backend and the jkeras `Resizing` layer use): half-pixel centres, the
kernel sampled at the input pixels, weights renormalised where the kernel
reaches past the image border. Nearest-neighbour picks pixel
`floor((i + 0.5) * in / out)`, and "area" averages the input pixels under each
output pixel weighted by overlap, as TensorFlow's area resize does. It works
with two small matrix products per image, without a device round trip, so
data loading threads can call it. `smart_resize` (crop to the target aspect
ratio, then resize) and `resize_with_pad` (resize to fit, then pad with zeros,
as `tf.image.resize_with_pad`) build on it.
"""

from __future__ import annotations

import math

import numpy as np

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                  "gaussian", "mitchellcubic")


def _triangle(x):
    return np.maximum(0.0, 1.0 - x)


def _keys_cubic(x):  # Keys (1981), a = -0.5
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _lanczos(radius: float):
    def kernel(x):
        return np.where(x < radius, np.sinc(x) * np.sinc(x / radius), 0.0)
    return kernel


def _gaussian(x):  # radius 1.5, sigma 0.5 (TensorFlow's choice)
    return np.where(x < 1.5, np.exp(-x * x / (2 * 0.25)), 0.0)


def _mitchell(x):  # Mitchell-Netravali, B = C = 1/3
    near = (((7.0 / 6.0) * x - 2.0) * x) * x + 8.0 / 9.0
    far = (((-7.0 / 18.0) * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


# name -> (kernel, interpolating: the identical size is the identity)
_KERNELS = {"bilinear": (_triangle, True), "bicubic": (_keys_cubic, True),
            "lanczos3": (_lanczos(3.0), True), "lanczos5": (_lanczos(5.0), True),
            "gaussian": (_gaussian, False), "mitchellcubic": (_mitchell, False)}


def _weights(in_size: int, out_size: int, method: str) -> np.ndarray:
    """The (out_size, in_size) matrix mapping one image axis to its resized axis."""
    inv_scale = in_size / out_size
    if method == "area":
        left = np.arange(out_size) * inv_scale
        right = left + inv_scale
        pix = np.arange(in_size)
        w = np.maximum(0.0, np.minimum(right[:, None], pix[None, :] + 1.0)
                       - np.maximum(left[:, None], pix[None, :]))
    else:
        sample = (np.arange(out_size) + 0.5) * inv_scale - 0.5
        w = _KERNELS[method][0](np.abs(sample[:, None] - np.arange(in_size)[None, :]))
        w = np.where((sample >= -0.5) & (sample <= in_size - 0.5), 1.0, 0.0)[:, None] * w
    total = w.sum(axis=1, keepdims=True)
    ok = np.abs(total) > 1000 * np.finfo(np.float32).eps
    return np.where(ok, w / np.where(ok, total, 1.0), 0.0).astype(np.float32)


def _nearest_indices(in_size: int, out_size: int) -> np.ndarray:
    pos = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * np.float32(in_size)
    return np.minimum(np.floor(pos / np.float32(out_size)).astype(np.int64), in_size - 1)


def check_interpolation(fn: str, interpolation, allowed=INTERPOLATIONS) -> str:
    """`interpolation` lower-cased, or a ValueError naming `fn` and the choices."""
    name = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if name not in allowed:
        raise ValueError(
            f"{fn}: `interpolation` must be one of {', '.join(allowed)}; got "
            f"{interpolation!r}."
        )
    return name


def check_size(fn: str, arg: str, size, allow_none: bool = False):
    """`size` as a (height, width) tuple of positive ints (an int is square)."""
    if size is None and allow_none:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                       for d in size)):
        raise ValueError(
            f"{fn}: `{arg}` must be a (height, width) tuple of 2 positive integers"
            f"{' or None' if allow_none else ''}; got {size!r}."
        )
    return int(size[0]), int(size[1])


def resize_image(image: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear"
                 ) -> np.ndarray:
    """`image` (height, width, channels) resized to `size` = (height, width), as
    float32 (see the module docstring for the methods)."""
    image = np.asarray(image)
    out_h, out_w = size
    in_h, in_w = image.shape[:2]
    if interpolation == "nearest":
        out = image
        if in_h != out_h:
            out = out[_nearest_indices(in_h, out_h)]
        if in_w != out_w:
            out = out[:, _nearest_indices(in_w, out_w)]
        return out.astype(np.float32, copy=False)
    out = image.astype(np.float32, copy=False)
    identity_ok = interpolation == "area" or _KERNELS[interpolation][1]
    if in_h != out_h or not identity_ok:
        out = np.tensordot(_weights(in_h, out_h, interpolation), out, axes=(1, 0))
    if in_w != out_w or not identity_ok:
        out = np.einsum("ow,hwc->hoc", _weights(in_w, out_w, interpolation), out)
    return np.ascontiguousarray(out, dtype=np.float32)


def aspect_crop_box(height: int, width: int, target_h: int, target_w: int
                    ) -> tuple[int, int, int, int]:
    """The largest centred window with the target's aspect ratio:
    (top, left, crop height, crop width), as Keras's `smart_resize` computes it."""
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def resize_with_pad(image: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear"
                    ) -> np.ndarray:
    """`image` (height, width, channels) scaled to fit inside `size` keeping its
    aspect ratio, then centred on a zero background of `size` (the placement
    and sizes of `tf.image.resize_with_pad`)."""
    height, width = image.shape[:2]
    target_h, target_w = size
    ratio = max(width / target_w, height / target_h)
    new_h, new_w = height / ratio, width / ratio
    top = max(0, int(math.floor((target_h - new_h) / 2)))
    left = max(0, int(math.floor((target_w - new_w) / 2)))
    new_h, new_w = max(int(math.floor(new_h)), 1), max(int(math.floor(new_w)), 1)
    resized = resize_image(image, (new_h, new_w), interpolation)
    out = np.zeros((target_h, target_w, image.shape[2]), np.float32)
    out[top:top + new_h, left:left + new_w] = resized[:target_h - top, :target_w - left]
    return out
