"""Keras's standard losses: squared/absolute/percentage/log errors, hinge,
KL divergence, Poisson, cosine similarity, Huber, log-cosh and the
crossentropies, as functions (per-sample values) and `Loss` classes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jkeras.backend import config as _config
from jkeras.losses.loss import (
    LossFunctionWrapper,
    _eps,
    _prep,
    jit_function,
)


# loss functions -------------------------------------------------------------
@jit_function
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)**2, axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


@jit_function
def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|, axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


@jit_function
def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|(y_true - y_pred) / max(|y_true|, epsilon)|, axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), _eps()))
    return 100.0 * jnp.mean(diff, axis=-1)


@jit_function
def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    a = jnp.log(jnp.maximum(y_pred, _eps()) + 1.0)
    b = jnp.log(jnp.maximum(y_true, _eps()) + 1.0)
    return jnp.mean(jnp.square(a - b), axis=-1)


def _hinge_labels(y_true):
    # 0/1 labels become -1/1; other labels are used as given (Keras's rule).
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


@jit_function
def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0), axis=-1); 0/1 labels map to -1/1."""
    y_true, y_pred = _prep(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


@jit_function
def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)**2, axis=-1); 0/1 labels map to -1/1."""
    y_true, y_pred = _prep(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


@jit_function
def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    y_true, y_pred = _prep(y_true, y_pred)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


@jit_function
def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_true, y_pred = _prep(y_true, y_pred)
    y_true = jnp.clip(y_true, _eps(), 1.0)
    y_pred = jnp.clip(y_pred, _eps(), 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


@jit_function
def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + _eps()), axis=-1)


def _l2_normalize(x, axis):
    sq = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(sq, 1e-12))


@jit_function
def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity along `axis` (-1 means same direction)."""
    y_true, y_pred = _prep(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


@jit_function
def huber(y_true, y_pred, delta=1.0):
    """mean(0.5 e**2 if |e| <= delta else delta * |e| - 0.5 delta**2, axis=-1)."""
    y_true, y_pred = _prep(y_true, y_pred)
    delta = jnp.asarray(delta, y_pred.dtype)
    err = jnp.abs(y_pred - y_true)
    return jnp.mean(
        jnp.where(err <= delta, 0.5 * jnp.square(err), delta * err - 0.5 * jnp.square(delta)),
        axis=-1,
    )


@jit_function
def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed stably."""
    y_true, y_pred = _prep(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - math.log(2.0), axis=-1)


@jit_function
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean binary crossentropy over `axis`. Probabilities are clipped to
    [epsilon, 1 - epsilon]; `label_smoothing` moves labels towards 0.5."""
    y_true, y_pred = _prep(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    else:
        p = jnp.clip(y_pred, _eps(), 1.0 - _eps())
        bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return jnp.mean(bce, axis=axis)


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(p, _eps(), 1.0 - _eps()))


@jit_function
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(p), axis) for one-hot `y_true`; probabilities are
    renormalized and clipped to [epsilon, 1 - epsilon] (unless from logits)."""
    if isinstance(axis, bool):
        raise ValueError(f"categorical_crossentropy: axis must be an int, got {axis!r}.")
    y_true, y_pred = _prep(y_true, y_pred)
    if y_pred.shape and y_pred.shape[-1] == 1:
        warnings.warn(
            "categorical_crossentropy expects y_pred of shape (batch, num_classes) with "
            f"num_classes > 1, got {y_pred.shape}; with 2 classes use binary_crossentropy.",
            stacklevel=2,
        )
    if label_smoothing:
        k = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / k
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


@jit_function
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Crossentropy with integer labels: `y_true` of shape (batch,) or
    (batch, 1) (more generally y_pred's shape without the class axis).
    Entries equal to `ignore_class` get a loss of 0."""
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(_config.floatx())
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    if y_true.shape != y_pred.shape[:-1] and y_pred.ndim >= 1:
        raise ValueError(
            "sparse_categorical_crossentropy: y_true must hold one integer label per "
            f"prediction, shaped {y_pred.shape[:-1]} (or with a trailing 1), but got "
            f"y_true of shape {y_true.shape} for y_pred of shape {y_pred.shape}. For one-hot "
            f"labels use categorical_crossentropy."
        )
    labels = jnp.round(y_true).astype(jnp.int32) if jnp.issubdtype(
        y_true.dtype, jnp.floating) else y_true.astype(jnp.int32)
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = jnp.where(valid, labels, 0)
    log_prob = _log_probs(y_pred, from_logits, axis)
    onehot = jax.nn.one_hot(labels, y_pred.shape[axis], axis=axis, dtype=log_prob.dtype)
    res = -jnp.sum(onehot * log_prob, axis=axis)
    if valid is not None:
        res = jnp.where(valid, res, 0.0)
    return res


# Aliases (Keras 1/2/3 names)
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber


def _simple(cls_name: str, fn: Callable, default_name: str, doc: str):
    def __init__(self, reduction="sum_over_batch_size", name=default_name, dtype=None):  # noqa: N807
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype)

    return type(cls_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc})


MeanSquaredError = _simple("MeanSquaredError", mean_squared_error, "mean_squared_error",
                           "Mean of squares of errors between labels and predictions.")
MeanAbsoluteError = _simple("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
                            "Mean of absolute errors between labels and predictions.")
MeanAbsolutePercentageError = _simple(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "100 * mean(|(y_true - y_pred) / y_true|).")
MeanSquaredLogarithmicError = _simple(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "Mean of squared differences of log(x + 1).")
Hinge = _simple("Hinge", hinge, "hinge", "Hinge loss (labels -1/1, or 0/1 converted).")
SquaredHinge = _simple("SquaredHinge", squared_hinge, "squared_hinge", "Squared hinge loss.")
CategoricalHinge = _simple("CategoricalHinge", categorical_hinge, "categorical_hinge",
                           "Categorical hinge loss for one-hot labels.")
KLDivergence = _simple("KLDivergence", kl_divergence, "kl_divergence",
                       "Kullback-Leibler divergence between label and prediction distributions.")
Poisson = _simple("Poisson", poisson, "poisson", "Poisson loss: mean(y_pred - y_true*log(y_pred)).")
LogCosh = _simple("LogCosh", log_cosh, "log_cosh", "Mean of log(cosh(error)).")


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity between labels and predictions along `axis`."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for |error| <= delta, linear beyond."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary crossentropy for 0/1 labels (probabilities, or logits with
    `from_logits=True`); `label_smoothing` in [0, 1] squeezes labels towards 0.5."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        _check_smoothing(label_smoothing, "BinaryCrossentropy")
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for one-hot labels; `label_smoothing` mixes labels with
    the uniform distribution."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        _check_smoothing(label_smoothing, "CategoricalCrossentropy")
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for integer labels shaped like y_pred without its class
    axis, or with a trailing 1. Labels equal to `ignore_class` are left out
    of the loss and of the mean."""

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy",
                 dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def call(self, y_true, y_pred):
        # No rank alignment: labels legitimately have one dimension less.
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _output_mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        y_true = jnp.asarray(y_true)
        if y_true.ndim == jnp.ndim(y_pred) and y_true.shape[-1] == 1:
            y_true = jnp.squeeze(y_true, -1)
        return jnp.round(y_true).astype(jnp.int32) != self.ignore_class


def _check_smoothing(value, owner):
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{owner}: label_smoothing must be in [0, 1], got {value!r}.")


