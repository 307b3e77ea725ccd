"""Utilities Keras users reach for."""

from jkeras.backend.random import set_random_seed
from jkeras.utils.numerical import normalize, to_categorical

__all__ = ["normalize", "set_random_seed", "to_categorical"]
