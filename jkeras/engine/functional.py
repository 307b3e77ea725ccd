"""Functional: a model defined by a graph of nodes from inputs to outputs.

One topological order of nodes, computed once at construction in time linear
in the graph size, serves execution (`call`), mask propagation and the
layer list. Inputs may be any symbolic tensors (usually from `Input`), so
sub-models can be cut from intermediate tensors.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine import services
from jkeras.engine.graph_order import graph_layers
from jkeras.engine.input_layer import InputLayer
from jkeras.engine.layer import Layer, _overrides_mask
from jkeras.engine.model import Model
from jkeras.ops.node import Node, flatten
from jkeras.ops.operation import FunctionOperation

# Ops that act on each element (hence each sample) on its own.
_ELEMENTWISE_OPS = {
    "add", "subtract", "multiply", "true_divide", "divide", "negative", "positive", "abs",
    "absolute", "exp", "log", "log1p", "expm1", "sqrt", "square", "tanh", "sigmoid", "relu",
    "relu6", "elu", "selu", "gelu", "silu", "softplus", "softsign", "hard_sigmoid",
    "leaky_relu", "maximum", "minimum", "power", "cast", "clip", "sin", "cos", "sign",
    "floor", "ceil", "round", "where", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "logical_and", "logical_or", "logical_not",
}


def _tensor_name(t: KerasTensor) -> str:
    if t._keras_history is None:
        return t.name or "tensor"
    op, ni, ti = t._keras_history
    return op.name if isinstance(op, InputLayer) else f"{op.name}[{ni}][{ti}]"


def _check_tensors(structure, argument: str, model_name: str) -> list[KerasTensor]:
    flat = flatten(structure)
    if not flat:
        raise ValueError(f"Model '{model_name}': `{argument}` is empty; give at least one tensor.")
    for t in flat:
        if not isinstance(t, KerasTensor):
            raise ValueError(
                f"Model '{model_name}': every entry of `{argument}` must be a symbolic tensor "
                f"from keras.Input(...) or a layer call, but got {type(t).__name__}"
                f"{' of shape ' + str(tuple(t.shape)) if hasattr(t, 'shape') else ''}. "
                f"Build the graph with Input(shape=...) and pass its tensors."
            )
        if t._keras_history is None:
            raise ValueError(
                f"Model '{model_name}': tensor {t!r} in `{argument}` was not produced by a "
                f"jkeras layer or Input."
            )
    return flat


class Functional(Model):
    """A model built from symbolic inputs and outputs."""

    _autocast = False  # each layer applies its own dtype policy

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if "input" in kwargs:
            warnings.warn("Model(input=...) is the Keras 1 spelling; use Model(inputs=...).",
                          DeprecationWarning, stacklevel=2)
            inputs = kwargs.pop("input")
        if "output" in kwargs:
            warnings.warn("Model(output=...) is the Keras 1 spelling; use Model(outputs=...).",
                          DeprecationWarning, stacklevel=2)
            outputs = kwargs.pop("output")
        super().__init__(name=name, trainable=trainable, **kwargs)
        if inputs is None or outputs is None:
            raise ValueError(
                f"Model '{self.name}' needs both inputs and outputs: Model(inputs, outputs)."
            )
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs) -> None:
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = _check_tensors(inputs, "inputs", self.name)
        self.outputs = _check_tensors(outputs, "outputs", self.name)
        self._nodes = self._topological_order()
        # Keras's layer order (deepest first): `layers`, `weights`, `get_weights()`,
        # the optimizer's slots and the saved files all follow it.
        layers = graph_layers(self)
        self._layers = layers
        self._sublayers = [la for la in layers if la is not self]
        self._node_ids = {id(n) for n in self._nodes}
        self.built = True

    def _topological_order(self) -> list[Node]:
        """The nodes between the inputs and the outputs in an order that runs each
        after the nodes it reads (the execution order); raises "Graph
        disconnected" for a tensor that needs an input the model was not given."""
        input_ids = {id(t) for t in self.inputs}
        finished: set[int] = set()
        order = []

        def producer(t, consumer):
            if id(t) in input_ids:
                return None
            op, ni, _ = t._keras_history
            node = op._inbound_nodes[ni]
            if node.is_input:
                needed_by = consumer.operation.name if consumer is not None else "the outputs"
                raise ValueError(
                    f"Graph disconnected in model '{self.name}': cannot obtain the value of "
                    f"tensor '{_tensor_name(t)}' (shape {t.shape}) needed by layer "
                    f"'{needed_by}'. It comes from input '{op.name}', which is not among the "
                    f"model's inputs {[_tensor_name(i) for i in self.inputs]}. Add it to "
                    f"Model(inputs=...)."
                )
            return node

        stack = []
        for t in reversed(self.outputs):
            node = producer(t, None)
            if node is not None:
                stack.append((node, False))
        while stack:
            node, expanded = stack.pop()
            if id(node) in finished:
                continue
            if expanded:
                finished.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            for t in reversed(node.input_tensors):
                child = producer(t, node)
                if child is not None and id(child) not in finished:
                    stack.append((child, False))
        return order

    # structure ------------------------------------------------------------------
    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self) -> list[str]:
        """Names of `inputs`, in order: the keys of a dict of inputs (sorted, the
        order of `inputs`), else the input layers' names."""
        if isinstance(self._inputs_struct, dict):
            return sorted(self._inputs_struct)
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """Names of `outputs`, in order: the keys of a dict of outputs (sorted, the
        order of `outputs`, as Keras 3 flattens dicts), else the output layers'
        names (made unique)."""
        if isinstance(self._outputs_struct, dict):
            return sorted(self._outputs_struct)
        names, seen = [], {}
        for t in self.outputs:
            n = t._keras_history[0].name
            if n in seen:
                seen[n] += 1
                n = f"{n}_{seen[n]}"
            else:
                seen[n] = 0
            names.append(n)
        return names

    @property
    def input_shape(self):
        s = [t.shape for t in self.inputs]
        return s[0] if not isinstance(self._inputs_struct, (list, dict)) else s

    @property
    def output_shape(self):
        s = [t.shape for t in self.outputs]
        return s[0] if not isinstance(self._outputs_struct, (list, dict)) else s

    # config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The Keras 3 functional config: layers with their inbound nodes, and the
        input/output references."""
        return services.saving().functional_get_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """Rebuilds the graph (new layers, fresh weights) from `get_config()`."""
        return services.saving().functional_from_config_with(cls, config, custom_objects)

    # execution -------------------------------------------------------------------
    def flatten_inputs(self, inputs) -> list:
        """Matches user inputs (array, list, tuple or dict) to the model's inputs,
        in `self.inputs` order."""
        n = len(self.inputs)
        names = self.input_names
        if isinstance(inputs, dict):
            unknown = [k for k in inputs if k not in names]
            if unknown:
                raise ValueError(
                    f"Model '{self.name}' got input key(s) {unknown} that name no input. "
                    f"Valid input names: {names}."
                )
            missing = [k for k in names if k not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' is missing input(s) {missing}; it expects "
                    f"{names}."
                )
            return [inputs[k] for k in names]
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != n:
                raise ValueError(
                    f"Model '{self.name}' expects {n} input(s) {names}, but got "
                    f"{len(inputs)}. Pass a list of {n} arrays in that order, or a dict "
                    f"keyed by input name."
                )
            return list(inputs)
        if n != 1:
            raise ValueError(
                f"Model '{self.name}' expects {n} inputs {names}, but got a single array. "
                f"Pass a list of {n} arrays, or a dict keyed by input name."
            )
        return [inputs]

    def pack_inputs(self, flat: list):
        """Flat inputs (in `inputs` order) as `call` takes them."""
        return flat[0] if len(flat) == 1 else list(flat)

    def record_output_structure(self, outputs) -> list:
        return flatten(outputs)

    def pack_outputs(self, flat: list):
        """Arranges flat outputs (in `outputs` order) in the structure the model was
        defined with (a dict keeps the user's key order)."""
        s = self._outputs_struct
        if isinstance(s, dict):
            position = {k: i for i, k in enumerate(sorted(s))}
            return {k: flat[position[k]] for k in s}
        if isinstance(s, list):
            return list(flat)
        return flat[0]

    def call(self, inputs, training=None, mask=None):
        outputs, _ = self.call_with_masks(inputs, training, mask)
        return outputs

    def call_with_masks(self, inputs, training=None, mask=None):
        flat = self.flatten_inputs(inputs)
        flat = [_as_input(x, t) for x, t in zip(flat, self.inputs)]
        flat_masks = None
        if mask is not None:
            flat_masks = self.flatten_inputs(mask) if len(self.inputs) > 1 else [mask]
        outs, out_masks = self.run_graph(flat, training, flat_masks)
        packed_masks = None if all(m is None for m in out_masks) else self.pack_outputs(out_masks)
        return self.pack_outputs(outs), packed_masks

    def compute_mask(self, inputs, mask=None):
        if all(t._keras_mask is None for t in self.outputs) and mask is None:
            return None
        return self.call_with_masks(inputs, False, mask)[1]

    def batch_independent(self, training=None) -> bool:
        for node in self._nodes:
            op = node.operation
            if isinstance(op, FunctionOperation):
                if op.op_name not in _ELEMENTWISE_OPS:
                    return False
            elif isinstance(op, Layer) and not isinstance(op, InputLayer):
                if not op.batch_independent(training):
                    return False
        return True

    def _shared_call_groups(self) -> dict[int, list[Node]]:
        """Groups of independent calls of one shared layer on single tensors of the
        same shape: id(node) -> all nodes of its group (two or more)."""
        cached = getattr(self, "_groups_cache", None)
        if cached is not None:
            return cached
        by_op: dict[int, list[Node]] = {}
        for node in self._nodes:
            if (isinstance(node.operation, Layer) and len(node.call_args) == 1
                    and isinstance(node.call_args[0], KerasTensor) and not node.call_kwargs):
                by_op.setdefault(id(node.operation), []).append(node)
        groups: dict[int, list[Node]] = {}
        for nodes in by_op.values():
            if len(nodes) < 2:
                continue
            by_sig: dict[tuple, list[Node]] = {}
            for n in nodes:
                t = n.call_args[0]
                by_sig.setdefault((t.shape[1:], t.dtype), []).append(n)
            for members in by_sig.values():
                group: list[Node] = []
                for n in members:
                    if all(not self._depends(n, m) and not self._depends(m, n) for m in group):
                        group.append(n)
                if len(group) > 1:
                    for n in group:
                        groups[id(n)] = group
        self._groups_cache = groups
        return groups

    def _depends(self, node: Node, other: Node) -> bool:
        """True if `node` (transitively) consumes an output of `other` in this graph."""
        stack, seen = list(node.parent_nodes), set()
        while stack:
            n = stack.pop()
            if n is other:
                return True
            if id(n) in seen or id(n) not in self._node_ids:
                continue
            seen.add(id(n))
            stack.extend(n.parent_nodes)
        return False

    def _run_batched(self, group: list[Node], values: dict, masks: dict, training) -> bool:
        """Runs a group of calls of one shared layer as a single call on the inputs
        concatenated along the batch axis. Returns False (nothing done) when the
        inputs are not all ready, carry masks, or differ in shape."""
        import jax.numpy as jnp

        inputs = [n.call_args[0] for n in group]
        if any(id(t) not in values or id(t) in masks for t in inputs):
            return False
        op = group[0].operation
        if not op.batch_independent(training):
            return False
        arrays = [values[id(t)] for t in inputs]
        if len({(tuple(a.shape[1:]), a.dtype) for a in arrays}) != 1:
            return False
        sizes = [a.shape[0] for a in arrays]
        joined = jnp.concatenate(arrays, axis=0)
        if isinstance(op, Functional):
            outs, _ = op.call_with_masks(joined, training, None)
        else:
            outs = op(joined, training=training) if training is not None else op(joined)
        flat = flatten(outs)
        offsets = [0]
        for s in sizes:
            offsets.append(offsets[-1] + s)
        for i, node in enumerate(group):
            for t, v in zip(node.output_tensors, flat):
                values[id(t)] = v[offsets[i]:offsets[i + 1]]
        return True

    def run_graph(self, flat_inputs: list, training=None, flat_masks=None):
        """Evaluates the graph on values for `self.inputs`; returns (outputs, masks)
        as flat lists in `self.outputs` order."""
        values: dict[int, object] = {}
        masks: dict[int, object] = {}
        for i, (t, x) in enumerate(zip(self.inputs, flat_inputs)):
            values[id(t)] = x
            m = flat_masks[i] if flat_masks is not None else None
            if m is not None:
                masks[id(t)] = m
        groups = self._shared_call_groups()
        batched: set[int] = set()
        for node in self._nodes:
            if id(node) in batched:
                continue
            group = groups.get(id(node))
            if group is not None and self._run_batched(group, values, masks, training):
                batched.update(id(n) for n in group)
                continue
            op = node.operation
            args, kwargs = node.fill_arguments(values)
            out_masks = None
            if isinstance(op, Layer):
                in_structure = (list(node.call_args) if op._mask_from_all_args
                                else node.input_structure)
                in_mask = _structure_masks(in_structure, masks) if masks else None
                if isinstance(op, Functional):
                    outs, out_masks = op.call_with_masks(args[0], training, in_mask)
                else:
                    kw = dict(kwargs)
                    if training is not None:  # the model's mode wins over a recorded one
                        kw["training"] = training
                    if in_mask is not None and op._call_has_mask and kw.get("mask") is None:
                        kw["mask"] = in_mask
                    outs = op(*args, **kw)
                    if in_mask is not None or _overrides_mask(op):
                        out_masks = op.compute_mask(args[0], in_mask)
            else:
                outs = op(*args, **kwargs)
            flat_outs = flatten(outs)
            for t, v in zip(node.output_tensors, flat_outs):
                values[id(t)] = v
            if out_masks is not None:
                ms = out_masks if isinstance(out_masks, (list, tuple)) else [out_masks]
                if isinstance(out_masks, dict):
                    ms = list(out_masks.values())
                if len(ms) == 1 and len(flat_outs) > 1:
                    ms = ms * len(flat_outs)
                for t, m in zip(node.output_tensors, ms):
                    if m is not None:
                        masks[id(t)] = m
        return [values[id(t)] for t in self.outputs], [masks.get(id(t)) for t in self.outputs]


def _as_input(x, t: KerasTensor):
    """A value for input `t`: an array of its dtype (strings stay numpy arrays of str)."""
    if isinstance(x, KerasTensor):
        return x
    if t.dtype == "string":
        return np.asarray(x).astype(str) if not isinstance(x, np.ndarray) or \
            x.dtype.kind not in "US" else x
    dtype = jax.dtypes.canonicalize_dtype(t.dtype)  # int64 is int32 unless x64 is on
    if not hasattr(x, "dtype") or x.dtype != dtype:
        return jnp.asarray(x, dtype=dtype)
    return x


def _structure_masks(structure, masks: dict):
    if isinstance(structure, KerasTensor):
        return masks.get(id(structure))
    if isinstance(structure, (list, tuple)):
        ms = [_structure_masks(s, masks) for s in structure]
        return None if all(m is None for m in ms) else ms
    if isinstance(structure, dict):
        ms = {k: _structure_masks(v, masks) for k, v in structure.items()}
        return None if all(m is None for m in ms.values()) else ms
    return None
