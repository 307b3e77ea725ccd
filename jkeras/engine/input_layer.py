"""InputLayer and `Input`: the entry points of a functional graph."""

from __future__ import annotations

import warnings

from jkeras.backend.keras_tensor import KerasTensor, tensor_dtype_name
from jkeras.engine.layer import Layer
from jkeras.ops.node import Node


class InputLayer(Layer):
    """A layer with no inputs whose single node outputs a symbolic tensor."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=False,
                 batch_shape=None, input_tensor=None, name=None, **kwargs):
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=None, **kwargs)
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise ValueError(
                    f"InputLayer '{self.name}': input_tensor must be a symbolic KerasTensor, "
                    f"got {type(input_tensor).__name__}."
                )
            self._input_tensor = input_tensor
            self._batch_shape = input_tensor.shape
            self._input_dtype = input_tensor.dtype
            self.built = True
            return
        if batch_shape is None:
            if shape is None:
                raise ValueError(
                    f"InputLayer '{self.name}': give `shape` (without the batch dimension), "
                    f"e.g. Input(shape=(784,))."
                )
            if isinstance(shape, int):
                shape = (shape,)
            try:
                shape = tuple(None if d is None else int(d) for d in shape)
            except (TypeError, ValueError):
                raise ValueError(
                    f"InputLayer '{self.name}': shape must be a tuple of ints or None, "
                    f"got {shape!r}."
                ) from None
            batch_shape = (batch_size, *shape)
        self._batch_shape = tuple(batch_shape)
        self._input_dtype = tensor_dtype_name(dtype or "float32")
        self.sparse = sparse
        t = KerasTensor(self._batch_shape, self._input_dtype, name=self.name)
        self._input_tensor = t
        self.built = True
        Node(self, (), {}, t)

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def dtype(self) -> str:
        """The dtype of the input: a numeric dtype name, or "string"."""
        return self._input_dtype

    @dtype.setter
    def dtype(self, value) -> None:
        self._input_dtype = tensor_dtype_name(value)

    def call(self, inputs=None):
        return inputs

    def get_config(self) -> dict:
        return {
            "batch_shape": self._batch_shape,
            "dtype": self.dtype,
            "sparse": getattr(self, "sparse", False),
            "name": self.name,
        }


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,  # noqa: N802
          name=None, tensor=None, **kwargs) -> KerasTensor:
    """A symbolic input tensor of the given per-sample `shape` (batch dimension None)."""
    if "batch_input_shape" in kwargs:
        batch_shape = kwargs.pop("batch_input_shape")
    if "input_shape" in kwargs:
        shape = kwargs.pop("input_shape")
    if "ndim" in kwargs:
        kwargs.pop("ndim")
        warnings.warn("Input: 'ndim' is ignored; give 'shape'.", DeprecationWarning, stacklevel=2)
    if kwargs:
        raise TypeError(f"Input got unexpected keyword argument(s) {sorted(kwargs)}.")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=bool(sparse),
                       batch_shape=batch_shape, name=name, input_tensor=tensor)
    return layer._input_tensor
