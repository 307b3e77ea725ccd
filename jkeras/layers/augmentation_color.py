"""Random colour augmentation layers: RandomBrightness, RandomContrast,
RandomSaturation, RandomHue, RandomColorJitter, RandomColorDegeneration,
RandomGrayscale, RandomInvert.

They change pixel values only: labels, boxes and masks pass through. Images are in
`value_range` (default (0, 255)); results are clipped to it. Random parameters are drawn
per image.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from jkeras.backend.config import epsilon
from jkeras.layers.augmentation_base import (
    BaseImagePreprocessingLayer,
    images_of,
    parse_factor,
    parse_value_range,
)
from jkeras.ops import image as image_ops

__all__ = ["RandomBrightness", "RandomColorDegeneration", "RandomColorJitter",
           "RandomContrast", "RandomGrayscale", "RandomHue", "RandomInvert",
           "RandomSaturation"]


def _per_image(values, images):
    """(batch,) values shaped to broadcast against a batch of images."""
    return jnp.asarray(values, images.dtype).reshape(-1, 1, 1, 1)


class ColorAugmentation(BaseImagePreprocessingLayer):
    """A layer that draws one factor per image from `self.factor` (`_draw`) and maps the
    images with `_adjust(images, factor)`; the result is clipped to `value_range`."""

    _USE_BASE_FACTOR = False

    def _init_color(self, factor, value_range, seed, bounds=(0.0, 1.0), symmetric=True):
        name = type(self).__name__
        self.factor = parse_factor(name, "factor", factor, bounds, symmetric)
        self.value_range = parse_value_range(name, value_range)
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = images_of(data)
        key = self._keys(seed, 1)[0]
        return {"factor": jax.random.uniform(key, (images.shape[0],), minval=self.factor[0],
                                             maxval=self.factor[1])}

    def _adjust(self, images, factor):
        raise NotImplementedError

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        out = self._adjust(images, _per_image(transformation["factor"], images))
        return jnp.clip(out, *self.value_range).astype(images.dtype)

    def _channels_last(self, fn, images):
        """`fn` applied to `images` in channels-last layout (RGB on the last axis)."""
        if self.data_format == "channels_last":
            return fn(images)
        return jnp.moveaxis(fn(jnp.moveaxis(images, 1, -1)), -1, 1)

    def _to_unit(self, images):
        return self._transform_value_range(images, self.value_range, (0.0, 1.0))

    def _from_unit(self, images):
        return self._transform_value_range(images, (0.0, 1.0), self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range,
                "seed": self.seed}


class RandomBrightness(ColorAugmentation):
    """Adds `delta * (high - low)` of `value_range` to each image, delta drawn from
    `factor` in [-1, 1] (a number f: [-f, f]; a pair: [lower, upper])."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self._init_color(factor, value_range, seed, bounds=(-1.0, 1.0))

    def _adjust(self, images, factor):
        low, high = self.value_range
        return images + factor * (high - low)


class RandomContrast(ColorAugmentation):
    """Scales each channel's deviation from its mean by a contrast factor drawn from
    [1 - lower, 1 + upper] (`factor` a number f: lower = upper = f; or a pair)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self._init_color(factor, value_range, seed)
        if not isinstance(factor, (tuple, list)):
            # Keras documents lower = upper = factor (its code drew only from [1, 1 + f]).
            self.factor = (self.factor[1], self.factor[1])

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        key = self._keys(seed, 1)[0]
        return {"factor": jax.random.uniform(key, (images_of(data).shape[0],),
                                             minval=1.0 - self.factor[0],
                                             maxval=1.0 + self.factor[1])}

    def _adjust(self, images, factor):
        mean = jnp.mean(images, axis=(self._height_axis, self._width_axis), keepdims=True)
        return (images - mean) * factor + mean


class RandomSaturation(ColorAugmentation):
    """Scales each image's HSV saturation: `factor` s in [0, 1] drawn per image (a
    number f: [0, f]; a pair: [lower, upper]) multiplies it by s / (1 - s): 0.5 keeps
    the image, 0 makes it grey, 1 fully saturated."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._init_color(factor, value_range, seed, symmetric=False)

    def _adjust(self, images, factor):
        scale = factor / (1.0 - factor + epsilon())

        def saturate(x):
            hsv = image_ops.rgb_to_hsv(x)
            sat = jnp.clip(hsv[..., 1:2] * scale, 0.0, 1.0)
            return image_ops.hsv_to_rgb(jnp.concatenate([hsv[..., :1], sat, hsv[..., 2:]], -1))

        unit = jnp.clip(self._to_unit(images), 0.0, 1.0)
        return self._from_unit(self._channels_last(lambda x: saturate(x), unit))


