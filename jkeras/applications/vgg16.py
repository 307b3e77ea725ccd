"""VGG16 (Simonyan & Zisserman, 2014), as Keras builds it."""

from __future__ import annotations

from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.vgg import build_vgg
from jkeras.applications.weight_files import keras_file

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]

_FILES = (
    keras_file("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
               "64373286793e3c8b2b4e3219cbf3544b"),
    keras_file("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
               "6d6bbae143d832006294945121d1f1fc"),
)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """VGG16: 13 convolutions in five blocks (2, 2, 3, 3, 3) and three dense layers;
    default input 224x224 (at least 32x32 without the top). Inputs are
    preprocessed with `vgg16.preprocess_input` ("caffe" mode)."""
    return build_vgg("VGG16", (2, 2, 3, 3, 3), _FILES, include_top, weights, input_tensor,
                     input_shape, pooling, classes, classifier_activation, name)


def preprocess_input(x, data_format=None):
    """RGB -> BGR, then the ImageNet channel means subtracted (no scaling)."""
    return _imagenet_preprocess(x, data_format=data_format, mode="caffe")
