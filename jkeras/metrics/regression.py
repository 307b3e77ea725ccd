"""Regression, probabilistic and hinge metrics: means of per-sample losses."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras import losses
from jkeras.losses import jit_function, squeeze_or_expand_to_same_rank
from jkeras.metrics.base import Mean, MeanMetricWrapper


@jit_function
def cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine similarity along `axis` (1 means same direction); the metric
    form, without the loss's minus sign."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


def _wrapper(cls_name, fn, default_name, doc, direction="down"):
    def __init__(self, name=default_name, dtype=None):  # noqa: N807
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype)

    return type(cls_name, (MeanMetricWrapper,),
                {"__init__": __init__, "__doc__": doc, "_direction": direction})


MeanSquaredError = _wrapper("MeanSquaredError", losses.mean_squared_error,
                            "mean_squared_error", "Mean of squared errors.")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", losses.mean_absolute_error,
                             "mean_absolute_error", "Mean of absolute errors.")
MeanAbsolutePercentageError = _wrapper(
    "MeanAbsolutePercentageError", losses.mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "Mean absolute percentage error.")
MeanSquaredLogarithmicError = _wrapper(
    "MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "Mean squared logarithmic error.")
LogCoshError = _wrapper("LogCoshError", losses.log_cosh, "logcosh", "Mean of log(cosh(error)).")
Hinge = _wrapper("Hinge", losses.hinge, "hinge", "Mean hinge loss.")
SquaredHinge = _wrapper("SquaredHinge", losses.squared_hinge, "squared_hinge",
                        "Mean squared hinge loss.")
CategoricalHinge = _wrapper("CategoricalHinge", losses.categorical_hinge, "categorical_hinge",
                            "Mean categorical hinge loss.")
KLDivergence = _wrapper("KLDivergence", losses.kl_divergence, "kl_divergence",
                        "Mean Kullback-Leibler divergence.")
Poisson = _wrapper("Poisson", losses.poisson, "poisson", "Mean Poisson loss.")


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions along `axis`."""

    _direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of squared errors."""

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(jnp.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return jnp.sqrt(super().result())


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy."""

    _direction = "down"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy (one-hot labels)."""

    _direction = "down"

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical crossentropy (integer labels)."""

    _direction = "down"

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)
