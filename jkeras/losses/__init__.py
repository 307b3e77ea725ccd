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

Modules: `loss` (the base classes and shared helpers), `losses` (the
standard losses), `focal` (focal and generalized crossentropies), `overlap`
(Dice, Tversky), `ctc`, `circle`.
"""

from __future__ import annotations

import inspect

from jkeras.losses.circle import Circle, circle
from jkeras.losses.ctc import CTC, ctc
from jkeras.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
)
from jkeras.losses.loss import (  # noqa: F401 - helpers other packages import from here
    Loss,
    LossFunctionWrapper,
    apply_mask,
    jit_function,
    reduce_values,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)
from jkeras.losses.losses import (
    KLD,
    MAE,
    MAPE,
    MSE,
    MSLE,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    huber_loss,
    kl_divergence,
    kld,
    kullback_leibler_divergence,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from jkeras.losses.overlap import Dice, Tversky, dice, tversky

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
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "categorical_generalized_cross_entropy": categorical_generalized_cross_entropy,
    "ctc": ctc, "circle": circle, "dice": dice, "tversky": tversky,
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
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    categorical_generalized_cross_entropy: CategoricalGeneralizedCrossEntropy,
    ctc: CTC, circle: Circle, dice: Dice, tversky: Tversky,
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
    "CTC", "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy", "Circle", "Dice", "Tversky",
    "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy", "circle", "ctc", "dice", "tversky",
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

