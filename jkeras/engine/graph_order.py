"""Keras 3's order of the operations of a Functional graph.

Keras lists a Functional model's operations (hence `model.layers`,
`model.weights`, `get_weights()`, the optimizer's slots, the weights file and
the config) by depth: an operation's depth is the longest path from it to an
output (a shared operation takes its deepest call), deepest first; operations
of equal depth keep the order in which a depth-first walk from the outputs
(outputs in order, each node's input tensors in order) first met them. Inputs
that no output needs come last (depth 0).

Users move weights between Keras and jkeras with `get_weights`/`set_weights`,
so jkeras follows the same order.
"""

from __future__ import annotations

from typing import Any

from jkeras.backend.keras_tensor import KerasTensor


class SyntheticInput:
    """Stands for a model input that is an intermediate tensor (a sub-model cut
    from the middle of a graph). Keras gives such an input an InputLayer of its
    own; jkeras keeps the tensor, and saving writes it as an InputLayer named
    `name`. It is not a layer of the model."""

    def __init__(self, tensor: KerasTensor, name: str):
        self.tensor = tensor
        self.name = name

    def __repr__(self) -> str:
        return f"<SyntheticInput {self.name} shape={self.tensor.shape}>"


def node_of(t: KerasTensor):
    """The Node that produced a symbolic tensor."""
    op, ni, _ = t._keras_history
    return op._inbound_nodes[ni]


def graph_order(model) -> tuple[list, dict]:
    """(operations, synthetic) for a Functional model whose `inputs`, `outputs`
    and `_nodes` are set: its operations (layers, ops, SyntheticInputs) in
    Keras's order, and a map id(input tensor) -> SyntheticInput for the inputs
    not produced by an InputLayer. Linear in the graph size apart from sorting
    each depth's operations."""
    inputs = list(model.inputs)
    input_ids = {id(t) for t in inputs}
    synthetic: dict[int, SyntheticInput] = {}
    used_names = {getattr(n.operation, "name", None) for n in model._nodes}
    for t in inputs:
        if not node_of(t).is_input:
            base = f"{t._keras_history[0].name}_input"
            name, i = base, 1
            while name in used_names:
                name, i = f"{base}_{i}", i + 1
            used_names.add(name)
            synthetic[id(t)] = SyntheticInput(t, name)

    # Graph vertices: id(Node), or ("in", id(tensor)) for a synthetic input.
    vertex_op: dict = {}
    vertex_parents: dict = {}

    def vertex(t: KerasTensor):
        if id(t) in synthetic:
            key = ("in", id(t))
            if key not in vertex_op:
                vertex_op[key] = synthetic[id(t)]
                vertex_parents[key] = []
            return key
        node = node_of(t)
        key = id(node)
        if key not in vertex_op:
            vertex_op[key] = node.operation
            stop = node.is_input or id(t) in input_ids
            vertex_parents[key] = [] if stop else list(node.input_tensors)
        return key

    first_seen: dict[int, int] = {}  # id(op) -> DFS index of its first visit
    ops_by_id: dict[int, Any] = {}
    finished: set = set()
    post_order: list = []
    for out in model.outputs:
        root = vertex(out)
        if root in finished:
            continue
        stack: list = []
        in_progress: set = set()

        def enter(key, stack=stack, in_progress=in_progress):
            op = vertex_op[key]
            if id(op) not in first_seen:
                first_seen[id(op)] = len(first_seen)
                ops_by_id[id(op)] = op
            in_progress.add(key)
            stack.append((key, iter(vertex_parents[key])))

        enter(root)
        while stack:
            key, parents = stack[-1]
            t = next(parents, None)
            if t is None:
                stack.pop()
                in_progress.discard(key)
                finished.add(key)
                post_order.append(key)
                continue
            child = vertex(t)
            if child in finished:
                continue
            if child in in_progress:
                raise ValueError(f"Model '{model.name}': the graph has a cycle at {t!r}.")
            enter(child)

    # depth: 0 at the outputs, parents one deeper than their deepest consumer;
    # an operation takes the depth of its deepest node.
    vertex_depth: dict = {}
    op_depth: dict[int, int] = {}
    for key in reversed(post_order):
        op = vertex_op[key]
        depth = max(vertex_depth.setdefault(key, 0), op_depth.get(id(op), 0))
        op_depth[id(op)] = depth
        vertex_depth[key] = depth
        for t in vertex_parents[key]:
            pk = vertex(t)
            vertex_depth[pk] = max(depth + 1, vertex_depth.get(pk, 0))
    for t in inputs:  # inputs that no output needs
        op = vertex_op[vertex(t)]
        if id(op) not in op_depth:
            op_depth[id(op)] = 0
            first_seen[id(op)] = -1
            ops_by_id[id(op)] = op
    by_depth: dict[int, list] = {}
    for oid, depth in op_depth.items():
        by_depth.setdefault(depth, []).append(ops_by_id[oid])
    ordered: list = []
    for depth in sorted(by_depth, reverse=True):
        ordered.extend(sorted(by_depth[depth], key=lambda o: first_seen[id(o)]))
    return ordered, synthetic


def graph_layers(model) -> list:
    """The layers of a Functional model in Keras 3's `model.layers` order
    (InputLayers included; operations that are not layers left out)."""
    from jkeras.engine.layer import Layer

    ops, _ = graph_order(model)
    return [op for op in ops if isinstance(op, Layer)]
