"""EfficientNet B0 to B7 (Tan & Le, 2019), as Keras builds them: MBConv blocks
(1x1 expansion, depthwise convolution, squeeze-and-excitation, linear projection,
stochastic-depth residuals), widths and depths scaled per variant. The models take
pixels in [0, 255] and rescale and normalize them themselves."""

from __future__ import annotations

import copy
import math

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import correct_pad, decode_predictions
from jkeras.applications.weight_files import WeightsFile

__all__ = [f"EfficientNetB{i}" for i in range(8)] + ["decode_predictions", "preprocess_input"]

_WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"
# Keras's hashes of its weight files: (with top, without top)
_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
# (kernel, repeats, filters in, filters out, expand ratio, stride) of the seven stages
# of B0; every block has squeeze-and-excitation (ratio 0.25) and identity skips.
_STAGES = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
           (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2),
           (3, 1, 192, 320, 6, 1))
_SE_RATIO = 0.25
# (width coefficient, depth coefficient, default size, dropout rate) per variant
_VARIANTS = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2),
             "b2": (1.1, 1.2, 260, 0.3), "b3": (1.2, 1.4, 300, 0.3),
             "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
             "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}
CONV_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
DENSE_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}
_IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)


def squeeze_excite(x, filters: int, filters_se: int, activation: str, axis: int, name: str):
    """Global average pool, a bottleneck of 1x1 convolutions, sigmoid channel gates."""
    from jkeras import layers

    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se_shape = (filters, 1, 1) if axis == 1 else (1, 1, filters)
    se = layers.Reshape(se_shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def residual(x, inputs, drop_rate: float, name: str):
    """`x + inputs`, with whole-sample dropout (stochastic depth) on `x` first."""
    from jkeras import layers

    if drop_rate > 0:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
    return layers.add([x, inputs], name=f"{name}add")


def mbconv_block(inputs, axis: int, activation: str, drop_rate: float, name: str,
                 filters_in: int, filters_out: int, kernel_size: int, strides: int,
                 expand_ratio: int):
    """One MBConv block of EfficientNet (v1)."""
    from jkeras import layers

    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False,
                          kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=axis, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    padding = "same"
    if strides == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size),
                                 name=f"{name}dwconv_pad")(x)
        padding = "valid"
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding=padding, use_bias=False,
                               depthwise_initializer=CONV_KERNEL_INITIALIZER,
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    x = squeeze_excite(x, filters, max(1, int(filters_in * _SE_RATIO)), activation, axis, name)
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{name}project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        x = residual(x, inputs, drop_rate, name)
    return x


def efficientnet_top(build, x, filters: int, axis: int, activation: str, dropout_rate: float,
                     classifier_activation, bn_momentum: float = 0.99, **dense_kwargs):
    """The last 1x1 convolution (batch-normalized, activated), then the classifier
    (average pooling, dropout, Dense) or the pooling."""
    from jkeras import layers

    x = layers.Conv2D(filters, 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=axis, momentum=bn_momentum, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if not build.include_top:
        return build.pool(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout_rate > 0:
        x = layers.Dropout(dropout_rate, name="top_dropout")(x)
    return build.predictions(x, classifier_activation,
                             kernel_initializer=DENSE_KERNEL_INITIALIZER, **dense_kwargs)


def round_filters(filters: float, width_coefficient: float, divisor: int = 8) -> int:
    """Filters scaled by the width coefficient, rounded to a multiple of `divisor`
    (never more than 10% below the scaled value)."""
    filters *= width_coefficient
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * filters else rounded)


def _efficientnet(variant: str, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name, drop_connect_rate: float = 0.2,
                  activation: str = "swish"):
    from jkeras import layers

    owner = f"EfficientNet{variant.upper()}"
    width, depth, default_size, dropout_rate = _VARIANTS[variant]
    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=default_size)
    file_name = f"efficientnet{variant}{'' if build.include_top else '_notop'}.h5"
    build.use_imagenet_file(WeightsFile(file_name, _WEIGHTS_URL + file_name,
                                        _HASHES[variant][0 if build.include_top else 1]))
    axis = 1 if build.channel_axis == 1 else 3
    image = build.image_input()
    x = layers.Rescaling(1.0 / 255.0)(image)
    x = layers.Normalization(axis=axis)(x)
    if build.weights == "imagenet":
        # Keras adds this rescaling for its ImageNet weights (whose normalization
        # statistics differ from the original model's input scaling); kept so that
        # outputs equal Keras's
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in _IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32, width), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=axis, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    repeats = [int(math.ceil(depth * stage[1])) for stage in _STAGES]
    total, b = float(sum(repeats)), 0
    for i, ((kernel, _, f_in, f_out, expand, stride), count) in enumerate(
            zip(copy.deepcopy(_STAGES), repeats)):
        f_in, f_out = round_filters(f_in, width), round_filters(f_out, width)
        for j in range(count):
            x = mbconv_block(x, axis, activation, drop_connect_rate * b / total,
                             f"block{i + 1}{chr(j + 97)}_", f_in if j == 0 else f_out, f_out,
                             kernel, stride if j == 0 else 1, expand)
            b += 1
    x = efficientnet_top(build, x, round_filters(1280, width), axis, activation, dropout_rate,
                         classifier_activation)
    return build.model(image, x, name)


def _variant_function(variant: str):
    def model(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              name=f"efficientnet{variant}"):
        return _efficientnet(variant, include_top, weights, input_tensor, input_shape,
                             pooling, classes, classifier_activation, name)

    width, depth, size, dropout = _VARIANTS[variant]
    model.__name__ = model.__qualname__ = f"EfficientNet{variant.upper()}"
    model.__doc__ = (
        f"EfficientNet{variant.upper()}: width x{width}, depth x{depth}, dropout {dropout} "
        f"before the classifier; default input {size}x{size} (at least 32x32 without the "
        f"top). Takes pixels in [0, 255]: the model rescales and normalizes them, so "
        f"`efficientnet.preprocess_input` returns its input unchanged."
    )
    model.__module__ = __name__
    return model


EfficientNetB0 = _variant_function("b0")
EfficientNetB1 = _variant_function("b1")
EfficientNetB2 = _variant_function("b2")
EfficientNetB3 = _variant_function("b3")
EfficientNetB4 = _variant_function("b4")
EfficientNetB5 = _variant_function("b5")
EfficientNetB6 = _variant_function("b6")
EfficientNetB7 = _variant_function("b7")


def preprocess_input(x, data_format=None):
    """The identity: EfficientNet models rescale their inputs themselves."""
    return x
