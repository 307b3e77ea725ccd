"""`keras.preprocessing.sequence` (Keras 1/2 path): pad_sequences."""

from jkeras.utils.sequence import pad_sequences

__all__ = ["pad_sequences"]
