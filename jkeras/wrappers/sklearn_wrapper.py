"""SKLearnClassifier, SKLearnRegressor, SKLearnTransformer: scikit-learn
estimators that build, fit and run a compiled jkeras model (Keras 3's
`keras.wrappers`, same arguments and attributes).

This module imports scikit-learn; `jkeras.wrappers` imports it on first use.

Where Keras 3.15 does not do what it documents, these do:
- `warm_start=True` reuses the weights of the previous fit (Keras ignores it).
- `clone` keeps `fit_kwargs` (Keras's `__sklearn_clone__` drops them), and
  `fit(**kwargs)` does not write into the `fit_kwargs` dict.
- `history_` is the dict of per-epoch logs, as documented (Keras stores the
  History object) and `epoch_` counts the epochs the model was trained for.
- `set_fit_request` registers fit metadata (Keras's registers it for `score`).
- A classifier given continuous targets raises scikit-learn's "Unknown label
  type" error; regressors accept several target columns (multi-output).
- Fitted estimators pickle (the model travels as a `.keras` archive).
- `predict`/`transform` print no progress bar (Keras prints one per call);
  `fit` follows `fit_kwargs["verbose"]` as in Keras.
"""

# ruff: noqa: N803, N806  (X is scikit-learn's name for the inputs)
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from jkeras.wrappers.sklearn_support import (
    OneHotLabels,
    PickledModel,
    TargetReshaper,
    check_compiled_model,
    copy_model,
    fresh_model_like,
    import_sklearn,
)

sklearn = import_sklearn("jkeras.wrappers (SKLearnClassifier, SKLearnRegressor, "
                         "SKLearnTransformer)")

