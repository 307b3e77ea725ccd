"""Confusion-matrix metrics: TruePositives..., Precision, Recall and AUC.

For each threshold t, a prediction counts as positive when `y_pred > t`
and a label as positive when it is non-zero; weighted counts accumulate in
variables of shape (num_thresholds,) (or (num_thresholds, num_labels) for a
multi-label AUC).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import config as _config
from jkeras.backend import scope as _scope
from jkeras.losses import squeeze_or_expand_to_same_rank
from jkeras.metrics.base import Metric, divide_no_nan

NEG_INF = -1e10


def _parse_thresholds(thresholds, default, owner):
    if thresholds is None:
        return [float(default)]
    if isinstance(thresholds, (list, tuple, np.ndarray)):
        values = [float(t) for t in np.asarray(thresholds).reshape(-1)]
    else:
        values = [float(thresholds)]
    for t in values:
        if t != NEG_INF and not 0.0 <= t <= 1.0:
            raise ValueError(
                f"{owner}: thresholds must be in [0, 1], got {thresholds!r}."
            )
    return values


def _filter_top_k(x, k):
    """Keeps the k largest values of the last axis; the rest become NEG_INF."""
    _, idx = jax.lax.top_k(x, k)
    keep = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2) > 0
    return jnp.where(keep, x, jnp.asarray(NEG_INF, x.dtype))


def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None,
                     class_id=None, multi_label=False, label_weights=None,
                     clip_predictions=False, dtype="float32") -> dict:
    """Weighted TP/FP/TN/FN counts per threshold for one batch.

    Returns a dict with keys 'tp', 'fp', 'tn', 'fn' of shape (T,), or (T, L)
    with `multi_label` (predictions (batch, L)). Compiled as one function
    (eagerly this avoids one compilation per operation).
    """
    thresholds = tuple(float(t) for t in np.asarray(thresholds, dtype=np.float64).reshape(-1))
    label_weights = None if label_weights is None else tuple(
        float(x) for x in np.asarray(label_weights).reshape(-1))
    return _confusion_counts_jit(
        jnp.asarray(y_true), jnp.asarray(y_pred),
        None if sample_weight is None else jnp.asarray(sample_weight),
        thresholds=thresholds, top_k=top_k, class_id=class_id, multi_label=bool(multi_label),
        label_weights=label_weights, clip_predictions=bool(clip_predictions),
        dtype=jnp.dtype(dtype).name)


@functools.partial(jax.jit, static_argnames=(
    "thresholds", "top_k", "class_id", "multi_label", "label_weights", "clip_predictions",
    "dtype"))
def _confusion_counts_jit(y_true, y_pred, sample_weight, *, thresholds, top_k, class_id,
                          multi_label, label_weights, clip_predictions, dtype):
    y_true = jnp.asarray(y_true).astype(dtype)
    y_pred = jnp.asarray(y_pred).astype(dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape for confusion-matrix metrics, got "
            f"y_true {y_true.shape} and y_pred {y_pred.shape}."
        )
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight).astype(dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "class_id needs y_pred shaped (batch, num_classes); got shape "
                f"{y_pred.shape}."
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if clip_predictions:
        y_pred = jnp.clip(y_pred, 0.0, 1.0)
    thr = jnp.asarray(np.asarray(thresholds, dtype=np.float64)).astype(dtype)  # static
    weights = None
    if sample_weight is not None:
        weights = jnp.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        lw = jnp.broadcast_to(jnp.asarray(label_weights, dtype), y_pred.shape)
        weights = lw if weights is None else weights * lw
    if multi_label:
        preds = y_pred.reshape(y_pred.shape[0], -1)  # (N, L)
        labels = y_true.reshape(preds.shape) != 0
        pos = preds[None] > thr[:, None, None]  # (T, N, L)
        lab = labels[None]
        w = None if weights is None else weights.reshape(preds.shape)[None]
    else:
        preds = y_pred.reshape(-1)
        labels = y_true.reshape(-1) != 0
        pos = preds[None] > thr[:, None]  # (T, M)
        lab = labels[None]
        w = None if weights is None else weights.reshape(-1)[None]

    def count(mask):
        m = mask.astype(dtype)
        if w is not None:
            m = m * w
        return jnp.sum(m, axis=1)

    return {
        "tp": count(lab & pos),
        "fp": count(~lab & pos),
        "tn": count(~lab & ~pos),
        "fn": count(lab & ~pos),
    }


# Count key -> the attribute (and variable name) holding it, as Keras names them.
_ATTRS = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
          "fn": "false_negatives"}


class _ConfusionBase(Metric):
    _keys: tuple = ()
    _clip_predictions = False  # clip y_pred to [0, 1] (Keras does with evenly spaced thresholds)

    def __init__(self, thresholds=None, name=None, dtype=None, default_threshold=0.5,
                 top_k=None, class_id=None):
        super().__init__(dtype=dtype, name=name)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, default_threshold, type(self).__name__)
        self._single = thresholds is None or not isinstance(
            thresholds, (list, tuple, np.ndarray))
        for key in self._keys:
            setattr(self, _ATTRS[key], self.add_variable(
                (len(self.thresholds),), "zeros", name=_ATTRS[key]))

    def _var(self, key):
        return getattr(self, _ATTRS[key])

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                  top_k=self.top_k, class_id=self.class_id,
                                  clip_predictions=self._clip_predictions, dtype=self.dtype)
        for key in self._keys:
            var = self._var(key)
            var.assign(var.value + counts[key])

    def _maybe_scalar(self, x):
        return x[0] if self._single else x


class _SingleCount(_ConfusionBase):
    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self):
        return self._maybe_scalar(self._var(self._keys[0]).value)

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype, "thresholds": self.init_thresholds}


class TruePositives(_SingleCount):
    """Weighted number of true positives (per threshold)."""

    _keys = ("tp",)


class FalsePositives(_SingleCount):
    """Weighted number of false positives (per threshold)."""

    _keys = ("fp",)


class TrueNegatives(_SingleCount):
    """Weighted number of true negatives (per threshold)."""

    _keys = ("tn",)


class FalseNegatives(_SingleCount):
    """Weighted number of false negatives (per threshold)."""

    _keys = ("fn",)


class _PrecisionRecall(_ConfusionBase):
    """tp / (tp + `_keys[1]`), with `thresholds` (default 0.5; a list gives one
    value per threshold), `top_k` (only the k highest predictions count as
    positive) and `class_id` (one class of a multi-class output)."""

    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype,
                         default_threshold=0.5 if top_k is None else NEG_INF,
                         top_k=top_k, class_id=class_id)

    def result(self):
        tp = self.true_positives.value
        other = self._var(self._keys[1]).value
        return self._maybe_scalar(divide_no_nan(tp, tp + other))

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype, "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp). `thresholds` (default 0.5; a list gives one value per
    threshold), `top_k` (only the k highest predictions count as positive),
    `class_id` (one class of a multi-class output)."""

    _keys = ("tp", "fp")


class Recall(_PrecisionRecall):
    """tp / (tp + fn), with the same options as `Precision`."""

    _keys = ("tp", "fn")


class AUC(Metric):
    """Area under the ROC or PR curve, approximated with a Riemann sum over
    `num_thresholds` thresholds (evenly spaced in [0, 1], plus -epsilon and
    1 + epsilon at the ends) like Keras: trapezoids for ROC
    ('interpolation'), Davis & Goadrich interpolation for PR; 'minoring' and
    'majoring' use the lower/upper rectangle heights.

    `multi_label=True` computes one AUC per label column (averaged, or
    weighted by `label_weights`); give `num_labels` to use it in compiled
    training. `from_logits=True` applies a sigmoid to predictions first.
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}.")
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                "AUC: summation_method must be 'interpolation', 'minoring' or 'majoring', "
                f"got {summation_method!r}."
            )
        super().__init__(dtype=dtype, name=name)
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.from_logits = from_logits
        self.label_weights = None if label_weights is None else np.asarray(
            label_weights, dtype=np.float32)
        if thresholds is not None:
            inner = sorted(_parse_thresholds(thresholds, 0.5, "AUC"))
            self.num_thresholds = len(inner) + 2
            self._evenly = False
            self._init_thresholds = list(inner)
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds!r}.")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
            self._init_thresholds = None
        eps = _config.epsilon()
        self._thresholds = np.array([0.0 - eps, *inner, 1.0 + eps])
        self._built = False
        if not self.multi_label or num_labels is not None:
            self._build(num_labels)

    @property
    def thresholds(self) -> list:
        return list(self._thresholds)

    def _build(self, num_labels):
        shape = (self.num_thresholds,) if not self.multi_label else (
            self.num_thresholds, int(num_labels))
        self.num_labels = num_labels
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self._built = True

    def build_from_shapes(self, y_true_shape, y_pred_shape) -> None:
        """Creates the per-label state of a multi-label AUC from the output
        shape (so that compiled training works without `num_labels`)."""
        dims = tuple(y_pred_shape or ())[1:]
        if not self._built and None not in dims:
            self._build(int(np.prod(dims)) if dims else 1)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = jnp.asarray(y_pred)
        if not self._built:
            if _scope.current() is not None:
                raise ValueError(
                    f"AUC '{self.name}' with multi_label=True needs num_labels=... to be used "
                    f"inside compiled training (its state shape depends on it)."
                )
            self._build(int(np.prod(y_pred.shape[1:])) if y_pred.ndim > 1 else 1)
        if self.from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        counts = confusion_counts(
            y_true, y_pred, self._thresholds, sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            clip_predictions=self._evenly, dtype=self.dtype)
        for key, var in (("tp", self.true_positives), ("fp", self.false_positives),
                         ("tn", self.true_negatives), ("fn", self.false_negatives)):
            var.assign(var.value + counts[key])

    def result(self):
        if not self._built:
            return jnp.asarray(0.0, self.dtype)
        lw = None if self.label_weights is None else tuple(float(x) for x in self.label_weights)
        return _auc_result(self.true_positives.value, self.false_positives.value,
                           self.true_negatives.value, self.false_negatives.value,
                           curve=self.curve, summation_method=self.summation_method,
                           multi_label=self.multi_label, label_weights=lw)

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict:
        return {
            "name": self.name, "dtype": self._dtype, "num_thresholds": self.num_thresholds,
            "curve": self.curve, "summation_method": self.summation_method,
            "thresholds": self._init_thresholds, "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }


def _average(by_label, multi_label, label_weights):
    if not multi_label:
        return jnp.sum(by_label)
    by_label = jnp.sum(by_label, axis=0)
    if label_weights is None:
        return jnp.mean(by_label)
    lw = jnp.asarray(label_weights, by_label.dtype)
    return divide_no_nan(jnp.sum(by_label * lw), jnp.sum(lw))


@functools.partial(jax.jit, static_argnames=("curve", "summation_method", "multi_label",
                                             "label_weights"))
def _auc_result(tp, fp, tn, fn, *, curve, summation_method, multi_label, label_weights):
    if curve == "PR" and summation_method == "interpolation":
        # Davis & Goadrich: interpolate precision linearly in true positives.
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = jnp.where((p[:-1] > 0) & (p[1:] > 0),
                          divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)), jnp.ones_like(p[1:]))
        inc = divide_no_nan(slope * (dtp + intercept * jnp.log(ratio)),
                            jnp.maximum(tp[1:] + fn[1:], 0))
        return _average(inc, multi_label, label_weights)
    recall = divide_no_nan(tp, tp + fn)
    if curve == "ROC":
        x, y = divide_no_nan(fp, fp + tn), recall
    else:
        x, y = recall, divide_no_nan(tp, tp + fp)
    if summation_method == "interpolation":
        heights = (y[:-1] + y[1:]) / 2.0
    elif summation_method == "minoring":
        heights = jnp.minimum(y[:-1], y[1:])
    else:
        heights = jnp.maximum(y[:-1], y[1:])
    return _average((x[:-1] - x[1:]) * heights, multi_label, label_weights)
