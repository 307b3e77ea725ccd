"""EfficientNetV2 B0-B3, S, M and L (Tan & Le, 2021), as Keras builds them: fused
MBConv blocks (one regular convolution in place of expansion + depthwise) in the
early stages, MBConv blocks with squeeze-and-excitation later. With
`include_preprocessing` the models take pixels in [0, 255]."""

from __future__ import annotations

import math

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.efficientnet import (
    CONV_KERNEL_INITIALIZER,
    efficientnet_top,
    residual,
    squeeze_excite,
)
from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.weight_files import keras_file

__all__ = ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
           "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S", "decode_predictions",
           "preprocess_input"]

# Keras's hashes of its weight files: (with top, without top)
_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
# Stages: (fused, repeats, filters in, filters out, expand ratio, squeeze-excite ratio,
# stride); every kernel is 3x3.
_B_STAGES = ((True, 1, 32, 16, 1, 0, 1), (True, 2, 16, 32, 4, 0, 2),
             (True, 2, 32, 48, 4, 0, 2), (False, 3, 48, 96, 4, 0.25, 2),
             (False, 5, 96, 112, 6, 0.25, 1), (False, 8, 112, 192, 6, 0.25, 2))
_STAGES = {
    "s": ((True, 2, 24, 24, 1, 0, 1), (True, 4, 24, 48, 4, 0, 2), (True, 4, 48, 64, 4, 0, 2),
          (False, 6, 64, 128, 4, 0.25, 2), (False, 9, 128, 160, 6, 0.25, 1),
          (False, 15, 160, 256, 6, 0.25, 2)),
    "m": ((True, 3, 24, 24, 1, 0, 1), (True, 5, 24, 48, 4, 0, 2), (True, 5, 48, 80, 4, 0, 2),
          (False, 7, 80, 160, 4, 0.25, 2), (False, 14, 160, 176, 6, 0.25, 1),
          (False, 18, 176, 304, 6, 0.25, 2), (False, 5, 304, 512, 6, 0.25, 1)),
    "l": ((True, 4, 32, 32, 1, 0, 1), (True, 7, 32, 64, 4, 0, 2), (True, 7, 64, 96, 4, 0, 2),
          (False, 10, 96, 192, 4, 0.25, 2), (False, 19, 192, 224, 6, 0.25, 1),
          (False, 25, 224, 384, 6, 0.25, 2), (False, 7, 384, 640, 6, 0.25, 1)),
    "b0": _B_STAGES, "b1": _B_STAGES, "b2": _B_STAGES, "b3": _B_STAGES,
}
# (width coefficient, depth coefficient, default size) per variant
_VARIANTS = {"b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 260),
             "b3": (1.2, 1.4, 300), "s": (1.0, 1.0, 384), "m": (1.0, 1.0, 480),
             "l": (1.0, 1.0, 480)}
_BN_MOMENTUM = 0.9
_ACTIVATION = "swish"


def round_filters(filters: float, width_coefficient: float, divisor: int = 8) -> int:
    """Filters scaled by the width coefficient, rounded to a multiple of `divisor`."""
    filters *= width_coefficient
    return int(max(divisor, int(filters + divisor / 2) // divisor * divisor))


def _conv(filters: int, kernel_size: int, strides: int, name: str):
    from jkeras import layers

    return layers.Conv2D(filters, kernel_size=kernel_size, strides=strides, padding="same",
                         use_bias=False, kernel_initializer=CONV_KERNEL_INITIALIZER, name=name)


def _bn_act(x, axis: int, name: str, act_name: str | None):
    from jkeras import layers

    x = layers.BatchNormalization(axis=axis, momentum=_BN_MOMENTUM, name=f"{name}")(x)
    return x if act_name is None else layers.Activation(_ACTIVATION, name=act_name)(x)


def _block(inputs, axis: int, fused: bool, filters_in: int, filters_out: int, expand: int,
           se_ratio: float, strides: int, drop_rate: float, name: str):
    """A fused or regular MBConv block (3x3 kernels)."""
    from jkeras import layers

    filters = filters_in * expand
    x = inputs
    if expand != 1:
        # the fused block's expansion is the full 3x3 convolution, with the stride
        x = _conv(filters, 3 if fused else 1, strides if fused else 1, f"{name}expand_conv")(x)
        x = _bn_act(x, axis, f"{name}expand_bn", f"{name}expand_activation")
    if not fused:
        x = layers.DepthwiseConv2D(kernel_size=3, strides=strides, padding="same",
                                   use_bias=False, depthwise_initializer=CONV_KERNEL_INITIALIZER,
                                   name=f"{name}dwconv2")(x)
        x = _bn_act(x, axis, f"{name}bn", f"{name}activation")
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), _ACTIVATION, axis,
                           name)
    single = fused and expand == 1  # a fused block without expansion: one 3x3 conv
    x = _conv(filters_out, 3 if single else 1, strides if single else 1,
              f"{name}project_conv")(x)
    x = _bn_act(x, axis, f"{name}project_bn", f"{name}project_activation" if single else None)
    if strides == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


