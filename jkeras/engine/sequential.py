"""Sequential: a linear stack of layers, a Functional graph built as soon as
its input shape is known (from an Input, an `input_shape=` on the first
layer, or the first data it is called on)."""

from __future__ import annotations

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine import services
from jkeras.engine.functional import Functional
from jkeras.engine.input_layer import Input, InputLayer
from jkeras.engine.layer import Layer
from jkeras.engine.model import Model


class Sequential(Functional):
    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        self._stack: list[Layer] = []
        self._input_tensor: KerasTensor | None = None
        self._layer_outputs: list[KerasTensor] = []
        self.built = False
        self._layers = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Appends a layer (or an Input tensor to fix the input shape)."""
        if isinstance(layer, KerasTensor):
            history = layer._keras_history
            if history is None or not isinstance(history[0], InputLayer):
                raise ValueError("Sequential.add: only an Input(...) tensor may be added.")
            layer = history[0]
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential '{self.name}'.add expects a Layer instance, got "
                f"{type(layer).__name__}: {layer!r}."
            )
        if isinstance(layer, InputLayer):
            if self._stack or self._input_tensor is not None:
                raise ValueError(
                    f"Sequential '{self.name}': an InputLayer can only be the first layer."
                )
            self._input_tensor = layer._input_tensor
            self._rebuild()
            return
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(
                f"Sequential '{self.name}': all layers must have unique names; "
                f"'{layer.name}' is already in the model."
            )
        self._stack.append(layer)
        if self._input_tensor is None and len(self._stack) == 1:
            shape = getattr(layer, "_batch_input_shape", None)
            if shape is None and isinstance(layer, Functional) and not isinstance(
                layer, Sequential
            ):
                shape = layer.inputs[0].shape if len(layer.inputs) == 1 else None
            if shape is None and isinstance(layer, Sequential) and layer._input_tensor is not None:
                shape = layer._input_tensor.shape
            if shape is not None:
                self._input_tensor = Input(batch_shape=shape)
        if self._input_tensor is not None:
            if self.built and len(self._layer_outputs) == len(self._stack) - 1:
                x = self._layer_outputs[-1] if self._layer_outputs else self._input_tensor
                self._layer_outputs.append(layer(x))
                self._init_graph(self._input_tensor, self._layer_outputs[-1])
            else:
                self._rebuild()
        else:
            self._sublayers = list(self._stack)

    def pop(self) -> Layer:
        """Removes and returns the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        if self._layer_outputs:
            self._layer_outputs.pop()
        if self._stack and self._input_tensor is not None and self._layer_outputs:
            self._init_graph(self._input_tensor, self._layer_outputs[-1])
        else:
            self.built = False
            self._sublayers = list(self._stack)
            self._layers = list(self._stack)
        return layer

    def _rebuild(self) -> None:
        self._layer_outputs = []
        if not self._stack:
            self.built = False
            return
        x = self._input_tensor
        for layer in self._stack:
            x = layer(x)
            self._layer_outputs.append(x)
        self._init_graph(self._input_tensor, x)

    def build(self, input_shape=None) -> None:
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}': build needs an input shape.")
        if self._input_tensor is None:
            self._input_tensor = Input(batch_shape=(None, *tuple(input_shape)[1:]))
        self._rebuild()

    def _maybe_build(self, inputs) -> None:
        if not self.built:
            shape = tuple(inputs.shape)
            dtype = getattr(inputs, "dtype", "float32")
            self._input_tensor = Input(batch_shape=(None, *shape[1:]), dtype=str(dtype))
            self._rebuild()

    @property
    def layers(self) -> list:
        return list(self._stack)

    def get_config(self) -> dict:
        """Keras 3 Sequential config: the InputLayer (when known), then each layer."""
        return services.saving().sequential_get_config(self)

    @classmethod
    def from_config(cls, config, custom_objects: dict | None = None):
        """A new Sequential (fresh weights) from `get_config()` (Keras 1/2/3)."""
        return services.saving().sequential_from_config_with(cls, config, custom_objects)

    # Keras 1/2 inference helpers ---------------------------------------------------------
    def predict_classes(self, x, batch_size: int = 32, verbose=0):
        """Class indices for `x` (Keras 1/2; removed in Keras 2.6): the argmax over the
        last axis when the model has more than one output unit, else
        `(prediction > 0.5)` as int32."""
        from jkeras.engine.legacy import warn_keras1

        warn_keras1(
            "Sequential.predict_classes is the Keras 1/2 API (removed in Keras 2.6+); use "
            "np.argmax(model.predict(x), axis=-1) for several classes, or "
            "(model.predict(x) > 0.5).astype('int32') for a single sigmoid unit."
        )
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if isinstance(proba, (list, dict)):
            raise ValueError(
                f"Sequential '{self.name}'.predict_classes needs a model with a single output, "
                f"but predict returned {type(proba).__name__}."
            )
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size: int = 32, verbose=0):
        """The model's predictions for `x` (Keras 1/2; removed in Keras 2.6): the same
        as `predict`, with a warning if they are not probabilities (outside [0, 1])."""
        import warnings

        import numpy as np

        from jkeras.engine.legacy import user_stacklevel, warn_keras1

        warn_keras1(
            "Sequential.predict_proba is the Keras 1/2 API (removed in Keras 2.6+); use "
            "model.predict(x)."
        )
        preds = self.predict(x, batch_size=batch_size, verbose=verbose)
        if isinstance(preds, np.ndarray) and preds.size and (preds.min() < 0 or preds.max() > 1):
            warnings.warn(
                f"Sequential '{self.name}'.predict_proba: the model returns values outside "
                f"[0, 1], so they are not probabilities (does the last layer end with a "
                f"softmax or sigmoid activation?).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return preds

    def call(self, inputs, training=None, mask=None):
        if not self.built:
            self._maybe_build(inputs)
        return super().call(inputs, training=training, mask=mask)
