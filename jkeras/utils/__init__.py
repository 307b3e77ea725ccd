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
from jkeras.utils.history_plot import plot_history
from jkeras.utils.numerical import normalize, to_categorical
from jkeras.utils.plot import model_to_dot, plot_model
from jkeras.utils.sequence import pad_sequences

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "register_keras_serializable", "serialize_keras_object",
           "Progbar", "PyDataset", "Sequence", "get_file", "model_to_dot", "normalize",
           "pad_sequences", "plot_history", "plot_model", "set_random_seed", "split_dataset",
           "to_categorical"]
__all__ += ["bounding_boxes"]
