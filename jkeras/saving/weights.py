"""Which arrays a model saves, under which Keras 3 paths.

Keras 3 visits a model like this: a layer writes its own variables (trainable
ones first, in creation order) to `<path>/vars/0, 1, ...`; then it visits the
layers it holds in attributes, sorted by attribute name with private names last,
under `<path>/<attribute>`; a list/tuple/dict of layers is visited under
`<path>/<attribute>/<snake_case class name>[_n]`. Functional and Sequential
models visit `layers` first. A layer reached twice is saved once, where first
reached. The optimizer's variables go to `optimizer/vars/N`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jkeras.saving.registry import keras_snake_case

_base_skip: set | None = None
_MODEL_SKIP = {"_layers", "_stack", "_sublayers", "_nodes", "_node_ids", "_inputs_struct",
               "_outputs_struct", "_input_tensor", "_layer_outputs", "inputs", "outputs",
               "optimizer", "_predict_cache"}


def _base_skiplist() -> set:
    global _base_skip
    if _base_skip is None:
        from jkeras.engine.layer import Layer

        probe = Layer(name="__jkeras_saving_probe__")
        _base_skip = set(dir(probe)) | set(vars(probe))
    return _base_skip


def _name_key(name: str) -> str:
    return "~" + name if name.startswith("_") else name


def own_variables(layer) -> list:
    """A layer's own variables in Keras 3 order: trainable, then non-trainable."""
    hook = getattr(layer, "_saveable_variables", None)
    if callable(hook):
        return list(hook())
    own = list(getattr(layer, "_own_variables", []))
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def named_state_arrays(layer) -> dict:
    """Arrays a layer keeps outside its variables, saved by name beside them in its
    `vars` group, as Keras's `save_own_variables` stores them (e.g. a lookup layer's
    'idf_weights'): hook `layer._named_state_arrays()`, loaded back through
    `layer._load_named_state_arrays(dict)`."""
    hook = getattr(layer, "_named_state_arrays", None)
    return dict(hook()) if callable(hook) else {}


def _children(layer) -> list[tuple[str, Any]]:
    """(attribute name, layer or container of layers) in Keras's visit order."""
    from jkeras.engine.functional import Functional
    from jkeras.engine.layer import Layer

    out = []
    skip = _base_skiplist()
    if isinstance(layer, Functional):
        from jkeras.saving.functional_config import keras_layer_order

        out.append(("layers", keras_layer_order(layer)))
        skip = skip | _MODEL_SKIP
    attrs = vars(layer)
    seen_ids = set()
    for attr in sorted(attrs, key=_name_key):
        if attr.startswith("__") or attr in skip:
            continue
        value = attrs[attr]
        if isinstance(value, Layer):
            out.append((attr, value))
            seen_ids.add(id(value))
        elif isinstance(value, (list, tuple, dict)):
            items = list(value.values()) if isinstance(value, dict) else list(value)
            if any(isinstance(v, Layer) for v in items):
                out.append((attr, items))
                seen_ids.update(id(v) for v in items)
    if not isinstance(layer, Functional):
        # sublayers tracked but held in no visible attribute (e.g. behind a property)
        rest = [s for s in getattr(layer, "_sublayers", []) if id(s) not in seen_ids]
        if rest:
            out.append(("_tracked", rest))
    return out


def saveable_entries(model) -> list[tuple[str, Any, list]]:
    """[(path, layer, [variables])] for `model` in Keras 3's visit order; the
    model itself has path ''."""
    from jkeras.engine.layer import Layer

    out: list[tuple[str, Any, list]] = []
    visited: set[int] = set()

    def join(a, b):
        return f"{a}/{b}" if a else b

    # iterative DFS preserving Keras's recursive order
    stack: list[tuple[Any, str]] = [(model, "")]
    while stack:
        layer, path = stack.pop()
        if id(layer) in visited:
            continue
        visited.add(id(layer))
        out.append((path, layer, own_variables(layer)))
        todo = []
        for attr, child in _children(layer):
            p = join(path, attr)
            if isinstance(child, Layer):
                todo.append((child, p))
            else:
                used: dict[str, int] = {}
                for item in child:
                    if not isinstance(item, Layer):
                        continue
                    name = keras_snake_case(type(item).__name__)
                    if name in used:
                        used[name] += 1
                        name = f"{name}_{used[name]}"
                    else:
                        used[name] = 0
                    todo.append((item, join(p, name)))
        stack.extend(reversed(todo))
    return out


def variable_array(var) -> np.ndarray:
    """A variable's current value as a numpy array (outside any scope). A value
    split across the processes of a multi-process run is gathered: a collective,
    so every process saves (process 0 writes; see `atomic.atomic_write`)."""
    from jkeras.distribution import runtime

    value = getattr(var, "_value", None)
    if value is None:
        value = var.value
    return runtime.to_host(value)


def optimizer_of(model):
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "get_state_arrays"):
        return None
    return opt


def sync_model_state(model) -> None:
    """Asks the model to write back values that training keeps outside its
    Variables (hook `model._sync_variables()`, if the training code defines it)."""
    sync = getattr(model, "_sync_variables", None)
    if callable(sync):
        sync()


def describe_vars(variables) -> str:
    return ", ".join(f"{getattr(v, 'name', '?')} {tuple(v.shape)}" for v in variables)
