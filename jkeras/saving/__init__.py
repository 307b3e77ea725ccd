"""Saving and loading: Keras 3 `.keras` files, weights files, Keras 1/2 `.h5`,
configs and JSON, and the registry of custom objects.

Loading never runs code carried by a file: no pickle; classes and functions come
only from jkeras, objects registered with `register_keras_serializable`, or
`custom_objects`; `lambda` bytecode needs `safe_mode=False`. Writes are atomic.
"""

from jkeras.saving.file_editor import KerasFileEditor
from jkeras.saving.functional_config import clone_model
from jkeras.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from jkeras.saving.saving_api import (
    load_model,
    load_weights,
    model_from_config,
    model_from_json,
    save_model,
    save_weights,
)
from jkeras.saving.serialization import (
    deserialize_keras_object,
    enable_unsafe_deserialization,
    serialize_keras_object,
)

# isort: split
from jkeras.engine import services as _services
from jkeras.saving import service as _service

_services.register("saving", _service)

__all__ = [
    "CustomObjectScope",
    "KerasFileEditor",
    "clone_model",
    "custom_object_scope",
    "deserialize_keras_object",
    "enable_unsafe_deserialization",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "model_from_config",
    "model_from_json",
    "register_keras_serializable",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]
