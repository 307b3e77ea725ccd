"""ResNet50, ResNet101 and ResNet152 (He et al., 2015), as Keras builds them."""

from __future__ import annotations

from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.resnet_blocks import resnet_function

__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]

_DOC = """{name}: stages of {blocks} bottleneck blocks.

    Default input 224x224 (at least 32x32 without the top); preprocess inputs with
    `resnet.preprocess_input` ("caffe" mode). `weights` is None, "imagenet" (Keras's
    file from ~/.keras/models or $JKERAS_HOME/models; never downloaded) or a path;
    `pooling` ("avg"/"max"/None) applies when `include_top` is False.
"""

ResNet50 = resnet_function("ResNet50", (3, 4, 6, 3), False,
                           _DOC.format(name="ResNet50", blocks="3, 4, 6, 3"))
ResNet101 = resnet_function("ResNet101", (3, 4, 23, 3), False,
                            _DOC.format(name="ResNet101", blocks="3, 4, 23, 3"))
ResNet152 = resnet_function("ResNet152", (3, 8, 36, 3), False,
                            _DOC.format(name="ResNet152", blocks="3, 8, 36, 3"))
for _model in (ResNet50, ResNet101, ResNet152):
    _model.__module__ = __name__


def preprocess_input(x, data_format=None):
    """RGB -> BGR, then the ImageNet channel means subtracted (no scaling)."""
    return _imagenet_preprocess(x, data_format=data_format, mode="caffe")
