"""VGG19 (Simonyan & Zisserman, 2014), as Keras builds it."""

from __future__ import annotations

from jkeras.applications.imagenet_utils import decode_predictions
from jkeras.applications.imagenet_utils import preprocess_input as _imagenet_preprocess
from jkeras.applications.vgg import build_vgg
from jkeras.applications.weight_files import keras_file

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]

_FILES = (
    keras_file("vgg19", "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
               "cbe5617147190e668d6c5d5026f83318"),
    keras_file("vgg19", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
               "253f8cb515780f3b799900260a226db6"),
)


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """VGG19: 16 convolutions in five blocks (2, 2, 4, 4, 4) and three dense layers;
    default input 224x224 (at least 32x32 without the top). Inputs are
    preprocessed with `vgg19.preprocess_input` ("caffe" mode)."""
    return build_vgg("VGG19", (2, 2, 4, 4, 4), _FILES, include_top, weights, input_tensor,
                     input_shape, pooling, classes, classifier_activation, name)


def preprocess_input(x, data_format=None):
    """RGB -> BGR, then the ImageNet channel means subtracted (no scaling)."""
    return _imagenet_preprocess(x, data_format=data_format, mode="caffe")
