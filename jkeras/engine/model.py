"""Model: a layer with training and inference methods.

`Model(inputs, outputs)` (or the Keras 1 `Model(input=, output=)`) returns a
`Functional` model; subclassing `Model` and defining `call` gives a
subclassed model. Training and inference live in `jkeras.training` and are
reached through the methods here.
"""

from __future__ import annotations

from jkeras.engine.layer import Layer

_FUNCTIONAL_KEYS = ("inputs", "outputs", "input", "output")


class Model(Layer):
    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or any(k in kwargs for k in _FUNCTIONAL_KEYS)):
            from jkeras.engine.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if args:
            raise TypeError(
                "Model(...) takes inputs and outputs together: Model(inputs, outputs). "
                "To subclass Model, call super().__init__() with keyword arguments only."
            )
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.compiled = False

    # structure -------------------------------------------------------------------
    @property
    def layers(self) -> list:
        return [la for la in self._sublayers]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer with this name, or at this index of `layers`."""
        if index is not None and name is not None:
            raise ValueError("get_layer: give either name or index, not both.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"get_layer: index {index} is out of range; model '{self.name}' has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        if name is None:
            raise ValueError("get_layer: give a layer name or index.")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No layer named '{name}' in model '{self.name}'. Layers: "
            f"{[la.name for la in layers]}."
        )

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Prints a table of layers, output shapes and parameter counts."""
        from jkeras.engine.summary import print_summary

        print_summary(self, line_length=line_length, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    # inference -------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Runs the model on `x` in batches and returns numpy outputs shaped like
        the model's outputs (array, list or dict)."""
        from jkeras.training.inference import predict

        return predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps,
                       callbacks=callbacks)

    def predict_on_batch(self, x):
        """Outputs for a single batch, as numpy arrays."""
        from jkeras.training.inference import predict_on_batch

        return predict_on_batch(self, x)

    # flattened view used by the compiled functions ------------------------------
    def flatten_inputs(self, inputs) -> list:
        return [inputs] if not isinstance(inputs, (list, tuple)) else list(inputs)

    def pack_outputs(self, flat: list):
        return flat[0] if len(flat) == 1 else list(flat)
