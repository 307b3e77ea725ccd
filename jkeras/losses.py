"""Losses: Keras's loss classes and functions, as pure, jit-friendly jnp code.

Two forms, as in Keras:

- functions (`binary_crossentropy(y_true, y_pred)`, `mse`, ...) return the
  per-sample loss, reduced over the last axis only: shape `(batch,)` for
  `(batch, k)` outputs, `(batch, time)` for `(batch, time, k)` outputs;
- `Loss` objects: `Loss.call(y_true, y_pred)` returns the same per-sample
  array; `Loss.__call__(y_true, y_pred, sample_weight=None)` weights it and
  applies the `reduction` ('sum_over_batch_size' by default) like Keras 3.

Everything is plain `jax.numpy`, so it traces under `jax.jit` and also runs
eagerly on numpy arrays. `get(identifier)` turns a name, function, config
dict or instance into a `Loss`.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jkeras.backend import config as _config
from jkeras.backend import naming as _naming

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# helpers --------------------------------------------------------------------
def standardize_reduction(reduction) -> str | None:
    """Validates a reduction name; Keras 2's 'auto' means 'sum_over_batch_size'."""
    if reduction == "auto":
        return "sum_over_batch_size"
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"Invalid reduction={reduction!r}: expected one of 'sum_over_batch_size' "
            f"(default), 'sum', 'mean', 'mean_with_sample_weight', 'none' or None."
        )
    return reduction


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Makes two arrays the same rank when they differ by one trailing
    dimension of size 1 (Keras's rule): a rank-1 array gains a last axis
    (with `expand_rank_1`), otherwise the size-1 last axis is squeezed."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _broadcast_weights(weights, values):
    """Aligns sample weights with values: Keras's squeeze/expand rule, then
    trailing axes added so a (batch,) weight broadcasts over (batch, time)."""
    values, weights = squeeze_or_expand_to_same_rank(values, weights)
    while weights.ndim < values.ndim:
        weights = jnp.expand_dims(weights, -1)
    return values, weights


def _divide_no_nan(a, b):
    safe = jnp.where(b == 0, jnp.ones_like(b), b)
    return jnp.where(b == 0, jnp.zeros_like(a), a / safe)


def apply_mask(sample_weight, mask, dtype, reduction):
    """Folds a boolean mask into the sample weights (Keras 3): with a mean
    reduction, valid entries get weight total/valid so the mean is over the
    valid entries only."""
    if mask is None:
        return sample_weight
    mask = jnp.asarray(mask).astype(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        total = jnp.asarray(mask.size, dtype)
        mask = mask * _divide_no_nan(total, jnp.sum(mask))
    if sample_weight is None:
        return mask
    sample_weight = jnp.asarray(sample_weight).astype(dtype)
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return sample_weight * mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces (already weighted) losses: sum, or sum divided by the number of
    elements ('sum_over_batch_size'/'mean'), or by the weight sum
    ('mean_with_sample_weight'); 'none'/None returns them unchanged."""
    if reduction in (None, "none") or values.ndim == 0 or values.size == 0:
        return values
    loss = jnp.sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(loss, jnp.sum(sample_weight).astype(loss.dtype))
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        return loss / values.size
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weights per-sample losses by `sample_weight` (and `mask`), then reduces."""
    reduction = standardize_reduction(reduction)
    values = jnp.asarray(values, dtype=dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight).astype(values.dtype)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = _broadcast_weights(sample_weight.astype(values.dtype), values)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


def _prep(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(_config.floatx())
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _eps():
    return _config.epsilon()


def jit_function(fn: Callable) -> Callable:
    """Compiles a pure `fn(y_true, y_pred, *options)` with its options static:
    one compilation per shapes/options instead of one per operation when
    called eagerly (inside a trace it is simply inlined). Unhashable options
    fall back to the plain function."""
    sig = inspect.signature(fn)
    names = tuple(list(sig.parameters)[2:])
    compiled: dict = {}  # one jit per (epsilon, floatx): both are read while tracing

    def make(key):
        def pure(y_true, y_pred, **options):
            return fn(y_true, y_pred, **options)

        return jax.jit(pure, static_argnames=names)

    @functools.wraps(fn)
    def wrapper(y_true, y_pred, *args, **kwargs):
        options = sig.bind(y_true, y_pred, *args, **kwargs).arguments
        options = {k: v for k, v in options.items() if k in names}
        try:
            hash(tuple(options.items()))
        except TypeError:
            return fn(y_true, y_pred, **options)
        key = (_config.epsilon(), _config.floatx())
        jitted = compiled.get(key)
        if jitted is None:
            jitted = compiled[key] = make(key)
        return jitted(jnp.asarray(y_true), jnp.asarray(y_pred), **options)

    wrapper.__wrapped_pure__ = fn
    return wrapper


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


# Loss classes ---------------------------------------------------------------
class Loss:
    """Base loss. Subclasses implement `call(y_true, y_pred)` returning the
    per-sample loss (reduced over the last axis only).

    `__call__(y_true, y_pred, sample_weight=None)` converts inputs to the
    loss dtype, weights the per-sample losses and reduces them according to
    `reduction`: 'sum_over_batch_size' (default; Keras 2's 'auto'), 'mean'
    (the same), 'sum', 'mean_with_sample_weight' or 'none'/None.
    """

    def __init__(self, name: str | None = None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _naming.unique_name(_naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = dtype

    @property
    def dtype(self) -> str:
        return self._dtype or _config.floatx()

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def _output_mask(self, y_true, y_pred):
        return None

    def __call__(self, y_true, y_pred, sample_weight=None, *, mask=None):
        """The weighted, reduced loss (a scalar unless reduction is 'none').

        `mask` (optional, boolean, shaped like the per-sample loss) excludes
        entries the way Keras excludes masked timesteps."""
        dtype = self.dtype
        y_pred = jnp.asarray(y_pred).astype(dtype)
        y_true = jnp.asarray(y_true).astype(dtype)
        losses = self.call(y_true, y_pred)
        out_mask = self._output_mask(y_true, y_pred)
        if out_mask is not None:
            mask = out_mask if mask is None else jnp.logical_and(mask, out_mask)
        return reduce_weighted_values(losses, sample_weight, mask, self.reduction, dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A `Loss` around a function `fn(y_true, y_pred, **kwargs)` returning
    per-sample losses. `y_true`/`y_pred` ranks are aligned first (a (batch,)
    label against a (batch, 1) prediction becomes (batch, 1))."""

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name: str | None = None,
                 dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper needs a callable fn, got {fn!r}.")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self._fn_kwargs)
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", None)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if cls is LossFunctionWrapper:
            fn = config.pop("fn")
            if isinstance(fn, str):
                fn = _function_by_name(fn)
            return cls(fn, **config)
        return cls(**config)

    def __repr__(self):
        return (f"<{type(self).__name__} fn={getattr(self.fn, '__name__', self.fn)} "
                f"name={self.name!r} reduction={self.reduction!r}>")


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


# lookup -----------------------------------------------------------------------
_FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "MAE": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "hinge": hinge, "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
    "kl_divergence": kl_divergence, "kld": kl_divergence, "KLD": kl_divergence,
    "kullback_leibler_divergence": kl_divergence, "poisson": poisson,
    "cosine_similarity": cosine_similarity, "cosine_proximity": cosine_similarity,
    "huber": huber, "huber_loss": huber, "log_cosh": log_cosh, "logcosh": log_cosh,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
_CLASS_FOR_FUNCTION = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, hinge: Hinge,
    squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge,
    kl_divergence: KLDivergence, poisson: Poisson, cosine_similarity: CosineSimilarity,
    huber: Huber, log_cosh: LogCosh, binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}
_CLASSES = {c.__name__: c for c in (
    Loss, LossFunctionWrapper, *set(_CLASS_FOR_FUNCTION.values()))}
ALL_OBJECTS = set(_CLASSES.values()) | set(_FUNCTIONS.values())


def _function_by_name(name: str):
    fn = _FUNCTIONS.get(name)
    if fn is None:
        raise ValueError(f"Unknown loss function {name!r}. Known: {sorted(_FUNCTIONS)}.")
    return fn


def _valid_names() -> list[str]:
    return sorted(set(_FUNCTIONS) | set(_CLASSES) - {"Loss", "LossFunctionWrapper"})


def get(identifier) -> Loss | None:
    """A `Loss` object from a name ('mse', 'binary_crossentropy', 'Huber',
    ...), a function (wrapped in `LossFunctionWrapper`, or the matching
    built-in class for jkeras's own functions), a `Loss` instance or class, or
    a config dict {'class_name': ..., 'config': {...}}. None gives None."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _CLASSES and identifier not in ("Loss", "LossFunctionWrapper"):
            return _CLASSES[identifier]()
        fn = _FUNCTIONS.get(identifier)
        if fn is None:
            raise ValueError(
                f"Unknown loss {identifier!r}. Valid names: {_valid_names()}, or pass a "
                f"function fn(y_true, y_pred) or a jkeras.losses.Loss instance."
            )
        return _CLASS_FOR_FUNCTION[fn]()
    if callable(identifier):
        cls = _CLASS_FOR_FUNCTION.get(identifier)
        if cls is not None:
            return cls()
        _check_loss_signature(identifier)
        return LossFunctionWrapper(identifier)
    raise ValueError(
        f"Could not interpret loss identifier {identifier!r}: expected a name, a function "
        f"fn(y_true, y_pred), a jkeras.losses.Loss instance or a config dict."
    )


def _check_loss_signature(fn):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 and not any(p.kind is p.VAR_POSITIONAL for p in params):
        raise ValueError(
            f"Loss function {getattr(fn, '__name__', fn)!r} must accept (y_true, y_pred); "
            f"its signature is {inspect.signature(fn)}."
        )


def serialize(loss) -> dict | str | None:
    """A config dict for a loss object ({'module', 'class_name', 'config',
    'registered_name'}), or the name of a jkeras loss function."""
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    name = getattr(loss, "__name__", None)
    if name in _FUNCTIONS:
        return name
    raise ValueError(f"Cannot serialize loss {loss!r}.")


def deserialize(config, custom_objects: dict | None = None) -> Loss:
    """A `Loss` from `serialize`'s output (or a name)."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        if config in custom_objects:
            return get(custom_objects[config])
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Invalid loss config {config!r}: expected a dict with 'class_name'.")
    name = config["class_name"]
    inner = config.get("config") or {}
    if name == "function":
        return deserialize(inner if isinstance(inner, str) else config.get("registered_name"),
                           custom_objects)
    cls = custom_objects.get(name) or _CLASSES.get(name)
    if cls is None:
        fn = _FUNCTIONS.get(name)
        if fn is not None:
            return _CLASS_FOR_FUNCTION[fn]()
        raise ValueError(f"Unknown loss class {name!r}. Valid names: {_valid_names()}.")
    if isinstance(cls, type) and issubclass(cls, Loss):
        return cls.from_config(inner)
    return get(cls)


__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity",
    "Hinge", "Huber", "KLD", "KLDivergence", "LogCosh", "Loss", "LossFunctionWrapper", "MAE",
    "MAPE", "MSE", "MSLE", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy",
    "SquaredHinge", "binary_crossentropy", "categorical_crossentropy", "categorical_hinge",
    "cosine_similarity", "deserialize", "get", "hinge", "huber", "huber_loss", "kl_divergence",
    "kld", "kullback_leibler_divergence", "log_cosh", "logcosh", "mae", "mape",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "mse", "msle", "poisson", "serialize",
    "sparse_categorical_crossentropy", "squared_hinge",
]
