"""ImageNet helpers shared by the applications: input preprocessing in the three
conventions the pretrained weights expect, decoding of 1000-class predictions, and the
input-shape / padding rules the model builders follow.

The ImageNet class index (index -> (WordNet id, label), Keras's
`imagenet_class_index.json` layout) ships with jkeras as package data, so
`decode_predictions` works offline.
"""

from __future__ import annotations

import functools
import json
import warnings
from importlib import resources

import numpy as np

from jkeras.backend import config

_PREPROCESS_MODES = ("caffe", "tf", "torch")
# Per-channel statistics of ImageNet: BGR means (0-255 scale) for "caffe",
# RGB means/stds (0-1 scale) for "torch".
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
NUM_IMAGENET_CLASSES = 1000


def _resolve_data_format(data_format, owner: str) -> str:
    if data_format is None:
        return config.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            f"{owner}: data_format must be 'channels_first', 'channels_last' or None (the "
            f"global setting); got {data_format!r}."
        )
    return data_format


def _channel_axis(ndim: int, data_format: str) -> int:
    if data_format == "channels_last":
        return ndim - 1
    return 0 if ndim == 3 else 1


def _per_channel(values, ndim: int, axis: int) -> np.ndarray:
    """`values` (one per channel) shaped to broadcast along `axis` of an ndim array."""
    shape = [1] * ndim
    shape[axis] = len(values)
    return np.asarray(values, dtype="float64").reshape(shape)


def preprocess_input(x, data_format=None, mode: str = "caffe"):
    """Scales a batch of images (or one image) with values in [0, 255] the way an
    ImageNet model was trained.

    Modes: "caffe" (RGB -> BGR, then subtract the ImageNet channel means, no scaling),
    "tf" (scale to [-1, 1]), "torch" (scale to [0, 1], then normalize each channel
    with the ImageNet mean and standard deviation). `x` is a numpy array (a new float
    array is returned; the input is never modified, unlike Keras, which overwrites
    float numpy inputs in place), a JAX array, a jkeras Variable or a symbolic tensor
    (the result is recorded in the graph). Integer inputs are converted to floatx
    first. The image needs at least 3 dimensions; "caffe" and "torch" need exactly
    3 channels (last axis for channels_last; axis 0 of a single image or axis 1 of a
    batch for channels_first).
    """
    owner = "preprocess_input"
    if mode not in _PREPROCESS_MODES:
        raise ValueError(
            f"{owner}: mode must be one of {list(_PREPROCESS_MODES)}; got {mode!r}."
        )
    data_format = _resolve_data_format(data_format, owner)
    if not hasattr(x, "shape"):
        x = np.asarray(x)
    ndim = len(x.shape)
    if ndim < 3:
        raise ValueError(
            f"{owner}: expected an image (3 dims) or a batch of images (4 dims); got an "
            f"input of shape {tuple(x.shape)}."
        )
    axis = _channel_axis(ndim, data_format)
    if mode != "tf" and x.shape[axis] != 3:
        raise ValueError(
            f"{owner}: mode={mode!r} needs 3 color channels on axis {axis} "
            f"({data_format}); got shape {tuple(x.shape)}."
        )
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, axis, ndim, mode)
    return _preprocess_tensor(x, axis, ndim, mode)


def _preprocess_numpy(x: np.ndarray, axis: int, ndim: int, mode: str) -> np.ndarray:
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(config.floatx())
    x = x.astype(dtype)  # always a copy: the caller's array stays as it was
    if mode == "tf":
        return (x / 127.5 - 1.0).astype(dtype)
    if mode == "torch":
        out = (x / 255.0 - _per_channel(_TORCH_MEAN, ndim, axis)) / _per_channel(
            _TORCH_STD, ndim, axis)
        return out.astype(dtype)
    bgr = np.flip(x, axis=axis)
    return (bgr - _per_channel(_CAFFE_BGR_MEAN, ndim, axis)).astype(dtype)


def _preprocess_tensor(x, axis: int, ndim: int, mode: str):
    from jkeras import ops

    dtype = str(ops.dtype(x))
    if not np.issubdtype(np.dtype(dtype), np.floating):
        dtype = config.floatx()
        x = ops.cast(x, dtype)
    if mode == "tf":
        return ops.subtract(ops.divide(x, 127.5), 1.0)
    if mode == "torch":
        mean = _per_channel(_TORCH_MEAN, ndim, axis).astype(dtype)
        std = _per_channel(_TORCH_STD, ndim, axis).astype(dtype)
        return ops.divide(ops.subtract(ops.divide(x, 255.0), mean), std)
    mean = _per_channel(_CAFFE_BGR_MEAN, ndim, axis).astype(dtype)
    return ops.subtract(ops.flip(x, axis=axis), mean)


