"""The node accessors of a layer (Keras 1/2's `get_output_at`, `input_shape`, ...):
what a layer was called on and what it produced, per call."""

from __future__ import annotations

from jkeras.engine.layer_inputs import _masks_of, shapes_of
from jkeras.ops.node import Node


class NodeAccessors:
    """Mixed into Layer: reads `self._inbound_nodes` / `self._outbound_nodes`."""

    @property
    def inbound_nodes(self) -> list[Node]:
        return self._inbound_nodes

    @property
    def outbound_nodes(self) -> list[Node]:
        return self._outbound_nodes

    def _node_attr(self, attr: str, node_index: int, what: str):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called and thus has no defined {what}."
            )
        if not 0 <= node_index < len(self._inbound_nodes) and not (
            -len(self._inbound_nodes) <= node_index < 0
        ):
            raise ValueError(
                f"Asked for the {what} at node {node_index} of layer '{self.name}', but the "
                f"layer has only {len(self._inbound_nodes)} inbound node(s)."
            )
        node = self._inbound_nodes[node_index]
        if attr == "input":
            return node.input_structure
        if attr == "output":
            outs = node.output_tensors
            return outs[0] if len(outs) == 1 else list(outs)
        if attr == "input_shape":
            return shapes_of(node.input_structure)
        if attr == "output_shape":
            return node.output_shapes
        if attr == "input_mask":
            return _masks_of(node.input_structure)
        if attr == "output_mask":
            m = [t._keras_mask for t in node.output_tensors]
            return m[0] if len(m) == 1 else m
        raise KeyError(attr)

    def _single_node_attr(self, attr: str, what: str, accessor: str):
        n = len(self._inbound_nodes)
        if n > 1:
            if attr in ("input_shape", "output_shape"):
                values = [self._node_attr(attr, i, what) for i in range(n)]
                if all(v == values[0] for v in values):
                    return values[0]
            raise AttributeError(
                f"Layer '{self.name}' has multiple inbound nodes ({n}), so its '{what}' is "
                f"ill-defined. Use `{accessor}(node_index)` instead."
            )
        return self._node_attr(attr, 0, what)

    @property
    def input(self):
        return self._single_node_attr("input", "input", "get_input_at")

    @property
    def output(self):
        return self._single_node_attr("output", "output", "get_output_at")

    @property
    def input_shape(self):
        return self._single_node_attr("input_shape", "input shape", "get_input_shape_at")

    @property
    def output_shape(self):
        return self._single_node_attr("output_shape", "output shape", "get_output_shape_at")

    @property
    def input_mask(self):
        return self._single_node_attr("input_mask", "input mask", "get_input_mask_at")

    @property
    def output_mask(self):
        return self._single_node_attr("output_mask", "output mask", "get_output_mask_at")

    def get_input_at(self, node_index: int):
        return self._node_attr("input", node_index, "input")

    def get_output_at(self, node_index: int):
        return self._node_attr("output", node_index, "output")

    def get_input_shape_at(self, node_index: int):
        return self._node_attr("input_shape", node_index, "input shape")

    def get_output_shape_at(self, node_index: int):
        return self._node_attr("output_shape", node_index, "output shape")

    def get_input_mask_at(self, node_index: int):
        return self._node_attr("input_mask", node_index, "input mask")

    def get_output_mask_at(self, node_index: int):
        return self._node_attr("output_mask", node_index, "output mask")
