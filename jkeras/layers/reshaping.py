"""Spatial reshaping layers: ZeroPadding1D/2D/3D, Cropping1D/2D/3D and
UpSampling1D/2D/3D, each with a data_format (Keras 1: dim_ordering=).

Cropping1D and UpSampling1D take no data_format in Keras, where they always
work on (batch, steps, features); here they accept one that defaults to
'channels_last' (not the global image data format), so Keras code behaves the
same.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.backend.config import standardize_data_format
from jkeras.engine.layer import Layer
from jkeras.layers.convolutional import (
    _is_int,
    check_rank,
    legacy_data_format,
    normalize_tuple,
    rename_keras1,
    spatial_axes,
    warn_keras1,
)

_K1_TABLE = {"dim_ordering": ("data_format", legacy_data_format)}


def normalize_pairs(value, rank: int, name: str, owner: str) -> tuple:
    """`value` as `rank` (before, after) pairs of non-negative ints.

    Accepts an int (same on every side), `rank` ints (symmetric per axis), `rank`
    pairs, a single pair when rank == 1, and the Keras 1 four-int form
    (top, bottom, left, right) when rank == 2.
    """
    if _is_int(value):
        pairs = ((int(value), int(value)),) * rank
    else:
        try:
            items = tuple(value)
        except TypeError:
            items = None
        if items is None:
            pairs = None
        elif rank == 1 and len(items) == 2 and all(_is_int(v) for v in items):
            pairs = ((int(items[0]), int(items[1])),)
        elif rank == 2 and len(items) == 4 and all(_is_int(v) for v in items):
            warn_keras1(f"{owner}: a 4-tuple '{name}' (top, bottom, left, right) is the "
                        f"Keras 1 form; use (({items[0]}, {items[1]}), ({items[2]}, "
                        f"{items[3]})) instead.")
            pairs = ((int(items[0]), int(items[1])), (int(items[2]), int(items[3])))
        elif len(items) == rank:
            pairs = []
            for v in items:
                if _is_int(v):
                    pairs.append((int(v), int(v)))
                else:
                    p = tuple(v) if isinstance(v, (list, tuple)) else ()
                    if len(p) != 2 or not all(_is_int(u) for u in p):
                        pairs = None
                        break
                    pairs.append((int(p[0]), int(p[1])))
            pairs = None if pairs is None else tuple(pairs)
        else:
            pairs = None
    if pairs is None:
        form = "an int or a pair of ints" if rank == 1 else (
            f"an int, a tuple of {rank} ints, or a tuple of {rank} (before, after) pairs")
        raise ValueError(f"{owner}: '{name}' must be {form}, got {value!r}.")
    if any(v < 0 for p in pairs for v in p):
        raise ValueError(f"{owner}: '{name}' values must be >= 0, got {value!r}.")
    return pairs


class _Spatial(Layer):
    """Shared input checks and data_format handling."""

    rank = 2
    _keeps_input_dtype = True
    _format_default = None  # None: the global image data format

    def _set_format(self, data_format):
        if data_format is None and self._format_default is not None:
            data_format = self._format_default
        self.data_format = standardize_data_format(data_format)

    def _validate_input(self, inputs):
        check_rank(self, inputs, self.rank, self.data_format)

    def _axes(self):
        return spatial_axes(self.rank, self.data_format)


class _ZeroPadding(_Spatial):
    def __init__(self, padding=1, data_format=None, **kwargs):
        kwargs = rename_keras1(type(self).__name__, kwargs, _K1_TABLE)
        data_format = kwargs.pop("data_format", data_format)
        super().__init__(**kwargs)
        self.padding = normalize_pairs(padding, self.rank, "padding",
                                       f"{type(self).__name__} '{self.name}'")
        self._set_format(data_format)
        self.supports_masking = False

    def call(self, inputs):
        self._validate_input(inputs)
        x = jnp.asarray(inputs)
        widths = [(0, 0)] * x.ndim
        for a, p in zip(self._axes(), self.padding):
            widths[a] = p
        return jnp.pad(x, widths)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for a, (lo, hi) in zip(self._axes(), self.padding):
            shape[a] = None if shape[a] is None else shape[a] + lo + hi
        return tuple(shape)

    def get_config(self):
        padding = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Adds zeros at the start and end of the steps axis: padding int or (before, after)."""

    rank = 1


