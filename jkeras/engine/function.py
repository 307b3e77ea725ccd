"""Function: a graph of operations from symbolic inputs to symbolic outputs,
callable on arrays (Keras 3's `keras.Function`).

It is the graph part of a functional model without the layer/model API:
`Function(inputs, outputs)(arrays)` runs the recorded operations (layers or
ops) in order. It shares `Functional`'s single graph traversal.
"""

from __future__ import annotations

from jkeras.backend import naming
from jkeras.ops.operation import Operation


class Function(Operation):
    """`inputs` and `outputs`: (nested structures of) symbolic tensors; the
    outputs must be computable from the inputs alone."""

    def __init__(self, inputs, outputs, name: str | None = None):
        from jkeras.engine.functional import Functional

        super().__init__(name=name or naming.unique_name("function"))
        self._graph = Functional(inputs, outputs, name=self.name)

    @property
    def inputs(self) -> list:
        return self._graph.inputs

    @property
    def outputs(self) -> list:
        return self._graph.outputs

    @property
    def operations(self) -> list:
        """The operations of the graph in execution order (each once)."""
        seen, ops = set(), []
        for node in self._graph._nodes:
            op = node.operation
            if id(op) not in seen:
                seen.add(id(op))
                ops.append(op)
        return ops

    def call(self, inputs):
        return self._graph.call(inputs)

    def compute_output_spec(self, inputs):
        return self._graph.compute_output_spec(inputs)

    def __repr__(self):
        return f"<Function name={self.name!r} inputs={len(self.inputs)} " \
               f"outputs={len(self.outputs)}>"
