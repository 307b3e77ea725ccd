"""MobileNetV2 (Sandler et al., 2018), as Keras builds it: inverted residual blocks
(1x1 expansion, 3x3 depthwise, linear 1x1 projection, ReLU6, residual sums where the
shape allows), widths scaled by `alpha`."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import correct_pad, decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.mobilenet import pretrained_rows, square_pretrained_size
from jkeras.applications.weight_files import keras_file

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

_PRETRAINED_SIZES = (96, 128, 160, 192, 224)
_PRETRAINED_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# (output filters, stride, expansion) of the 17 inverted residual blocks
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
           (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
           (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6))
_BN = {"epsilon": 1e-3, "momentum": 0.999}


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """`value` rounded to the nearest multiple of `divisor` (at least `min_value`,
    default `divisor`), rounded up one more step if rounding lost over 10%."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _inverted_residual(build, x, filters: int, alpha: float, stride: int, expansion: int,
                       block_id: int):
    from jkeras import layers

    axis = build.channel_axis
    in_channels = x.shape[axis]
    out_channels = make_divisible(int(filters * alpha), 8)
    inputs = x
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same",
                          use_bias=False, activation=None, name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=axis, name=f"{prefix}expand_BN", **_BN)(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{prefix}depthwise_BN", **_BN)(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{prefix}project_BN", **_BN)(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def check_input_tensor_shape(owner: str, input_tensor, input_shape) -> None:
    """A symbolic `input_tensor` must have the per-sample shape `input_shape` says."""
    from jkeras import backend

    if input_tensor is None or input_shape is None:
        return
    if not backend.is_keras_tensor(input_tensor):
        raise ValueError(
            f"{owner}: with input_shape given, input_tensor must be a symbolic tensor "
            f"(e.g. from jkeras.Input); got {type(input_tensor).__name__}."
        )
    given = tuple(input_tensor.shape[1:])
    if len(given) != len(input_shape) or any(
            a is not None and b is not None and a != b for a, b in zip(given, input_shape)):
        raise ValueError(
            f"{owner}: input_tensor has per-sample shape {given}, which does not match "
            f"input_shape {tuple(input_shape)}."
        )


def pretrained_size(input_tensor, input_shape, channels_first: bool, sizes) -> int:
    """The pretrained image size the weights file is picked by: from input_shape,
    else from a symbolic input_tensor's shape, else 224."""
    from jkeras import backend

    if input_shape is None and input_tensor is not None and backend.is_keras_tensor(
            input_tensor):
        return square_pretrained_size(tuple(input_tensor.shape[1:]), channels_first, sizes)
    return square_pretrained_size(input_shape, channels_first, sizes)


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet",  # noqa: N802
                input_tensor=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None):
    """MobileNetV2. `alpha` scales the widths (pretrained: 0.35, 0.5, 0.75, 1.0, 1.3,
    1.4; above 1 the last 1x1 convolution widens too). Default input 224x224;
    pretrained weights exist for square 96, 128, 160, 192, 224 inputs (others get
    the 224 weights, with a warning). The default name is
    `mobilenetv2_{alpha:.2f}_{rows}`. Preprocess inputs with
    `mobilenet_v2.preprocess_input` (scales to [-1, 1])."""
    from jkeras import layers
    from jkeras.backend import config

    owner = "MobileNetV2"
    channels_first = config.image_data_format() == "channels_first"
    check_input_tensor_shape(owner, input_tensor, input_shape)
    default_size = pretrained_size(input_tensor, input_shape, channels_first,
                                   _PRETRAINED_SIZES)
    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=default_size)
    rows = pretrained_rows(build, _PRETRAINED_SIZES)
    if build.weights == "imagenet":
        if alpha not in _PRETRAINED_ALPHAS:
            raise ValueError(
                f"{owner}: ImageNet weights exist only for alpha in {_PRETRAINED_ALPHAS}; "
                f"got {alpha!r}."
            )
        suffix = "" if build.include_top else "_no_top"
        build.use_imagenet_file(keras_file(
            "mobilenet_v2",
            f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{suffix}.h5"))
    axis = build.channel_axis
    image = build.image_input()
    x = layers.Conv2D(make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(image)
    x = layers.BatchNormalization(axis=axis, name="bn_Conv1", **_BN)(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_residual(build, x, filters, alpha, stride, expansion, block_id)
    last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, name="Conv_1_bn", **_BN)(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = build.top(x, classifier_activation, top_pool=None, pool_names=(None, None))
    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    return build.model(image, x, name)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
