"""KerasTensor: a symbolic tensor of known shape (batch dim None) and dtype.

A KerasTensor is produced by `Input` or by calling a layer/op on symbolic
tensors, and remembers the node that made it (`_keras_history`). It compares
and hashes by identity. Arithmetic operators record graph nodes through
`jkeras.ops`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def tensor_dtype_name(dtype) -> str:
    """The dtype name of a tensor: a numpy/JAX dtype's name, or "string" (an input
    of text, which only host preprocessing layers take)."""
    if dtype in ("string", str, "str", object, "object", np.str_, np.object_):
        return "string"
    return jnp.dtype(dtype).name


class KerasTensor:
    __array_priority__ = 1000

    def __init__(self, shape, dtype="float32", name: str | None = None, sparse: bool = False):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = tensor_dtype_name(dtype)
        self.name = name
        self.sparse = sparse
        self._keras_history = None  # (operation, node_index, tensor_index)
        self._keras_mask = None  # KerasTensor or None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def spec(self, batch: int):
        import jax

        if self.dtype == "string":
            raise TypeError(
                f"A string tensor ({self.name or 'string input'}, shape {self.shape}) can only "
                f"go into host preprocessing layers (TextVectorization, StringLookup, "
                f"Hashing, HashedCrossing, ...), which turn strings into numbers; JAX "
                f"computes on numbers only."
            )
        shape = tuple(batch if d is None else d for d in self.shape)
        return jax.ShapeDtypeStruct(shape, self.dtype)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no truth value: it stands for data that is only known "
            "when the model runs. Use jkeras.ops functions (e.g. ops.where) instead of Python "
            "`if` on it."
        )

    def __len__(self):
        if self.shape and self.shape[0] is not None:
            return self.shape[0]
        raise TypeError("len() of a KerasTensor whose first dimension is unknown.")

    def __iter__(self):
        raise TypeError("A KerasTensor is not iterable; slice it with t[i] instead.")

    def __array__(self, dtype=None):
        raise TypeError(
            "A symbolic KerasTensor cannot be converted to a numpy array: it has no value. "
            "Build a Model from it and call model.predict(data)."
        )

    # operators -------------------------------------------------------------
    def _op(name):  # noqa: N805
        def method(self, *args):
            from jkeras import ops

            return getattr(ops, name)(self, *args)

        return method

    def _rop(name):  # noqa: N805
        def method(self, other):
            from jkeras import ops

            return getattr(ops, name)(other, self)

        return method

    __add__ = _op("add")
    __radd__ = _rop("add")
    __sub__ = _op("subtract")
    __rsub__ = _rop("subtract")
    __mul__ = _op("multiply")
    __rmul__ = _rop("multiply")
    __truediv__ = _op("true_divide")
    __rtruediv__ = _rop("true_divide")
    __floordiv__ = _op("floor_divide")
    __rfloordiv__ = _rop("floor_divide")
    __mod__ = _op("mod")
    __rmod__ = _rop("mod")
    __pow__ = _op("power")
    __rpow__ = _rop("power")
    __matmul__ = _op("matmul")
    __rmatmul__ = _rop("matmul")
    __neg__ = _op("negative")
    def __pos__(self):
        """`+x` is `x` (no graph node: Keras 3 has no op to load one from a file)."""
        return self
    __abs__ = _op("abs")
    __invert__ = _op("logical_not")
    __lt__ = _op("less")
    __le__ = _op("less_equal")
    __gt__ = _op("greater")
    __ge__ = _op("greater_equal")
    __and__ = _op("logical_and")
    __or__ = _op("logical_or")
    __getitem__ = _op("getitem")
    del _op, _rop

    @property
    def T(self):  # noqa: N802
        from jkeras import ops

        return ops.transpose(self)

    def reshape(self, *shape):
        from jkeras import ops

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def astype(self, dtype):
        from jkeras import ops

        return ops.cast(self, dtype)


def is_keras_tensor(x) -> bool:
    """True if x is a symbolic KerasTensor."""
    return isinstance(x, KerasTensor)


def any_symbolic(*structures) -> bool:
    """True if any leaf of the given nested structures is a KerasTensor."""
    stack = list(structures)
    while stack:
        x = stack.pop()
        if isinstance(x, KerasTensor):
            return True
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return False


def standardize_shape(shape) -> tuple:
    if shape is None:
        raise ValueError("shape must not be None.")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    return tuple(None if d is None else int(d) for d in shape)
