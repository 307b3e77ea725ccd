"""Accuracy metrics: functions returning per-sample matches, and their Mean wrappers."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.backend import config as _config
from jkeras.losses import jit_function, squeeze_or_expand_to_same_rank
from jkeras.metrics.base import MeanMetricWrapper


def _floatx():
    return _config.floatx()


def _as_pred(y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(_floatx())
    return y_pred


@jit_function
def accuracy(y_true, y_pred):
    """mean(y_true == y_pred, axis=-1): exact equality of values."""
    y_pred = _as_pred(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return jnp.mean((y_true == y_pred).astype(_floatx()), axis=-1)


@jit_function
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean(y_true == (y_pred > threshold), axis=-1)."""
    y_pred = _as_pred(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    pred = (y_pred > jnp.asarray(threshold, y_pred.dtype)).astype(y_true.dtype)
    return jnp.mean((y_true == pred).astype(_floatx()), axis=-1)


@jit_function
def categorical_accuracy(y_true, y_pred):
    """argmax(y_true) == argmax(y_pred) over the last axis (one-hot labels)."""
    y_pred = _as_pred(y_pred)
    y_true = jnp.asarray(y_true)
    labels = jnp.argmax(y_true, axis=-1)
    orig_shape = labels.shape
    reshape = False
    if labels.ndim == y_pred.ndim:
        labels = jnp.squeeze(labels, -1)
        reshape = True
    matches = (labels == jnp.argmax(y_pred, axis=-1)).astype(_floatx())
    return matches.reshape(orig_shape) if reshape else matches


@jit_function
def sparse_categorical_accuracy(y_true, y_pred):
    """y_true == argmax(y_pred, -1) for integer labels shaped (batch,) or (batch, 1)."""
    y_pred = _as_pred(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    pred = jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = (y_true == pred).astype(_floatx())
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def _in_top_k(targets, predictions, k):
    at = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at = jnp.where(jnp.isnan(at), -jnp.inf, at)
    rank = 1 + jnp.sum(predictions > at, axis=-1)
    return rank <= k


@jit_function
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the true class (argmax of one-hot y_true) is among the k
    highest predictions (ties count in favour), else 0."""
    y_pred = _as_pred(y_pred)
    labels = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(jnp.int32)
    orig_shape = labels.shape
    matches = _in_top_k(labels.reshape(-1), y_pred.reshape(-1, y_pred.shape[-1]), k)
    return matches.astype(_floatx()).reshape(orig_shape)


@jit_function
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer label is among the k highest predictions, else 0."""
    y_pred = _as_pred(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    labels = (jnp.round(y_true) if jnp.issubdtype(y_true.dtype, jnp.floating)
              else y_true).astype(jnp.int32)
    orig_shape = labels.shape
    matches = _in_top_k(labels.reshape(-1), y_pred.reshape(-1, y_pred.shape[-1]), k)
    return matches.astype(_floatx()).reshape(orig_shape)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` matches 0/1 labels."""

    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(
                f"BinaryAccuracy: threshold must be in (0, 1), got {threshold!r}."
            )
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches argmax of one-hot labels."""

    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer labels."""

    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the top `k` predictions."""

    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is among the top `k` predictions."""

    _direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
