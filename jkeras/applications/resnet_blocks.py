"""The ResNet skeleton shared by ResNet (v1) and ResNetV2: a 7x7 stride-2 stem, max
pooling, four stages of bottleneck residual blocks, and the top; with the block
variants of both versions."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.weight_files import keras_file

_BN_EPSILON = 1.001e-5
# Keras's hashes of its ResNet weight files: (with top, without top).
_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}


def _batch_norm(build: ApplicationBuild, name: str):
    from jkeras import layers

    return layers.BatchNormalization(axis=build.channel_axis, epsilon=_BN_EPSILON, name=name)


def bottleneck_v1(build: ApplicationBuild, x, filters: int, stride: int = 1,
                  conv_shortcut: bool = True, name: str = ""):
    """1x1 -> 3x3 -> 1x1 (4*filters) convolutions, each batch-normalized, added to the
    shortcut (a strided 1x1 projection, or the input), then ReLU."""
    from jkeras import layers

    shortcut = x
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _batch_norm(build, f"{name}_0_bn")(shortcut)
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _batch_norm(build, f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = _batch_norm(build, f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _batch_norm(build, f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stage_v1(build: ApplicationBuild, x, filters: int, blocks: int, stride: int = 2,
             name: str = ""):
    """A v1 stage: a projecting block with the stride, then identity blocks."""
    x = bottleneck_v1(build, x, filters, stride=stride, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = bottleneck_v1(build, x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def bottleneck_v2(build: ApplicationBuild, x, filters: int, stride: int = 1,
                  conv_shortcut: bool = False, name: str = ""):
    """Pre-activation block: BN + ReLU first, then 1x1 -> 3x3 (strided) -> 1x1
    convolutions added to the shortcut (a 1x1 projection of the pre-activation, a
    strided 1x1 max pooling of the input, or the input)."""
    from jkeras import layers

    preact = _batch_norm(build, f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _batch_norm(build, f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = _batch_norm(build, f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stage_v2(build: ApplicationBuild, x, filters: int, blocks: int, stride: int = 2,
             name: str = ""):
    """A v2 stage: a projecting block, identity blocks, and the stride in the last."""
    x = bottleneck_v2(build, x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = bottleneck_v2(build, x, filters, name=f"{name}_block{i}")
    return bottleneck_v2(build, x, filters, stride=stride, name=f"{name}_block{blocks}")


def build_resnet(owner: str, blocks: tuple[int, int, int, int], preact: bool, weights_name: str,
                 include_top, weights, input_tensor, input_shape, pooling, classes,
                 classifier_activation, name):
    """ResNet (preact=False) or ResNetV2 (preact=True) with `blocks` bottleneck blocks
    in its four stages (64, 128, 256, 512 bottleneck filters)."""
    from jkeras import layers

    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=224)
    top_hash, notop_hash = _HASHES[weights_name]
    stem = f"{weights_name}_weights_tf_dim_ordering_tf_kernels"
    build.use_imagenet_file(keras_file("resnet", f"{stem}.h5", top_hash) if build.include_top
                            else keras_file("resnet", f"{stem}_notop.h5", notop_hash))
    image = build.image_input()
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(image)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    if not preact:
        x = _batch_norm(build, "conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    stage = stage_v2 if preact else stage_v1
    for i, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        # v1 strides the first block of stages 3-5; v2 the last block of stages 2-4
        stride = (1 if i == 3 else 2) if preact else (1 if i == 0 else 2)
        x = stage(build, x, filters, count, stride=stride, name=f"conv{i + 2}")
    if preact:
        x = _batch_norm(build, "post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = build.top(x, classifier_activation)
    return build.model(image, x, name)


def resnet_function(public_name: str, blocks: tuple[int, int, int, int], preact: bool,
                    doc: str):
    """A Keras ResNet model function (Keras's signature; default name the lower-case
    public name)."""
    weights_name = public_name.lower()

    def model(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=weights_name):
        return build_resnet(public_name, blocks, preact, weights_name, include_top, weights,
                            input_tensor, input_shape, pooling, classes, classifier_activation,
                            name)

    model.__name__ = model.__qualname__ = public_name
    model.__doc__ = doc
    return model
