"""Keras 1/2 layer configs translated to what jkeras layers take."""

from __future__ import annotations

_MERGE_MODES = {"sum": "Add", "mul": "Multiply", "ave": "Average", "max": "Maximum",
                "concat": "Concatenate", "dot": "Dot", "cos": "Dot"}

_UNSUPPORTED = {
    "TFOpLambda": "a TensorFlow op used between layers (tf.* or an operator on tensors)",
    "TensorFlowOpLayer": "a TensorFlow op used between layers",
    "SlicingOpLambda": "a TensorFlow slicing op",
}


def translate_legacy_layer(entry: dict) -> dict:
    """A Keras 1/2 `{"class_name", "config"}` layer entry made loadable by jkeras:
    Keras 1 `Merge` becomes the matching merge layer; TensorFlow-only layers are
    refused with a clear error."""
    if not isinstance(entry, dict):
        raise ValueError(f"A layer entry must be a dict, got {type(entry).__name__}.")
    class_name = entry.get("class_name")
    config = entry.get("config")
    if class_name in _UNSUPPORTED:
        name = config.get("name") if isinstance(config, dict) else None
        raise ValueError(
            f"Layer '{name}' is a Keras 2 '{class_name}' ({_UNSUPPORTED[class_name]}), which "
            f"only TensorFlow can run. Rebuild that part of the model with jkeras.ops or a "
            f"layer, then load the weights with load_weights(..., by_name=True)."
        )
    if class_name == "Merge" and isinstance(config, dict):
        mode = config.get("mode", "sum")
        if not isinstance(mode, str) or mode not in _MERGE_MODES:
            raise ValueError(
                f"Keras 1 Merge layer '{config.get('name')}' uses mode {mode!r:.60}; only "
                f"{sorted(_MERGE_MODES)} can be loaded (a Python function mode cannot)."
            )
        new = {"name": config.get("name"), "trainable": config.get("trainable", True)}
        if mode == "concat":
            new["axis"] = config.get("concat_axis", -1)
        elif mode in ("dot", "cos"):
            new["axes"] = config.get("dot_axes", -1)
            new["normalize"] = mode == "cos"
        return {**entry, "class_name": _MERGE_MODES[mode], "config": new}
    return entry
