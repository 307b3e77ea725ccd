"""The features a Distiller compares: checks of the teacher and student
models, and `FeatureTaps`, which runs a model once and returns its final
outputs together with the outputs of named intermediate layers."""

from __future__ import annotations

FINAL = "final_output"


def shapes_compatible(a: tuple, b: tuple) -> bool:
    """Same rank, and equal sizes wherever both are known (None matches any)."""
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def symbolic_outputs(model):
    """The model's symbolic outputs (structure kept), or None for a model that has
    none (a subclassed model, or a Sequential model not built from an Input)."""
    try:
        outputs = getattr(model, "outputs", None)
    except (AttributeError, ValueError):
        return None
    if not outputs or getattr(model, "inputs", None) is None:
        return None
    return model.output


def feature_spec(model, layer_name: str | None, role: str, owner: str):
    """The symbolic tensor(s) of the features taken from `model` (its `role` is
    'teacher' or 'student'): the output of the layer `layer_name`, or the model's
    outputs when it is None (None when the model has no symbolic outputs).
    ValueError when a named layer is missing or cannot be tapped."""
    if layer_name is None:
        return symbolic_outputs(model)
    if symbolic_outputs(model) is None:
        raise ValueError(
            f"{owner}: taking features from layer '{layer_name}' of the {role} model "
            f"'{model.name}' needs a Functional or Sequential model built from an Input "
            f"(its layers' outputs must be symbolic tensors), but '{model.name}' is "
            f"{type(model).__name__} without symbolic inputs and outputs. Build it with "
            f"keras.Input / keras.Model(inputs, outputs), use {owner} without layer names "
            f"(final outputs only), or use LogitsDistillation."
        )
    try:
        layer = model.get_layer(name=layer_name)
    except ValueError as e:
        raise ValueError(f"{owner}: in the {role} model: {e}") from None
    try:
        return layer.output
    except (AttributeError, ValueError) as e:
        raise ValueError(
            f"{owner}: cannot take features from layer '{layer_name}' of the {role} model "
            f"'{model.name}': {e}"
        ) from None


class FeatureTaps:
    """Runs a model once and returns {'final_output': outputs, name: layer output,
    ...} for the named layers (just the outputs when no layer is named)."""

    def __init__(self, model, layer_names: list[str]):
        self.model = model
        self.layer_names = list(dict.fromkeys(layer_names))
        self.extractor = None
        if self.layer_names:
            from jkeras.engine.functional import Functional

            outputs = {FINAL: model.output}
            for name in self.layer_names:
                outputs[name] = model.get_layer(name=name).output
            self.extractor = Functional(model.input, outputs,
                                        name=f"{model.name}_multi_feature_extractor")

    def __call__(self, x, training=False, outputs=None) -> dict:
        """The features for inputs `x`; `outputs` (the model's outputs for `x`, when
        already computed) saves a forward pass when no layer is named."""
        if self.extractor is not None:
            return dict(self.extractor(x, training=training))
        if outputs is None:
            outputs = self.model(x, training=training)
        return {FINAL: outputs}
