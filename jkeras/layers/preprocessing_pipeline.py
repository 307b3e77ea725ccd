"""`Pipeline`: a plain layer that applies a sequence of layers in order (Keras 3's
`keras.layers.Pipeline`, typically a preprocessing or data augmentation chain)."""

from __future__ import annotations

from jkeras.engine.layer import Layer

__all__ = ["Pipeline"]


class Pipeline(Layer):
    """Applies `layers` one after the other, passing `training` to those that take it
    and each layer's output mask to the next. Unlike `Sequential` it is not a model;
    it saves its layers in its config (and their weights under `layers/`, as Keras)."""

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        layers = list(layers)
        bad = [type(la).__name__ for la in layers if not isinstance(la, Layer)]
        if bad:
            raise TypeError(f"Pipeline: every element of `layers` must be a Layer, got {bad}.")
        self.layers = layers  # tracked: weights, trainable, and saved under 'layers/'

    @property
    def _host_only(self) -> bool:
        """A pipeline that starts with a host layer (strings in) runs on the host."""
        return bool(self.layers) and bool(getattr(self.layers[0], "_host_only", False))

    @property
    def _batch_independent(self) -> bool:
        return all(la.batch_independent() for la in self.layers)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, training=None, mask=None):
        outputs = inputs
        for layer in self.layers:
            kwargs = {}
            if layer._call_has_mask and mask is not None:
                kwargs["mask"] = mask
            if layer._call_has_training and training is not None:
                kwargs["training"] = training
            outputs = layer(outputs, **kwargs)
            mask = getattr(outputs, "_keras_mask", None)
        return outputs

    def compute_output_spec(self, inputs, training=None, mask=None):
        outputs = inputs
        for layer in self.layers:
            layer._validate_input(outputs)
            layer._maybe_build(outputs)
            outputs = layer.compute_output_spec(outputs)
        return outputs

    def get_config(self):
        from jkeras.saving import serialize_keras_object

        return {"layers": [serialize_keras_object(la) for la in self.layers],
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        from jkeras.saving import deserialize_keras_object

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"Pipeline: the config must hold a list of serialized layers "
                             f"under 'layers', got {layers!r}.")
        config = dict(config)
        config["layers"] = [la if isinstance(la, Layer) else
                            deserialize_keras_object(la, kind="layer") for la in layers]
        config.pop("trainable", None)
        config.pop("dtype", None)
        return cls(**config)
