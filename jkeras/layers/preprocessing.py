"""Preprocessing layers (Keras 3 names and semantics): Rescaling, Normalization,
CenterCrop, Resizing.

They compute in the layer's compute dtype (integer images become floats), run inside
compiled models like any layer, and each sample's output depends only on that sample.
`Normalization.adapt` computes its statistics on the host with numpy.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.config import epsilon as _epsilon
from jkeras.backend.config import standardize_data_format
from jkeras.engine.layer import Layer
from jkeras.layers.activation_layers import ShapePreservingLayer
from jkeras.ops import image as image_ops

__all__ = ["CenterCrop", "Normalization", "Rescaling", "Resizing"]


def _as_number_or_list(layer: str, arg: str, value):
    """A float, or a list of floats (per channel, broadcast along the last axis)."""
    if isinstance(value, (np.ndarray, jax.Array)):
        value = np.asarray(value).tolist()
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
            return [float(v) for v in value]
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ValueError(
        f"{layer}: `{arg}` must be a number or a list of numbers (one per channel), "
        f"got {value!r}."
    )


class Rescaling(ShapePreservingLayer):
    """`inputs * scale + offset`, e.g. `Rescaling(1 / 255)` maps [0, 255] to [0, 1] and
    `Rescaling(1 / 127.5, offset=-1)` to [-1, 1]. `scale`/`offset` may be lists (one
    value per channel of the last axis). Integer inputs are cast to the compute dtype."""

    _batch_independent = True  # each sample's output depends only on it

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _as_number_or_list("Rescaling", "scale", scale)
        self.offset = _as_number_or_list("Rescaling", "offset", offset)

    def call(self, inputs):
        x = self._float_input(inputs)
        scale = jnp.asarray(self.scale, x.dtype)
        offset = jnp.asarray(self.offset, x.dtype)
        return x * scale + offset

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


def _axis_tuple(axis) -> tuple[int, ...]:
    if axis is None:
        return ()
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return (int(axis),)
    if isinstance(axis, (list, tuple)) and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis
    ):
        return tuple(int(a) for a in axis)
    raise ValueError(
        f"Normalization: `axis` must be an int, a tuple of ints or None (the feature axes "
        f"that keep their own mean and variance), got {axis!r}."
    )


class Normalization(ShapePreservingLayer):
    """Shifts and scales inputs feature-wise: `(x - mean) / max(sqrt(variance), eps)`
    (`eps` = `jkeras.backend.epsilon()`), or `mean + x * max(sqrt(variance), eps)` with
    `invert=True`.

    `axis` names the axes that keep separate statistics (default -1: one mean and
    variance per feature of the last axis; None: one scalar mean and variance).
    Give `mean` and `variance` (broadcastable to the kept axes' shape), or learn them
    with `adapt(data)`; adapted statistics live in the non-trainable weights 'mean',
    'variance' and 'count' (the number of values reduced per statistic; Keras 3's names
    and order), so they are saved and loaded with the model.
    """

    _batch_independent = True  # each sample's output depends only on it

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self._axis = _axis_tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError(
                f"Normalization '{self.name}': give both `mean` and `variance` or neither "
                f"(then call adapt(data)); got mean={mean!r}, variance={variance!r}."
            )
        self.input_mean = None if mean is None else np.asarray(mean, "float64")
        self.input_variance = None if variance is None else np.asarray(variance, "float64")
        if self.input_variance is not None and np.any(self.input_variance < 0):
            raise ValueError(
                f"Normalization '{self.name}': `variance` must be non-negative, got "
                f"{variance!r}."
            )
        self.invert = bool(invert)
        self.mean = self.variance = self.count = None

    def _shapes(self, input_shape) -> tuple[tuple, tuple, list]:
        """(kept axes, shape of the statistics, broadcast shape) for an input shape."""
        rank = len(input_shape)
        keep = []
        for a in self._axis:
            if not -rank <= a < rank:
                raise ValueError(
                    f"Normalization '{self.name}': axis {a} is out of range for an input of "
                    f"shape {tuple(input_shape)}."
                )
            keep.append(a % rank)
        keep = tuple(sorted(set(keep)))
        if 0 in keep and rank > 1:
            raise ValueError(
                f"Normalization '{self.name}': `axis` may not be the batch axis 0; give the "
                f"feature axes (e.g. axis=-1) or axis=None for scalar statistics."
            )
        stats_shape = tuple(input_shape[a] for a in keep)
        if any(d is None for d in stats_shape):
            raise ValueError(
                f"Normalization '{self.name}': the kept axes {keep} of the input shape "
                f"{tuple(input_shape)} must have known sizes."
            )
        bshape = [input_shape[a] if a in keep else 1 for a in range(rank)]
        return keep, stats_shape, bshape

    def build(self, input_shape):
        keep, stats_shape, bshape = self._shapes(tuple(input_shape))
        self._keep_axis, self._stats_shape, self._broadcast_shape = keep, stats_shape, bshape
        self._built_rank = len(input_shape)
        if self.input_mean is None:
            self.mean = self.add_weight("mean", stats_shape, "zeros", trainable=False)
            self.variance = self.add_weight("variance", stats_shape, "ones", trainable=False)
            # Keras 3 keeps a scalar 'count' too (for files of older Keras versions).
            self.count = self.add_weight("count", (), "zeros", dtype="int32", trainable=False)
            self._const_mean = self._const_variance = None
        else:
            try:
                mean = np.broadcast_to(self.input_mean, stats_shape)
                var = np.broadcast_to(self.input_variance, stats_shape)
            except ValueError:
                raise ValueError(
                    f"Normalization '{self.name}': `mean` of shape {self.input_mean.shape} and "
                    f"`variance` of shape {self.input_variance.shape} must broadcast to the "
                    f"statistics shape {stats_shape} (the sizes of axis={self.axis})."
                ) from None
            self._const_mean = mean.reshape(bshape).astype("float32")
            self._const_variance = var.reshape(bshape).astype("float32")
        self.built = True

    def _validate_input(self, inputs) -> None:
        super()._validate_input(inputs)
        shape = tuple(inputs.shape)
        _, stats_shape, _ = self._shapes(shape)
        if self.built and stats_shape != self._stats_shape:
            raise ValueError(
                f"Normalization '{self.name}' was built for statistics of shape "
                f"{self._stats_shape} (axis={self.axis}), but got an input of shape {shape}."
            )

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Computes the mean and variance of `data` over the non-kept axes (on the host,
        in float64) and stores them in the 'mean', 'variance' and 'count' weights. `data` is an
        array, or an iterable of arrays (batches); `batch_size`/`steps` are accepted for
        Keras compatibility (`steps` limits the batches read from an iterable)."""
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization '{self.name}' was given `mean` and `variance`, so it cannot "
                f"be adapted. Create it without them to learn the statistics from data."
            )
        if isinstance(data, (np.ndarray, jax.Array, list)) or hasattr(data, "__array__"):
            batches = [np.asarray(data)]
        else:
            batches = data
        count, mean, m2 = 0, None, None
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):  # (x, y) pairs: the features are first
                batch = batch[0]
            x = np.asarray(batch, dtype="float64")
            if not self.built:
                shape = (None, *x.shape[1:]) if x.ndim > 1 else x.shape
                self._build_input_shape = shape
                self.build(shape)
            elif self._shapes(x.shape)[1] != self._stats_shape:
                raise ValueError(
                    f"Normalization '{self.name}'.adapt: the layer was built for statistics "
                    f"of shape {self._stats_shape} (axis={self.axis}), got data of shape "
                    f"{x.shape}."
                )
            if x.ndim != self._built_rank:
                raise ValueError(
                    f"Normalization '{self.name}'.adapt: expected data of rank "
                    f"{self._built_rank}, got an array of shape {x.shape}."
                )
            reduce_axes = tuple(a for a in range(x.ndim) if a not in self._keep_axis)
            n = int(np.prod([x.shape[a] for a in reduce_axes])) if reduce_axes else 1
            if n == 0:
                continue
            mu = x.mean(axis=reduce_axes, keepdims=True)
            b_mean = mu.reshape(self._stats_shape)
            b_m2 = ((x - mu) ** 2).sum(axis=reduce_axes).reshape(self._stats_shape)
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
            else:  # Chan et al.'s parallel update of mean and sum of squared deviations
                total = count + n
                delta = b_mean - mean
                mean = mean + delta * (n / total)
                m2 = m2 + b_m2 + delta ** 2 * (count * n / total)
                count = total
        if mean is None:
            raise ValueError(f"Normalization '{self.name}'.adapt: `data` holds no samples.")
        self.mean.assign(mean.astype(self.mean.dtype))
        self.variance.assign((m2 / count).astype(self.variance.dtype))
        self.count.assign(min(count, np.iinfo(np.int32).max))

    def call(self, inputs):
        x = self._float_input(inputs)
        if self.mean is not None:
            mean = self.mean.value.reshape(self._broadcast_shape)
            var = self.variance.value.reshape(self._broadcast_shape)
        else:
            mean, var = self._const_mean, self._const_variance
        mean = jnp.asarray(mean, x.dtype)
        std = jnp.maximum(jnp.sqrt(jnp.asarray(var, x.dtype)), _epsilon())
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def get_config(self):
        def plain(v):
            return None if v is None else np.asarray(v).tolist()

        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}


