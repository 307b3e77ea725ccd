"""DenseNet121, DenseNet169 and DenseNet201 (Huang et al., 2017), as Keras builds
them: dense blocks whose layers each add 32 channels (BN-ReLU-1x1 conv-BN-ReLU-3x3
conv, concatenated to the input), joined by transitions that halve the channels
and the resolution."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.weight_files import keras_file

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions",
           "preprocess_input"]

_EPSILON = 1.001e-5
_GROWTH_RATE = 32
# Keras's hashes of its weight files: (with top, without top)
_HASHES = {
    "densenet121": ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    "densenet169": ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    "densenet201": ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}


def _bn_relu(x, name: str):
    from jkeras import layers

    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def conv_block(x, growth_rate: int, name: str):
    """One dense layer: `growth_rate` new channels concatenated to `x`."""
    from jkeras import layers

    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, y])


def dense_block(x, blocks: int, name: str):
    for i in range(1, blocks + 1):
        x = conv_block(x, _GROWTH_RATE, name=f"{name}_block{i}")
    return x


def transition_block(x, reduction: float, name: str):
    """BN-ReLU, a 1x1 convolution keeping `reduction` of the channels, 2x2 average
    pooling."""
    from jkeras import layers

    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(owner: str, blocks: tuple[int, int, int, int], weights_name: str, include_top,
              weights, input_tensor, input_shape, pooling, classes, classifier_activation,
              name):
    from jkeras import layers

    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=224,
                             channels_last_only=True)
    top_hash, notop_hash = _HASHES[weights_name]
    stem = f"{weights_name}_weights_tf_dim_ordering_tf_kernels"
    build.use_imagenet_file(keras_file("densenet", f"{stem}.h5", top_hash) if build.include_top
                            else keras_file("densenet", f"{stem}_notop.h5", notop_hash))
    image = build.image_input()
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(image)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        x = dense_block(x, count, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = build.top(x, classifier_activation)
    return build.model(image, x, name)


_DOC = """

    Default input 224x224 (at least 32x32 without the top); channels_last only.
    Preprocess inputs with `densenet.preprocess_input` ("torch" mode: [0, 1], then
    the ImageNet mean and standard deviation per channel).
"""


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="densenet121"):
    return _densenet("DenseNet121", (6, 12, 24, 16), "densenet121", include_top, weights,
                     input_tensor, input_shape, pooling, classes, classifier_activation, name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="densenet169"):
    return _densenet("DenseNet169", (6, 12, 32, 32), "densenet169", include_top, weights,
                     input_tensor, input_shape, pooling, classes, classifier_activation, name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="densenet201"):
    return _densenet("DenseNet201", (6, 12, 48, 32), "densenet201", include_top, weights,
                     input_tensor, input_shape, pooling, classes, classifier_activation, name)


DenseNet121.__doc__ = "DenseNet121: dense blocks of 6, 12, 24, 16 layers." + _DOC
DenseNet169.__doc__ = "DenseNet169: dense blocks of 6, 12, 32, 32 layers." + _DOC
DenseNet201.__doc__ = "DenseNet201: dense blocks of 6, 12, 48, 32 layers." + _DOC


def preprocess_input(x, data_format=None):
    """Scales pixels to [0, 1], then normalizes each channel with the ImageNet mean
    and standard deviation."""
    return _imagenet_preprocess(x, data_format=data_format, mode="torch")
