"""Ops whose symbolic output is computed by a shape rule instead of abstract evaluation.

`symbolic_function` finds a KerasTensor's output shape by evaluating the op abstractly
with each unknown dimension set to a stand-in size. Some ops cannot run at an arbitrary
size (`space_to_depth` needs dimensions divisible by the block, `unstack` returns one
tensor per entry of the unstacked axis, ...); `spec_function` gives them an explicit
rule instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from jkeras.backend.keras_tensor import KerasTensor, any_symbolic
from jkeras.ops.operation import FunctionOperation, symbolic_function


class SpecFunctionOperation(FunctionOperation):
    """A FunctionOperation whose output spec is `output_spec(*args, **kwargs)`."""

    def __init__(self, fn, name: str, output_spec: Callable):
        super().__init__(fn, name)
        self._output_spec = output_spec

    def compute_output_spec(self, *args, **kwargs):
        return self._output_spec(*args, **kwargs)


def spec_function(fn: Callable, output_spec: Callable, name: str | None = None) -> Callable:
    """Like `symbolic_function(fn, name)`, but on KerasTensors the outputs are the
    KerasTensors that `output_spec(*args, **kwargs)` returns (it sees the same
    arguments, KerasTensors included, and may raise ValueError for bad shapes)."""
    on_arrays = symbolic_function(fn, name)

    @functools.wraps(on_arrays)
    def wrapper(*args, **kwargs):
        if any_symbolic(args, kwargs):
            return SpecFunctionOperation(fn, on_arrays.__name__, output_spec)(*args, **kwargs)
        return on_arrays(*args, **kwargs)

    return wrapper


__all__ = ["KerasTensor", "SpecFunctionOperation", "spec_function"]
