"""`keras.legacy.saving`: Keras 2's serialization functions."""

from jkeras.utils.legacy import deserialize_keras_object, serialize_keras_object  # noqa: F401

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
