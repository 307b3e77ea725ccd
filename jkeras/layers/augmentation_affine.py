"""Random warp augmentation layers: RandomRotation, RandomTranslation, RandomZoom,
RandomShear (affine) and RandomPerspective (projective).

Each draws one sampling transform per image (`ops.image.affine_transform`'s
`[a0, a1, a2, b0, b1, b2, c0, c1]`: output pixel -> input point) and applies it to the
images (`interpolation`, `fill_mode`, `fill_value`), to segmentation masks (nearest
sampling) and to bounding boxes (the boxes enclosing the moved corners, clipped to the
image; boxes pushed out get label -1).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jkeras.layers.augmentation_base import (
    BaseImagePreprocessingLayer,
    check_choice,
    images_of,
    parse_factor,
)
from jkeras.layers.bounding_boxes import converters as box_ops
from jkeras.ops import image as image_ops

__all__ = ["RandomPerspective", "RandomRotation", "RandomShear", "RandomTranslation",
           "RandomZoom"]

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


class RandomAffineLayer(BaseImagePreprocessingLayer):
    """Shared machinery: subclasses implement `_transforms(keys, batch, height, width)`
    returning the (batch, 8) sampling transforms and say how many keys they need."""

    _USE_BASE_FACTOR = False
    _NUM_KEYS = 1

    def _set_sampling(self, fill_mode, interpolation, fill_value, seed) -> None:
        name = type(self).__name__
        self.fill_mode = check_choice(name, "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = check_choice(name, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_value = fill_value
        self._make_seed_generator(seed)

    def _transforms(self, keys, batch: int, height: int, width: int):
        raise NotImplementedError

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = images_of(data)
        height, width = self._image_size(images)
        keys = self._keys(seed, self._NUM_KEYS)
        return {"transform": self._transforms(keys, images.shape[0], height, width),
                "height": height, "width": width}

    def _warp(self, images, transformation, interpolation):
        return image_ops.affine_transform(
            images, transformation["transform"], interpolation=interpolation,
            fill_mode=self.fill_mode, fill_value=self.fill_value, data_format=self.data_format)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self._warp(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training or transformation is None:
            return segmentation_masks
        return self._warp(segmentation_masks, transformation, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = transformation["height"], transformation["width"]
        xyxy = self._boxes_as_xyxy(bounding_boxes, height, width)
        moved = box_ops.warp_boxes(xyxy, transformation["transform"])
        return self._boxes_from_xyxy(bounding_boxes, moved, height, width)

    def _sampling_config(self) -> dict:
        return {"fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation, "seed": self.seed}


def _stack_transforms(*columns):
    """(batch, 8) transforms from 8 columns (arrays of shape (batch,) or scalars)."""
    batch = max(jnp.shape(c)[0] for c in columns if jnp.ndim(c))
    return jnp.stack([jnp.broadcast_to(jnp.asarray(c, jnp.float32), (batch,)) for c in columns],
                     axis=-1)


class RandomRotation(RandomAffineLayer):
    """Rotates each image by a random angle of `factor` turns (a number f: [-f, f]; a pair:
    [lower, upper]; e.g. 0.2 is up to 72 degrees either way) about its centre; positive
    angles turn the content counter-clockwise."""

    _USE_BASE_FACTOR = True

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self._set_sampling(fill_mode, interpolation, fill_value, seed)

    def _transforms(self, keys, batch, height, width):
        turns = jax.random.uniform(keys[0], (batch,), minval=self.factor[0],
                                   maxval=self.factor[1])
        theta = turns * 2 * math.pi
        cos, sin = jnp.cos(theta), jnp.sin(theta)
        cx, cy = (width - 1) / 2, (height - 1) / 2
        return _stack_transforms(cos, -sin, cx - cx * cos + cy * sin,
                                 sin, cos, cy - cx * sin - cy * cos, 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, **self._sampling_config()}


class RandomTranslation(RandomAffineLayer):
    """Shifts each image by random fractions of its height (`height_factor`) and width
    (`width_factor`): a number f draws from [-f, f], a pair from [lower, upper], within
    [-1, 1]; positive values move the content down/right."""

    _NUM_KEYS = 2

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = parse_factor(
            "RandomTranslation", "height_factor", height_factor)
        self.width_lower, self.width_upper = parse_factor(
            "RandomTranslation", "width_factor", width_factor)
        self._set_sampling(fill_mode, interpolation, fill_value, seed)

    def _transforms(self, keys, batch, height, width):
        dy = jax.random.uniform(keys[0], (batch,), minval=self.height_lower,
                                maxval=self.height_upper) * height
        dx = jax.random.uniform(keys[1], (batch,), minval=self.width_lower,
                                maxval=self.width_upper) * width
        return _stack_transforms(1.0, 0.0, -dx, 0.0, 1.0, -dy, 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._sampling_config()}


class RandomZoom(RandomAffineLayer):
    """Zooms each image about its centre by random factors: `height_factor` (and
    `width_factor`, default: the same zoom as the height) in (-1, 1]; a number f draws
    from [-f, f], a pair from [lower, upper]. Positive values zoom out (the image
    shrinks, `fill_mode` fills the border), negative values zoom in; e.g. 0.3 scales the
    sampled area by 0.7 to 1.3."""

    _NUM_KEYS = 2

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = parse_factor(
            "RandomZoom", "height_factor", height_factor, lower_open=True)
        if width_factor is not None:
            self.width_lower, self.width_upper = parse_factor(
                "RandomZoom", "width_factor", width_factor, lower_open=True)
        self._set_sampling(fill_mode, interpolation, fill_value, seed)

    def _transforms(self, keys, batch, height, width):
        zoom_y = 1.0 + jax.random.uniform(keys[0], (batch,), minval=self.height_lower,
                                          maxval=self.height_upper)
        zoom_x = zoom_y if self.width_factor is None else 1.0 + jax.random.uniform(
            keys[1], (batch,), minval=self.width_lower, maxval=self.width_upper)
        return _stack_transforms(zoom_x, 0.0, (width - 1) / 2 * (1 - zoom_x),
                                 0.0, zoom_y, (height - 1) / 2 * (1 - zoom_y), 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._sampling_config()}


class RandomShear(RandomAffineLayer):
    """Shears each image: the input point of output pixel (x, y) is (x + sx y, y + sy x)
    with `sx` drawn from `x_factor` and `sy` from `y_factor` (a number f in [0, 1]:
    [-f, f]; a pair: [lower, upper] within [-1, 1]), both negated together for a random
    half of the images."""

    _NUM_KEYS = 3

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        # Pairs may be negative: Keras 3 writes (-f, f) into the config of RandomShear(f)
        # and then refuses to load it.
        self.x_factor = parse_factor("RandomShear", "x_factor", x_factor, (-1.0, 1.0))
        self.y_factor = parse_factor("RandomShear", "y_factor", y_factor, (-1.0, 1.0))
        self._set_sampling(fill_mode, interpolation, fill_value, seed)

    def _transforms(self, keys, batch, height, width):
        sign = jnp.where(jax.random.uniform(keys[0], (batch,)) > 0.5, -1.0, 1.0)
        shear_x = jax.random.uniform(keys[1], (batch,), minval=self.x_factor[0],
                                     maxval=self.x_factor[1]) * sign
        shear_y = jax.random.uniform(keys[2], (batch,), minval=self.y_factor[0],
                                     maxval=self.y_factor[1]) * sign
        return _stack_transforms(1.0, shear_x, 0.0, shear_y, 1.0, 0.0, 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor,
                **self._sampling_config()}


class RandomPerspective(RandomAffineLayer):
    """With probability drawn from `factor` ([0, f] for a number f in [0, 1]), warps an
    image in perspective: each corner (x, y) moves to (x, y) * (1 + d) with d drawn from
    [-scale / 2, scale / 2] per coordinate (so the top-left corner stays); areas mapped
    from outside the image get `fill_value`."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (0.0, 1.0)
    _NUM_KEYS = 3

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 1:
            raise ValueError(f"RandomPerspective: `scale` must be a number in [0, 1], got "
                             f"{scale!r}.")
        self.scale = scale
        self._set_sampling("constant", interpolation, fill_value, seed)

    def _transforms(self, keys, batch, height, width):
        apply = self._draw_apply(keys[0], keys[1], batch)
        shift = jax.random.uniform(keys[2], (batch, 4, 2), minval=-0.5 * self.scale,
                                   maxval=0.5 * self.scale)
        start = jnp.asarray([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1],
                             [width - 1, height - 1]], jnp.float32)
        end = start + start * shift
        warp = image_ops.compute_homography_matrix(jnp.broadcast_to(start, end.shape), end)
        identity = jnp.asarray([1.0, 0, 0, 0, 1.0, 0, 0, 0], jnp.float32)
        return jnp.where(apply[:, None], warp, identity)

    def get_config(self):
        config = super().get_config()
        return {**config, "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value,
                "seed": self.seed}
