"""`R2Score`: the coefficient of determination (optionally adjusted for the
number of regressors), per output column or aggregated.

The per-column state depends on the output width, so it is created from the
first batch (eagerly) or by `build_from_shapes` before compiled use.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jkeras.losses import squeeze_or_expand_to_same_rank
from jkeras.metrics.base import Metric
from jkeras.metrics.f_score import _check_2d, _check_building

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


@jax.jit  # once per shapes eagerly; inlined under an outer jit
def _r2_sums(y_true, y_pred, sample_weight):
    """Per column: weighted sum of y, of y**2, of squared errors, of weights;
    and the number of rows with a non-zero weight."""
    if sample_weight is None:
        weights = jnp.ones(y_true.shape, y_true.dtype)
    else:
        weights = sample_weight[:, None] if sample_weight.ndim == 1 else sample_weight
        weights = jnp.broadcast_to(weights, y_true.shape)
    weighted = y_true * weights
    rows = jnp.sum(jnp.any(weights != 0, axis=tuple(range(1, weights.ndim))))
    return (jnp.sum(weighted, axis=0), jnp.sum(y_true * weighted, axis=0),
            jnp.sum(jnp.square(y_true - y_pred) * weights, axis=0), jnp.sum(weights, axis=0),
            rows)


@functools.partial(jax.jit, static_argnames=("aggregation", "num_regressors"))
def _r2_result(total_y, total_y2, residual, count, n, *, aggregation, num_regressors):
    mean = total_y / count
    total = total_y2 - total_y * mean
    scores = 1.0 - residual / total
    scores = jnp.where(jnp.isinf(scores), 0.0, scores)
    if aggregation == "uniform_average":
        score = jnp.mean(scores)
    elif aggregation == "variance_weighted_average":
        score = jnp.sum(total * scores) / jnp.sum(total)
    else:
        score = scores
    p = num_regressors
    if p:
        denominator = jnp.where(n - p - 1.0 > 0, n - p - 1.0, 1.0)
        score = jnp.where(n - 1.0 > p, 1.0 - (1.0 - score) * (n - 1.0) / denominator, score)
    return score


class R2Score(Metric):
    """R2 = 1 - sum((y_true - y_pred)**2) / sum((y_true - mean(y_true))**2)
    per column of (batch, output_dim) targets, over all samples seen
    (weighted by `sample_weight`). `class_aggregation`: None (one score per
    column), 'uniform_average' or 'variance_weighted_average'.
    `num_regressors` p > 0 gives the adjusted score
    1 - (1 - R2) (n - 1) / (n - p - 1) over n samples; it falls back to the
    plain score when n - 1 <= p. (Keras counts n as the number of target
    elements; jkeras counts samples with a non-zero weight, which is what the
    formula means and what keeps padded batches out.)"""

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"R2Score: class_aggregation must be one of {_AGGREGATIONS}, got "
                f"{class_aggregation!r}."
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or \
                num_regressors < 0:
            raise ValueError(
                f"R2Score: num_regressors must be an int >= 0, got {num_regressors!r}."
            )
        super().__init__(dtype=dtype, name=name)
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self._built = False

    def build_from_shapes(self, y_true_shape, y_pred_shape) -> None:
        """Creates the per-column state for targets and predictions of these shapes."""
        if self._built:
            return
        if y_true_shape is not None and len(y_true_shape) == 1:
            y_true_shape = (*y_true_shape, 1)  # (batch,) targets against (batch, 1) outputs
        width = _check_2d("R2Score", y_true_shape, y_pred_shape)
        # Keras's names and order: squared_sum, sum, residual, count
        self.squared_sum = self.add_variable((width,), "zeros", name="squared_sum")
        self.sum = self.add_variable((width,), "zeros", name="sum")
        self.total_mse = self.add_variable((width,), "zeros", name="residual")
        self.count = self.add_variable((width,), "zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            _check_building(self)
            self.build_from_shapes(y_true.shape, y_pred.shape)
        sums = _r2_sums(y_true, y_pred, None if sample_weight is None else
                        jnp.asarray(sample_weight).astype(self.dtype))
        for var, delta in zip((self.sum, self.squared_sum, self.total_mse, self.count,
                               self.num_samples), sums):
            var.assign(var.value + delta.astype(var.dtype))

    def result(self):
        if not self._built:
            return jnp.asarray(0.0, self.dtype)
        return _r2_result(self.sum.value, self.squared_sum.value, self.total_mse.value,
                          self.count.value, self.num_samples.value,
                          aggregation=self.class_aggregation,
                          num_regressors=float(self.num_regressors))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
