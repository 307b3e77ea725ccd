"""`keras.optimizers.legacy` (TF-Keras 2.11+): the same optimizers under the legacy path."""

from jkeras.optimizers.algorithms import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    Nadam,
    RMSprop,
)
from jkeras.optimizers.base import Optimizer

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "Nadam", "Optimizer", "RMSprop"]
