"""Utilities Keras users reach for."""

from jkeras.backend.random import set_random_seed
from jkeras.datasets._files import get_file
from jkeras.utils.history_plot import plot_history
from jkeras.utils.numerical import normalize, to_categorical
from jkeras.utils.plot import model_to_dot, plot_model

__all__ = ["get_file", "model_to_dot", "normalize", "plot_history", "plot_model",
           "set_random_seed", "to_categorical"]
