"""Weight and activity regularizers (Keras names and defaults)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jkeras.backend.by_name import get_by_name, serialize_object


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        x = getattr(x, "value", x)
        out = 0.0
        if self.l1:
            out = out + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            out = out + self.l2 * jnp.sum(jnp.square(x))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1(l1=0.01):  # noqa: D103
    return L1(l1)


def l2(l2=0.01):  # noqa: D103
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):  # noqa: D103
    return L1L2(l1, l2)


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

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2,
            "orthogonal_regularizer": OrthogonalRegularizer,
            "OrthogonalRegularizer": OrthogonalRegularizer}


def get(identifier):
    """A regularizer from a name, a config dict, an instance or a callable (None: none)."""
    return get_by_name("regularizer", _BY_NAME, identifier, "jkeras.regularizers.L2(0.01)")


def serialize(reg):
    """The Keras-style config dict of a regularizer (None for none)."""
    return serialize_object("keras.regularizers", reg)


deserialize = get
