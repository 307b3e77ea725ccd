"""Augmentation layers that mix or occlude images: MixUp, CutMix, RandomErasing.

MixUp and CutMix combine each image with another image of the same batch (a random
permutation) and mix the labels in the same proportions, so they depend on the whole
batch.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from jkeras.layers.augmentation_base import (
    BaseImagePreprocessingLayer,
    images_of,
    parse_factor,
    parse_value_range,
)

__all__ = ["CutMix", "MixUp", "RandomErasing"]


def _mix(x, other, weight):
    """weight * x + (1 - weight) * other, `weight` (batch,) broadcast over x's axes."""
    w = weight.astype(jnp.result_type(x.dtype, jnp.float32)).reshape((-1,) + (1,) * (x.ndim - 1))
    return w * x + (1.0 - w) * other


class MixUp(BaseImagePreprocessingLayer):
    """Replaces each image by `w * image + (1 - w) * other`, `other` another image of the
    batch and `w` drawn from Beta(`alpha`, `alpha`); labels and segmentation masks mix
    alike, and each image keeps its bounding boxes plus those of `other`."""

    _USE_BASE_FACTOR = False
    _batch_independent = False

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or alpha <= 0:
            raise ValueError(f"MixUp: `alpha` must be a positive number, got {alpha!r}.")
        self.alpha = alpha
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = images_of(data).shape[0]
        key_perm, key_weight = self._keys(seed, 2)
        return {"permutation": jax.random.permutation(key_perm, batch),
                "weight": jax.random.beta(key_weight, self.alpha, self.alpha, (batch,))}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        other = jnp.take(images, transformation["permutation"], axis=0)
        return _mix(images, other, transformation["weight"]).astype(images.dtype)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        other = jnp.take(labels, transformation["permutation"], axis=0)
        return _mix(labels, other, transformation["weight"])

    transform_segmentation_masks = transform_labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        perm = transformation["permutation"]
        return {**bounding_boxes, **{
            key: jnp.concatenate([bounding_boxes[key], jnp.take(bounding_boxes[key], perm, 0)],
                                 axis=1) for key in ("boxes", "labels")}}

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}


class RectangleAugmentation(BaseImagePreprocessingLayer):
    """A layer that changes one random rectangle per image."""

    def _rectangles(self, keys, images, side_ratios):
        """Per image, a rectangle with sides `side_ratios` (batch, 2) (fractions of the
        width, of the height) at a uniform random position: its mask (broadcast over the
        channels in the layer's data format) and its share of the image area."""
        batch = images.shape[0]
        height, width = self._image_size(images)
        crop_w = side_ratios[:, 0] * width
        crop_h = side_ratios[:, 1] * height
        x0 = jax.random.uniform(keys[0], (batch,)) * (width - crop_w)
        y0 = jax.random.uniform(keys[1], (batch,)) * (height - crop_h)
        cols = jnp.arange(width, dtype=jnp.float32)[None, None, :]
        rows = jnp.arange(height, dtype=jnp.float32)[None, :, None]
        inside = ((cols >= x0[:, None, None]) & (cols < (x0 + crop_w)[:, None, None])
                  & (rows >= y0[:, None, None]) & (rows < (y0 + crop_h)[:, None, None]))
        inside = inside[..., None] if self.data_format == "channels_last" else inside[:, None]
        return inside, crop_w * crop_h / (width * height)


class CutMix(RectangleAugmentation):
    """Pastes into each image a rectangle cut from another image of the batch: its
    sides are sqrt(1 - lambda) of the image's, lambda drawn from Beta(a, a) with `a`
    drawn from `factor` ([0, f] for a number f in [0, 1]); labels mix in proportion to
    the areas. Masks are cut alike; bounding boxes are not supported."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (0.0, 1.0)
    _batch_independent = False

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = images_of(data)
        batch = images.shape[0]
        keys = self._keys(seed, 5)
        alpha = jax.random.uniform(keys[0], (), minval=self.factor[0],
                                   maxval=self.factor[1]) + 1e-6
        ratio = jnp.sqrt(1.0 - jax.random.beta(keys[1], alpha, alpha, (batch,)))
        inside, area = self._rectangles(keys[2:4], images, jnp.stack([ratio, ratio], -1))
        return {"permutation": jax.random.permutation(keys[4], batch), "inside": inside,
                "weight": 1.0 - area}

    def _paste(self, images, transformation):
        other = jnp.take(images, transformation["permutation"], axis=0)
        return jnp.where(transformation["inside"], other, images)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self._paste(images, transformation)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        other = jnp.take(labels, transformation["permutation"], axis=0)
        return _mix(labels, other, transformation["weight"])

    transform_segmentation_masks = transform_images
    transform_bounding_boxes = BaseImagePreprocessingLayer._unsupported_boxes

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


class RandomErasing(RectangleAugmentation):
    """With probability drawn from `factor` ([0, f] for a number f in [0, 1]), fills a
    random rectangle of each image: its sides are sqrt(s) of the image's, `s` drawn from
    `scale` (a pair in [0, 1], default (0.02, 0.33)), filled with `fill_value` (a number,
    3 per-channel numbers, or None: Gaussian noise scaled by the top of `value_range`),
    clipped to `value_range`."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (0.0, 1.0)

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.scale = parse_factor("RandomErasing", "scale", scale, (0.0, 1.0))
        if fill_value is not None and not (
                isinstance(fill_value, numbers.Real) or (
                    isinstance(fill_value, (tuple, list)) and len(fill_value) == 3
                    and all(isinstance(v, numbers.Real) for v in fill_value))):
            raise ValueError(f"RandomErasing: `fill_value` must be None, a number or a list of "
                             f"3 numbers (one per channel), got {fill_value!r}.")
        self.fill_value = fill_value
        self.value_range = parse_value_range("RandomErasing", value_range)
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = images_of(data)
        batch = images.shape[0]
        keys = self._keys(seed, 6)
        sides = jnp.sqrt(jax.random.uniform(keys[0], (batch, 2), minval=self.scale[0],
                                            maxval=self.scale[1]))
        inside, _ = self._rectangles(keys[1:3], images, sides)
        return {"inside": inside, "apply": self._draw_apply(keys[3], keys[4], batch),
                "noise_key": keys[5]}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        if self.fill_value is None:
            fill = jax.random.normal(transformation["noise_key"], images.shape, images.dtype)
            fill = fill * self.value_range[1]
        elif isinstance(self.fill_value, (tuple, list)):
            shape = (1, 1, 1, 3) if self.data_format == "channels_last" else (1, 3, 1, 1)
            fill = jnp.asarray(self.fill_value, images.dtype).reshape(shape)
        else:
            fill = jnp.asarray(self.fill_value, images.dtype)
        fill = jnp.clip(fill, *self.value_range)
        erase = transformation["inside"] & transformation["apply"].reshape(-1, 1, 1, 1)
        return jnp.where(erase, fill, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}
