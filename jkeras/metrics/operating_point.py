"""Metrics at an operating point of a binary classifier: the best value of
one rate subject to a floor on another, over `num_thresholds` evenly spaced
thresholds in [0, 1] (SensitivityAtSpecificity, SpecificityAtSensitivity,
PrecisionAtRecall, RecallAtPrecision). Counts accumulate per threshold with
the confusion-matrix machinery of `confusion.py`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jkeras.metrics.base import divide_no_nan
from jkeras.metrics.confusion import _ConfusionBase


def _check_num_thresholds(owner: str, num_thresholds) -> int:
    if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or \
            num_thresholds <= 0:
        raise ValueError(f"{owner}: num_thresholds must be an int > 0, got {num_thresholds!r}.")
    return num_thresholds


def _check_rate(owner: str, arg: str, value) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{owner}: {arg} must be in [0, 1], got {value!r}.")
    return value


@functools.partial(jax.jit, static_argnames=("constraint", "objective"))
def _best_under_floor(tp, fp, tn, fn, floor, *, constraint, objective):
    """The largest `objective` rate among thresholds whose `constraint` rate is
    at least `floor` (0 when none is)."""
    recall = divide_no_nan(tp, tp + fn)
    rates = {"sensitivity": recall, "recall": recall,
             "specificity": divide_no_nan(tn, tn + fp), "precision": divide_no_nan(tp, tp + fp)}
    feasible = rates[constraint] >= floor
    return jnp.max(jnp.where(feasible, rates[objective], 0.0), initial=0.0)


class _OperatingPoint(_ConfusionBase):
    """Keeps tp/fp/tn/fn per threshold; `result` is the largest
    `_objective` rate among thresholds whose `_constraint` rate is at least
    `value` (0 when none qualifies)."""

    _keys = ("tp", "fp", "tn", "fn")
    _direction = "up"
    _constraint = ""
    _objective = ""
    _arg = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        self.value = _check_rate(owner, self._arg, value)
        self.num_thresholds = _check_num_thresholds(owner, num_thresholds)
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            thresholds = [0.0] + [(i + 1) / (num_thresholds - 1)
                                  for i in range(num_thresholds - 2)] + [1.0]
        self._clip_predictions = num_thresholds > 1
        super().__init__(thresholds=thresholds, name=name, dtype=dtype, class_id=class_id)

    def result(self):
        return _best_under_floor(self.true_positives.value, self.false_positives.value,
                                 self.true_negatives.value, self.false_negatives.value,
                                 float(self.value), constraint=self._constraint,
                                 objective=self._objective)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._arg: self.value}


class SensitivityAtSpecificity(_OperatingPoint):
    """Best sensitivity tp / (tp + fn) among thresholds whose specificity
    tn / (tn + fp) is at least `specificity`. `class_id` picks one class of a
    multi-class output."""

    _constraint, _objective, _arg = "specificity", "sensitivity", "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity


class SpecificityAtSensitivity(_OperatingPoint):
    """Best specificity among thresholds whose sensitivity is at least
    `sensitivity`."""

    _constraint, _objective, _arg = "sensitivity", "specificity", "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity


class PrecisionAtRecall(_OperatingPoint):
    """Best precision tp / (tp + fp) among thresholds whose recall is at least
    `recall`."""

    _constraint, _objective, _arg = "recall", "precision", "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall


class RecallAtPrecision(_OperatingPoint):
    """Best recall among thresholds whose precision is at least `precision`
    (0 when no threshold reaches it)."""

    _constraint, _objective, _arg = "precision", "recall", "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision
