"""Keras 2 location of plot_model / model_to_dot."""

from jkeras.utils.plot import model_to_dot, plot_model  # noqa: F401
