"""`keras.legacy`: `keras.legacy.saving.serialize_keras_object` /
`deserialize_keras_object` (Keras 2's config format)."""

from jkeras.legacy import saving  # noqa: F401

__all__ = ["saving"]
