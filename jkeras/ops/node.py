"""Node: one call of an operation (layer or op) on symbolic tensors.

The node records the call's arguments (with KerasTensors as leaves), its output
tensors, and links them: every output tensor's `_keras_history` points back to
(operation, node_index, tensor_index). This is the single graph primitive;
the Functional graph is a topological order of nodes.
"""

from __future__ import annotations

import jax

from jkeras.backend.keras_tensor import KerasTensor


def is_graph_leaf(x) -> bool:
    """Leaves of a call's arguments: symbolic tensors, and jkeras Variables (kept as
    objects, so a graph reads a variable's current value when it runs)."""
    return isinstance(x, KerasTensor) or getattr(x, "_is_variable", False)


def flatten(structure) -> list:
    """Leaves of a nested list/tuple/dict structure (None dropped)."""
    return jax.tree_util.tree_leaves(structure, is_leaf=lambda x: isinstance(x, KerasTensor))


class Node:
    def __init__(self, operation, call_args: tuple, call_kwargs: dict, outputs):
        self.operation = operation
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs)
        leaves, self._arg_treedef = jax.tree_util.tree_flatten(
            (self.call_args, self.call_kwargs), is_leaf=is_graph_leaf
        )
        self._arg_leaves = leaves
        self.input_tensors = [x for x in leaves if isinstance(x, KerasTensor)]
        self.outputs = outputs
        self.output_tensors = flatten(outputs)
        self.index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = (operation, self.index, i)
        for t in self.input_tensors:
            if t._keras_history is not None:
                t._keras_history[0]._outbound_nodes.append(self)

    @property
    def input_structure(self):
        """What the layer was called on: the first positional argument."""
        if self.call_args:
            return self.call_args[0]
        return self.input_tensors[0] if len(self.input_tensors) == 1 else self.input_tensors

    @property
    def parent_nodes(self) -> list:
        out = []
        for t in self.input_tensors:
            if t._keras_history is not None:
                op, idx, _ = t._keras_history
                out.append(op._inbound_nodes[idx])
        return out

    @property
    def inbound_layers(self) -> list:
        return [t._keras_history[0] for t in self.input_tensors if t._keras_history]

    @property
    def is_input(self) -> bool:
        return not self.input_tensors

    @property
    def input_shapes(self):
        s = [t.shape for t in self.input_tensors]
        return s[0] if len(s) == 1 else s

    @property
    def output_shapes(self):
        s = [t.shape for t in self.output_tensors]
        return s[0] if len(s) == 1 else s

    def fill_arguments(self, values: dict) -> tuple[tuple, dict]:
        """The call's (args, kwargs) with each KerasTensor replaced by
        `values[id(tensor)]`."""
        leaves = [values[id(x)] if isinstance(x, KerasTensor) else x for x in self._arg_leaves]
        return jax.tree_util.tree_unflatten(self._arg_treedef, leaves)

    def __repr__(self):
        return f"<Node {self.operation.name}#{self.index}>"
