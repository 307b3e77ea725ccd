"""Metrics: stateful `Metric` objects (state in jkeras Variables, jit-friendly
through the stateless scope) and standalone metric functions.

`get(identifier)` returns a `Metric` for a name, function, class, instance
or config dict. 'accuracy'/'acc' and 'crossentropy'/'ce' depend on the loss
and output shapes in `compile`; `resolve(identifier, loss, y_true_shape,
y_pred_shape)` (or `resolve_accuracy`) applies Keras's rule.
"""

from __future__ import annotations

from collections.abc import Callable

from jkeras import losses as _losses
from jkeras.backend import naming as _naming
from jkeras.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from jkeras.metrics.base import (
    JIT_SAFE_FUNCTIONS,
    Mean,
    MeanMetricWrapper,
    Metric,
    Sum,
    reduce_to_samplewise_values,
)
from jkeras.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from jkeras.metrics.correlation import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from jkeras.metrics.f_score import F1Score, FBetaScore
from jkeras.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from jkeras.metrics.operating_point import (
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
)
from jkeras.metrics.r2 import R2Score
from jkeras.metrics.regression import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    cosine_similarity,
)

# Loss functions usable as metric functions (Keras 1/2 names).
binary_crossentropy = _losses.binary_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
mean_squared_error = mse = MSE = _losses.mean_squared_error
mean_absolute_error = mae = MAE = _losses.mean_absolute_error
mean_absolute_percentage_error = mape = MAPE = _losses.mean_absolute_percentage_error
mean_squared_logarithmic_error = msle = MSLE = _losses.mean_squared_logarithmic_error
hinge = _losses.hinge
squared_hinge = _losses.squared_hinge
categorical_hinge = _losses.categorical_hinge
kl_divergence = kld = KLD = kullback_leibler_divergence = _losses.kl_divergence
poisson = _losses.poisson
log_cosh = logcosh = _losses.log_cosh
binary_focal_crossentropy = _losses.binary_focal_crossentropy
categorical_focal_crossentropy = _losses.categorical_focal_crossentropy
huber = _losses.huber

_CLASS_LIST = [
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError, CosineSimilarity, Hinge,
    SquaredHinge, CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, AUC, Precision, Recall,
    TruePositives, FalsePositives, TrueNegatives, FalseNegatives, IoU, MeanIoU, BinaryIoU,
    OneHotIoU, OneHotMeanIoU,
    ConcordanceCorrelation, PearsonCorrelation, F1Score, FBetaScore, R2Score,
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
]
_CLASSES = {c.__name__: c for c in _CLASS_LIST}
_NEEDS_ARGS = {Metric, MeanMetricWrapper, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
               PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
               SpecificityAtSensitivity}

# name -> class (instantiated with name=<the string>)
_NAMES: dict[str, type] = {
    _naming.to_snake_case(c.__name__): c for c in _CLASS_LIST if c not in _NEEDS_ARGS
}
_NAMES.update({
    "accuracy": Accuracy, "acc": Accuracy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "rmse": RootMeanSquaredError,
    "logcosh": LogCoshError, "log_cosh": LogCoshError,
    "cosine_proximity": CosineSimilarity,
    "kld": KLDivergence, "KLD": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "bce": BinaryCrossentropy, "cce": CategoricalCrossentropy,
    "crossentropy": CategoricalCrossentropy, "ce": CategoricalCrossentropy,
    "auc": AUC, "binary_iou": BinaryIoU, "fbeta_score": FBetaScore,
})

_FUNCTION_CLASS: dict[Callable, type] = {
    accuracy: Accuracy, binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    _losses.mean_squared_error: MeanSquaredError, _losses.mean_absolute_error: MeanAbsoluteError,
    _losses.mean_absolute_percentage_error: MeanAbsolutePercentageError,
    _losses.mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    _losses.log_cosh: LogCoshError, cosine_similarity: CosineSimilarity,
    _losses.hinge: Hinge, _losses.squared_hinge: SquaredHinge,
    _losses.categorical_hinge: CategoricalHinge, _losses.kl_divergence: KLDivergence,
    _losses.poisson: Poisson, _losses.binary_crossentropy: BinaryCrossentropy,
    _losses.categorical_crossentropy: CategoricalCrossentropy,
    _losses.sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    pearson_correlation: PearsonCorrelation, concordance_correlation: ConcordanceCorrelation,
}