class RandomHue(ColorAugmentation):
    """Rotates each image's hue by up to half a turn: a shift of +-factor / 2 turns with
    `factor` drawn from [0, f] for a number f in [0, 1] (or a pair) and a random sign."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._init_color(factor, value_range, seed, symmetric=False)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = images_of(data).shape[0]
        key_sign, key_amount = self._keys(seed, 2)
        sign = jnp.where(jax.random.uniform(key_sign, (batch,)) > 0.5, -1.0, 1.0)
        amount = jax.random.uniform(key_amount, (batch,), minval=self.factor[0],
                                    maxval=self.factor[1])
        return {"factor": sign * amount * 0.5}

    def _adjust(self, images, factor):
        def rotate(x):
            hsv = image_ops.rgb_to_hsv(x)
            hue = jnp.mod(hsv[..., :1] + factor, 1.0)
            return image_ops.hsv_to_rgb(jnp.concatenate([hue, hsv[..., 1:]], -1))

        unit = jnp.clip(self._to_unit(images), 0.0, 1.0)
        return self._from_unit(jnp.clip(self._channels_last(rotate, unit), 0.0, 1.0))


class RandomColorDegeneration(ColorAugmentation):
    """Blends each image towards its greyscale version by a factor drawn from [0, f]
    (or a pair within [0, 1]): 0 keeps the image, 1 makes it grey."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._init_color(factor, value_range, seed, symmetric=False)

    def _adjust(self, images, factor):
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return images + factor * (gray - images)


class RandomInvert(ColorAugmentation):
    """Inverts each image (`low + high - x` for `value_range` (low, high)) with a
    probability drawn from `factor` ([0, f] for a number f in [0, 1], or a pair)."""

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._init_color(factor, value_range, seed, symmetric=False)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = images_of(data).shape[0]
        return {"factor": self._draw_apply(*self._keys(seed, 2), batch)}

    def _adjust(self, images, factor):
        low, high = self.value_range
        return jnp.where(factor > 0, low + high - images, images)


class RandomGrayscale(BaseImagePreprocessingLayer):
    """Turns each image grey (its luma in every channel) with probability `factor`."""

    _USE_BASE_FACTOR = False

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if (isinstance(factor, bool) or not isinstance(factor, numbers.Real)
                or not 0 <= factor <= 1):
            raise ValueError(f"RandomGrayscale: `factor` must be a probability in [0, 1], got "
                             f"{factor!r}.")
        self.factor = float(factor)
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = images_of(data).shape[0]
        return {"apply": jax.random.uniform(self._keys(seed, 1)[0], (batch,)) < self.factor}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        apply = transformation["apply"].reshape(-1, 1, 1, 1)
        return jnp.where(apply, jnp.broadcast_to(gray, images.shape), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


_JITTER_PARTS = ("brightness", "contrast", "saturation", "hue")


class RandomColorJitter(BaseImagePreprocessingLayer):
    """Applies, in this order, RandomBrightness, RandomContrast, RandomSaturation and
    RandomHue for each of `brightness_factor`, `contrast_factor`, `saturation_factor`,
    `hue_factor` that is given (with `value_range`)."""

    _USE_BASE_FACTOR = False

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = parse_value_range("RandomColorJitter", value_range)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        self._make_seed_generator(seed)
        common = {"value_range": self.value_range, "seed": seed,
                  "data_format": self.data_format, "dtype": self.dtype_policy}
        self.random_brightness = None if brightness_factor is None else RandomBrightness(
            brightness_factor, **common)
        self.random_contrast = None if contrast_factor is None else RandomContrast(
            contrast_factor, **common)
        self.random_saturation = None if saturation_factor is None else RandomSaturation(
            saturation_factor, **common)
        self.random_hue = None if hue_factor is None else RandomHue(hue_factor, **common)

    def _parts(self) -> list:
        parts = (getattr(self, f"random_{name}") for name in _JITTER_PARTS)
        return [p for p in parts if p is not None]

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        parts = self._parts()
        keys = self._keys(seed, max(len(parts), 1))
        return [p.get_random_transformation(data, training, seed=k)
                for p, k in zip(parts, keys)]

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        for part, t in zip(self._parts(), transformation):
            images = part.transform_images(images, t, training)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor,
                "seed": self.seed}
