"""Operation: anything that can be called on arrays or on symbolic tensors.

Called on arrays it computes; called with any KerasTensor among its arguments
it records a `Node` and returns KerasTensors whose shapes come from
`compute_output_spec` (abstract evaluation with `jax.eval_shape` by default).
"""

from __future__ import annotations

import jax
import numpy as np

from jkeras.backend import naming
from jkeras.backend.keras_tensor import KerasTensor, any_symbolic
from jkeras.ops.node import Node, is_graph_leaf

# Two distinct stand-in batch sizes: a dimension that differs between the two
# abstract evaluations depends on the batch and becomes None.
_BATCH_PROBES = (7, 11)


def unwrap_variables(structure):
    """Replaces every jkeras Variable in a nested structure by its value."""
    return jax.tree_util.tree_map(
        lambda x: x.value if getattr(x, "_is_variable", False) else x,
        structure,
        is_leaf=lambda x: getattr(x, "_is_variable", False) or isinstance(x, KerasTensor),
    )


def symbolic_eval(fn, args: tuple, kwargs: dict, extra_specs: list | None = None):
    """Runs `fn(*args, **kwargs)` abstractly with KerasTensors standing in for
    arrays, and returns the output structure as KerasTensors.

    With `extra_specs` (a list of jax.ShapeDtypeStruct), `fn` is called as
    `fn(extra, *args, **kwargs)` with abstract values for them (e.g. weights that
    should not be materialised)."""
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=is_graph_leaf)
    positions = [i for i, x in enumerate(leaves) if isinstance(x, KerasTensor)]
    has_none = any(d is None for i in positions for d in leaves[i].shape)

    def run(batch):
        def f(extra, *tensors):
            new = list(leaves)
            for p, t in zip(positions, tensors):
                new[p] = t
            a, k = jax.tree_util.tree_unflatten(treedef, new)
            return fn(extra, *a, **k) if extra_specs is not None else fn(*a, **k)

        return jax.eval_shape(f, extra_specs or [], *[leaves[p].spec(batch) for p in positions])

    first = run(_BATCH_PROBES[0])
    second = run(_BATCH_PROBES[1]) if has_none else first

    def to_kt(a, b):
        if a is None:
            return None
        shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
        return KerasTensor(shape, a.dtype)

    return jax.tree_util.tree_map(to_kt, first, second)


class Operation:
    """Base class of layers and of symbolic ops."""

    def __init__(self, name: str | None = None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._inbound_nodes: list[Node] = []
        self._outbound_nodes: list[Node] = []

    def call(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        if any_symbolic(args, kwargs):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        return symbolic_eval(self.call, args, kwargs)

    def symbolic_call(self, *args, **kwargs):
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        return outputs


class FunctionOperation(Operation):
    """A numpy-style function recorded as a graph node."""

    def __init__(self, fn, name: str):
        super().__init__(name=naming.unique_name(name))
        self.fn = fn
        self.op_name = name

    def call(self, *args, **kwargs):
        return self.fn(*unwrap_variables(args), **unwrap_variables(kwargs))


def symbolic_function(fn, name: str | None = None):
    """Wraps an array function so that it also works on KerasTensors (recording
    a node) and on jkeras Variables."""
    op_name = name or fn.__name__

    def wrapper(*args, **kwargs):
        if any_symbolic(args, kwargs):
            return FunctionOperation(fn, op_name)(*args, **kwargs)
        return fn(*unwrap_variables(args), **unwrap_variables(kwargs))

    wrapper.__name__ = op_name
    wrapper.__qualname__ = op_name
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


def shape_tuple(x) -> tuple:
    return tuple(x.shape) if not isinstance(x, (int, float)) else ()


__all__ = ["Operation", "FunctionOperation", "symbolic_function", "symbolic_eval", "np"]
