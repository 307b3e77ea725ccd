"""Crossentropies that re-weight examples: binary and categorical focal
crossentropy (Lin et al., 2018) and the generalized crossentropy of Zhang &
Sabuncu (2018), as functions (per-sample values) and `Loss` classes.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.losses.loss import Loss, LossFunctionWrapper, _eps, _prep, jit_function
from jkeras.losses.losses import _check_smoothing


def _check_axis(axis, owner: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{owner}: axis must be an int, got {axis!r}.")


@jit_function
def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over `axis` of (1 - p_t)**gamma * binary crossentropy, where p_t
    is the predicted probability of the true class; with
    `apply_class_balancing`, class 1 is weighted by `alpha` and class 0 by
    1 - alpha. Probabilities are clipped to [epsilon, 1 - epsilon] in the
    log; logits (`from_logits=True`) use the exact log-sigmoid (Keras clips
    the sigmoid instead, which caps the loss of very confident mistakes)."""
    y_true, y_pred = _prep(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        prob = jax.nn.sigmoid(y_pred)
        bce = -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    else:
        prob = y_pred
        clipped = jnp.clip(y_pred, _eps(), 1.0 - _eps())
        bce = -(y_true * jnp.log(clipped) + (1.0 - y_true) * jnp.log(1.0 - clipped))
    p_t = y_true * prob + (1.0 - y_true) * (1.0 - prob)
    focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


@jit_function
def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum over `axis` of alpha * (1 - p)**gamma * (-y_true * log(p)) for
    one-hot `y_true`, where p are the predicted class probabilities
    (renormalized and clipped to [epsilon, 1 - epsilon], or the softmax of
    logits). `alpha` is a float or one weight per class."""
    _check_axis(axis, "categorical_focal_crossentropy")
    y_true, y_pred = _prep(y_true, y_pred)
    if y_pred.shape and y_pred.shape[-1] == 1:
        warnings.warn(
            "categorical_focal_crossentropy expects y_pred of shape (batch, num_classes) "
            f"with num_classes > 1, got {y_pred.shape}; with 2 classes use "
            "binary_focal_crossentropy.",
            stacklevel=2,
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    if from_logits:
        log_p = jax.nn.log_softmax(y_pred, axis=axis)
        prob = jnp.exp(log_p)
    else:
        prob = jnp.clip(y_pred / jnp.sum(y_pred, axis=axis, keepdims=True), _eps(),
                        1.0 - _eps())
        log_p = jnp.log(prob)
    weight = jnp.power(1.0 - prob, gamma) * jnp.asarray(alpha, y_pred.dtype)
    return jnp.sum(weight * (-y_true * log_p), axis=axis)


def _check_q(q, owner: str) -> float:
    if isinstance(q, bool) or not isinstance(q, (int, float, np.floating)) or not 0 < q < 1:
        raise ValueError(f"{owner}: q must be a float in the open interval (0, 1), got {q!r}.")
    return float(q)


@jit_function
def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 - p**q) / q, where p is the predicted probability of the true class:
    `y_true` holds integer class indices shaped (batch,) or (batch, 1),
    `y_pred` class probabilities shaped (batch, num_classes). `q` in (0, 1):
    towards 0 it behaves like crossentropy, towards 1 like mean absolute error."""
    q = _check_q(q, "categorical_generalized_cross_entropy")
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype("float32")
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)  # (Keras would broadcast (batch, 1) labels wrongly)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "categorical_generalized_cross_entropy: y_true must hold one integer class index "
            f"per sample, shaped {y_pred.shape[:-1]} (or with a trailing 1), but got y_true of "
            f"shape {y_true.shape} for y_pred of shape {y_pred.shape}."
        )
    labels = jnp.round(y_true).astype(jnp.int32)
    onehot = jax.nn.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
    p = jnp.sum(y_pred * onehot, axis=-1)
    return (1.0 - jnp.power(p, q)) / q


def _alpha_config(alpha):
    return list(alpha) if isinstance(alpha, (tuple, list, np.ndarray)) else alpha


def _alpha_option(alpha):
    # hashable, so the jitted function compiles once per value
    if isinstance(alpha, (list, tuple, np.ndarray)):
        return tuple(float(a) for a in np.asarray(alpha).reshape(-1))
    return alpha


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy scaled by the focal factor (1 - p_t)**gamma, which
    down-weights easy examples; `apply_class_balancing` also weights class 1
    by `alpha` and class 0 by 1 - alpha. Labels are 0/1; predictions are
    probabilities, or logits with `from_logits=True`."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        _check_smoothing(label_smoothing, "BinaryFocalCrossentropy")
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy (one-hot labels) scaled per class by
    alpha * (1 - p)**gamma. `alpha` is a float or a list of one weight per
    class."""

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        _check_smoothing(label_smoothing, "CategoricalFocalCrossentropy")
        _check_axis(axis, "CategoricalFocalCrossentropy")
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=_alpha_option(alpha), gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "alpha": _alpha_config(self.alpha),
                "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized crossentropy (1 - p**q) / q of the probability p of the
    true class, robust to noisy labels. Labels are integer class indices."""

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        q = _check_q(q, "CategoricalGeneralizedCrossEntropy")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name,
                         dtype=dtype, q=q)
        self.q = q

    def call(self, y_true, y_pred):
        # No rank alignment: integer labels legitimately have one dimension less.
        return self.fn(y_true, y_pred, **self._fn_kwargs)
