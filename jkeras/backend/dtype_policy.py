"""Dtype policies: the dtype of a layer's variables and of its computation.

'float32' keeps both in float32; 'mixed_bfloat16' / 'mixed_float16' keep
variables in float32 and compute in bfloat16 / float16.
"""

from __future__ import annotations

import threading

import jax.numpy as jnp

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_global_policy = None
_autocast = threading.local()


class DTypePolicy:
    def __init__(self, name: str = "float32"):
        if isinstance(name, DTypePolicy):
            name = name.name
        name = getattr(name, "name", name)
        if name in _MIXED:
            self.name = name
            self.compute_dtype = _MIXED[name]
            self.variable_dtype = "float32"
        else:
            try:
                d = jnp.dtype(name).name
            except TypeError:
                raise ValueError(
                    f"Invalid dtype policy {name!r}: expected a dtype name such as 'float32' "
                    f"or 'mixed_float16' / 'mixed_bfloat16'."
                ) from None
            self.name = d
            self.compute_dtype = self.variable_dtype = d

    @property
    def is_mixed(self) -> bool:
        return self.compute_dtype != self.variable_dtype

    @property
    def quantization_mode(self):
        """None: jkeras has no quantized policies (see docs/keras3-compatibility.md)."""
        return None

    def convert_input(self, x, autocast: bool, dtype):
        """`x` cast to `dtype` when it is a float array and `autocast` is on
        (Keras's rule for layer inputs)."""
        import jax.numpy as jnp

        if autocast and hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) \
                and jnp.dtype(x.dtype) != jnp.dtype(dtype):
            return jnp.asarray(x).astype(dtype)
        return x

    @classmethod
    def from_config(cls, config: dict) -> DTypePolicy:
        return cls(**config)

    def get_config(self) -> dict:
        return {"name": self.name}

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    __hash__ = object.__hash__


class FloatDTypePolicy(DTypePolicy):
    """Keras 3's name for a policy of float dtypes (kept for compatibility)."""


Policy = DTypePolicy


def set_global_policy(policy) -> None:
    """Sets the policy of layers created from now on (None: back to floatx)."""
    global _global_policy
    _global_policy = None if policy is None else DTypePolicy(policy)


def global_policy() -> DTypePolicy:
    if _global_policy is not None:
        return _global_policy
    from jkeras.backend.config import floatx

    return DTypePolicy(floatx())


def get(dtype) -> DTypePolicy:
    """A policy from None (the global policy), a name, a dtype, a dict or a policy."""
    if dtype is None:
        return global_policy()
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name", "float32")
    if isinstance(dtype, DTypePolicy):
        return dtype
    return DTypePolicy(dtype)


class autocast:  # noqa: N801
    """While active, reading a float variable returns it cast to `dtype`."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.prev = getattr(_autocast, "dtype", None)
        _autocast.dtype = self.dtype
        return self

    def __exit__(self, *exc):
        _autocast.dtype = self.prev
        return False


def autocast_dtype():
    return getattr(_autocast, "dtype", None)
