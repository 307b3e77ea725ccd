"""The base of Keras 3's image preprocessing and augmentation layers.

A layer takes images `(batch, H, W, C)` / `(H, W, C)` (or channels-first), or Keras's
dict `{"images": ..., "labels": ..., "bounding_boxes": {"boxes": ..., "labels": ...},
"segmentation_masks": ...}`, and returns the same structure. Each call draws one
*transformation* (`get_random_transformation`, from the layer's `SeedGenerator`: eager
calls advance it, `fit`'s compiled step draws from the step's key stream) and applies
it consistently with `transform_images`, `transform_labels`, `transform_bounding_boxes`
and `transform_segmentation_masks`, all on batched arrays (unbatched inputs gain and
lose a batch axis around them). Random layers are active only with `training=True`
(the default of a direct call; `fit` passes True, `predict`/`evaluate` False) and are
otherwise the identity; images always come out in the layer's compute dtype.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import scope as _scope
from jkeras.backend.config import standardize_data_format
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.scope import StatelessScope
from jkeras.engine.layer import Layer
from jkeras.engine.seed_generator import SeedGenerator, draw_key, in_jax_trace
from jkeras.layers.bounding_boxes import converters as box_ops
from jkeras.ops.operation import symbolic_eval

_DICT_KEYS = ("images", "labels", "bounding_boxes", "segmentation_masks")


def parse_factor(layer: str, arg: str, factor, bounds=(-1.0, 1.0), symmetric: bool = True,
                 lower_open: bool = False) -> tuple[float, float]:
    """A factor as (lower, upper) within `bounds`: a pair is sorted, a number `f` gives
    (-|f|, |f|) when `symmetric` (the lower end raised to the lower bound), else
    (lower bound, f). Anything else raises a ValueError naming `layer` and `arg`."""
    lo, hi = bounds
    message = (f"{layer}: `{arg}` must be a number or a pair of numbers in "
               f"{'(' if lower_open else '['}{lo}, {hi}], got {factor!r}.")

    def check(v):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(message)
        if v > hi or v < lo or (lower_open and v == lo):
            raise ValueError(message)
        return float(v)

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message)
        lower, upper = sorted(check(v) for v in factor)
        return lower, upper
    value = check(factor)
    if symmetric:
        return max(-abs(value), lo), abs(value)
    return lo, value


def parse_value_range(layer: str, value_range) -> tuple[float, float]:
    """`value_range` as a sorted pair of numbers, else a ValueError naming `layer`."""
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, numbers.Real) for v in value_range)):
        raise ValueError(f"{layer}: `value_range` must be a pair of numbers (low, high), e.g. "
                         f"(0, 255) or (0, 1), got {value_range!r}.")
    low, high = sorted(value_range)
    return low, high


def images_of(data):
    """The images of a layer input: the array itself, or the dict's 'images'."""
    return data["images"] if isinstance(data, dict) else data


