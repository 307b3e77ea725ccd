"""Deterministic contrast layers built on each image's value distribution:
AutoContrast, Equalization and ContrastLimitedAdaptiveHistogramEqualization (CLAHE).

They act at training and inference alike, per image and per channel, on images in
`value_range`; labels, boxes and masks pass through.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from jkeras.layers.augmentation_base import BaseImagePreprocessingLayer, parse_value_range
from jkeras.ops import image_sampling

__all__ = ["AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "Equalization"]


class HistogramLayer(BaseImagePreprocessingLayer):
    """Common arguments and layout handling: `_apply(x)` maps channels-last batches with
    values on the [0, 255] scale."""

    _USE_BASE_FACTOR = False
    _ACTIVE_AT_INFERENCE = True

    def _set_range(self, value_range) -> None:
        self.value_range = parse_value_range(type(self).__name__, value_range)

    def _apply(self, x):
        raise NotImplementedError

    def transform_images(self, images, transformation, training=True):
        x, restore = image_sampling.to_nhwc(images, self.data_format)
        x = self._transform_value_range(x.astype(jnp.float32), self.value_range, (0, 255))
        out = self._transform_value_range(self._apply(x), (0, 255), self.value_range)
        return restore(out).astype(images.dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


class AutoContrast(HistogramLayer):
    """Stretches each channel of each image linearly so that its minimum and maximum
    span `value_range`; constant channels are left unchanged."""

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self._set_range(value_range)

    def _apply(self, x):
        low = jnp.min(x, axis=(1, 2), keepdims=True)
        high = jnp.max(x, axis=(1, 2), keepdims=True)
        span = high - low
        stretched = (x - low) * (255.0 / jnp.where(span > 0, span, 1.0))
        return jnp.where(span > 0, jnp.clip(stretched, 0, 255), x)


def _channel_histograms(indices, bins: int):
    """Counts of `indices` (batch, ..., channels) per image and channel: (batch, C, bins)."""
    flat = jnp.moveaxis(indices.reshape(indices.shape[0], -1, indices.shape[-1]), -1, 1)
    return jax.vmap(jax.vmap(lambda v: jnp.bincount(v, length=bins)))(flat)


class Equalization(HistogramLayer):
    """Histogram equalization of each channel of each image over `bins` bins: values are
    remapped through their cumulative distribution so that they spread over
    `value_range`. Channels holding a single value are left unchanged."""

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 2:
            raise ValueError(f"Equalization: `bins` must be an integer >= 2, got {bins!r}.")
        self.bins = int(bins)
        self._set_range(value_range)

    def _apply(self, x):
        bins = self.bins
        index = jnp.clip((x * (bins - 1) / 255).astype(jnp.int32), 0, bins - 1)
        hist = _channel_histograms(index, bins)  # (batch, C, bins)
        cdf = jnp.cumsum(hist, axis=-1)
        cdf_min = jnp.min(jnp.where(cdf > 0, cdf, cdf[..., -1:]), axis=-1, keepdims=True)
        span = cdf[..., -1:] - cdf_min
        lut = jnp.clip(jnp.round((cdf - cdf_min) * 255 / jnp.where(span == 0, 1, span)), 0, 255)
        lut = lut[:, None, None]  # (batch, 1, 1, C, bins)
        out = jnp.take_along_axis(lut, index[..., None], axis=-1)[..., 0]
        single = (jnp.count_nonzero(hist, axis=-1) <= 1)[:, None, None, :]
        return jnp.where(single, x, out.astype(x.dtype))

    def get_config(self):
        return {**super().get_config(), "bins": self.bins}


class ContrastLimitedAdaptiveHistogramEqualization(HistogramLayer):
    """CLAHE: equalizes each tile of a `tile_grid_size` (rows, columns) grid with its
    own histogram, whose counts are capped at `clip_limit` times the mean count (the
    excess spread over all bins), and blends neighbouring tiles' mappings bilinearly.
    Images are edge-padded (symmetrically) to a whole number of tiles."""

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._set_range(value_range)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, numbers.Real):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: `clip_limit` must "
                             f"be a number, got {clip_limit!r}.")
        if (not isinstance(tile_grid_size, (tuple, list)) or len(tile_grid_size) != 2
                or not all(isinstance(g, numbers.Integral) and g > 0 for g in tile_grid_size)):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: `tile_grid_size` "
                             f"must be a pair of positive integers, got {tile_grid_size!r}.")
        self.clip_limit = clip_limit
        self.tile_grid_size = tuple(int(g) for g in tile_grid_size)

    def _tile_mappings(self, padded, tile_h: int, tile_w: int):
        """Equalizing lookup tables per tile: (batch, grid_h, grid_w, C, 256)."""
        batch, _, _, channels = padded.shape
        grid_h, grid_w = self.tile_grid_size
        tiles = padded.reshape(batch, grid_h, tile_h, grid_w, tile_w, channels)
        tiles = jnp.transpose(tiles, (0, 1, 3, 2, 4, 5)).reshape(-1, tile_h * tile_w, channels)
        values = jnp.clip(tiles, 0, 255).astype(jnp.int32)
        hist = _channel_histograms(values, 256).astype(jnp.float32)  # (tiles, C, 256)
        pixels = tile_h * tile_w
        if self.clip_limit > 0:
            clipped = jnp.minimum(hist, self.clip_limit * pixels / 256.0)
            hist = clipped + jnp.sum(hist - clipped, axis=-1, keepdims=True) / 256.0
        cdf = jnp.cumsum(hist, axis=-1)
        cdf_min = jnp.min(cdf, axis=-1, keepdims=True)
        span = pixels - cdf_min
        lut = jnp.clip((cdf - cdf_min) * 255.0 / jnp.where(span == 0, 1.0, span), 0, 255)
        return lut.reshape(batch, grid_h, grid_w, channels, 256)

    def _apply(self, x):
        batch, height, width, channels = x.shape
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        pad_h, pad_w = tile_h * grid_h - height, tile_w * grid_w - width
        padded = jnp.pad(x, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
        lut = self._tile_mappings(padded, tile_h, tile_w)
        # Edge tiles repeat outwards so that border pixels blend with themselves.
        lut = jnp.pad(lut, [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0)], mode="edge")

        def grid(length: int, tile: int, count: int):
            pos = (jnp.arange(length, dtype=jnp.float32) - tile / 2.0) / tile + 1.0
            low = jnp.floor(pos)
            weight = pos - low
            low = jnp.clip(low, 0, count + 1).astype(jnp.int32)
            high = jnp.clip(low + 1, 0, count + 1)
            return low, high, weight

        y0, y1, wy = grid(tile_h * grid_h, tile_h, grid_h)
        x0, x1, wx = grid(tile_w * grid_w, tile_w, grid_w)
        b = jnp.arange(batch)[:, None, None, None]
        c = jnp.arange(channels)[None, None, None, :]
        v = jnp.clip(padded, 0, 255).astype(jnp.int32)
        ry, rx = (y0[None, :, None, None], y1[None, :, None, None]), \
            (x0[None, None, :, None], x1[None, None, :, None])
        wy, wx = wy[None, :, None, None], wx[None, None, :, None]
        top = lut[b, ry[0], rx[0], c, v] * (1 - wx) + lut[b, ry[0], rx[1], c, v] * wx
        bottom = lut[b, ry[1], rx[0], c, v] * (1 - wx) + lut[b, ry[1], rx[1], c, v] * wx
        return (top * (1 - wy) + bottom * wy)[:, :height, :width]

    def get_config(self):
        return {**super().get_config(), "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size}
