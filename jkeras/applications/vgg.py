"""The VGG architecture shared by VGG16 and VGG19: five blocks of 3x3 convolutions
(64, 128, 256, 512, 512 filters), each closed by 2x2 max pooling, then two 4096-unit
dense layers and the classifier."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import validate_activation
from jkeras.applications.weight_files import WeightsFile

_BLOCK_FILTERS = (64, 128, 256, 512, 512)


def build_vgg(owner: str, convs_per_block: tuple[int, ...], files: tuple[WeightsFile, ...],
              include_top, weights, input_tensor, input_shape, pooling, classes,
              classifier_activation, name):
    """A VGG model with `convs_per_block[i]` convolutions in block i+1; `files` are
    Keras's ImageNet weight files (with top, without top)."""
    from jkeras import layers

    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=224)
    build.use_imagenet_file(files[0] if build.include_top else files[1])
    image = x = build.image_input()
    for block, (filters, convs) in enumerate(zip(_BLOCK_FILTERS, convs_per_block), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if build.include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        validate_activation(classifier_activation, build.weights, owner)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = build.pool(x, avg_name=None, max_name=None)
    return build.model(image, x, name)
