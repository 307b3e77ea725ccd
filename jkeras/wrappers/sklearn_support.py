"""Helpers of the scikit-learn wrappers that do not need scikit-learn: target
encoders, model checks, and copies of models (fresh, exact, or as bytes for
pickling)."""

from __future__ import annotations

import io

import numpy as np


def import_sklearn(owner: str):
    """scikit-learn, or ImportError telling the user how to install it."""
    try:
        import sklearn
    except ImportError as e:
        raise ImportError(
            f"{owner} requires scikit-learn, which is not installed. Install it with "
            f"`pip install scikit-learn`."
        ) from e
    return sklearn


def check_compiled_model(model, owner: str) -> None:
    """Raises unless `model` is a jkeras Model compiled with a loss and an optimizer."""
    from jkeras.engine.model import Model

    if not isinstance(model, Model):
        raise TypeError(
            f"{owner}: `model` must be a jkeras Model or a callable returning one, but it "
            f"gave {type(model).__name__}: {model!r:.80}."
        )
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None \
            or getattr(model, "optimizer", None) is None:
        raise RuntimeError(
            f"{owner}: the model '{model.name}' must be compiled with a loss and an "
            f"optimizer before fitting: call model.compile(optimizer=..., loss=...) (in "
            f"the function that builds it)."
        )


def fresh_model_like(model):
    """A model with `model`'s architecture and compile arguments but new weights
    and a new optimizer state (what Keras's `clone_model` gives a compiled model)."""
    from jkeras import saving

    clone = saving.clone_model(model)
    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if config:
        # a round trip through the config gives new optimizer/metric objects, so the
        # two models never share state
        args = saving.deserialize_keras_object(saving.serialize_keras_object(config))
        clone.compile_from_config(args)
    return clone


def model_to_bytes(model) -> bytes:
    """The model as the bytes of a `.keras` archive (weights and optimizer state)."""
    from jkeras import saving

    buffer = io.BytesIO()
    saving.save_model(model, buffer)
    return buffer.getvalue()


def model_from_bytes(data: bytes):
    """The model saved by `model_to_bytes`. Used when unpickling: the pickle is
    already trusted code, so the archive is read with `safe_mode=False` (Lambda
    layers load too)."""
    from jkeras import saving

    return saving.load_model(io.BytesIO(data), safe_mode=False)


def copy_model(model):
    """An exact, independent copy of `model` (weights, compile state)."""
    return model_from_bytes(model_to_bytes(model))


class PickledModel:
    """Stands for a model inside a pickled estimator (see `model_to_bytes`)."""

    def __init__(self, model):
        self.data = model_to_bytes(model)

    def restore(self):
        return model_from_bytes(self.data)


class TargetReshaper:
    """Gives 1-D targets a trailing axis of 1 for the model and removes it again
    from the model's outputs, so predictions have the shape of the targets."""

    def fit(self, y: np.ndarray) -> TargetReshaper:
        self.ndim_ = y.ndim
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if self.ndim_ == 1 and y.ndim == 2 and y.shape[1] == 1:
            return y[:, 0]
        return y


class OneHotLabels:
    """Class labels (a 1-D array or a column) to one-hot rows over `classes_` (the
    sorted unique labels), and model outputs back to labels by argmax."""

    def fit(self, y: np.ndarray) -> OneHotLabels:
        self.ndim_ = y.ndim
        self.classes_ = np.unique(np.ravel(y))
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        labels = np.ravel(y)
        index = np.searchsorted(self.classes_, labels)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != labels
        if np.any(unknown):
            raise ValueError(
                f"Found labels {np.unique(labels[unknown])[:10].tolist()} that were not "
                f"seen in fit; known classes: {self.classes_.tolist()[:20]}."
            )
        return np.eye(len(self.classes_), dtype="float32")[index]

    def inverse_transform(self, outputs, owner: str = "SKLearnClassifier") -> np.ndarray:
        outputs = np.asarray(outputs)
        n = len(self.classes_)
        if outputs.ndim != 2 or outputs.shape[1] != n:
            raise ValueError(
                f"{owner}: the model's output has shape {outputs.shape}, but the targets "
                f"have {n} classes: the model must output (samples, {n}) scores, one per "
                f"class in `classes_` order (e.g. Dense({n}, activation='softmax'))."
            )
        labels = self.classes_[np.argmax(outputs, axis=1)]
        return labels.reshape(-1, 1) if self.ndim_ == 2 else labels
