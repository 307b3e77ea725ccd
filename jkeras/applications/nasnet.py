"""NASNet Mobile and Large (Zoph et al., 2018), as Keras builds them: a strided stem,
two reduction cells, then three stacks of normal cells separated by reduction cells.
Every cell combines the current input (`ip`) with the previous cell's output (`p`,
adjusted to the same size and width) through separable-convolution and pooling
branches."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import correct_pad, decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.weight_files import WeightsFile, keras_file

__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]

_BN = {"axis": -1, "momentum": 0.9997, "epsilon": 1e-3}


def _file(cached: str, published: str, file_hash: str) -> WeightsFile:
    """Keras caches NASNet files under another name than the published one."""
    url = keras_file("nasnet", published).url
    return WeightsFile(cached, url, file_hash)


_FILES = {
    224: (_file("nasnet_mobile.h5", "NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
          _file("nasnet_mobile_no_top.h5", "NASNet-mobile-no-top.h5",
                "1ed92395b5b598bdda52abe5c0dbfd63")),
    331: (_file("nasnet_large.h5", "NASNet-large.h5", "11577c9a518f0070763c2b964a382f17"),
          _file("nasnet_large_no_top.h5", "NASNet-large-no-top.h5",
                "d81d89dc07e6e56530c4e77faddd61b5")),
}


def _relu(x, name: str | None = None):
    from jkeras import layers

    return layers.Activation("relu", name=name)(x)


def _conv_bn(x, filters: int, conv_name: str, bn_name: str):
    """1x1 convolution (no bias, he_normal) and batch normalization."""
    from jkeras import layers

    x = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=conv_name)(x)
    return layers.BatchNormalization(name=bn_name, **_BN)(x)


def _separable_block(x, filters: int, kernel_size=(3, 3), strides=(1, 1), block_id: str = ""):
    """ReLU, separable conv (strided when asked), BN, ReLU, separable conv, BN."""
    from jkeras import layers

    x = _relu(x)
    padding = "same"
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
        padding = "valid"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, padding=padding,
                               use_bias=False, name=f"separable_conv_1_{block_id}")(x)
    x = layers.BatchNormalization(name=f"separable_conv_1_bn_{block_id}", **_BN)(x)
    x = _relu(x)
    x = layers.SeparableConv2D(filters, kernel_size, padding="same", use_bias=False,
                               name=f"separable_conv_2_{block_id}")(x)
    return layers.BatchNormalization(name=f"separable_conv_2_bn_{block_id}", **_BN)(x)


def _adjust(p, ip, filters: int, block_id: str):
    """The previous output `p` brought to `ip`'s resolution (two offset strided 1x1
    paths, concatenated) or to `filters` channels (a 1x1 projection)."""
    from jkeras import layers

    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = _relu(p, name=f"adjust_relu_1_{block_id}")
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False,
                           kernel_initializer="he_normal", name=f"adjust_conv_1_{block_id}")(p1)
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False,
                           kernel_initializer="he_normal", name=f"adjust_conv_2_{block_id}")(p2)
        p = layers.concatenate([p1, p2], axis=-1)
        return layers.BatchNormalization(name=f"adjust_bn_{block_id}", **_BN)(p)
    if p.shape[-1] != filters:
        return _conv_bn(_relu(p), filters, f"adjust_conv_projection_{block_id}",
                        f"adjust_bn_{block_id}")
    return p


def _avg_pool(x, strides, padding: str, name: str):
    from jkeras import layers

    return layers.AveragePooling2D((3, 3), strides=strides, padding=padding, name=name)(x)


def _normal_cell(ip, p, filters: int, block_id: str):
    from jkeras import layers

    p = _adjust(p, ip, filters, block_id)
    h = _conv_bn(_relu(ip), filters, f"normal_conv_1_{block_id}", f"normal_bn_1_{block_id}")
    x1 = layers.add([_separable_block(h, filters, (5, 5), block_id=f"normal_left1_{block_id}"),
                     _separable_block(p, filters, block_id=f"normal_right1_{block_id}")],
                    name=f"normal_add_1_{block_id}")
    x2 = layers.add([_separable_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}"),
                     _separable_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")],
                    name=f"normal_add_2_{block_id}")
    x3 = layers.add([_avg_pool(h, (1, 1), "same", f"normal_left3_{block_id}"), p],
                    name=f"normal_add_3_{block_id}")
    x4 = layers.add([_avg_pool(p, (1, 1), "same", f"normal_left4_{block_id}"),
                     _avg_pool(p, (1, 1), "same", f"normal_right4_{block_id}")],
                    name=f"normal_add_4_{block_id}")
    x5 = layers.add([_separable_block(h, filters, block_id=f"normal_left5_{block_id}"), h],
                    name=f"normal_add_5_{block_id}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_cell(ip, p, filters: int, block_id: str):
    from jkeras import layers

    p = _adjust(p, ip, filters, block_id)
    h = _conv_bn(_relu(ip), filters, f"reduction_conv_1_{block_id}",
                 f"reduction_bn_1_{block_id}")
    h3 = layers.ZeroPadding2D(padding=correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
    s2 = (2, 2)
    x1 = layers.add(
        [_separable_block(h, filters, (5, 5), s2, block_id=f"reduction_left1_{block_id}"),
         _separable_block(p, filters, (7, 7), s2, block_id=f"reduction_right1_{block_id}")],
        name=f"reduction_add_1_{block_id}")
    x2 = layers.add(
        [layers.MaxPooling2D((3, 3), strides=s2, padding="valid",
                             name=f"reduction_left2_{block_id}")(h3),
         _separable_block(p, filters, (7, 7), s2, block_id=f"reduction_right2_{block_id}")],
        name=f"reduction_add_2_{block_id}")
    x3 = layers.add(
        [_avg_pool(h3, s2, "valid", f"reduction_left3_{block_id}"),
         _separable_block(p, filters, (5, 5), s2, block_id=f"reduction_right3_{block_id}")],
        name=f"reduction_add3_{block_id}")
    x4 = layers.add([x2, _avg_pool(x1, (1, 1), "same", f"reduction_left4_{block_id}")])
    x5 = layers.add(
        [_separable_block(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}"),
         layers.MaxPooling2D((3, 3), strides=s2, padding="valid",
                             name=f"reduction_right5_{block_id}")(h3)],
        name=f"reduction_add4_{block_id}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip


def _nasnet(owner: str, input_shape, penultimate_filters: int, num_blocks: int,
            stem_block_filters: int, skip_reduction: bool, filter_multiplier: int,
            include_top, weights, input_tensor, pooling, classes, default_size: int,
            classifier_activation, name):
    from jkeras import layers

    if (weights == "imagenet" and isinstance(input_shape, (tuple, list))
            and None in input_shape):
        raise ValueError(
            f"{owner}: with weights='imagenet' input_shape must be fully known; got "
            f"{tuple(input_shape)}."
        )
    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=default_size,
                             channels_last_only=True)
    if None in tuple(build.input_shape)[:2]:
        raise ValueError(
            f"{owner}: the cells compare feature-map sizes, so the image size must be known; "
            f"got input_shape {tuple(build.input_shape)}. Pass e.g. "
            f"input_shape=({default_size}, {default_size}, 3)."
        )
    if penultimate_filters % (24 * filter_multiplier ** 2):
        raise ValueError(
            f"{owner}: penultimate_filters must be a multiple of 24 * filter_multiplier**2 "
            f"= {24 * filter_multiplier ** 2}; got {penultimate_filters}."
        )
    build.use_imagenet_file(_FILES[default_size][0 if build.include_top else 1])
    filters = penultimate_filters // 24
    image = build.image_input()
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid",
                      use_bias=False, kernel_initializer="he_normal", name="stem_conv1")(image)
    x = layers.BatchNormalization(name="stem_bn1", **_BN)(x)
    x, p = _reduction_cell(x, None, filters // filter_multiplier ** 2, "stem_1")
    x, p = _reduction_cell(x, p, filters // filter_multiplier, "stem_2")
    for stack in range(3):
        width = filters * filter_multiplier ** stack
        first = stack * num_blocks + (1 if stack else 0)  # Keras's cell numbering
        if stack:
            x, p0 = _reduction_cell(x, p, width, f"reduce_{stack * num_blocks}")
            p = p if skip_reduction else p0
        for i in range(first, first + num_blocks):
            x, p = _normal_cell(x, p, width, f"{i}")
    x = _relu(x)
    x = build.top(x, classifier_activation, top_pool=None, pool_names=(None, None))
    return build.model(image, x, name)


def NASNetMobile(input_shape=None, include_top=True, weights="imagenet",  # noqa: N802
                 input_tensor=None, pooling=None, classes=1000,
                 classifier_activation="softmax", name="nasnet_mobile"):
    """NASNet Mobile (4 normal cells per stack, 1056 penultimate filters); input
    224x224 (without the top, any fixed size of at least 32x32, default 224x224).
    Channels_last only. Preprocess inputs with `nasnet.preprocess_input` (scales to
    [-1, 1])."""
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return _nasnet("NASNetMobile", input_shape, 1056, 4, 32, False, 2, include_top, weights,
                   input_tensor, pooling, classes, 224, classifier_activation, name)


def NASNetLarge(input_shape=None, include_top=True, weights="imagenet",  # noqa: N802
                input_tensor=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="nasnet_large"):
    """NASNet Large (6 normal cells per stack, 4032 penultimate filters); input
    331x331 (without the top, any fixed size of at least 32x32). Channels_last only.
    Preprocess inputs with `nasnet.preprocess_input` (scales to [-1, 1])."""
    return _nasnet("NASNetLarge", input_shape, 4032, 6, 96, True, 2, include_top, weights,
                   input_tensor, pooling, classes, 331, classifier_activation, name)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
