"""InputSpec: what a layer accepts as its first call argument (rank, dtype, shape,
fixed axes), and the check the engine runs against it on every call.

A layer sets `self.input_spec` to an `InputSpec`, or to a list of them (one per
input tensor, possibly named for dict inputs); `Layer.__call__` then raises a
ValueError naming the layer, the input and the expectation when an input does not
fit. `None` in a shape matches any size.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _dtype_name(dtype) -> str:
    try:
        return jnp.dtype(dtype).name
    except TypeError:
        return str(dtype)


def _optional_int(owner: str, name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{owner}: '{name}' must be a non-negative integer or None, "
                        f"got {value!r}.")
    return int(value)


class InputSpec:
    """The rank, dtype and shape a layer expects of one input tensor.

    Args:
        dtype: the expected dtype.
        shape: the expected shape, batch axis included (`None` for any size);
            sets `ndim` to its length.
        ndim, max_ndim, min_ndim: the exact / largest / smallest accepted rank.
        axes: `{axis: size}` for axes whose size is fixed (negative axes count
            from the end).
        allow_last_axis_squeeze: also accept one rank more or less when the
            extra last axis has size 1.
        name: the key of this input when inputs are passed as a dict.
        optional: whether the input may be None.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        owner = "InputSpec"
        self.dtype = _dtype_name(dtype) if dtype is not None else None
        if shape is not None:
            self.shape = tuple(None if d is None else int(d) for d in shape)
            self.ndim = len(self.shape)
        else:
            self.shape = None
            self.ndim = _optional_int(owner, "ndim", ndim)
        self.max_ndim = _optional_int(owner, "max_ndim", max_ndim)
        self.min_ndim = _optional_int(owner, "min_ndim", min_ndim)
        self.allow_last_axis_squeeze = bool(allow_last_axis_squeeze)
        self.name = name
        self.optional = bool(optional)
        try:
            axes = axes or {}
            self.axes = {int(k): axes[k] for k in axes}
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}: 'axes' must be a dict with integer keys (axis -> size), got "
                f"{axes!r}."
            ) from None
        limit = self.ndim if self.ndim is not None else self.max_ndim
        if self.axes and limit is not None and max(self.axes) > limit - 1:
            raise ValueError(
                f"{owner}: axis {max(self.axes)} in 'axes' is out of range for inputs of at "
                f"most rank {limit} (largest allowed axis: {limit - 1})."
            )

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in (
            ("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
            ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
            ("axes", self.axes)) if v]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes,
                "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict) -> InputSpec:
        return cls(**config)


def _flat(structure) -> list:
    return jax.tree_util.tree_leaves(structure, is_leaf=lambda x: x is None or isinstance(
        x, InputSpec) or hasattr(x, "shape"))


def _mismatch(index: int, spec: InputSpec, layer_name: str, what: str) -> ValueError:
    label = f"Input {index}" + (f" ('{spec.name}')" if spec.name else "")
    return ValueError(f"{label} of layer '{layer_name}' is incompatible with the layer: {what}")


def _check_one(index: int, x, spec: InputSpec, layer_name: str) -> None:
    if not hasattr(x, "shape"):
        raise ValueError(
            f"Inputs to layer '{layer_name}' must be tensors, but input {index} is "
            f"{type(x).__name__} {x!r:.60}."
        )
    shape = tuple(None if d is None else int(d) for d in x.shape)
    ndim = len(shape)
    full = f"Full shape received: {shape}."
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
        raise _mismatch(index, spec, layer_name, f"expected ndim={spec.ndim}, found "
                        f"ndim={ndim}. {full}")
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        raise _mismatch(index, spec, layer_name, f"expected max_ndim={spec.max_ndim}, found "
                        f"ndim={ndim}. {full}")
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        raise _mismatch(index, spec, layer_name, f"expected min_ndim={spec.min_ndim}, found "
                        f"ndim={ndim}. {full}")
    if spec.dtype is not None:
        dtype = _dtype_name(x.dtype)
        if dtype != spec.dtype:
            raise _mismatch(index, spec, layer_name, f"expected dtype={spec.dtype}, found "
                            f"dtype={dtype}. Cast the input first.")
    for axis, size in spec.axes.items():
        if size is None:
            continue
        if not -ndim <= axis < ndim:
            raise _mismatch(index, spec, layer_name, f"expected an axis {axis} of size "
                            f"{size}, but the input has rank {ndim}. {full}")
        if shape[axis] not in (size, None):
            raise _mismatch(index, spec, layer_name, f"expected axis {axis} of the input "
                            f"to have size {size}. {full}")
    if spec.shape is not None:
        expected, got = spec.shape, shape
        if spec.allow_last_axis_squeeze:
            got = got[:-1] if got and got[-1] == 1 else got
            expected = expected[:-1] if expected and expected[-1] == 1 else expected
        if any(e is not None and g is not None and e != g for e, g in zip(expected, got)):
            raise _mismatch(index, spec, layer_name, f"expected shape={spec.shape}, found "
                            f"shape={shape}.")


def assert_input_compatibility(input_spec, inputs, layer_name: str) -> None:
    """Raises a ValueError naming `layer_name` unless `inputs` (a tensor, a list or a
    dict of them) fit `input_spec` (an InputSpec or a list of them; None accepts
    anything)."""
    if not input_spec:
        return
    specs = _flat(input_spec)
    if isinstance(inputs, dict):
        names = [s.name if s is not None else None for s in specs]
        if names and all(names):
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(
                    f"Layer '{layer_name}' expects inputs named {names}, but the dict it was "
                    f"called on has keys {sorted(inputs)} (missing {missing})."
                )
            inputs = [inputs[n] for n in names]
    tensors = _flat(inputs)
    if len(tensors) != len(specs):
        raise ValueError(
            f"Layer '{layer_name}' expects {len(specs)} input(s), but it was called on "
            f"{len(tensors)} input tensor(s)."
        )
    for i, (x, spec) in enumerate(zip(tensors, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        _check_one(i, x, spec, layer_name)


__all__ = ["InputSpec", "assert_input_compatibility"]