JIT_SAFE_FUNCTIONS.update(_FUNCTION_CLASS)
JIT_SAFE_FUNCTIONS.update(_losses._FUNCTIONS.values())

_FUNCTIONS: dict[str, Callable] = {
    "accuracy": accuracy, "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "cosine_similarity": cosine_similarity,
    "pearson_correlation": pearson_correlation,
    "concordance_correlation": concordance_correlation,
}


def get_function(name: str) -> Callable:
    """The metric function called `name` (accuracy functions, or any loss function name)."""
    fn = _FUNCTIONS.get(name)
    if fn is not None:
        return fn
    return _losses._function_by_name(name)


def _valid_names() -> list[str]:
    return sorted(set(_NAMES) | {k for k, c in _CLASSES.items() if c not in _NEEDS_ARGS})


def get(identifier) -> Metric | None:
    """A `Metric` from a name ('mse', 'mae', 'binary_accuracy', 'auc',
    'precision', ..., or a class name such as 'AUC'), a metric or loss
    function (wrapped in its class or a `MeanMetricWrapper`), a `Loss`
    object (mean of its per-sample values), a `Metric` instance (returned
    as is) or class, or a config dict. String names become the metric's
    name, as in Keras logs. None gives None.

    'accuracy'/'acc' give exact-match `Accuracy` here; use `resolve` to get
    Keras's loss- and shape-dependent choice."""
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier)
        if cls is not None:
            return cls(name=identifier)
        cls = _CLASSES.get(identifier)
        if cls is not None and cls not in _NEEDS_ARGS:
            return cls()
        raise ValueError(
            f"Unknown metric {identifier!r}. Valid names: {_valid_names()}; or pass a "
            f"function fn(y_true, y_pred) or a jkeras.metrics.Metric instance."
        )
    if isinstance(identifier, _losses.Loss):
        return MeanMetricWrapper(identifier.call, name=identifier.name)
    if callable(identifier):
        cls = _FUNCTION_CLASS.get(identifier)
        if cls is not None:
            return cls(name=identifier.__name__)
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(
        f"Could not interpret metric identifier {identifier!r}: expected a name, a function, "
        f"a Metric instance or a config dict."
    )


_BINARY_LOSS_NAMES = {"binary_crossentropy", "bce", "BinaryCrossentropy",
                      "binary_focal_crossentropy", "BinaryFocalCrossentropy"}
_SPARSE_LOSS_NAMES = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
                      "sparse_categorical_focal_crossentropy"}


def _loss_kind(loss) -> str | None:
    """'binary', 'sparse' or None, from a loss name, function or object."""
    if loss is None:
        return None
    if isinstance(loss, str):
        name = loss
    elif isinstance(loss, _losses.LossFunctionWrapper):
        fn = loss.fn
        if fn is _losses.binary_crossentropy:
            return "binary"
        if fn is _losses.sparse_categorical_crossentropy:
            return "sparse"
        name = type(loss).__name__
    elif isinstance(loss, _losses.Loss):
        name = type(loss).__name__
    else:
        name = getattr(loss, "__name__", type(loss).__name__)
    if name in _BINARY_LOSS_NAMES:
        return "binary"
    if name in _SPARSE_LOSS_NAMES:
        return "sparse"
    return None


def _output_kind(loss, y_true_shape, y_pred_shape) -> str:
    kind = _loss_kind(loss)
    p_last = None
    if y_pred_shape is not None and len(tuple(y_pred_shape)) > 0:
        p_last = tuple(y_pred_shape)[-1]
    if kind == "binary" or p_last == 1:
        return "binary"
    if kind == "sparse":
        return "sparse"
    if y_true_shape is not None and y_pred_shape is not None:
        t_shape, p_shape = tuple(y_true_shape), tuple(y_pred_shape)
        t_last = t_shape[-1] if t_shape else None
        p_big = p_last is None or p_last > 1
        if len(t_shape) == len(p_shape) - 1 or (t_last == 1 and p_big):
            return "sparse"
    return "categorical"