def check_choice(layer: str, arg: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{layer}: `{arg}` must be one of {tuple(choices)}, got {value!r}.")
    return value


def _densify_boxes(bounding_boxes, batched: bool) -> dict:
    """{'boxes': float32 (..., N, 4), 'labels': (..., N)}; ragged Python lists are padded
    with zero boxes labelled -1."""
    if (not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes
            or "labels" not in bounding_boxes):
        raise ValueError(f"`bounding_boxes` must be a dict with 'boxes' and 'labels', got "
                         f"{bounding_boxes!r}.")
    boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
    if batched and isinstance(boxes, list) and boxes and isinstance(boxes[0], list):
        longest = max(len(b) for b in boxes)
        boxes = [list(b) + [[0.0] * 4] * (longest - len(b)) for b in boxes]
        labels = [list(v) + [-1] * (longest - len(v)) for v in labels]
    boxes = jnp.asarray(boxes, jnp.float32)
    if boxes.ndim != (3 if batched else 2) or boxes.shape[-1] != 4:
        raise ValueError(f"bounding_boxes['boxes'] must have shape "
                         f"{'(batch, boxes, 4)' if batched else '(boxes, 4)'} to go with "
                         f"{'batched' if batched else 'unbatched'} images, got {boxes.shape}.")
    return {**bounding_boxes, "boxes": boxes, "labels": jnp.asarray(labels)}


class BaseImagePreprocessingLayer(Layer):
    """Base class of image preprocessing/augmentation layers (see the module doc).

    Subclasses set `_FACTOR_BOUNDS` and `_USE_BASE_FACTOR` (whether `factor` is parsed
    here), and override `get_random_transformation` and the `transform_*` methods."""

    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1.0, 1.0)
    # Per-sample transformations: a sample's result does not depend on the others.
    _batch_independent = True
    # Whether the layer acts when `training` is False (deterministic layers).
    _ACTIVE_AT_INFERENCE = False

    def __init__(self, factor=None, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if bounding_box_format is not None:
            bounding_box_format = box_ops.check_format(type(self).__name__,
                                                       bounding_box_format)
        self.bounding_box_format = bounding_box_format
        self.data_format = standardize_data_format(data_format)
        if self._USE_BASE_FACTOR:
            self._set_factor(0.0 if factor is None else factor)
        elif factor is not None:
            raise ValueError(f"{type(self).__name__} does not take a `factor` argument, got "
                             f"factor={factor!r}.")

    # -- arguments -------------------------------------------------------------------------
    def _set_factor(self, factor, symmetric: bool = True) -> None:
        self.factor = parse_factor(type(self).__name__, "factor", factor, self._FACTOR_BOUNDS,
                                   symmetric)

    def _make_seed_generator(self, seed) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"{type(self).__name__}: `seed` must be an integer or None, got "
                             f"{seed!r}.")
        self.seed = seed
        self.generator = SeedGenerator(seed)

    # -- randomness --------------------------------------------------------------------------
    def _keys(self, seed, n: int) -> list:
        """`n` independent PRNG keys for one transformation: from `seed` when given (an
        int, a SeedGenerator or a key), else from the layer's own generator."""
        key = draw_key(self.generator if seed is None else seed)
        return list(jax.random.split(key, n))

    def _draw_apply(self, key_probability, key_threshold, batch: int):
        """Which images of the batch to transform: each with a probability that is itself
        drawn from `self.factor`."""
        probability = jax.random.uniform(key_probability, (batch,), minval=self.factor[0],
                                         maxval=self.factor[1])
        return jax.random.uniform(key_threshold, (batch,)) < probability

    @property
    def _height_axis(self) -> int:
        return -3 if self.data_format == "channels_last" else -2

    @property
    def _width_axis(self) -> int:
        return self._height_axis + 1

    def _image_size(self, images) -> tuple[int, int]:
        return images.shape[self._height_axis], images.shape[self._width_axis]

    # -- the transformation protocol -----------------------------------------------------------
    def get_random_transformation(self, data, training=True, seed=None):
        """The random parameters of one call for the batch in `data` (images, or the
        dict); None when there is nothing to do."""
        return None

    def transform_images(self, images, transformation, training=True):
        return images

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        return segmentation_masks

    # -- helpers for subclasses ------------------------------------------------------------
    def _transform_value_range(self, images, original_range, target_range):
        """`images` linearly mapped from `original_range` to `target_range`."""
        (a, b), (c, d) = original_range, target_range
        if (a, b) == (c, d):
            return images
        return (images - a) * ((d - c) / (b - a)) + c

    def _boxes_as_xyxy(self, bounding_boxes, height, width):
        self._require_box_format()
        return box_ops.convert_format(bounding_boxes["boxes"], self.bounding_box_format, "xyxy",
                                      height=height, width=width)

    def _boxes_from_xyxy(self, bounding_boxes, xyxy, height, width) -> dict:
        """`bounding_boxes` with new 'xyxy' boxes clipped to the `height` x `width` image
        (labels of emptied boxes become -1), in the layer's format."""
        clipped = box_ops.clip_to_image_size({**bounding_boxes, "boxes": xyxy},
                                             height=height, width=width)
        clipped["boxes"] = box_ops.convert_format(clipped["boxes"], "xyxy",
                                                  self.bounding_box_format, height, width)
        return clipped

    def _require_box_format(self) -> None:
        if self.bounding_box_format is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' got 'bounding_boxes' but no "
                f"`bounding_box_format`; create it with e.g. bounding_box_format='xyxy'."
            )

    def _unsupported_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        raise NotImplementedError(
            f"{type(self).__name__} cannot transform bounding boxes; remove them from the "
            f"input or apply the layer to the images only."
        )

    # -- call ----------------------------------------------------------------------------------
    def _validate_input(self, inputs) -> None:
        images = inputs.get("images") if isinstance(inputs, dict) else inputs
        if isinstance(inputs, dict) and images is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': a dict input needs an "
                             f"'images' entry; got keys {sorted(inputs)}.")
        if not hasattr(images, "shape") or len(images.shape) not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects images of rank 4 (batch, height, "
                f"width, channels) ('channels_last') or (batch, channels, height, width) "
                f"('channels_first'), or one unbatched rank-3 image; got "
                f"{getattr(images, 'shape', type(images).__name__)}."
            )

    def call(self, data, training=True):
        batch, unbatched = self._batch_of(data)
        was_dict = isinstance(data, dict)
        if not training and not self._ACTIVE_AT_INFERENCE:
            out = batch
        elif _scope.current() is None and not in_jax_trace():
            out = self._compiled_transform(batch, was_dict, bool(training))
        else:
            out = self._transform(batch, was_dict, training)
        if unbatched:
            out = jax.tree_util.tree_map(lambda v: v[0], out)
        return {**data, **out} if was_dict else out["images"]

    def _batch_of(self, data) -> tuple[dict, bool]:
        """(the input as a dict of batched arrays, images in the compute dtype; whether
        the images were unbatched)."""
        if not isinstance(data, dict):
            data = {"images": data}
        unknown = set(data) - set(_DICT_KEYS)
        if unknown:
            raise ValueError(f"{type(self).__name__} '{self.name}': unknown input keys "
                             f"{sorted(unknown)}; expected some of {_DICT_KEYS}.")
        images = jnp.asarray(data["images"])
        unbatched = images.ndim == 3
        batch = {"images": self._as_batch(images, unbatched).astype(self.compute_dtype)}
        for key in ("labels", "segmentation_masks"):
            if key in data:
                batch[key] = self._as_batch(jnp.asarray(data[key]), unbatched)
        if "bounding_boxes" in data:
            boxes = _densify_boxes(data["bounding_boxes"], not unbatched)
            batch["bounding_boxes"] = {k: self._as_batch(v, unbatched)
                                       for k, v in boxes.items()}
        return batch, unbatched

    def _transform(self, batch: dict, was_dict: bool, training) -> dict:
        data = batch if was_dict else batch["images"]
        transformation = self.get_random_transformation(data, training=training)
        return self.transform_batch(batch, transformation, training)

    def _compiled_transform(self, batch: dict, was_dict: bool, training: bool) -> dict:
        """An eager call: one key from the layer's generator (advancing it), then the
        transformation compiled once per input signature (not op by op)."""
        generator = getattr(self, "generator", None)
        key = draw_key(generator) if generator is not None else np.zeros(2, np.uint32)
        run = self.__dict__.get("_compiled_run")
        if run is None:
            def scoped(batch, key, was_dict, training):
                with StatelessScope(rng=key):
                    return self._transform(batch, was_dict, training)

            run = self._compiled_run = jax.jit(scoped, static_argnums=(2, 3))
        return run(batch, key, was_dict, training)

    def transform_batch(self, batch: dict, transformation, training=True) -> dict:
        """Applies one transformation to every entry of a batched input dict."""
        out = {"images": self.transform_images(batch["images"], transformation, training)}
        if "labels" in batch:
            out["labels"] = self.transform_labels(batch["labels"], transformation, training)
        if "bounding_boxes" in batch:
            out["bounding_boxes"] = self.transform_bounding_boxes(
                batch["bounding_boxes"], transformation, training)
        if "segmentation_masks" in batch:
            out["segmentation_masks"] = self.transform_segmentation_masks(
                batch["segmentation_masks"], transformation, training)
        return out

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_compiled_run", None)  # a compiled closure: rebuilt on the next call
        return state

    @staticmethod
    def _as_batch(x, unbatched: bool):
        return x[None] if unbatched else x

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, *args, **kwargs):
        data = args[0]
        if isinstance(data, KerasTensor):
            return KerasTensor(tuple(self.compute_output_shape(tuple(data.shape))),
                               self.compute_dtype)

        def run(d):  # dict inputs: trace the inference call abstractly
            with StatelessScope(rng=jax.random.key(0)):
                return self.call(d, training=False)

        return symbolic_eval(run, (data,), {})

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
