"""F-scores: `FBetaScore` (the weighted harmonic mean of precision and
recall) and `F1Score`, per class or averaged ('micro', 'macro', 'weighted'),
for multi-class and multi-label outputs shaped (batch, num_classes).

The state's shape depends on the number of classes, so it is created from
the first batch (eagerly), or by `build_from_shapes` before compiled use
(`compile` calls it with the target and output shapes).
"""

from __future__ import annotations

import functools
import numbers

import jax
import jax.numpy as jnp

from jkeras.backend import config as _config
from jkeras.backend import scope as _scope
from jkeras.metrics.base import Metric

_AVERAGES = (None, "micro", "macro", "weighted")


def _check_2d(owner: str, y_true_shape, y_pred_shape) -> int:
    """The number of classes of (batch, num_classes) shapes, or a ValueError."""
    if y_true_shape is None or len(y_true_shape) != 2 or len(y_pred_shape) != 2:
        raise ValueError(
            f"{owner} expects 2D inputs shaped (batch_size, output_dim); got y_true shape "
            f"{y_true_shape} and y_pred shape {y_pred_shape}."
        )
    if y_pred_shape[-1] is None or y_true_shape[-1] is None:
        raise ValueError(
            f"{owner} expects inputs shaped (batch_size, output_dim) with a known "
            f"output_dim; got y_true shape {y_true_shape} and y_pred shape {y_pred_shape}."
        )
    return int(y_pred_shape[-1])


def _check_building(metric) -> None:
    if _scope.current() is not None:
        raise ValueError(
            f"{type(metric).__name__} '{metric.name}' is not built: its state shape depends on "
            f"the number of classes. Call build_from_shapes(y_true_shape, y_pred_shape) or "
            f"update it once eagerly before using it in a compiled function."
        )


def _row_weights(sample_weight, dtype):
    """Sample weights shaped (batch, 1) (or as given when already 2D)."""
    if sample_weight is None:
        return None
    w = jnp.asarray(sample_weight).astype(dtype)
    return w.reshape(-1, 1) if w.ndim <= 1 else w


# Compiled once per shapes and options (eagerly this replaces one compilation per
# operation); inlined under an outer jit.
@functools.partial(jax.jit, static_argnames=("threshold", "axis", "dtype"))
def _fbeta_counts(y_true, y_pred, sample_weight, *, threshold, axis, dtype):
    """Weighted (true positives, false positives, false negatives, support) of a batch."""
    if threshold is None:
        top = jnp.max(y_pred, axis=-1, keepdims=True)
        predicted = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
    else:
        predicted = y_pred > threshold
    predicted = predicted.astype(dtype)
    weights = _row_weights(sample_weight, dtype)

    def total(values):
        if weights is not None:
            values = values * weights
        return jnp.sum(values, axis=axis)

    return (total(predicted * y_true), total(predicted * (1.0 - y_true)),
            total((1.0 - predicted) * y_true), total(y_true))


@functools.partial(jax.jit, static_argnames=("beta", "average", "eps"))
def _fbeta_result(tp, fp, fn, support, *, beta, average, eps):
    precision = tp / (tp + fp + eps)
    recall = tp / (tp + fn + eps)
    b2 = beta ** 2
    score = (1.0 + b2) * precision * recall / (b2 * precision + recall + eps)
    if average == "weighted":
        return jnp.sum(score * support / (jnp.sum(support) + eps))
    if average is not None:
        return jnp.mean(score)
    return score


class FBetaScore(Metric):
    """F-beta score (1 + beta**2) * precision * recall / (beta**2 * precision +
    recall), from weighted counts of true positives, false positives and
    false negatives per class. Predictions count as positive when greater
    than `threshold`, or, with `threshold=None`, when they are the row's
    maximum (and non-zero). `average`: None (one score per class), 'micro'
    (global counts), 'macro' (mean over classes) or 'weighted' (mean weighted
    by each class's support)."""

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        owner = type(self).__name__
        if average not in _AVERAGES:
            raise ValueError(
                f"{owner}: average must be one of None, 'micro', 'macro' or 'weighted', "
                f"got {average!r}."
            )
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or beta <= 0:
            raise ValueError(f"{owner}: beta must be a float > 0, got {beta!r}.")
        if threshold is not None and (
                isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
                or not 0.0 < threshold <= 1.0):
            raise ValueError(
                f"{owner}: threshold must be None or a float with 0 < threshold <= 1, got "
                f"{threshold!r}."
            )
        super().__init__(dtype=dtype, name=name)
        self.average = average
        self.beta = float(beta)
        self.threshold = None if threshold is None else float(threshold)
        self.axis = None if average == "micro" else 0
        self._built = False

    def build_from_shapes(self, y_true_shape, y_pred_shape) -> None:
        """Creates the state for targets and predictions of these shapes."""
        if self._built:
            return
        num_classes = _check_2d(type(self).__name__, y_true_shape, y_pred_shape)
        shape = () if self.average == "micro" else (num_classes,)
        for name in ("true_positives", "false_positives", "false_negatives",
                     "intermediate_weights"):
            setattr(self, name, self.add_variable(shape, "zeros", name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        if not self._built:
            _check_building(self)
            self.build_from_shapes(y_true.shape, y_pred.shape)
        counts = _fbeta_counts(y_true, y_pred, None if sample_weight is None else
                               jnp.asarray(sample_weight), threshold=self.threshold,
                               axis=self.axis, dtype=jnp.dtype(self.dtype).name)
        for var, delta in zip((self.true_positives, self.false_positives, self.false_negatives,
                               self.intermediate_weights), counts):
            var.assign(var.value + delta)

    def result(self):
        if not self._built:
            return jnp.asarray(0.0, self.dtype)
        return _fbeta_result(self.true_positives.value, self.false_positives.value,
                             self.false_negatives.value, self.intermediate_weights.value,
                             beta=self.beta, average=self.average, eps=_config.epsilon())

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "average": self.average,
                "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score 2 * precision * recall / (precision + recall): `FBetaScore`
    with beta = 1."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config
