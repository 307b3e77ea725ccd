"""Inception-ResNet V2 (Szegedy et al., 2016), as Keras builds it: an Inception stem,
then 10 + 20 + 10 residual Inception blocks (35x35, 17x17, 8x8 grids) whose branch
outputs are projected by a 1x1 convolution, scaled, and added to the block input."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.weight_files import keras_file
from jkeras.engine.layer import Layer

__all__ = ["InceptionResNetV2", "decode_predictions", "preprocess_input"]

_FILES = (
    keras_file("inception_resnet_v2",
               "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
               "e693bd0210a403b3192acc6073ad2e96"),
    keras_file("inception_resnet_v2",
               "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
               "d19885ff4a710c122648d3b5c3b684e4"),
)


class CustomScaleLayer(Layer):
    """`inputs[0] + inputs[1] * scale`: the scaled residual sum of a block (Keras's
    class name and config)."""

    _batch_independent = True
    _keras_module = "keras.src.applications.inception_resnet_v2"  # where Keras defines it

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


def conv2d_bn(x, filters: int, kernel_size, strides=1, padding: str = "same",
              activation: str | None = "relu", use_bias: bool = False, name: str | None = None):
    """Conv2D, then (without a bias) BatchNormalization(scale=False), then the
    activation; the layers are `name`, `name_bn`, `name_ac` (Keras's default names
    when `name` is None)."""
    from jkeras import layers
    from jkeras.backend import config

    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=use_bias, name=name)(x)
    if not use_bias:
        axis = 1 if config.image_data_format() == "channels_first" else 3
        x = layers.BatchNormalization(axis=axis, scale=False,
                                      name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def _branches(x, block_type: str) -> list:
    if block_type == "block35":
        return [conv2d_bn(x, 32, 1),
                conv2d_bn(conv2d_bn(x, 32, 1), 32, 3),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 32, 1), 48, 3), 64, 3)]
    if block_type == "block17":
        return [conv2d_bn(x, 192, 1),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 128, 1), 160, [1, 7]), 192, [7, 1])]
    if block_type == "block8":
        return [conv2d_bn(x, 192, 1),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1), 224, [1, 3]), 256, [3, 1])]
    raise ValueError(
        f"inception_resnet_block: block_type must be 'block35', 'block17' or 'block8'; got "
        f"{block_type!r}."
    )


def inception_resnet_block(x, scale: float, block_type: str, block_idx: int,
                           activation: str | None = "relu"):
    """One residual Inception block: branches concatenated, projected back to the
    input's channels by a biased 1x1 convolution, added as `x + scale * up`."""
    from jkeras import layers
    from jkeras.backend import config

    axis = 1 if config.image_data_format() == "channels_first" else 3
    block_name = f"{block_type}_{block_idx}"
    mixed = layers.Concatenate(axis=axis, name=f"{block_name}_mixed")(_branches(x, block_type))
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True,
                   name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
                      input_shape=None, pooling=None, classes=1000,
                      classifier_activation="softmax", name="inception_resnet_v2"):
    """Inception-ResNet V2; default input 299x299 (at least 75x75 without the top).
    Preprocess inputs with `inception_resnet_v2.preprocess_input` (scales to
    [-1, 1])."""
    from jkeras import layers

    build = ApplicationBuild("InceptionResNetV2", weights=weights, include_top=include_top,
                             classes=classes, pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=299, min_size=75)
    build.use_imagenet_file(_FILES[0] if build.include_top else _FILES[1])
    axis = 1 if build.channel_axis == 1 else 3
    image = build.image_input()
    x = conv2d_bn(image, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)

    branches = [conv2d_bn(x, 96, 1),
                conv2d_bn(conv2d_bn(x, 48, 1), 64, 5),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)]
    pool = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    branches.append(conv2d_bn(pool, 64, 1))
    x = layers.Concatenate(axis=axis, name="mixed_5b")(branches)
    for i in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=i)

    branches = [conv2d_bn(x, 384, 3, strides=2, padding="valid"),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2,
                          padding="valid"),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_6a")(branches)
    for i in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=i)

    branches = [conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid"),
                conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid"),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2,
                          padding="valid"),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_7a")(branches)
    for i in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=i)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)

    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    x = build.top(x, classifier_activation, pool_names=(None, None))
    return build.model(image, x, name)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
