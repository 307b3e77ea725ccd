"""Utilities Keras users reach for."""

from jkeras.backend.random import set_random_seed
from jkeras.datasets._files import get_file
from jkeras.saving import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    register_keras_serializable,
    serialize_keras_object,
)
from jkeras.training.progbar import Progbar
from jkeras.utils import bounding_boxes  # noqa: F401  (keras.utils.bounding_boxes)
from jkeras.utils.data import PyDataset, Sequence, split_dataset
from jkeras.utils.feature_space import FeatureSpace
from jkeras.utils.history_plot import plot_history
from jkeras.utils.numerical import normalize, to_categorical
from jkeras.utils.plot import model_to_dot, plot_model
from jkeras.utils.sequence import pad_sequences

# isort: split
# Keras 3 utilities: configs, images, dataset builders, logging, registration, tuples
from jkeras.backend.dtype_names import standardize_dtype
from jkeras.backend.interactive_logging import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from jkeras.backend.keras_tensor import is_keras_tensor
from jkeras.saving.object_registration import get_registered_name, get_registered_object
from jkeras.utils import legacy
from jkeras.utils.audio_dataset import audio_dataset_from_directory
from jkeras.utils.config import Config
from jkeras.utils.data_tuples import pack_x_y_sample_weight, unpack_x_y_sample_weight
from jkeras.utils.image_dataset import image_dataset_from_directory
from jkeras.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from jkeras.utils.session import clear_session
from jkeras.utils.source_inputs import get_source_inputs
from jkeras.utils.text_dataset import text_dataset_from_directory
from jkeras.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "register_keras_serializable", "serialize_keras_object",
           "Progbar", "PyDataset", "Sequence", "get_file", "model_to_dot", "normalize",
           "pad_sequences", "plot_history", "plot_model", "set_random_seed", "split_dataset",
           "to_categorical"]
__all__ += ["Config", "array_to_img", "audio_dataset_from_directory", "clear_session",
            "disable_interactive_logging", "enable_interactive_logging", "get_registered_name",
            "get_registered_object", "get_source_inputs", "image_dataset_from_directory",
            "img_to_array", "is_interactive_logging_enabled", "is_keras_tensor", "legacy",
            "load_img", "pack_x_y_sample_weight", "save_img", "standardize_dtype",
            "text_dataset_from_directory", "timeseries_dataset_from_array",
            "unpack_x_y_sample_weight"]
__all__ += ["FeatureSpace", "bounding_boxes"]
