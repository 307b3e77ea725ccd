"""Intersection-over-union metrics: IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU.

State: a (num_classes, num_classes) confusion matrix (rows: true class,
columns: predicted class). IoU of class c = tp / (tp + fp + fn); the result
averages it over the target classes that occurred (Keras's formula).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jkeras.backend import config as _config
from jkeras.metrics.base import Metric


@functools.partial(jax.jit, static_argnames=("num_classes", "dtype"))
def confusion_matrix(labels, predictions, num_classes, weights=None, dtype="float32"):
    """Weighted (num_classes, num_classes) confusion matrix of integer class ids;
    ids outside [0, num_classes) are ignored."""
    labels = jnp.asarray(labels).reshape(-1).astype(jnp.int32)
    predictions = jnp.asarray(predictions).reshape(-1).astype(jnp.int32)
    t = jax.nn.one_hot(labels, num_classes, dtype=dtype)
    p = jax.nn.one_hot(predictions, num_classes, dtype=dtype)
    if weights is not None:
        p = p * jnp.asarray(weights, dtype).reshape(-1, 1)
    return t.T @ p


class IoU(Metric):
    """Mean IoU over `target_class_ids`. `sparse_y_true`/`sparse_y_pred`
    False means one-hot/probability inputs (argmax over `axis`);
    `ignore_class` labels are left out."""

    _direction = "up"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(dtype=dtype, name=name)
        if max(target_class_ids) >= num_classes:
            raise ValueError(
                f"{type(self).__name__}: target_class_ids {list(target_class_ids)} must be "
                f"< num_classes={num_classes}."
            )
        self.num_classes = int(num_classes)
        self.target_class_ids = list(target_class_ids)
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros", name="total_cm")

    def _labels(self, y_true, y_pred):
        y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
        if not self.sparse_y_true:
            y_true = jnp.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = jnp.argmax(y_pred, axis=self.axis)
        return y_true, y_pred

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = self._labels(y_true, y_pred)
        y_true = jnp.round(jnp.asarray(y_true, self.dtype)).reshape(-1)
        y_pred = jnp.round(jnp.asarray(y_pred, self.dtype)).reshape(-1)
        if sample_weight is None:
            w = jnp.ones_like(y_true)
        else:
            w = jnp.broadcast_to(jnp.asarray(sample_weight, self.dtype).reshape(-1),
                                 y_true.shape)
        if self.ignore_class is not None:
            valid = y_true != self.ignore_class
            w = w * valid.astype(w.dtype)
            y_true = jnp.where(valid, y_true, 0)
            y_pred = jnp.where(valid, y_pred, 0)
        cm = confusion_matrix(y_true, y_pred, self.num_classes, w, self.dtype)
        self.total_cm.assign(self.total_cm.value + cm)

    def result(self):
        return _mean_iou(self.total_cm.value, tuple(self.target_class_ids))

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


@functools.partial(jax.jit, static_argnames=("target_class_ids", "eps"))
def _mean_iou_jit(cm, target_class_ids, eps):
    sum_over_row = jnp.sum(cm, axis=0)
    sum_over_col = jnp.sum(cm, axis=1)
    tp = jnp.diag(cm)
    denom = sum_over_row + sum_over_col - tp
    ids = jnp.asarray(target_class_ids, jnp.int32)
    tp, denom = tp[ids], denom[ids]
    num_valid = jnp.sum((denom > 1e-9).astype(cm.dtype))
    iou = tp / (denom + eps)
    return jnp.sum(iou) / (num_valid + eps)


def _mean_iou(cm, target_class_ids):
    """Keras's mean IoU over the target classes that occur."""
    return _mean_iou_jit(cm, tuple(target_class_ids), float(_config.epsilon()))


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes. By default both inputs
    are integer class ids (set `sparse_y_pred=False` for probabilities)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU for binary labels, with predictions thresholded at `threshold`."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, list(target_class_ids), name=name, dtype=dtype)
        self.threshold = threshold

    def _labels(self, y_true, y_pred):
        y_pred = (jnp.asarray(y_pred) > self.threshold).astype(self.dtype)
        return jnp.asarray(y_true), y_pred

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype,
                "target_class_ids": self.target_class_ids, "threshold": self.threshold}


class OneHotIoU(IoU):
    """IoU for one-hot labels and probability predictions."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """MeanIoU for one-hot labels and probability predictions."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
