"""Models with string inputs: the host part and the compiled part.

JAX computes on numbers only, so the layers that read a string input
(TextVectorization, StringLookup, Hashing, ... — and anything downstream of
them that still carries strings) run on the host, in Python/numpy, before the
compiled step. `HostPrefix(model)` finds those nodes and builds `core`, a
functional model over the same layers from the numeric tensors they produce
(the "boundary") and the model's other inputs to its outputs. fit, evaluate
and predict run `core`, compiled as usual, on `transform(inputs)`: the
boundary values computed on the host, then the other inputs.

(Keras 3 on JAX cannot train such a model: its compiled step receives the
strings. jkeras splits the graph instead.)
"""

from __future__ import annotations

import numpy as np

from jkeras.backend.keras_tensor import KerasTensor


def has_string_inputs(model) -> bool:
    inputs = getattr(model, "inputs", None) or []
    return any(getattr(t, "dtype", None) == "string" for t in inputs)


class HostPrefix:
    """The host nodes of a functional model with string inputs, and `core`."""

    def __init__(self, model):
        from jkeras.engine.functional import Functional

        self.model = model
        string_ids = {id(t) for t in model.inputs if t.dtype == "string"}
        host_nodes = []
        for node in model._nodes:
            if any(id(t) in string_ids for t in node.input_tensors):
                host_nodes.append(node)
                for t in node.output_tensors:
                    if t.dtype == "string":
                        string_ids.add(id(t))
        self.host_nodes = host_nodes
        host_ids = {id(n) for n in host_nodes}
        produced = [t for n in host_nodes for t in n.output_tensors if t.dtype != "string"]
        consumed = set()
        for node in model._nodes:
            if id(node) not in host_ids:
                consumed.update(id(t) for t in node.input_tensors)
        consumed.update(id(t) for t in model.outputs)
        self.boundary = [t for t in produced if id(t) in consumed]
        for t in model.outputs:
            if t.dtype == "string":
                raise ValueError(
                    f"Model '{model.name}' outputs a string tensor; fit/evaluate/predict "
                    f"need numeric outputs."
                )
        self.passthrough = [t for t in model.inputs if t.dtype != "string"]
        self._string_inputs = [t for t in model.inputs if t.dtype == "string"]
        self.core = Functional(inputs=self.boundary + self.passthrough,
                               outputs=model._outputs_struct, name=model.name)

    def transform(self, flat_inputs: list) -> list:
        """Values for `core.inputs` from values for the model's inputs (flat, in
        `model.inputs` order): the host nodes run here, on the host."""
        values: dict = {}
        passthrough = []
        for t, x in zip(self.model.inputs, flat_inputs):
            if t.dtype == "string":
                values[id(t)] = _strings(x, t)
            else:
                passthrough.append(x)
        for node in self.host_nodes:
            args, kwargs = node.fill_arguments(values)
            op = node.operation
            if getattr(op, "_call_has_training", False) and "training" not in kwargs:
                kwargs = dict(kwargs, training=False)
            outs = op(*args, **kwargs)
            flat = outs if isinstance(outs, (list, tuple)) else [outs]
            for t, v in zip(node.output_tensors, flat):
                values[id(t)] = v if t.dtype == "string" else np.asarray(v)
        return [values[id(t)] for t in self.boundary] + passthrough


def _strings(x, t: KerasTensor) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind in "US":
        return a
    if a.dtype.kind == "O" or a.dtype.kind == "S":
        return a.astype(str)
    raise TypeError(
        f"Input '{t.name}' is declared Input(dtype='string'), but got an array of "
        f"dtype {a.dtype}: pass strings (a numpy array of str, or a list of str)."
    )


def host_prefix_of(model) -> HostPrefix | None:
    """The model's HostPrefix (made once), or None for a model without string inputs."""
    if not has_string_inputs(model):
        return None
    cached = model.__dict__.get("_host_prefix")
    if cached is None or cached.model is not model:
        cached = HostPrefix(model)
        model._host_prefix = cached
    return cached