from sklearn.base import (  # noqa: E402
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils.multiclass import check_classification_targets, type_of_target  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402


def _validate_data(estimator, *args, **kwargs):
    """scikit-learn's input validation (sets `n_features_in_` on reset)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return estimator._validate_data(*args, **kwargs)
    return validate_data(estimator, *args, **kwargs)


class SKLBase(BaseEstimator):
    """The shared part of the wrappers.

    Args:
        model: a compiled jkeras `Model`, or a callable `model(X=X, y=y,
            **model_kwargs)` that returns one (`y` as the model will see it: one-hot
            rows for the classifier, 2-D for the others). A Model instance is cloned
            (new weights) before fitting unless `warm_start=True`, when it is trained
            as given.
        warm_start: when True, `fit` continues from the weights of the previous fit
            (or of the given Model instance) instead of starting afresh.
        model_kwargs: keyword arguments for `model` when it is a callable.
        fit_kwargs: keyword arguments for `Model.fit` (`epochs`, `batch_size`, ...);
            those given to `fit` itself take precedence.

    Attributes (after `fit`): `model_` (the fitted Model), `history_` (dict of
    per-epoch logs of the last fit), `epoch_` (epochs trained), `n_features_in_`.
    """

    def __init__(self, model, warm_start: bool = False, model_kwargs: dict | None = None,
                 fit_kwargs: dict | None = None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    # scikit-learn protocol -------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        tags.target_tags.required = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"non_deterministic": True, "requires_y": True}

    def __sklearn_clone__(self):
        """An unfitted estimator with the same parameters. A Model given as `model`
        is shared (fit clones it) unless `warm_start` trains it in place, when the
        clone gets its own exact copy."""
        params = self.get_params(deep=False)
        model = params.pop("model")
        if self.warm_start and _is_model(model):
            model = copy_model(model)
        clone = type(self)(model=model, **copy.deepcopy(params))
        if hasattr(self, "_metadata_request"):
            clone._metadata_request = copy.deepcopy(self._metadata_request)
        return clone

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        for key in ("model", "model_"):
            if _is_model(state.get(key)):
                state[key] = PickledModel(state[key])
        return state

    def __setstate__(self, state):
        state = dict(state)
        for key in ("model", "model_"):
            if isinstance(state.get(key), PickledModel):
                state[key] = state[key].restore()
        super().__setstate__(state)

    def set_fit_request(self, **kwargs) -> SKLBase:
        """Which metadata `fit` asks for when scikit-learn routes metadata
        (`sample_weight=True`, ...); needs
        `sklearn.set_config(enable_metadata_routing=True)`."""
        if not sklearn.get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                f"{type(self).__name__}.set_fit_request is only available when metadata "
                f"routing is enabled: call "
                f"sklearn.set_config(enable_metadata_routing=True) first."
            )
        if not hasattr(self, "_metadata_request"):
            # the class's default requests (score's sample_weight, ...) plus fit's
            self._metadata_request = self.get_metadata_routing()
        for param, alias in kwargs.items():
            self._metadata_request.fit.add_request(param=param, alias=alias)
        return self

    # fitting and inference -------------------------------------------------------------
    @property
    def epoch_(self) -> int:
        """The number of epochs the fitted model has been trained for."""
        return getattr(self, "_epochs_trained", 0)

    def _build_model(self, X, y):
        owner = type(self).__name__
        if self.warm_start and hasattr(self, "model_"):
            return self.model_, True
        if _is_model(self.model):
            if self.warm_start:
                return self.model, False
            return fresh_model_like(self.model), False
        if not callable(self.model):
            raise TypeError(
                f"{owner}: `model` must be a compiled jkeras Model or a callable "
                f"model(X=..., y=..., **model_kwargs) returning one, got "
                f"{type(self.model).__name__}."
            )
        return self.model(X=X, y=y, **(self.model_kwargs or {})), False

    def fit(self, X, y, **kwargs) -> SKLBase:
        """Builds (or, with `warm_start`, reuses) the model and fits it on `X`, `y`.
        `kwargs` go to `Model.fit` over `fit_kwargs`. Returns self."""
        X, y = _validate_data(self, X, y, multi_output=self._multi_output)
        y = self._encode_target(y)
        model, continued = self._build_model(X, y)
        check_compiled_model(model, type(self).__name__)
        history = model.fit(X, y, **{**(self.fit_kwargs or {}), **kwargs})
        self.history_ = dict(history.history) if history is not None else {}
        epochs = len(getattr(history, "epoch", ()))
        self._epochs_trained = (self.epoch_ if continued else 0) + epochs
        self.model_ = model
        return self

    def _raw_outputs(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def predict(self, X) -> np.ndarray:
        """The model's predictions for `X`, shaped (and for the classifier,
        labelled) like the targets given to `fit`."""
        return self._decode_outputs(self._raw_outputs(X))

    # targets ---------------------------------------------------------------------------
    _multi_output = True  # y may have several columns

    def _encode_target(self, y):
        owner = type(self).__name__
        if type_of_target(y) == "unknown":
            raise ValueError(
                f"{owner}: Unknown label type for y: {y!r:.100}. Give numeric targets (an "
                f"array of numbers of shape (samples,) or (samples, outputs))."
            )
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype("float64")
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"{owner}: the targets y must be numbers, but {e}. Class labels are "
                    f"for SKLearnClassifier."
                ) from None
        self._target_encoder = TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _decode_outputs(self, outputs):
        return self._target_encoder.inverse_transform(outputs)


def _is_model(obj: Any) -> bool:
    from jkeras.engine.model import Model

    return isinstance(obj, Model)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around a compiled jkeras model (see `SKLBase` for
    the arguments).

    The targets (binary or multiclass labels of any type) are one-hot encoded over
    `classes_` (their sorted unique values) before they reach the model, which
    must therefore output one score per class; `predict` returns the label of the
    highest score, `decision_function` the model's raw outputs.

    Example:
        def build(X, y, hidden=16):
            inputs = jkeras.Input((X.shape[1],))
            h = jkeras.layers.Dense(hidden, activation="relu")(inputs)
            outputs = jkeras.layers.Dense(y.shape[1], activation="softmax")(h)
            model = jkeras.Model(inputs, outputs)
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            return model

        clf = SKLearnClassifier(build, model_kwargs={"hidden": 32},
                                fit_kwargs={"epochs": 10, "verbose": 0})
        clf.fit(X, y).score(X_test, y_test)
    """

    _multi_output = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _more_tags(self) -> dict:
        return {**super()._more_tags(), "poor_score": True}

    def _encode_target(self, y):
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"SKLearnClassifier supports binary and multiclass targets only, got a "
                f"'{kind}' target."
            )
        encoder = OneHotLabels().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"SKLearnClassifier can't train with only one class present in y "
                f"(class {encoder.classes_[0]!r}); give samples of at least 2 classes."
            )
        self._target_encoder = encoder
        self.classes_ = encoder.classes_
        return encoder.transform(y)

    def decision_function(self, X) -> np.ndarray:
        """The model's raw outputs for `X`: one score per class in `classes_`."""
        return self._raw_outputs(X)


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a compiled jkeras model (see `SKLBase` for
    the arguments). Targets are 1-D (the model gets them as one column and
    `predict` returns 1-D again) or 2-D (several outputs).

    Example:
        def build(X, y):
            inputs = jkeras.Input((X.shape[1],))
            outputs = jkeras.layers.Dense(y.shape[1])(inputs)
            model = jkeras.Model(inputs, outputs)
            model.compile(loss="mse", optimizer="adam")
            return model

        SKLearnRegressor(build, fit_kwargs={"epochs": 20}).fit(X, y).predict(X)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _more_tags(self) -> dict:
        return {**super()._more_tags(), "poor_score": True, "multioutput": True}


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer (a pipeline step) whose `transform` is a fitted
    jkeras model's output, e.g. an embedding (see `SKLBase` for the arguments).
    `fit` trains the model on `X`, `y`; wrap the estimator in
    `sklearn.frozen.FrozenEstimator` to use an already trained model as is.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    def _more_tags(self) -> dict:
        return {**super()._more_tags(), "preserves_dtype": []}

    def transform(self, X) -> np.ndarray:
        """The model's outputs for `X` (samples, features...)."""
        return self._raw_outputs(X)
