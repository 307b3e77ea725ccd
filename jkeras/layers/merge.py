"""Merge layers (Concatenate, Add, Subtract, Multiply, Average, Maximum,
Minimum, Dot), their lowercase functions, and the Keras 1 `merge`."""

from __future__ import annotations

import functools
import warnings

import jax.numpy as jnp

from jkeras.engine.layer import Layer


class _Merge(Layer):
    """Elementwise merge of a list of same-shaped tensors (with broadcasting)."""

    _min_inputs = 2

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _validate_input(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self._min_inputs:
            given = (f"{len(inputs)} tensor(s)" if isinstance(inputs, (list, tuple))
                     else f"a single {type(inputs).__name__}")
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) must be called on a list of at "
                f"least {self._min_inputs} tensors, got {given}."
            )
        self._check_shapes([tuple(x.shape) for x in inputs])

    def _check_shapes(self, shapes):
        ref = shapes[0]
        for s in shapes[1:]:
            a, b = ref[1:], s[1:]
            if len(a) != len(b):
                raise self._shape_error(shapes)
            for da, db in zip(a, b):
                if da is not None and db is not None and da != db and 1 not in (da, db):
                    raise self._shape_error(shapes)

    def _shape_error(self, shapes):
        return ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) needs inputs of the same shape "
            f"(except the batch axis), but got shapes {shapes}. Reshape or project the "
            f"inputs (e.g. with Dense) so they match."
        )

    def _merge(self, xs):
        raise NotImplementedError

    def call(self, inputs):
        return self._merge(list(inputs))

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        ms = [m for m in mask if m is not None]
        return functools.reduce(jnp.logical_and, ms)


class Add(_Merge):
    def _merge(self, xs):
        return functools.reduce(jnp.add, xs)


class Subtract(_Merge):
    def _validate_input(self, inputs):
        super()._validate_input(inputs)
        if len(inputs) != 2:
            raise ValueError(f"Subtract '{self.name}' takes exactly 2 inputs, got {len(inputs)}.")

    def _merge(self, xs):
        return xs[0] - xs[1]


class Multiply(_Merge):
    def _merge(self, xs):
        return functools.reduce(jnp.multiply, xs)


class Average(_Merge):
    def _merge(self, xs):
        return functools.reduce(jnp.add, xs) / len(xs)


class Maximum(_Merge):
    def _merge(self, xs):
        return functools.reduce(jnp.maximum, xs)


class Minimum(_Merge):
    def _merge(self, xs):
        return functools.reduce(jnp.minimum, xs)


class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        for s in shapes:
            if len(s) != rank:
                raise self._concat_error(shapes)
            for i, (a, b) in enumerate(zip(shapes[0], s)):
                if i not in (0, axis) and a is not None and b is not None and a != b:
                    raise self._concat_error(shapes)

    def _concat_error(self, shapes):
        return ValueError(
            f"Layer '{self.name}' (Concatenate, axis={self.axis}) needs inputs whose shapes "
            f"match except on the concatenation axis, but got shapes {shapes}."
        )

    def _merge(self, xs):
        dtype = jnp.result_type(*xs)
        return jnp.concatenate([x.astype(dtype) for x in xs], axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = jnp.ones(x.shape[:-1] if self.axis in (-1, x.ndim - 1) else x.shape, bool)
            full.append(m)
        if self.axis in (-1, inputs[0].ndim - 1):
            return functools.reduce(jnp.logical_and, full)
        return jnp.concatenate(full, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two tensors over `axes` for each sample (cosine
    similarity with `normalize=True`)."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = False

    def _check_shapes(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"Dot '{self.name}' takes exactly 2 inputs, got {len(shapes)}.")
        a, b = shapes
        ax = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        da, db = a[ax[0]], b[ax[1]]
        if da is not None and db is not None and da != db:
            raise ValueError(
                f"Dot '{self.name}': dimension {ax[0]} of the first input ({da}) and "
                f"dimension {ax[1]} of the second ({db}) must be equal; shapes {shapes}."
            )

    def _merge(self, xs):
        from jkeras.ops.numpy import _batch_dot

        x, y = xs
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        axes = [a % x.ndim if i == 0 else a % y.ndim for i, a in enumerate(axes)]
        if self.normalize:
            x = x / jnp.maximum(jnp.linalg.norm(x, axis=axes[0], keepdims=True), 1e-12)
            y = y / jnp.maximum(jnp.linalg.norm(y, axis=axes[1], keepdims=True), 1e-12)
        return _batch_dot(x, y, axes)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _functional(cls):
    def fn(inputs, **kwargs):
        return cls(**kwargs)(inputs)

    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = f"Functional interface to the {cls.__name__} layer."
    return fn


add = _functional(Add)
subtract = _functional(Subtract)
multiply = _functional(Multiply)
average = _functional(Average)
maximum = _functional(Maximum)
minimum = _functional(Minimum)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to the Concatenate layer."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    """Functional interface to the Dot layer."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


_MODES = {
    "concat": "concatenate", "sum": "add", "mul": "multiply", "ave": "average",
    "max": "maximum", "dot": "dot", "cos": "dot(normalize=True)",
}


def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, name=None,
          **kwargs):
    """Keras 1 `merge(inputs, mode=...)`: 'concat', 'sum', 'mul', 'ave', 'max', 'dot',
    'cos'. Prefer the modern layers (concatenate, add, multiply, ...)."""
    if callable(mode):
        raise ValueError(
            "merge: a callable mode is not supported; use a Lambda layer on the list of "
            "inputs instead."
        )
    if mode not in _MODES:
        raise ValueError(f"merge: unknown mode {mode!r}; expected one of {sorted(_MODES)}.")
    warnings.warn(
        f"merge(mode='{mode}') is the Keras 1 API; use {_MODES[mode]}(...) instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    if mode == "concat":
        layer = Concatenate(axis=concat_axis, name=name, **kwargs)
    elif mode in ("dot", "cos"):
        layer = Dot(axes=dot_axes, normalize=(mode == "cos"), name=name, **kwargs)
    else:
        layer = {"sum": Add, "mul": Multiply, "ave": Average, "max": Maximum}[mode](
            name=name, **kwargs
        )
    return layer(inputs)


class Merge(Layer):
    """Keras 1 `Merge` layer class: use the modern merge layers instead."""

    def __init__(self, *args, **kwargs):
        raise TypeError(
            "The Keras 1 `Merge` layer (which merged Sequential models) is not supported; "
            "use the functional API with concatenate/add/... on tensors."
        )
