"""What a layer is called on: shapes, dtypes and masks of input structures, and
the checks that give clear errors for inputs a layer cannot take."""

from __future__ import annotations

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.ops.node import flatten
from jkeras.ops.operation import Operation


def _shape_of(x):
    if isinstance(x, KerasTensor):
        return x.shape
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return None


def shapes_of(structure):
    """The shape structure of a nested input structure (tuple per tensor)."""
    if isinstance(structure, (list, tuple)) and not hasattr(structure, "shape"):
        return [shapes_of(s) for s in structure]
    if isinstance(structure, dict):
        return {k: shapes_of(v) for k, v in structure.items()}
    return _shape_of(structure)


def _masks_of(inputs):
    if isinstance(inputs, KerasTensor):
        return inputs._keras_mask
    if isinstance(inputs, (list, tuple)):
        ms = [_masks_of(x) for x in inputs]
        return None if all(m is None for m in ms) else ms
    if isinstance(inputs, dict):
        ms = {k: _masks_of(v) for k, v in inputs.items()}
        return None if all(m is None for m in ms.values()) else ms
    return None


def _check_string_inputs(layer, args) -> None:
    """Only host preprocessing layers (`_host_only`) take string tensors."""
    if getattr(layer, "_host_only", False):
        return
    for t in flatten(list(args)):
        if isinstance(t, KerasTensor) and t.dtype == "string":
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) was called on a string tensor "
                f"(shape {t.shape}). String tensors can only go into host preprocessing layers "
                f"(TextVectorization, StringLookup, Hashing, HashedCrossing, ...), which turn "
                f"strings into numbers; JAX computes on numbers only."
            )


def _operation_in(structure, where: str = "inputs"):
    """(position, operation) of the first layer/op object in an input structure."""
    if isinstance(structure, Operation):
        return where, structure
    if isinstance(structure, (list, tuple)):
        for i, item in enumerate(structure):
            found = _operation_in(item, f"{where}[{i}]")
            if found is not None:
                return found
    elif isinstance(structure, dict):
        for k, item in structure.items():
            found = _operation_in(item, f"{where}[{k!r}]")
            if found is not None:
                return found
    return None


def _check_not_operations(layer, inputs) -> None:
    """A clear TypeError when a layer (not its output tensor) is passed as input."""
    found = _operation_in(inputs)
    if found is None:
        return
    where, op = found
    raise TypeError(
        f"Layer '{layer.name}' ({type(layer).__name__}) was given the layer "
        f"'{op.name}' ({type(op).__name__}) as `{where}`, but it takes tensors. Call that "
        f"layer on a tensor first and pass its output: e.g. `y = {op.name}(x)`, then "
        f"`{layer.name}([..., y])`."
    )


def _array_masks_of(inputs):
    """The `_keras_mask` of eager input arrays (same structure), or None."""
    if isinstance(inputs, (list, tuple)):
        ms = [_array_masks_of(x) for x in inputs]
        return None if all(m is None for m in ms) else ms
    if isinstance(inputs, dict):
        ms = {k: _array_masks_of(v) for k, v in inputs.items()}
        return None if all(m is None for m in ms.values()) else ms
    return getattr(inputs, "_keras_mask", None)


def _dtypes_of(structure):
    if isinstance(structure, (list, tuple)):
        return [_dtypes_of(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _dtypes_of(v) for k, v in structure.items()}
    return getattr(structure, "dtype", type(structure).__name__)


def _first_dtype(inputs, default):
    for x in flatten(inputs):
        if hasattr(x, "dtype"):
            return x.dtype
    return default


def _specs_from_shapes(shape, dtype):
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [KerasTensor(s, dtype) for s in shape]
    return KerasTensor(shape, dtype)