def _positive_int(layer: str, arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{layer}: `{arg}` must be a positive integer, got {value!r}.")
    return int(value)


class _ImageLayer(Layer):
    """Shared input checks for layers taking images `(batch, H, W, C)` (channels_last)
    or `(batch, C, H, W)` (channels_first); unbatched rank-3 images are accepted too."""

    _batch_independent = True  # each sample's output depends only on it

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.height = _positive_int(name, "height", height)
        self.width = _positive_int(name, "width", width)
        self.data_format = standardize_data_format(data_format)

    def _hw_axes(self, rank: int) -> tuple[int, int]:
        return (rank - 2, rank - 1) if self.data_format == "channels_first" else (rank - 3,
                                                                                  rank - 2)

    def _image(self, inputs) -> tuple:
        """(images in the compute dtype, height axis, width axis)."""
        x = jnp.asarray(inputs)
        if x.dtype != jnp.dtype(self.compute_dtype):
            x = x.astype(self.compute_dtype)
        return (x, *self._hw_axes(x.ndim))

    def _validate_input(self, inputs) -> None:
        shape = getattr(inputs, "shape", None)
        if shape is None:
            raise TypeError(f"{type(self).__name__} '{self.name}' takes a single image tensor, "
                            f"got {type(inputs).__name__}.")
        if len(shape) not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects images of rank 4 (batch, height, "
                f"width, channels) for data_format='channels_last' or (batch, channels, height, "
                f"width) for 'channels_first' (or one unbatched rank-3 image), but got an "
                f"input of shape {tuple(shape)}."
            )
        h, w = self._hw_axes(len(shape))
        if shape[h] is None or shape[w] is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs known image height and width, "
                f"got an input of shape {tuple(shape)}."
            )

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        h, w = self._hw_axes(len(out))
        out[h], out[w] = self.height, self.width
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "data_format": self.data_format}


