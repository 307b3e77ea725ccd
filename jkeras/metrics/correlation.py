"""Correlation metrics: Pearson's and Lin's concordance correlation
coefficients along an axis, as functions (per-sample values) and as means
over the samples seen (`PearsonCorrelation`, `ConcordanceCorrelation`).
"""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.backend import config as _config
from jkeras.losses import jit_function, squeeze_or_expand_to_same_rank
from jkeras.metrics.base import MeanMetricWrapper


def _aligned(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype("float32")
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@jit_function
def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson correlation coefficient of `y_true` and `y_pred` along `axis`:
    mean(z(y_true) * z(y_pred)) with z the standardized values (population
    standard deviation). Undefined (nan) where either is constant."""
    axis = _axis(axis)
    y_true, y_pred = _aligned(y_true, y_pred)
    t = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    t = t / jnp.std(t, axis=axis, keepdims=True)
    p = p / jnp.std(p, axis=axis, keepdims=True)
    return jnp.mean(t * p, axis=axis)


@jit_function
def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation coefficient along `axis`:
    2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p))**2 + epsilon)."""
    axis = _axis(axis)
    y_true, y_pred = _aligned(y_true, y_pred)
    mean_t = jnp.mean(y_true, axis=axis, keepdims=True)
    mean_p = jnp.mean(y_pred, axis=axis, keepdims=True)
    var_t = jnp.var(y_true, axis=axis, keepdims=True)
    var_p = jnp.var(y_pred, axis=axis, keepdims=True)
    cov = (y_true - mean_t) * (y_pred - mean_p)
    norm = var_t + var_p + jnp.square(mean_t - mean_p)
    return jnp.mean(2.0 * cov / (norm + _config.epsilon()), axis=axis)


class _CorrelationMetric(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, name=None, dtype=None, axis=-1):
        super().__init__(type(self)._function, name=name, dtype=dtype, axis=_axis(axis))
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "axis": self.axis}


class PearsonCorrelation(_CorrelationMetric):
    """Mean over samples of the Pearson correlation coefficient along `axis`."""

    _function = staticmethod(pearson_correlation)

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype, axis=axis)


class ConcordanceCorrelation(_CorrelationMetric):
    """Mean over samples of the concordance correlation coefficient along `axis`."""

    _function = staticmethod(concordance_correlation)

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype, axis=axis)
