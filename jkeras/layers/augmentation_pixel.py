"""Random pixel-level augmentation layers: RandomPosterization, Solarization,
RandomSharpness, RandomGaussianBlur.

Like the colour layers they change pixel values only (labels, boxes and masks pass
through) and keep images in `value_range`.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from jkeras.layers.augmentation_base import images_of, parse_factor, parse_value_range
from jkeras.layers.augmentation_color import ColorAugmentation
from jkeras.ops import image_sampling

__all__ = ["RandomGaussianBlur", "RandomPosterization", "RandomSharpness", "Solarization"]


class RandomPosterization(ColorAugmentation):
    """Keeps only the `bits` most significant bits of each 8-bit value (after mapping
    `value_range` to [0, 255]); `bits` is drawn per image from [1, factor) for a number
    `factor` in [1, 8] (or [lower, upper) for a pair; a single value when they agree)."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._init_color(factor, value_range, seed, bounds=(1.0, 8.0))

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = images_of(data).shape[0]
        low, high = int(self.factor[0]), int(self.factor[1])
        if low == high:
            bits = jnp.full((batch,), low, jnp.int32)
        else:
            bits = jax.random.randint(self._keys(seed, 1)[0], (batch,), low, high)
        return {"factor": bits}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        shift = (8 - transformation["factor"]).astype(jnp.uint8).reshape(-1, 1, 1, 1)
        x = self._transform_value_range(images, self.value_range, (0, 255))
        x = jnp.clip(x, 0, 255).astype(jnp.uint8)
        x = jnp.left_shift(jnp.right_shift(x, shift), shift).astype(images.dtype)
        return self._transform_value_range(x, (0, 255), self.value_range)


class Solarization(ColorAugmentation):
    """Adds a random amount (`addition_factor` * 255) to each image (on the [0, 255]
    scale of `value_range`, clipped) and inverts (255 - x) every value at or above a
    random threshold (`threshold_factor` * 255). Each factor is a number f in [0, 1]
    (drawn from [0, f]) or a pair. With the default factors 0 every value is inverted."""

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.addition_factor = parse_factor("Solarization", "addition_factor", addition_factor,
                                            (0.0, 1.0), symmetric=False)
        self.threshold_factor = parse_factor("Solarization", "threshold_factor",
                                             threshold_factor, (0.0, 1.0), symmetric=False)
        self.value_range = parse_value_range("Solarization", value_range)
        self._make_seed_generator(seed)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = images_of(data).shape[0]
        key_add, key_threshold = self._keys(seed, 2)
        # Keras 3 scales only the upper ends by 255; both ends are on the 0-255 scale here.
        (a0, a1), (t0, t1) = self.addition_factor, self.threshold_factor
        return {"additions": jax.random.uniform(key_add, (batch,), minval=a0 * 255,
                                                maxval=a1 * 255),
                "thresholds": jax.random.uniform(key_threshold, (batch,), minval=t0 * 255,
                                                 maxval=t1 * 255)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        x = self._transform_value_range(images, self.value_range, (0, 255))
        x = jnp.clip(x + transformation["additions"].reshape(-1, 1, 1, 1), 0, 255)
        x = jnp.where(x < transformation["thresholds"].reshape(-1, 1, 1, 1), x, 255 - x)
        return self._transform_value_range(x, (0, 255), self.value_range).astype(images.dtype)

    def get_config(self):
        config = super(ColorAugmentation, self).get_config()
        return {**config, "value_range": self.value_range,
                "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "seed": self.seed}


class RandomSharpness(ColorAugmentation):
    """Blends each image with a smoothed copy (3x3 kernel, centre weight 5/13): the
    sharpness `2 * factor`, `factor` drawn from [0, f] (a number f in [0, 1]) or a pair,
    gives `image + (1 - sharpness) * (smoothed - image)`: 0 fully smoothed, 0.5 the
    image itself, 1 sharpened."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._init_color(factor, value_range, seed, symmetric=False)

    def _adjust(self, images, factor):
        x, restore = image_sampling.to_nhwc(images, self.data_format)
        channels = x.shape[-1]
        kernel = jnp.asarray([[1, 1, 1], [1, 5, 1], [1, 1, 1]], x.dtype) / 13
        kernel = jnp.tile(kernel[:, :, None, None], (1, 1, 1, channels))
        smoothed = jax.lax.conv_general_dilated(
            x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=channels)
        return images + (1.0 - 2.0 * factor) * (restore(smoothed) - images)


def _kernel_size(value) -> tuple[int, int]:
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if (len(pair) != 2 or not all(isinstance(k, numbers.Integral) and not isinstance(k, bool)
                                  and k > 0 and k % 2 == 1 for k in pair)):
        raise ValueError(f"RandomGaussianBlur: `kernel_size` must be an odd positive integer "
                         f"or a pair of them (height, width), got {value!r}.")
    return int(pair[0]), int(pair[1])


class RandomGaussianBlur(ColorAugmentation):
    """With probability drawn from `factor` ([0, f] for a number f in [0, 1]), blurs an
    image with a Gaussian of `kernel_size` taps (odd; (height, width) or one int) whose
    standard deviations along height and width are drawn from `sigma` ([0, s] for a
    number s, or a pair), the same for the whole batch."""

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._init_color(factor, value_range, seed, symmetric=False)
        self.kernel_size = _kernel_size(kernel_size)
        self.sigma = parse_factor("RandomGaussianBlur", "sigma", sigma, (0.0, float("inf")),
                                  symmetric=False)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = images_of(data).shape[0]
        keys = self._keys(seed, 3)
        sigma = jax.random.uniform(keys[2], (2,), minval=self.sigma[0],
                                   maxval=self.sigma[1]) + 1e-6
        return {"apply": self._draw_apply(keys[0], keys[1], batch), "sigma": sigma}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        x, restore = image_sampling.to_nhwc(images, self.data_format)
        sigma = transformation["sigma"]
        blurred = image_sampling.separable_blur(
            x, image_sampling.gaussian_kernel_1d(self.kernel_size[0], sigma[0], x.dtype),
            image_sampling.gaussian_kernel_1d(self.kernel_size[1], sigma[1], x.dtype))
        apply = transformation["apply"].reshape(-1, 1, 1, 1)
        out = jnp.where(apply, restore(blurred), images)
        return jnp.clip(out, *self.value_range)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "sigma": self.sigma}
