"""MobileNetV3 Small and Large (Howard et al., 2019), as Keras builds them: inverted
residual blocks with optional squeeze-and-excitation and hard-swish activations (the
"minimalistic" variants use 3x3 kernels, ReLU and no squeeze-and-excitation).
The models rescale their inputs themselves (`include_preprocessing`)."""

from __future__ import annotations

import warnings

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import (
    correct_pad,
    decode_predictions,
    validate_activation,
)
from jkeras.applications.mobilenet_v2 import check_input_tensor_shape, make_divisible
from jkeras.applications.weight_files import keras_file

__all__ = ["MobileNetV3Large", "MobileNetV3Small", "decode_predictions", "preprocess_input"]

# Keras's hashes of its weight files: (with top, without top)
_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb",
                             "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7",
                            "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c",
                                         "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7",
                             "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862",
                            "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37",
                                         "cde8136e733e811080d9fcd8a252f7e4"),
}
# (expansion, filters, kernel ("k": the variant's kernel), stride, squeeze-excite,
#  activation ("relu" or "act": the variant's activation)) per block
_SMALL = ((1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"),
          (88 / 24, 24, 3, 1, False, "relu"), (4, 40, "k", 2, True, "act"),
          (6, 40, "k", 1, True, "act"), (6, 40, "k", 1, True, "act"),
          (3, 48, "k", 1, True, "act"), (3, 48, "k", 1, True, "act"),
          (6, 96, "k", 2, True, "act"), (6, 96, "k", 1, True, "act"),
          (6, 96, "k", 1, True, "act"))
_LARGE = ((1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"),
          (3, 24, 3, 1, False, "relu"), (3, 40, "k", 2, True, "relu"),
          (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
          (6, 80, 3, 2, False, "act"), (2.5, 80, 3, 1, False, "act"),
          (2.3, 80, 3, 1, False, "act"), (2.3, 80, 3, 1, False, "act"),
          (6, 112, 3, 1, True, "act"), (6, 112, 3, 1, True, "act"),
          (6, 160, "k", 2, True, "act"), (6, 160, "k", 1, True, "act"),
          (6, 160, "k", 1, True, "act"))
_BN = {"epsilon": 1e-3, "momentum": 0.999}
_SE_RATIO = 0.25


def _relu(x):
    from jkeras import layers

    return layers.ReLU()(x)


def _hard_swish(x):
    from jkeras import layers

    return layers.Activation("hard_swish")(x)


def _hard_sigmoid(x):
    """ReLU6(x + 3) / 6, written with graph ops as Keras does."""
    from jkeras import layers

    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _squeeze_excite(x, filters: int, prefix: str):
    from jkeras import layers

    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(x)
    s = layers.Conv2D(make_divisible(filters * _SE_RATIO), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(s)
    s = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(s)
    s = layers.Conv2D(filters, kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv_1")(s)
    s = _hard_sigmoid(s)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([x, s])


def _inverted_residual(build, x, expansion: float, filters: int, kernel_size: int, stride: int,
                       squeeze_excite: bool, activation, block_id: int):
    from jkeras import layers

    axis = build.channel_axis
    shortcut = x
    in_filters = x.shape[axis]
    prefix = "expanded_conv_"
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(make_divisible(in_filters * expansion), kernel_size=1, padding="same",
                          use_bias=False, name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=axis, name=f"{prefix}expand_bn", **_BN)(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size),
                                 name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid", use_bias=False,
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{prefix}depthwise_bn", **_BN)(x)
    x = activation(x)
    if squeeze_excite:
        x = _squeeze_excite(x, make_divisible(in_filters * expansion), prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False,
                      name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{prefix}project_bn", **_BN)(x)
    if stride == 1 and in_filters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _resolve_shape(owner: str, input_shape, input_tensor, channels_first: bool) -> tuple:
    from jkeras import backend

    check_input_tensor_shape(owner, input_tensor, input_shape)
    if input_shape is None and input_tensor is not None and backend.is_keras_tensor(
            input_tensor):
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"{owner}: input_shape must have 3 dimensions; got {input_shape}.")
    rows, cols = input_shape[1:] if channels_first else input_shape[:2]
    if (rows is not None and rows < 32) or (cols is not None and cols < 32):
        raise ValueError(f"{owner}: input size must be at least 32x32; got {input_shape}.")
    return input_shape


def _mobilenet_v3(owner: str, blocks, last_point_channels: int, model_type: str, input_shape,
                  alpha, minimalistic, include_top, weights, input_tensor, classes, pooling,
                  dropout_rate, classifier_activation, include_preprocessing, name):
    from jkeras import layers
    from jkeras.backend import config

    channels_first = config.image_data_format() == "channels_first"
    input_shape = _resolve_shape(owner, input_shape, input_tensor, channels_first)
    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=None)
    if build.weights == "imagenet":
        if (alpha not in (0.75, 1.0)) if not minimalistic else alpha != 1.0:
            raise ValueError(
                f"{owner}: ImageNet weights exist for alpha 0.75 and 1.0 (1.0 only when "
                f"minimalistic); got alpha={alpha!r}, minimalistic={minimalistic!r}."
            )
        rows, cols = input_shape[1:] if channels_first else input_shape[:2]
        if rows != cols or rows != 224:
            warnings.warn(f"{owner}: input_shape is undefined, not square, or not 224x224; "
                          f"loading the weights for 224x224 inputs.", stacklevel=3)
        kind = f"{model_type}_minimalistic" if minimalistic else model_type
        variant = f"{kind}_224_{float(alpha)}_float"
        top_hash, notop_hash = _HASHES[variant]
        build.use_imagenet_file(
            keras_file("mobilenet_v3", f"weights_mobilenet_v3_{variant}.h5", top_hash)
            if build.include_top else
            keras_file("mobilenet_v3", f"weights_mobilenet_v3_{variant}_no_top_v2.h5",
                       notop_hash))
    kernel, activation, use_se = (3, _relu, False) if minimalistic else (5, _hard_swish, True)
    axis = build.channel_axis
    image = x = build.image_input()
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="conv")(x)
    x = layers.BatchNormalization(axis=axis, name="conv_bn", **_BN)(x)
    x = activation(x)
    for block_id, (expansion, filters, k, stride, se, act) in enumerate(blocks):
        x = _inverted_residual(build, x, expansion, make_divisible(filters * alpha),
                               kernel if k == "k" else k, stride, se and use_se,
                               _relu if act == "relu" else activation, block_id)
    last_conv_channels = make_divisible(x.shape[axis] * 6)
    if alpha > 1.0:
        last_point_channels = make_divisible(last_point_channels * alpha)
    x = layers.Conv2D(last_conv_channels, kernel_size=1, padding="same", use_bias=False,
                      name="conv_1")(x)
    x = layers.BatchNormalization(axis=axis, name="conv_1_bn", **_BN)(x)
    x = activation(x)
    if build.include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_channels, kernel_size=1, padding="same", use_bias=True,
                          name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        validate_activation(classifier_activation, build.weights, owner)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = build.pool(x)
    return build.model(image, x, name)


_DOC = """

    `alpha` scales the widths (pretrained: 0.75 and 1.0; 1.0 when `minimalistic`);
    `minimalistic` drops squeeze-and-excitation and hard-swish and uses 3x3 kernels.
    Any input of at least 32x32 works (`input_shape` defaults to (None, None, 3));
    the pretrained weights are for 224x224. With `include_preprocessing` the model
    takes pixels in [0, 255] (a Rescaling layer maps them to [-1, 1]), so
    `mobilenet_v3.preprocess_input` returns its input unchanged.
"""


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False,  # noqa: N802
                     include_top=True, weights="imagenet", input_tensor=None, classes=1000,
                     pooling=None, dropout_rate=0.2, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Small"):
    return _mobilenet_v3("MobileNetV3Small", _SMALL, 1024, "small", input_shape, alpha,
                         minimalistic, include_top, weights, input_tensor, classes, pooling,
                         dropout_rate, classifier_activation, include_preprocessing, name)


def MobileNetV3Large(input_shape=None, alpha=1.0, minimalistic=False,  # noqa: N802
                     include_top=True, weights="imagenet", input_tensor=None, classes=1000,
                     pooling=None, dropout_rate=0.2, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Large"):
    return _mobilenet_v3("MobileNetV3Large", _LARGE, 1280, "large", input_shape, alpha,
                         minimalistic, include_top, weights, input_tensor, classes, pooling,
                         dropout_rate, classifier_activation, include_preprocessing, name)


MobileNetV3Small.__doc__ = "MobileNetV3Small: 11 inverted residual blocks." + _DOC
MobileNetV3Large.__doc__ = "MobileNetV3Large: 15 inverted residual blocks." + _DOC


def preprocess_input(x, data_format=None):
    """The identity: MobileNetV3 models rescale their inputs themselves."""
    return x
