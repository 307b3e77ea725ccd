"""Weight and activity regularizers (Keras names and defaults)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jkeras.backend.by_name import get_by_name, serialize_object


class Regularizer:
    """Base class: `regularizer(weight)` returns a scalar penalty added to the loss."""

    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _factor(value, default: float, name: str, owner: str) -> float:
    """A penalty factor as Keras 3 takes it: None means `default`; anything but a
    finite non-negative number is a ValueError."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            not math.isfinite(value)) or value < 0:
        raise ValueError(
            f"{owner}: `{name}` must be a non-negative float, got {value!r}. "
            f"Example: {owner}({name}=0.01)."
        )
    return float(value)


def _keras1_factor(owner: str, name: str, value, legacy: dict):
    """Keras 1 wrote `l1(l=0.01)` / `l2(l=0.01)`: takes `l` for the factor."""
    if not legacy:
        return value
    unknown = sorted(set(legacy) - {"l"})
    if unknown:
        raise TypeError(f"{owner}() got unexpected keyword arguments {unknown}; it takes "
                        f"`{name}` (Keras 1's `l` is accepted too).")
    return legacy["l"]


def _penalty(x, l1: float, l2: float):
    x = jnp.asarray(getattr(x, "value", x))
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    out = jnp.zeros((), dtype)
    if l1:
        out = out + jnp.asarray(l1, dtype) * jnp.sum(jnp.abs(x)).astype(dtype)
    if l2:
        out = out + jnp.asarray(l2, dtype) * jnp.sum(jnp.square(x)).astype(dtype)
    return out


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x**2)`. Both factors default to 0 (Keras 3); `None`
    means 0. `l1_l2` is this class (Keras 3), so Keras 2's
    `l1_l2(l1=0.01, l2=0.01)` builds the same regularizer."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, 0.0, "l1", "L1L2")
        self.l2 = _factor(l2, 0.0, "l2", "L1L2")

    def __call__(self, x):
        return _penalty(x, self.l1, self.l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """`l1 * sum(|x|)`; `l1` defaults to 0.01 (also when None)."""

    def __init__(self, l1=0.01, **keras1):
        self.l1 = _factor(_keras1_factor("L1", "l1", l1, keras1), 0.01, "l1", "L1")

    def __call__(self, x):
        return _penalty(x, self.l1, 0.0)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x**2)`; `l2` defaults to 0.01 (also when None)."""

    def __init__(self, l2=0.01, **keras1):
        self.l2 = _factor(_keras1_factor("L2", "l2", l2, keras1), 0.01, "l2", "L2")

    def __call__(self, x):
        return _penalty(x, 0.0, self.l2)

    def get_config(self):
        return {"l2": self.l2}


# Keras 3: the lower-case names are the classes themselves (`l2 is L2`).
l1 = L1
l2 = L2
l1_l2 = L1L2


def _keras1(config: dict):
    """A regularizer from a Keras 1 config: {'name': 'WeightRegularizer' /
    'ActivityRegularizer' / 'L1L2Regularizer', 'l1': .., 'l2': ..}."""
    return L1L2(l1=config.get("l1", 0.0), l2=config.get("l2", 0.0))


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (`mode="rows"`) or columns (`mode="columns"`) of a 2D
    weight towards mutual orthogonality: factor * mean over distinct pairs of
    |cosine similarity| (computed as 0.5 * sum of the off-diagonal |products| of
    the L2-normalized vectors / number of pairs). A single row/column gives 0."""

    def __init__(self, factor=0.01, mode="rows"):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or \
                not math.isfinite(factor) or factor < 0:
            raise ValueError(
                f"OrthogonalRegularizer: factor must be a non-negative float, got {factor!r}."
            )
        if mode not in ("rows", "columns"):
            raise ValueError(
                f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got {mode!r}."
            )
        self.factor = float(factor)
        self.mode = mode

    def __call__(self, x):
        x = jnp.asarray(getattr(x, "value", x))
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer needs a rank-2 weight, got shape {tuple(x.shape)}."
            )
        if x.shape[0 if self.mode == "rows" else 1] < 2:
            return jnp.zeros((), x.dtype)
        return _orthogonality_penalty(x, self.factor, self.mode == "rows")

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


@functools.partial(jax.jit, static_argnums=(2,))
def _orthogonality_penalty(x, factor, rows: bool):
    vectors = x if rows else x.T
    norms = jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(vectors), axis=1, keepdims=True), 1e-12))
    vectors = vectors / norms
    size = vectors.shape[0]
    off_diagonal = jnp.abs(vectors @ vectors.T) * (1.0 - jnp.eye(size, dtype=x.dtype))
    return factor * 0.5 * jnp.sum(off_diagonal) / (size * (size - 1) / 2.0)


orthogonal_regularizer = OrthogonalRegularizer  # Keras 3: the lower-case name is the class

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, "L1": L1, "L2": L2,
            "L1L2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer,
            "OrthogonalRegularizer": OrthogonalRegularizer, "Regularizer": Regularizer,
            "regularizer": Regularizer}
_KERAS1_NAMES = ("WeightRegularizer", "ActivityRegularizer", "L1L2Regularizer")


def get(identifier):
    """A regularizer from a name, a config dict (Keras 1, 2 or 3), an instance or a
    callable (None: none)."""
    if isinstance(identifier, str) and identifier == "l1_l2":
        # Keras 2, and Keras 3's documentation: the string means l1=l2=0.01 (Keras 3.15
        # itself no longer resolves it)
        return L1L2(l1=0.01, l2=0.01)
    if isinstance(identifier, dict) and identifier.get("name") in _KERAS1_NAMES and (
            "class_name" not in identifier):
        return _keras1(identifier)
    if isinstance(identifier, dict) and identifier.get("class_name") in _KERAS1_NAMES:
        return _keras1(identifier.get("config") or {})
    return get_by_name("regularizer", _BY_NAME, identifier, "jkeras.regularizers.L2(0.01)")


def serialize(reg):
    """The Keras-style config dict of a regularizer (None for none)."""
    return serialize_object("keras.regularizers", reg)


deserialize = get
