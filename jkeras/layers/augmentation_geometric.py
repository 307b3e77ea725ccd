"""Geometric augmentation layers besides the affine warps: RandomFlip, RandomCrop,
RandomElasticTransform, and MaxNumBoundingBoxes (fixes the number of boxes)."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from jkeras.layers.augmentation_base import (
    BaseImagePreprocessingLayer,
    check_choice,
    images_of,
    parse_factor,
    parse_value_range,
)
from jkeras.ops import image as image_ops
from jkeras.ops import image_sampling

__all__ = ["MaxNumBoundingBoxes", "RandomCrop", "RandomElasticTransform", "RandomFlip"]

HORIZONTAL, VERTICAL = "horizontal", "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"


class RandomFlip(BaseImagePreprocessingLayer):
    """Flips each image with probability 1/2: left-right (`mode='horizontal'`), upside
    down ('vertical') or both at once ('horizontal_and_vertical', the default). Masks and
    boxes flip with their images."""

    _USE_BASE_FACTOR = False

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.mode = check_choice("RandomFlip", "mode", mode,
                                 (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL))
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = images_of(data)
        height, width = self._image_size(images)
        flips = jax.random.uniform(self._keys(seed, 1)[0], (images.shape[0],)) <= 0.5
        return {"flips": flips, "height": height, "width": width}

    def _axes(self) -> list[int]:
        axes = []
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            axes.append(self._width_axis)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            axes.append(self._height_axis)
        return axes

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        flips = jnp.asarray(transformation["flips"]).reshape(-1, 1, 1, 1)
        return jnp.where(flips, jnp.flip(images, axis=self._axes()), images)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self.transform_images(segmentation_masks, transformation, training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        height, width = transformation["height"], transformation["width"]
        x1, y1, x2, y2 = (v for v in jnp.moveaxis(
            self._boxes_as_xyxy(bounding_boxes, height, width), -1, 0))
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            x1, x2 = width - x2, width - x1
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            y1, y2 = height - y2, height - y1
        flipped = jnp.stack([x1, y1, x2, y2], axis=-1)
        original = self._boxes_as_xyxy(bounding_boxes, height, width)
        flips = jnp.asarray(transformation["flips"]).reshape(-1, 1, 1)
        return self._boxes_from_xyxy(bounding_boxes, jnp.where(flips, flipped, original),
                                     height, width)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


def _positive_int(layer: str, arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{layer}: `{arg}` must be a positive integer, got {value!r}.")
    return int(value)


class RandomCrop(BaseImagePreprocessingLayer):
    """Crops images to `height` x `width`. In training, images larger than the target on
    both sides are cropped at one random position (the same for the whole batch);
    otherwise (inference, or smaller images) the largest centred window of the target
    aspect ratio is cropped and resized (bilinear) to the target size. Boxes and masks
    follow the crop."""

    _USE_BASE_FACTOR = False
    _ACTIVE_AT_INFERENCE = True

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(data_format=data_format, name=name, **kwargs)
        self.height = _positive_int("RandomCrop", "height", height)
        self.width = _positive_int("RandomCrop", "width", width)
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        images = images_of(data)
        img_h, img_w = self._image_size(images)
        if training and img_h > self.height and img_w > self.width:
            key_top, key_left = self._keys(seed, 2)
            top = jax.random.randint(key_top, (), 0, img_h - self.height + 1)
            left = jax.random.randint(key_left, (), 0, img_w - self.width + 1)
            crop_h, crop_w = self.height, self.width
        else:
            top, left, crop_h, crop_w = image_ops.aspect_crop_box(img_h, img_w, self.height,
                                                                  self.width)
        return {"top": top, "left": left, "crop_size": (crop_h, crop_w),
                "input_size": (img_h, img_w)}

    def _crop(self, images, transformation, interpolation):
        crop_h, crop_w = transformation["crop_size"]
        h_axis, w_axis = self._height_axis % images.ndim, self._width_axis % images.ndim
        x = jax.lax.dynamic_slice_in_dim(images, transformation["top"], crop_h, axis=h_axis)
        x = jax.lax.dynamic_slice_in_dim(x, transformation["left"], crop_w, axis=w_axis)
        if (crop_h, crop_w) != (self.height, self.width):
            x = image_ops.resize(x, (self.height, self.width), interpolation=interpolation,
                                 data_format=self.data_format)
        return x

    def transform_images(self, images, transformation, training=True):
        return self._crop(images, transformation, "bilinear")

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return self._crop(segmentation_masks, transformation, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        img_h, img_w = transformation["input_size"]
        crop_h, crop_w = transformation["crop_size"]
        xyxy = self._boxes_as_xyxy(bounding_boxes, img_h, img_w)
        origin = jnp.stack([transformation["left"], transformation["top"]] * 2).astype(
            xyxy.dtype)
        scale = jnp.asarray([self.width / crop_w, self.height / crop_h] * 2, xyxy.dtype)
        return self._boxes_from_xyxy(bounding_boxes, (xyxy - origin) * scale, self.height,
                                     self.width)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self._height_axis], shape[self._width_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "seed": self.seed}


class RandomElasticTransform(BaseImagePreprocessingLayer):
    """With probability drawn from `factor` ([0, f] for a number f), deforms an image
    elastically (`ops.image.elastic_transform`) with a strength drawn from `scale`
    ([0, s]): displacements of alpha = 0.1 * strength * max(H, W) pixels smoothed over
    sigma = 0.05 * strength * min(H, W) pixels; the result is clipped to `value_range`.
    Masks follow with nearest sampling; bounding boxes are not supported."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (0.0, 1.0)

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.scale = parse_factor("RandomElasticTransform", "scale", scale, (0.0, 1.0))
        name = "RandomElasticTransform"
        self.interpolation = check_choice(name, "interpolation", interpolation,
                                          tuple(image_sampling.INTERPOLATIONS))
        self.fill_mode = check_choice(name, "fill_mode", fill_mode, image_sampling.FILL_MODES)
        self.fill_value = fill_value
        self.value_range = parse_value_range(name, value_range)
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        images = images_of(data)
        batch = images.shape[0]
        keys = self._keys(seed, 4)
        return {"apply": self._draw_apply(keys[0], keys[1], batch),
                "strength": jax.random.uniform(keys[2], (), minval=self.scale[0],
                                               maxval=self.scale[1]),
                "key": keys[3]}

    def _deform(self, images, transformation, interpolation):
        x, restore = image_sampling.to_nhwc(images, self.data_format)
        height, width = x.shape[1], x.shape[2]
        strength = transformation["strength"]
        alpha = max(height, width) * 0.1 * strength
        sigma = jnp.maximum(min(height, width) * 0.05 * strength, 1e-6)
        taps = int(6 * min(height, width) * 0.05 * self.scale[1]) | 1
        warped = image_sampling.elastic_warp(
            x.astype(jnp.float32), alpha, sigma, taps, transformation["key"],
            image_sampling.INTERPOLATIONS[interpolation], self.fill_mode, self.fill_value)
        apply = transformation["apply"].reshape(-1, 1, 1, 1)
        return restore(jnp.where(apply, warped.astype(x.dtype), x))

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        out = self._deform(images, transformation, self.interpolation)
        return jnp.clip(out, *self.value_range)

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        if not training or transformation is None:
            return segmentation_masks
        return self._deform(segmentation_masks, transformation, "nearest")

    transform_bounding_boxes = BaseImagePreprocessingLayer._unsupported_boxes

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}


class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Makes every image carry exactly `max_number` bounding boxes: extra boxes are
    dropped, missing ones padded with boxes and labels of `fill_value`. Images, labels
    and masks pass unchanged; active at inference too."""

    _USE_BASE_FACTOR = False
    _ACTIVE_AT_INFERENCE = True

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        self.max_number = _positive_int("MaxNumBoundingBoxes", "max_number", max_number)
        self.fill_value = int(fill_value)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        boxes = jnp.asarray(bounding_boxes["boxes"])[:, :self.max_number]
        labels = jnp.asarray(bounding_boxes["labels"])[:, :self.max_number]
        missing = self.max_number - boxes.shape[1]
        boxes = jnp.pad(boxes, [(0, 0), (0, missing), (0, 0)], constant_values=self.fill_value)
        labels = jnp.pad(labels, [(0, 0), (0, missing)] + [(0, 0)] * (labels.ndim - 2),
                         constant_values=self.fill_value)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def get_config(self):
        return {**super().get_config(), "max_number": self.max_number,
                "fill_value": self.fill_value}
