"""Keras 1/2 `keras.preprocessing` paths kept for old code."""

from jkeras.preprocessing import sequence

__all__ = ["sequence"]