def resolve_accuracy(loss, y_true_shape, y_pred_shape, name: str = "accuracy") -> Metric:
    """Keras's meaning of metrics=['accuracy'] for one output: binary
    accuracy if the loss is binary crossentropy or y_pred's last dimension
    is 1; sparse categorical accuracy if the loss is sparse categorical
    crossentropy, or y_true has one dimension less than y_pred, or y_true's
    last dimension is 1 while y_pred's is > 1; categorical accuracy
    otherwise. Shapes may contain None (unknown batch) or be None."""
    kind = _output_kind(loss, y_true_shape, y_pred_shape)
    cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
           "categorical": CategoricalAccuracy}[kind]
    return cls(name=name)


def resolve_crossentropy(loss, y_true_shape, y_pred_shape,
                         name: str = "crossentropy") -> Metric:
    """Keras 2's metrics=['crossentropy'/'ce']: the binary, sparse or
    categorical crossentropy chosen by the same rule as `resolve_accuracy`."""
    kind = _output_kind(loss, y_true_shape, y_pred_shape)
    cls = {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy,
           "categorical": CategoricalCrossentropy}[kind]
    return cls(name=name)


def resolve(identifier, loss=None, y_true_shape=None, y_pred_shape=None) -> Metric | None:
    """`get(identifier)`, except 'accuracy'/'acc' and 'crossentropy'/'ce',
    which depend on the loss and shapes of the output (`resolve_accuracy`)."""
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return resolve_accuracy(loss, y_true_shape, y_pred_shape, name=identifier)
        if identifier in ("crossentropy", "ce"):
            return resolve_crossentropy(loss, y_true_shape, y_pred_shape, name=identifier)
    return get(identifier)


def serialize(metric: Metric) -> dict:
    """{'module', 'class_name', 'config', 'registered_name'} for a metric."""
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects: dict | None = None) -> Metric:
    """A metric from `serialize`'s output (or a name)."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return get(custom_objects.get(config, config))
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Invalid metric config {config!r}: expected a dict with 'class_name'.")
    name = config["class_name"]
    inner = config.get("config") or {}
    if name == "function":
        return get(inner if isinstance(inner, str) else config.get("registered_name"))
    cls = custom_objects.get(name) or _CLASSES.get(name)
    if cls is None:
        if name in _NAMES:
            return get(name)
        raise ValueError(f"Unknown metric class {name!r}. Valid names: {_valid_names()}.")
    return cls.from_config(inner)


__all__ = [
    "ConcordanceCorrelation", "F1Score", "FBetaScore", "PearsonCorrelation", "PrecisionAtRecall",
    "R2Score", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "binary_focal_crossentropy", "categorical_focal_crossentropy", "concordance_correlation",
    "huber", "pearson_correlation",
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU",
    "CategoricalAccuracy", "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity",
    "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLD", "KLDivergence", "LogCoshError",
    "MAE", "MAPE", "MSE", "MSLE", "Mean", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanIoU", "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredLogarithmicError", "Metric",
    "OneHotIoU", "OneHotMeanIoU", "Poisson", "Precision", "Recall", "RootMeanSquaredError",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
    "TrueNegatives", "TruePositives", "accuracy", "binary_accuracy", "binary_crossentropy",
    "categorical_accuracy", "categorical_crossentropy", "categorical_hinge",
    "cosine_similarity", "deserialize", "get", "get_function", "hinge", "kl_divergence", "kld",
    "kullback_leibler_divergence", "log_cosh", "logcosh", "mae", "mape", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "mse", "msle", "poisson", "reduce_to_samplewise_values", "resolve", "resolve_accuracy",
    "resolve_crossentropy", "serialize", "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy", "sparse_top_k_categorical_accuracy", "squared_hinge",
    "top_k_categorical_accuracy",
]
