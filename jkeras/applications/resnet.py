"""ResNet50, ResNet101 and ResNet152 (He et al., 2015), as Keras builds them."""

from __future__ import annotations

from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.resnet_blocks import build_resnet

__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]

_DOC = """

    Default input 224x224 (at least 32x32 without the top); preprocess inputs with
    `resnet.preprocess_input` ("caffe" mode). `weights` is None, "imagenet" (Keras's
    file from ~/.keras/models or $JKERAS_HOME/models; never downloaded) or a path;
    `pooling` ("avg"/"max"/None) applies when `include_top` is False.
"""


def ResNet50(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
             name="resnet50"):
    return build_resnet("ResNet50", (3, 4, 6, 3), False, "resnet50", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name)


def ResNet101(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
              input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
              name="resnet101"):
    return build_resnet("ResNet101", (3, 4, 23, 3), False, "resnet101", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name)


def ResNet152(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
              input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
              name="resnet152"):
    return build_resnet("ResNet152", (3, 8, 36, 3), False, "resnet152", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name)


ResNet50.__doc__ = "ResNet50: stages of 3, 4, 6, 3 bottleneck blocks." + _DOC
ResNet101.__doc__ = "ResNet101: stages of 3, 4, 23, 3 bottleneck blocks." + _DOC
ResNet152.__doc__ = "ResNet152: stages of 3, 8, 36, 3 bottleneck blocks." + _DOC


def preprocess_input(x, data_format=None):
    """RGB -> BGR, then the ImageNet channel means subtracted (no scaling)."""
    return _imagenet_preprocess(x, data_format=data_format, mode="caffe")
