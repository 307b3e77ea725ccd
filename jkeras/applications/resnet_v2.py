"""ResNet50V2, ResNet101V2 and ResNet152V2 (pre-activation ResNets, He et al., 2016),
as Keras builds them."""

from __future__ import annotations

from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.resnet_blocks import build_resnet

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions",
           "preprocess_input"]

_DOC = """

    Default input 224x224 (at least 32x32 without the top); preprocess inputs with
    `resnet_v2.preprocess_input` (scales to [-1, 1]).
"""


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
               input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
               name="resnet50v2"):
    return build_resnet("ResNet50V2", (3, 4, 6, 3), True, "resnet50v2", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation,
                        name)


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="resnet101v2"):
    return build_resnet("ResNet101V2", (3, 4, 23, 3), True, "resnet101v2", include_top,
                        weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None,  # noqa: N802
                input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name="resnet152v2"):
    return build_resnet("ResNet152V2", (3, 8, 36, 3), True, "resnet152v2", include_top,
                        weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


ResNet50V2.__doc__ = "ResNet50V2: stages of 3, 4, 6, 3 pre-activation blocks." + _DOC
ResNet101V2.__doc__ = "ResNet101V2: stages of 3, 4, 23, 3 pre-activation blocks." + _DOC
ResNet152V2.__doc__ = "ResNet152V2: stages of 3, 8, 36, 3 pre-activation blocks." + _DOC


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
