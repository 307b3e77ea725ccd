"""Xception (Chollet, 2017), as Keras builds it: an entry flow of strided separable
blocks with 1x1 convolution shortcuts, eight middle residual blocks of three 728-filter
separable convolutions, and an exit flow."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.weight_files import keras_file

__all__ = ["Xception", "decode_predictions", "preprocess_input"]

_FILES = (
    keras_file("xception", "xception_weights_tf_dim_ordering_tf_kernels.h5",
               "0a58e3b7378bc2990ea3b43d5981f1f6"),
    keras_file("xception", "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
               "b0042744bf5b25fce3cb969f33bebb97"),
)


def _sepconv_bn(build, x, filters: int, name: str):
    from jkeras import layers

    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=build.channel_axis, name=f"{name}_bn")(x)


def _projection(build, x, filters: int):
    """The strided 1x1 convolution shortcut of a downsampling block (unnamed in Keras)."""
    from jkeras import layers

    x = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=build.channel_axis)(x)


def _down_block(build, x, filters: tuple[int, int], block: int, first_relu: bool = True):
    """Two separable convolutions and strided 3x3 max pooling, plus the projection."""
    from jkeras import layers

    residual = _projection(build, x, filters[1])
    prefix = f"block{block}"
    if first_relu:
        x = layers.Activation("relu", name=f"{prefix}_sepconv1_act")(x)
    x = _sepconv_bn(build, x, filters[0], f"{prefix}_sepconv1")
    x = layers.Activation("relu", name=f"{prefix}_sepconv2_act")(x)
    x = _sepconv_bn(build, x, filters[1], f"{prefix}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{prefix}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
             name="xception"):
    """Xception; default input 299x299 (at least 71x71 without the top). Preprocess
    inputs with `xception.preprocess_input` (scales to [-1, 1])."""
    from jkeras import layers

    build = ApplicationBuild("Xception", weights=weights, include_top=include_top,
                             classes=classes, pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=299, min_size=71)
    build.use_imagenet_file(_FILES[0] if build.include_top else _FILES[1])
    axis = build.channel_axis
    image = build.image_input()
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(image)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    x = _down_block(build, x, (128, 128), 2, first_relu=False)
    x = _down_block(build, x, (256, 256), 3)
    x = _down_block(build, x, (728, 728), 4)
    for block in range(5, 13):
        residual = x
        for i in (1, 2, 3):
            x = layers.Activation("relu", name=f"block{block}_sepconv{i}_act")(x)
            x = _sepconv_bn(build, x, 728, f"block{block}_sepconv{i}")
        x = layers.add([x, residual])
    x = _down_block(build, x, (728, 1024), 13)

    for i, filters in ((1, 1536), (2, 2048)):
        x = _sepconv_bn(build, x, filters, f"block14_sepconv{i}")
        x = layers.Activation("relu", name=f"block14_sepconv{i}_act")(x)
    x = build.top(x, classifier_activation, pool_names=(None, None))
    return build.model(image, x, name)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
