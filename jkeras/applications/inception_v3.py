"""Inception V3 (Szegedy et al., 2015), as Keras builds it. Every convolution is
followed by batch normalization without scale and ReLU; the mixed blocks concatenate
parallel branches on the channel axis."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.weight_files import keras_file

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]

_FILES = (
    keras_file("inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
               "9a0d58056eeedaa3f26cb7ebd46da564"),
    keras_file("inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
               "bcbd6486424b2319ff4ef7d526e38f63"),
)


def conv2d_bn(x, filters: int, rows: int, cols: int, padding: str = "same",
              strides=(1, 1), name: str | None = None):
    """Conv2D (no bias) -> BatchNormalization(scale=False) -> ReLU; unnamed layers get
    Keras's default names, as in Keras."""
    from jkeras import layers
    from jkeras.backend import config

    axis = 1 if config.image_data_format() == "channels_first" else 3
    x = layers.Conv2D(filters, (rows, cols), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=axis, scale=False,
                                  name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _avg_pool_branch(x, filters: int):
    from jkeras import layers

    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(x, filters, 1, 1)


def _block_35(x, pool_filters: int, axis: int, name: str):
    """1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1."""
    from jkeras import layers

    b1 = conv2d_bn(x, 64, 1, 1)
    b5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
    b3 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    bp = _avg_pool_branch(x, pool_filters)
    return layers.concatenate([b1, b5, b3, bp], axis=axis, name=name)


def _block_17(x, mid: int, axis: int, name: str):
    """1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> (7x1 -> 1x7) x 2 | avg pool -> 1x1."""
    from jkeras import layers

    b1 = conv2d_bn(x, 192, 1, 1)
    b7 = conv2d_bn(x, mid, 1, 1)
    b7 = conv2d_bn(b7, mid, 1, 7)
    b7 = conv2d_bn(b7, 192, 7, 1)
    bd = conv2d_bn(x, mid, 1, 1)
    bd = conv2d_bn(bd, mid, 7, 1)
    bd = conv2d_bn(bd, mid, 1, 7)
    bd = conv2d_bn(bd, mid, 7, 1)
    bd = conv2d_bn(bd, 192, 1, 7)
    bp = _avg_pool_branch(x, 192)
    return layers.concatenate([b1, b7, bd, bp], axis=axis, name=name)


def _block_8(x, axis: int, index: int):
    """1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | avg pool -> 1x1."""
    from jkeras import layers

    b1 = conv2d_bn(x, 320, 1, 1)
    b3 = conv2d_bn(x, 384, 1, 1)
    b3 = layers.concatenate([conv2d_bn(b3, 384, 1, 3), conv2d_bn(b3, 384, 3, 1)], axis=axis,
                            name=f"mixed9_{index}")
    bd = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
    bd = layers.concatenate([conv2d_bn(bd, 384, 1, 3), conv2d_bn(bd, 384, 3, 1)], axis=axis)
    bp = _avg_pool_branch(x, 192)
    return layers.concatenate([b1, b3, bd, bp], axis=axis, name=f"mixed{9 + index}")


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="inception_v3"):
    """Inception V3; default input 299x299 (at least 75x75 without the top).
    Preprocess inputs with `inception_v3.preprocess_input` (scales to [-1, 1])."""
    from jkeras import layers

    build = ApplicationBuild("InceptionV3", weights=weights, include_top=include_top,
                             classes=classes, pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=299, min_size=75)
    build.use_imagenet_file(_FILES[0] if build.include_top else _FILES[1])
    axis = 1 if build.channel_axis == 1 else 3
    image = build.image_input()
    x = conv2d_bn(image, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    for i, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, axis, f"mixed{i}")
    # mixed3: grid reduction 35 -> 17
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    bd = conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3)
    bd = conv2d_bn(bd, 96, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, bd, bp], axis=axis, name="mixed3")

    for i, mid in enumerate((128, 160, 160, 192)):
        x = _block_17(x, mid, axis, f"mixed{4 + i}")
    # mixed8: grid reduction 17 -> 8
    b3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    b7 = conv2d_bn(x, 192, 1, 1)
    b7 = conv2d_bn(b7, 192, 1, 7)
    b7 = conv2d_bn(b7, 192, 7, 1)
    b7 = conv2d_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, b7, bp], axis=axis, name="mixed8")

    for i in range(2):
        x = _block_8(x, axis, i)
    x = build.top(x, classifier_activation, pool_names=(None, None))
    return build.model(image, x, name)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
