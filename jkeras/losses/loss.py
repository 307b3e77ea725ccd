"""The loss machinery: the `Loss` base class, `LossFunctionWrapper`, and the
helpers every loss shares (rank alignment, sample weights and masks,
reductions, `jit_function`).

A loss function returns the per-sample loss, reduced over the last axis
only; `Loss.__call__(y_true, y_pred, sample_weight=None)` weights it and
applies the `reduction` ('sum_over_batch_size' by default) like Keras 3.
"""

from __future__ import annotations

import functools
import inspect
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
                from jkeras.losses import _function_by_name

                fn = _function_by_name(fn)
            return cls(fn, **config)
        return cls(**config)

    def __repr__(self):
        return (f"<{type(self).__name__} fn={getattr(self.fn, '__name__', self.fn)} "
                f"name={self.name!r} reduction={self.reduction!r}>")


