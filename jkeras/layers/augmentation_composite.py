"""Policies built from other augmentation layers: RandAugment and AugMix.

Both pick operations at random per call (the same operation for the whole batch, as
Keras does) with `jax.lax.switch` inside a `jax.lax.scan` over the steps: every
operation is traced once, only the chosen one runs, and inside a compiled training
step the choice is redrawn every step.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from jkeras.layers.augmentation_affine import RandomRotation, RandomShear, RandomTranslation
from jkeras.layers.augmentation_base import (
    BaseImagePreprocessingLayer,
    check_choice,
    parse_value_range,
)
from jkeras.layers.augmentation_color import (
    RandomBrightness,
    RandomColorDegeneration,
    RandomContrast,
)
from jkeras.layers.augmentation_histogram import AutoContrast, Equalization
from jkeras.layers.augmentation_pixel import RandomPosterization, RandomSharpness, Solarization

__all__ = ["AugMix", "RandAugment"]

_GEOMETRIC = ("random_shear", "random_translation", "random_rotation")
_POSTERIZE_ETC = ("random_posterization", "solarization", "auto_contrast", "equalization")
_COLOR = ("random_brightness", "random_color_degeneration", "random_contrast",
          "random_sharpness")


def _positive_int(layer: str, arg: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{layer}: `{arg}` must be a positive integer, got {value!r}.")
    return int(value)


class AugmentationPolicy(BaseImagePreprocessingLayer):
    """Owns one sub-layer per operation name (Keras's attribute names) and applies the
    operation of a traced index to a batch dict."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (0.0, 1.0)

    def _make_operations(self, names, interpolation) -> None:
        f = self.factor
        common = {"data_format": self.data_format, "dtype": self.dtype_policy,
                  "bounding_box_format": self.bounding_box_format}
        color = {"value_range": self.value_range, "seed": self.seed, **common}
        geometric = {"interpolation": interpolation, "seed": self.seed, **common}
        makers = {
            "random_shear": lambda: RandomShear(x_factor=f, y_factor=f, **geometric),
            "random_translation": lambda: RandomTranslation(f, f, **geometric),
            "random_rotation": lambda: RandomRotation(f, **geometric),
            "random_brightness": lambda: RandomBrightness(f, **color),
            "random_color_degeneration": lambda: RandomColorDegeneration(f, **color),
            "random_contrast": lambda: RandomContrast(f, **color),
            "random_sharpness": lambda: RandomSharpness(f, **color),
            "solarization": lambda: Solarization(f, f, **color),
            "random_posterization": lambda: RandomPosterization(
                max(1, int(8 * f[1])), **color),
            "auto_contrast": lambda: AutoContrast(self.value_range, **common),
            "equalization": lambda: Equalization(self.value_range, **common),
        }
        self._operation_names = tuple(names)
        for name in names:
            setattr(self, name, makers[name]())

    def _operations(self) -> list:
        return [getattr(self, name) for name in self._operation_names]

    def _apply_operation(self, index, batch: dict, key, with_identity: bool = False) -> dict:
        """`batch` transformed by operation `index` (traced) with a transformation drawn
        from `key`; index len(operations) is the identity when `with_identity`."""
        def branch(layer):
            def run(b):
                t = layer.get_random_transformation(b, training=True, seed=key)
                return layer.transform_batch(b, t, training=True)
            return run

        branches = [branch(layer) for layer in self._operations()]
        if with_identity:
            branches.append(lambda b: b)
        return jax.lax.switch(index, branches, batch)

    def transform_batch(self, batch: dict, transformation, training=True) -> dict:
        if not training or transformation is None:
            return batch
        return self._policy(dict(batch), transformation)

    def transform_images(self, images, transformation, training=True):
        return self.transform_batch({"images": images}, transformation, training)["images"]


class RandAugment(AugmentationPolicy):
    """Applies `num_ops` operations in a row, each chosen uniformly among shear,
    translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast and equalization, with magnitude
    `factor` ([0, f] for a number f in [0, 1]). Boxes and masks follow the geometric
    operations."""

    _NAMES = _GEOMETRIC + _COLOR + ("random_posterization", "solarization", "auto_contrast",
                                    "equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.value_range = parse_value_range("RandAugment", value_range)
        self.num_ops = _positive_int("RandAugment", "num_ops", num_ops)
        self.interpolation = check_choice("RandAugment", "interpolation", interpolation,
                                          ("nearest", "bilinear"))
        self._make_seed_generator(seed)
        self._make_operations(self._NAMES, interpolation)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        keys = self._keys(seed, self.num_ops + 1)
        return {"operations": jax.random.randint(keys[0], (self.num_ops,), 0,
                                                 len(self._NAMES)),
                "keys": jnp.stack(keys[1:])}

    def _policy(self, batch, transformation):
        def step(b, op):
            index, key = op
            return self._apply_operation(index, b, key), None

        batch, _ = jax.lax.scan(step, batch, (transformation["operations"],
                                              transformation["keys"]))
        return batch

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_ops": self.num_ops, "factor": self.factor,
                "interpolation": self.interpolation, "seed": self.seed}


class AugMix(AugmentationPolicy):
    """AugMix: `num_chains` chains of up to `chain_depth` random operations (each step
    may be skipped) are mixed with Dirichlet(`alpha`) weights, and the mix is blended
    with the original image by a Beta(`alpha`, `alpha`) weight; values are clipped to
    `value_range`. Operations: shear, translation, rotation, posterization,
    solarization, auto-contrast, equalization, plus with `all_ops` brightness, colour
    degeneration, contrast and sharpness, of magnitude `factor`."""

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, **kwargs)
        self.value_range = parse_value_range("AugMix", value_range)
        self.num_chains = _positive_int("AugMix", "num_chains", num_chains)
        self.chain_depth = _positive_int("AugMix", "chain_depth", chain_depth)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or alpha <= 0:
            raise ValueError(f"AugMix: `alpha` must be a positive number, got {alpha!r}.")
        self.alpha = alpha
        self.all_ops = bool(all_ops)
        self.interpolation = check_choice("AugMix", "interpolation", interpolation,
                                          ("nearest", "bilinear"))
        self._make_seed_generator(seed)
        names = _GEOMETRIC + _POSTERIZE_ETC + (_COLOR if self.all_ops else ())
        self._make_operations(names, interpolation)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        steps = self.num_chains * self.chain_depth
        keys = self._keys(seed, 3 + steps)
        gammas = jax.random.gamma(keys[0], self.alpha, (self.num_chains,))
        return {"chain_weights": gammas / jnp.sum(gammas),
                "original_weight": jax.random.beta(keys[1], self.alpha, self.alpha, ()),
                "operations": jax.random.randint(
                    keys[2], (self.num_chains, self.chain_depth), 0,
                    len(self._operation_names) + 1),
                "keys": jnp.stack(keys[3:])}

    def _policy(self, batch, transformation):
        # Chains move images and masks alike; both are mixed (masks as floats, as Keras
        # does); boxes and labels pass through.
        parts = {k: batch[k] for k in ("images", "segmentation_masks") if k in batch}
        m = transformation["original_weight"]

        def chain_step(chain, op):
            index, key = op
            return self._apply_operation(index, chain, key, with_identity=True), None

        def add_chain(mixed, chain_ops):
            indices, keys, weight = chain_ops
            chain, _ = jax.lax.scan(chain_step, parts, (indices, keys))
            return {k: v + (1 - m) * weight * chain[k] for k, v in mixed.items()}, None

        keys = transformation["keys"]
        keys = keys.reshape((self.num_chains, self.chain_depth) + keys.shape[1:])
        mixed, _ = jax.lax.scan(add_chain, {k: m * v for k, v in parts.items()},
                                (transformation["operations"], keys,
                                 transformation["chain_weights"]))
        batch.update(mixed)
        batch["images"] = jnp.clip(mixed["images"], *self.value_range)
        return batch

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_chains": self.num_chains, "chain_depth": self.chain_depth,
                "factor": self.factor, "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}