class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros: padding int, (rows, cols) or
    ((top, bottom), (left, right))."""

    rank = 2


class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around a volume: padding int, 3 ints or 3 (before, after) pairs."""

    rank = 3


class _Cropping(_Spatial):
    def __init__(self, cropping=1, data_format=None, **kwargs):
        kwargs = rename_keras1(type(self).__name__, kwargs, _K1_TABLE)
        data_format = kwargs.pop("data_format", data_format)
        super().__init__(**kwargs)
        self.cropping = normalize_pairs(cropping, self.rank, "cropping",
                                        f"{type(self).__name__} '{self.name}'")
        self._set_format(data_format)

    def call(self, inputs):
        self._validate_input(inputs)
        x = jnp.asarray(inputs)
        index = [slice(None)] * x.ndim
        for a, (lo, hi) in zip(self._axes(), self.cropping):
            index[a] = slice(lo, x.shape[a] - hi)
        return x[tuple(index)]

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for a, (lo, hi) in zip(self._axes(), self.cropping):
            if shape[a] is None:
                continue
            if shape[a] - lo - hi <= 0:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): cropping="
                    f"{self.cropping} leaves nothing of an input of shape "
                    f"{tuple(input_shape)} (axis {a} has size {shape[a]})."
                )
            shape[a] -= lo + hi
        return tuple(shape)

    def get_config(self):
        cropping = self.cropping[0] if self.rank == 1 else self.cropping
        return {**super().get_config(), "cropping": cropping, "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Removes (start, end) steps; works on (batch, steps, features) unless
    data_format='channels_first' is given."""

    rank = 1
    _format_default = "channels_last"

    def __init__(self, cropping=(1, 1), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)

    def get_config(self):
        # Keras's Cropping1D takes no data_format: write it only when it is not
        # the default, so that Keras 3 loads the config.
        config = super().get_config()
        if config.get("data_format") == "channels_last":
            config.pop("data_format")
        return config


class Cropping2D(_Cropping):
    """Crops rows and columns: cropping int, (rows, cols) or
    ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


_RESIZE_METHODS = {"bilinear": "bilinear", "bicubic": "bicubic", "lanczos3": "lanczos3",
                   "lanczos5": "lanczos5"}


class _UpSampling(_Spatial):
    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        kwargs = rename_keras1(type(self).__name__, kwargs, _K1_TABLE)
        data_format = kwargs.pop("data_format", data_format)
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.size = normalize_tuple(size, self.rank, "size", owner)
        self._set_format(data_format)
        interpolation = str(interpolation).lower()
        if interpolation != "nearest" and interpolation not in _RESIZE_METHODS:
            raise ValueError(
                f"{owner}: interpolation must be one of "
                f"{['nearest', *_RESIZE_METHODS]}, got {interpolation!r}."
            )
        self.interpolation = interpolation

    def call(self, inputs):
        self._validate_input(inputs)
        x = jnp.asarray(inputs)
        axes = self._axes()
        if self.interpolation == "nearest":
            for a, s in zip(axes, self.size):
                if s > 1:
                    x = jnp.repeat(x, s, axis=a)
            return x
        shape = list(x.shape)
        for a, s in zip(axes, self.size):
            shape[a] *= s
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype("float32")
        return jax.image.resize(x, tuple(shape), method=_RESIZE_METHODS[self.interpolation],
                                antialias=False)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for a, s in zip(self._axes(), self.size):
            shape[a] = None if shape[a] is None else shape[a] * s
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times (Keras 1: length=); works on
    (batch, steps, features) unless data_format='channels_first' is given."""

    rank = 1
    _format_default = "channels_last"

    def __init__(self, size=2, data_format=None, **kwargs):
        if "length" in kwargs:
            rename_keras1("UpSampling1D", kwargs, {"length": ("size", None)})
            size = kwargs.pop("size")
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size[0]
        config.pop("interpolation")
        if config.get("data_format") == "channels_last":  # Keras's UpSampling1D has none
            config.pop("data_format")
        return config


class UpSampling2D(_UpSampling):
    """Repeats rows and columns `size` times ('nearest'), or resizes with
    'bilinear' (half-pixel centres), 'bicubic', 'lanczos3' or 'lanczos5'."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)


class UpSampling3D(_UpSampling):
    """Repeats each of the three spatial dimensions `size` times."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("interpolation")
        return config


__all__ = [
    "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
]