def _crop(x, h_axis: int, w_axis: int, top: int, left: int, height: int, width: int):
    x = jax.lax.slice_in_dim(x, top, top + height, axis=h_axis)
    return jax.lax.slice_in_dim(x, left, left + width, axis=w_axis)


class CenterCrop(_ImageLayer):
    """Crops the central `height x width` window of each image (offsets
    `floor((H - height) / 2)`, `floor((W - width) / 2)`). An image smaller than the
    target along either side is instead cropped to the target aspect ratio and resized
    (bilinear) to `height x width`, as Keras does. Output: the compute dtype."""

    def call(self, inputs):
        x, h_axis, w_axis = self._image(inputs)
        img_h, img_w = x.shape[h_axis], x.shape[w_axis]
        if img_h >= self.height and img_w >= self.width:
            top, left = (img_h - self.height) // 2, (img_w - self.width) // 2
            return _crop(x, h_axis, w_axis, top, left, self.height, self.width)
        return image_ops.resize(x, (self.height, self.width), crop_to_aspect_ratio=True,
                                 data_format=self.data_format)


_METHODS = image_ops.RESIZE_INTERPOLATIONS


class Resizing(_ImageLayer):
    """Resizes images to `height x width` with `interpolation` ('bilinear', 'nearest',
    'bicubic', 'lanczos3', 'lanczos5'; half-pixel centres, as Keras 3). With
    `crop_to_aspect_ratio=True` the largest centred window of the target aspect ratio
    is cropped first; with `pad_to_aspect_ratio=True` the image is instead padded
    (centred, with `fill_value`) to the target aspect ratio. `antialias` filters when
    downsampling. Output: the compute dtype."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        if interpolation not in _METHODS:
            raise ValueError(
                f"Resizing '{self.name}': `interpolation` must be one of {sorted(_METHODS)}, "
                f"got {interpolation!r}."
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                f"Resizing '{self.name}': only one of `crop_to_aspect_ratio` and "
                f"`pad_to_aspect_ratio` can be True."
            )
        if fill_mode != "constant":
            raise ValueError(
                f"Resizing '{self.name}': only fill_mode='constant' is supported, got "
                f"{fill_mode!r}."
            )
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)

    def call(self, inputs):
        x, _, _ = self._image(inputs)
        return image_ops.resize(
            x, (self.height, self.width), interpolation=self.interpolation,
            antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_value=self.fill_value,
            data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}
