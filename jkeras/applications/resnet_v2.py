"""ResNet50V2, ResNet101V2 and ResNet152V2 (pre-activation ResNets, He et al., 2016),
as Keras builds them."""

from __future__ import annotations

from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.resnet_blocks import resnet_function

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions",
           "preprocess_input"]

_DOC = """{name}: stages of {blocks} pre-activation bottleneck blocks.

    Default input 224x224 (at least 32x32 without the top); preprocess inputs with
    `resnet_v2.preprocess_input` (scales to [-1, 1]).
"""

ResNet50V2 = resnet_function("ResNet50V2", (3, 4, 6, 3), True,
                             _DOC.format(name="ResNet50V2", blocks="3, 4, 6, 3"))
ResNet101V2 = resnet_function("ResNet101V2", (3, 4, 23, 3), True,
                              _DOC.format(name="ResNet101V2", blocks="3, 4, 23, 3"))
ResNet152V2 = resnet_function("ResNet152V2", (3, 8, 36, 3), True,
                              _DOC.format(name="ResNet152V2", blocks="3, 8, 36, 3"))
for _model in (ResNet50V2, ResNet101V2, ResNet152V2):
    _model.__module__ = __name__


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1]."""
    return _imagenet_preprocess(x, data_format=data_format, mode="tf")
