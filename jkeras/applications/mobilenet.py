"""MobileNet (Howard et al., 2017), as Keras builds it: a strided 3x3 convolution,
then 13 depthwise-separable blocks (3x3 depthwise + 1x1 pointwise, each with batch
normalization and ReLU6), widths scaled by `alpha`."""

from __future__ import annotations

import warnings

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import decode_predictions, validate_activation
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.weight_files import keras_file

__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]

_PRETRAINED_SIZES = (128, 160, 192, 224)
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
# (pointwise filters, stride) of the 13 depthwise-separable blocks
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def square_pretrained_size(input_shape, channels_first: bool, sizes) -> int:
    """The pretrained size matching a square `input_shape`, else 224."""
    if input_shape is None:
        return 224
    rows, cols = (input_shape[1], input_shape[2]) if channels_first else input_shape[:2]
    return rows if rows == cols and rows in sizes else 224


def pretrained_rows(build: ApplicationBuild, sizes) -> int | None:
    """The image rows the model is named after; with ImageNet weights, the rows of
    the pretrained file to load (224, with a warning, for sizes without one)."""
    shape = build.input_shape
    rows, cols = (shape[1], shape[2]) if build.channel_axis == 1 else shape[:2]
    if build.weights == "imagenet" and (rows != cols or rows not in sizes):
        warnings.warn(
            f"{build.owner}: input_shape is undefined, not square, or not one of {sizes}; "
            f"loading the weights for 224x224 inputs.", stacklevel=3)
        return 224
    return rows


def _depthwise_block(build, x, filters: int, alpha: float, depth_multiplier: int,
                     stride: int, block_id: int):
    from jkeras import layers

    axis = build.channel_axis
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid",
                               depth_multiplier=depth_multiplier, strides=(stride, stride),
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(filters * alpha), (1, 1), padding="same", use_bias=False,
                      strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3,  # noqa: N802
              include_top=True, weights="imagenet", input_tensor=None, pooling=None,
              classes=1000, classifier_activation="softmax", name=None):
    """MobileNet. `alpha` scales every layer's filters (pretrained: 0.25, 0.5, 0.75,
    1.0), `depth_multiplier` the depthwise convolutions (pretrained: 1); `dropout`
    precedes the 1x1-convolution classifier. Default input 224x224; pretrained
    weights exist for square 128, 160, 192 and 224 inputs (others get the 224
    weights, with a warning). The default name is `mobilenet_{alpha:.2f}_{rows}`.
    Preprocess inputs with `mobilenet.preprocess_input` (scales to [-1, 1])."""
    from jkeras import layers
    from jkeras.backend import config

    owner = "MobileNet"
    channels_first = config.image_data_format() == "channels_first"
    default_size = square_pretrained_size(input_shape, channels_first, _PRETRAINED_SIZES)
    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=default_size)
    rows = pretrained_rows(build, _PRETRAINED_SIZES)
    if build.weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(
                f"{owner}: ImageNet weights exist only for depth_multiplier=1; got "
                f"{depth_multiplier!r}."
            )
        if alpha not in _ALPHA_TEXT:
            raise ValueError(
                f"{owner}: ImageNet weights exist only for alpha in (0.25, 0.5, 0.75, 1.0); "
                f"got {alpha!r}."
            )
        suffix = "" if build.include_top else "_no_top"
        build.use_imagenet_file(keras_file(
            "mobilenet", f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf{suffix}.h5"))
    axis = build.channel_axis
    image = build.image_input()
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False,
                      strides=(2, 2), name="conv1")(image)
    x = layers.BatchNormalization(axis=axis, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_block(build, x, filters, alpha, depth_multiplier, stride, block_id)
    if build.include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        validate_activation(classifier_activation, build.weights, owner)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = build.pool(x, avg_name=None, max_name=None)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    return build.model(image, x, name)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
