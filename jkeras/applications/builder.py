"""The steps every application model shares: checking Keras's arguments, making the
image input, the classifier or pooling top, and building the Functional model with
its weights (Keras's ImageNet file, or a file the caller names)."""

from __future__ import annotations

import os

from jkeras.applications import imagenet_utils
from jkeras.applications.weight_files import WeightsFile, locate
from jkeras.backend import config, is_keras_tensor

_POOLING = (None, "avg", "max")


def check_arguments(owner: str, weights, include_top: bool, classes, pooling, input_tensor):
    """Checks the arguments every application takes; returns `weights` with a path
    object turned into a string."""
    if isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if not (weights is None or weights == "imagenet" or (
            isinstance(weights, str) and os.path.isfile(weights))):
        raise ValueError(
            f"{owner}: weights must be None (random initialization), 'imagenet' "
            f"(pretrained on ImageNet) or the path of an existing weights file; got "
            f"{weights!r}."
        )
    if include_top and (isinstance(classes, bool) or not isinstance(classes, int)
                        or classes < 1):
        raise ValueError(f"{owner}: classes must be a positive integer; got {classes!r}.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"{owner}: with weights='imagenet' and include_top=True, classes must be 1000 "
            f"(the ImageNet classes); got classes={classes}. Use include_top=False and add "
            f"your own classifier, or weights=None."
        )
    if input_tensor is not None and not is_keras_tensor(input_tensor):
        raise ValueError(
            f"{owner}: input_tensor must be a symbolic tensor (from jkeras.Input or a layer "
            f"call); got {type(input_tensor).__name__}. Pass input_shape for a new input "
            f"instead."
        )
    if pooling not in _POOLING:
        # Keras ignores other values silently
        raise ValueError(f"{owner}: pooling must be None, 'avg' or 'max'; got {pooling!r}.")
    return weights


class ApplicationBuild:
    """One model being built: the checked arguments, the resolved input shape and the
    weights to load. `owner` (the model function's name) prefixes every error."""

    def __init__(self, owner: str, *, weights, include_top: bool, classes, pooling,
                 input_tensor, input_shape, default_size: int | None, min_size: int = 32,
                 channels_last_only: bool = False) -> None:
        self.owner = owner
        self.data_format = config.image_data_format()
        if channels_last_only and self.data_format == "channels_first":
            raise ValueError(
                f"{owner} supports only the channels_last image data format; set "
                f"jkeras.config.set_image_data_format('channels_last') (or "
                f"\"image_data_format\": \"channels_last\" in $JKERAS_HOME/jkeras.json)."
            )
        self.channel_axis = 1 if self.data_format == "channels_first" else -1
        self.weights = check_arguments(owner, weights, include_top, classes, pooling,
                                       input_tensor)
        self.include_top = bool(include_top)
        self.classes = classes
        self.pooling = pooling
        self.input_tensor = input_tensor
        self.weights_path = None if self.weights in (None, "imagenet") else self.weights
        self.input_shape = input_shape
        if default_size is not None:
            self.input_shape = imagenet_utils.obtain_input_shape(
                input_shape, default_size=default_size, min_size=min_size,
                data_format=self.data_format, require_flatten=self.include_top,
                weights=self.weights, owner=owner)

    def use_imagenet_file(self, weights_file: WeightsFile) -> None:
        """Finds Keras's ImageNet file now, before any layer is built, when
        weights='imagenet'."""
        if self.weights == "imagenet":
            self.weights_path = locate(weights_file, self.owner)

    def image_input(self):
        """The model's image tensor: `input_tensor`, or a new Input of `input_shape`."""
        from jkeras import layers

        if self.input_tensor is None:
            return layers.Input(shape=self.input_shape)
        return self.input_tensor

    def top(self, x, classifier_activation, top_pool: str | None = "avg_pool",
            pool_names: tuple = ("avg_pool", "max_pool")):
        """With include_top, global average pooling (layer `top_pool`) and the
        `predictions` Dense layer; without, the `pooling` (layers `pool_names`: average,
        max; nothing when pooling is None)."""
        from jkeras import layers

        if self.include_top:
            x = layers.GlobalAveragePooling2D(name=top_pool)(x)
            return self.predictions(x, classifier_activation)
        return self.pool(x, *pool_names)

    def predictions(self, x, classifier_activation, **dense_kwargs):
        """The `predictions` Dense layer (`classes` units)."""
        from jkeras import layers

        imagenet_utils.validate_activation(classifier_activation, self.weights, self.owner)
        return layers.Dense(self.classes, activation=classifier_activation,
                            name="predictions", **dense_kwargs)(x)

    def pool(self, x, avg_name: str | None = "avg_pool", max_name: str | None = "max_pool"):
        """The `pooling` of a model without its top (nothing when pooling is None)."""
        from jkeras import layers

        if self.pooling == "avg":
            return layers.GlobalAveragePooling2D(name=avg_name)(x)
        if self.pooling == "max":
            return layers.GlobalMaxPooling2D(name=max_name)(x)
        return x

    def model(self, image, outputs, name: str):
        """The Functional model from the source inputs to `outputs`, with its
        weights loaded."""
        from jkeras.engine.functional import Functional
        from jkeras.utils.source_inputs import get_source_inputs

        inputs = image
        if self.input_tensor is not None:
            sources = get_source_inputs(self.input_tensor)
            inputs = sources[0] if len(sources) == 1 else sources
        model = Functional(inputs, outputs, name=name)
        if self.weights_path is not None:
            model.load_weights(self.weights_path)
        return model