def _efficientnet_v2(variant: str, include_top, weights, input_tensor, input_shape, pooling,
                     classes, classifier_activation, include_preprocessing, name,
                     dropout_rate: float = 0.2, drop_connect_rate: float = 0.2):
    from jkeras import layers

    owner = f"EfficientNetV2{variant.upper()}"
    width, depth, default_size = _VARIANTS[variant]
    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=default_size)
    file_name = f"efficientnetv2-{variant}{'' if build.include_top else '_notop'}.h5"
    build.use_imagenet_file(keras_file("efficientnet_v2", file_name,
                                       _HASHES[variant][0 if build.include_top else 1]))
    axis = 1 if build.channel_axis == 1 else 3
    image = x = build.image_input()
    if include_preprocessing:
        channels = build.input_shape[axis - 1]
        if variant.startswith("b") and channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406],
                                     variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                                     axis=axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    stages = _STAGES[variant]
    x = _conv(round_filters(stages[0][2], width), 3, 2, "stem_conv")(x)
    x = _bn_act(x, axis, "stem_bn", "stem_activation")

    repeats = [int(math.ceil(depth * stage[1])) for stage in stages]
    total, b = float(sum(stage[1] for stage in stages)), 0
    for i, ((fused, _, f_in, f_out, expand, se, stride), count) in enumerate(
            zip(stages, repeats)):
        f_in, f_out = round_filters(f_in, width), round_filters(f_out, width)
        for j in range(count):
            x = _block(x, axis, fused, f_in if j == 0 else f_out, f_out, expand, se,
                       stride if j == 0 else 1, drop_connect_rate * b / total,
                       f"block{i + 1}{chr(j + 97)}_")
            b += 1
    x = efficientnet_top(build, x, round_filters(1280, width), axis, _ACTIVATION, dropout_rate,
                         classifier_activation, bn_momentum=_BN_MOMENTUM,
                         bias_initializer={"class_name": "Constant", "config": {"value": 0.0}})
    return build.model(image, x, name)


def _variant_function(variant: str):
    def model(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              include_preprocessing=True, name=f"efficientnetv2-{variant}"):
        return _efficientnet_v2(variant, include_top, weights, input_tensor, input_shape,
                                pooling, classes, classifier_activation,
                                include_preprocessing, name)

    width, depth, size = _VARIANTS[variant]
    scaling = ("pixels are scaled to [0, 1] and normalized with the ImageNet mean and "
               "standard deviation" if variant.startswith("b") else
               "pixels are scaled to [-1, 1]")
    model.__name__ = model.__qualname__ = f"EfficientNetV2{variant.upper()}"
    model.__doc__ = (
        f"EfficientNetV2{variant.upper()}: width x{width}, depth x{depth}; default input "
        f"{size}x{size} (at least 32x32 without the top). With include_preprocessing "
        f"(default) the model takes pixels in [0, 255] ({scaling} inside the model), so "
        f"`efficientnet_v2.preprocess_input` returns its input unchanged."
    )
    model.__module__ = __name__
    return model


EfficientNetV2B0 = _variant_function("b0")
EfficientNetV2B1 = _variant_function("b1")
EfficientNetV2B2 = _variant_function("b2")
EfficientNetV2B3 = _variant_function("b3")
EfficientNetV2S = _variant_function("s")
EfficientNetV2M = _variant_function("m")
EfficientNetV2L = _variant_function("l")


def preprocess_input(x, data_format=None):
    """The identity: EfficientNetV2 models rescale their inputs themselves."""
    return x