@functools.lru_cache(maxsize=1)
def imagenet_class_index() -> dict[str, tuple[str, str]]:
    """The ImageNet-1k class index shipped with jkeras: "0".."999" -> (WordNet id,
    label), the labels as Keras writes them (first WordNet lemma, spaces as '_')."""
    text = resources.files("jkeras.applications").joinpath(
        "imagenet_class_index.json").read_text(encoding="utf-8")
    return {k: (v[0], v[1]) for k, v in json.loads(text).items()}


def decode_predictions(preds, top: int = 5) -> list[list[tuple]]:
    """The `top` most likely ImageNet classes of each sample, best first, as
    `(wordnet_id, label, score)` tuples; `preds` has shape (samples, 1000)."""
    owner = "decode_predictions"
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"{owner}: top must be a positive integer; got {top!r}.")
    shape = tuple(getattr(preds, "shape", np.shape(preds)))
    if len(shape) != 2 or shape[1] != NUM_IMAGENET_CLASSES:
        raise ValueError(
            f"{owner} expects a batch of ImageNet predictions, an array of shape "
            f"(samples, {NUM_IMAGENET_CLASSES}); got shape {shape}."
        )
    index = imagenet_class_index()
    preds = np.asarray(preds)
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[-int(top):][::-1]
        decoded = [(*index[str(i)], row[i]) for i in best]
        decoded.sort(key=lambda item: item[2], reverse=True)
        results.append(decoded)
    return results


def obtain_input_shape(input_shape, default_size: int, min_size: int, data_format: str,
                       require_flatten: bool, weights=None, owner: str = "application"):
    """The per-sample input shape a model is built for: `input_shape` checked (3 dims,
    at least `min_size` pixels, 3 channels with ImageNet weights, the default size
    with ImageNet weights and a classifier top), or the default (`default_size`
    square, or any size when there is no top to flatten)."""
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn(
                f"{owner}: this model usually expects 1 or 3 input channels; input_shape "
                f"{tuple(input_shape)} has {channels}.", stacklevel=3)
        default_shape = ((channels, default_size, default_size) if channels_first
                         else (default_size, default_size, channels))
    else:
        default_shape = ((3, default_size, default_size) if channels_first
                         else (default_size, default_size, 3))
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError(
                f"{owner}: with weights='imagenet' and include_top=True, input_shape must "
                f"be {default_shape}; got {tuple(input_shape)}. Pass include_top=False "
                f"to use another size."
            )
        return default_shape
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                f"{owner}: input_shape must be a tuple of 3 integers (height, width, "
                f"channels for channels_last); got {input_shape}."
            )
        channels = input_shape[0] if channels_first else input_shape[-1]
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if weights == "imagenet" and channels != 3:
            raise ValueError(
                f"{owner}: ImageNet weights need 3 input channels; got input_shape "
                f"{input_shape}."
            )
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(
                f"{owner}: input size must be at least {min_size}x{min_size}; got "
                f"input_shape {input_shape}."
            )
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(
            f"{owner}: include_top=True needs a fully known input_shape; got "
            f"{input_shape}."
        )
    return input_shape


def correct_pad(inputs, kernel_size) -> tuple[tuple[int, int], tuple[int, int]]:
    """ZeroPadding2D amounts that make a stride-2 'valid' convolution with this kernel
    line up as TensorFlow's 'same' padding does (one pixel less before the image
    when its size is even)."""
    first = 2 if config.image_data_format() == "channels_first" else 1
    size = tuple(inputs.shape[first:first + 2])
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel[0] // 2, kernel[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def validate_activation(classifier_activation, weights, owner: str = "application") -> None:
    """Pretrained weights fit only a softmax (or no) activation on the classifier."""
    if weights is None:
        return
    from jkeras import activations

    fn = activations.get(classifier_activation)
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(
            f"{owner}: with pretrained weights classifier_activation must be None or "
            f"'softmax'; got {classifier_activation!r}."
        )
