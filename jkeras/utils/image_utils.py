"""Image files and arrays: `load_img`, `img_to_array`, `array_to_img`, `save_img`,
`smart_resize` (Keras's `keras.utils` / `keras.preprocessing.image` helpers),
with pillow."""

from __future__ import annotations

import io
import os
import pathlib
import warnings

import numpy as np

from jkeras.backend.config import floatx, standardize_data_format
from jkeras.utils.image_resize import (
    INTERPOLATIONS,
    aspect_crop_box,
    check_interpolation,
    check_size,
    resize_image,
)


def _pil():
    from PIL import Image

    return Image


def pil_interpolations() -> dict:
    """Keras's interpolation names for `load_img` -> pillow resampling filters."""
    r = _pil().Resampling
    return {"nearest": r.NEAREST, "bilinear": r.BILINEAR, "bicubic": r.BICUBIC,
            "hamming": r.HAMMING, "box": r.BOX, "lanczos": r.LANCZOS}


_COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}


def check_color_mode(fn: str, color_mode) -> int:
    """The number of channels of `color_mode`, or a ValueError naming `fn`."""
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            f'{fn}: `color_mode` must be one of "grayscale", "rgb", "rgba"; got '
            f"{color_mode!r}."
        )
    return _COLOR_MODES[color_mode]


def open_image(path, fn: str = "load_img"):
    """A pillow image read from a path (str, bytes, pathlib.Path) or an
    io.BytesIO; a file that is not an image raises ValueError naming it."""
    if isinstance(path, io.BytesIO):
        data, where = path, "the given io.BytesIO"
    elif isinstance(path, (str, bytes, pathlib.Path)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        where = os.fsdecode(path)
        with open(path, "rb") as f:
            data = io.BytesIO(f.read())
    else:
        raise TypeError(
            f"{fn}: `path` must be a file path (str, bytes, pathlib.Path) or an io.BytesIO, "
            f"got {type(path).__name__}."
        )
    image = _pil()
    try:
        img = image.open(data)
        img.load()
    except (image.UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(
            f"{fn}: cannot read {where} as an image ({type(e).__name__}: {e}). Check that the "
            f"file is a valid image (formats pillow can decode: PNG, JPEG, BMP, GIF, ...)."
        ) from e
    return img


def load_img(path, color_mode: str = "rgb", target_size=None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False):
    """Loads an image file as a pillow image.

    `color_mode` "grayscale" (kept as is if already 8/16/32-bit grayscale), "rgb"
    or "rgba"; `target_size` (height, width) resizes with `interpolation`
    ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos"), after
    cropping the centred window of the target aspect ratio when
    `keep_aspect_ratio=True`.
    """
    check_color_mode("load_img", color_mode)
    img = open_image(path)
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode == "rgba":
        if img.mode != "RGBA":
            img = img.convert("RGBA")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    if target_size is None:
        return img
    height, width = check_size("load_img", "target_size", target_size)
    if img.size == (width, height):
        return img
    methods = pil_interpolations()
    if interpolation not in methods:
        raise ValueError(
            f"load_img: invalid interpolation method {interpolation!r}; supported methods "
            f"are {', '.join(methods)}."
        )
    box = None
    if keep_aspect_ratio:
        top, left, crop_h, crop_w = _pil_crop_box(img.size, height, width)
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize((width, height), methods[interpolation], box=box)


def _pil_crop_box(size, height: int, width: int) -> tuple[int, int, int, int]:
    img_w, img_h = size
    crop_h = min(img_h, (img_w * height) // width)
    crop_w = min(img_w, (img_h * width) // height)
    return (img_h - crop_h) // 2, (img_w - crop_w) // 2, crop_h, crop_w


def img_to_array(img, data_format: str | None = None, dtype=None) -> np.ndarray:
    """A pillow image as a numpy array (height, width, channels), or
    (channels, height, width) for "channels_first"; `dtype` defaults to floatx."""
    data_format = standardize_data_format(data_format)
    x = np.asarray(img, dtype=dtype or floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}; expected a 2-D "
                         f"(grayscale) or 3-D image.")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format: str | None = None, scale: bool = True, dtype=None):
    """A 3-D array (height, width, channels), or (channels, height, width) for
    "channels_first", as a pillow image: 4 channels give RGBA, 3 RGB, 1 grayscale
    ("L", or 32-bit "I" when values exceed 255). With `scale=True` values are
    first mapped linearly onto [0, 255]."""
    data_format = standardize_data_format(data_format)
    x = np.array(x, dtype=dtype or floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected an image array of rank 3 (a single image), "
                         f"got an array of shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    image = _pil()
    channels = x.shape[2]
    if channels == 4:
        return image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: unsupported number of channels {channels} (shape "
                     f"{x.shape}); expected 1, 3 or 4.")


def save_img(path, x, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs) -> None:
    """Saves an image array to `path` (a path or a file object) with pillow.

    The format comes from `file_format` or the file extension ("jpg" means
    JPEG); an RGBA image saved as JPEG is converted to RGB with a warning.
    `kwargs` go to `PIL.Image.save`.
    """
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


_JAX_METHODS = {"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic",
                "lanczos3": "lanczos3", "lanczos5": "lanczos5", "area": "area"}


def smart_resize(x, size, interpolation: str = "bilinear", data_format: str = "channels_last",
                 **kwargs):
    """Resizes images (height, width, channels) or a batch of them to `size`
    without distorting them: the largest centred window with the aspect ratio
    of `size` is cropped, then resized with `interpolation`. A numpy array gives
    a float32 numpy array; a JAX array (also inside `jit`) a JAX array."""
    if kwargs:
        raise TypeError(f"smart_resize() got unexpected keyword arguments: {list(kwargs)}")
    height, width = check_size("smart_resize", "size", size)
    data_format = standardize_data_format(data_format)
    import jax

    on_device = isinstance(x, jax.Array)
    interpolation = check_interpolation(
        "smart_resize", interpolation, tuple(_JAX_METHODS) if on_device else INTERPOLATIONS)
    img = x if on_device else np.asarray(x)
    if img.ndim not in (3, 4):
        raise ValueError(
            f"smart_resize: expected an image array of shape (height, width, channels) or "
            f"(batch_size, height, width, channels), got shape {tuple(img.shape)}."
        )
    first = data_format == "channels_first"
    h_axis = img.ndim - 2 if first else img.ndim - 3
    top, left, crop_h, crop_w = aspect_crop_box(img.shape[h_axis], img.shape[h_axis + 1],
                                                height, width)
    index = [slice(None)] * img.ndim
    index[h_axis] = slice(top, top + crop_h)
    index[h_axis + 1] = slice(left, left + crop_w)
    img = img[tuple(index)]
    if on_device:
        import jax.numpy as jnp

        shape = list(img.shape)
        shape[h_axis], shape[h_axis + 1] = height, width
        img = img.astype(jnp.result_type(img.dtype, jnp.float32))
        return jax.image.resize(img, tuple(shape), _JAX_METHODS[interpolation],
                                antialias=False)
    batch = img if img.ndim == 4 else img[None]
    if first:
        batch = batch.transpose(0, 2, 3, 1)
    out = np.stack([resize_image(b, (height, width), interpolation) for b in batch])
    if first:
        out = out.transpose(0, 3, 1, 2)
    return out if img.ndim == 4 else out[0]
