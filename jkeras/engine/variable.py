"""Variable: a named, mutable array owned by a layer.

Reading `.value` inside a `StatelessScope` returns the scope's value for the
variable (a traced array in compiled code); assigning inside a scope records
the update there instead of mutating the variable.
"""

from __future__ import annotations

import contextvars

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import random as _random
from jkeras.backend import scope as _scope
from jkeras.backend.dtype_policy import autocast_dtype as _autocast_dtype

# Set by loaders (jkeras.saving) to an object with `charge_shape(shape, dtype, what)`
# that bounds what a file can make us allocate; None (the default) = no bound.
_ALLOCATION_LIMIT: contextvars.ContextVar = contextvars.ContextVar(
    "jkeras_allocation_limit", default=None
)


def host_array(value) -> np.ndarray:
    """A numpy copy of an array, also of one split across processes (then gathered
    from all of them: a collective every process must reach)."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.array(multihost_utils.process_allgather(value, tiled=True))
    return np.array(value)


class Variable:
    _is_variable = True

    def __init__(self, initializer, shape=None, dtype=None, trainable: bool = True,
                 name: str = "variable", path: str | None = None, constraint=None,
                 regularizer=None, aggregation: str = "mean"):
        self.name = name
        self.path = path or name
        self.trainable = bool(trainable)
        self.constraint = constraint
        self.regularizer = regularizer
        self.aggregation = aggregation
        self._pending = None
        if callable(initializer):
            if shape is None:
                raise ValueError(f"Variable '{self.path}': a shape is needed with an initializer.")
            # Initial values are made on first use: a model can be built, summarised
            # and counted without allocating its weights. The random stream position
            # is reserved now, so values do not depend on the order of first use.
            self._shape = tuple(int(d) for d in shape)
            self._dtype = jnp.dtype(dtype or "float32").name
            limit = _ALLOCATION_LIMIT.get()
            if limit is not None:  # a file being loaded may not ask for more than it holds
                limit.charge_shape(self._shape, self._dtype, self.path)
            self._pending = (initializer, _random.reserve_host_seed())
            self._array = None
            return
        self._array = jnp.asarray(initializer, dtype=dtype)
        self._shape = tuple(self._array.shape)
        self._dtype = jnp.dtype(self._array.dtype).name
        if shape is not None and self._shape != tuple(shape):
            raise ValueError(
                f"Variable '{self.path}': initial value has shape {self._shape}, "
                f"expected {tuple(shape)}."
            )

    @property
    def _value(self) -> jax.Array:
        if self._array is None:
            initializer, seed = self._pending
            # first use may happen while tracing: compute the value eagerly
            with _random.host_seed(seed), jax.ensure_compile_time_eval():
                value = jnp.asarray(initializer(self._shape, dtype=self._dtype), self._dtype)
            if tuple(value.shape) != self._shape:
                raise ValueError(
                    f"Variable '{self.path}': the initializer returned shape {value.shape}, "
                    f"expected {self._shape}."
                )
            self._array = value
            self._pending = None
        return self._array

    @_value.setter
    def _value(self, value) -> None:
        self._array = value
        self._pending = None

    @property
    def value(self) -> jax.Array:
        v = self._current()
        cast = _autocast_dtype()
        if cast is not None and v.dtype != cast and jnp.issubdtype(v.dtype, jnp.floating):
            return v.astype(cast)
        return v

    def _current(self) -> jax.Array:
        s = _scope.current()
        if s is not None:
            v = s.updates.get(id(self))
            if v is not None:
                return v
            v = s.values.get(id(self))
            if v is not None:
                return v
        return self._value

    def assign(self, value) -> None:
        """Sets a new value of the same shape (recorded in the scope if one is active)."""
        value = jnp.asarray(value, dtype=self._dtype)
        if tuple(value.shape) != self._shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable '{self.path}' "
                f"of shape {self._shape}."
            )
        s = _scope.current()
        if s is not None and (id(self) in s.values or s.record_all):
            s.updates[id(self)] = value
        else:
            self._value = value

    def assign_add(self, delta) -> None:
        self.assign(self._current() + delta)

    def assign_sub(self, delta) -> None:
        self.assign(self._current() - delta)

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def numpy(self) -> np.ndarray:
        """The value as a numpy array (gathered from every process when it is split
        across processes: all processes must call this together)."""
        return host_array(self.value)

    def __jax_array__(self):
        """`jnp.asarray(variable)` gives its value."""
        return self.value

    def __array__(self, dtype=None, copy=None):
        a = host_array(self.value)
        return a.astype(dtype) if dtype is not None else a

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    # arithmetic delegates to the value -------------------------------------
    def _bin(fn, reverse=False):  # noqa: N805
        def method(self, other):
            if getattr(other, "_is_variable", False):
                other = other.value
            return fn(other, self.value) if reverse else fn(self.value, other)

        return method

    __add__ = _bin(jnp.add)
    __radd__ = _bin(jnp.add, True)
    __sub__ = _bin(jnp.subtract)
    __rsub__ = _bin(jnp.subtract, True)
    __mul__ = _bin(jnp.multiply)
    __rmul__ = _bin(jnp.multiply, True)
    __truediv__ = _bin(jnp.true_divide)
    __rtruediv__ = _bin(jnp.true_divide, True)
    __matmul__ = _bin(jnp.matmul)
    __rmatmul__ = _bin(jnp.matmul, True)
    __pow__ = _bin(jnp.power)
    __lt__ = _bin(jnp.less)
    __gt__ = _bin(jnp.greater)
    del _bin

    def __neg__(self):
        return -self.value

    def __getitem__(self, key):
        return self.value[key]

    __hash__ = object.__hash__


def _flatten_variable(v: Variable):
    return (v._current(),), None


def _unflatten_variable(_, children):
    return children[0]


# A Variable is a pytree with one leaf, its current value: `jax.jit`, `jax.device_put`
# and `jax.tree_util` see the value, so the state of Keras 3's stateless training loops
# (`model.trainable_variables`, `optimizer.variables`, ...) can be passed to a jitted
# function as is, and comes back as arrays. (Keras 3.15 relies on `__jax_array__`
# there, which JAX no longer accepts in jit arguments.)
def register_variable_class(cls) -> None:
    """Makes a Variable subclass a pytree like Variable (JAX registers exact types)."""
    jax.tree_util.register_pytree_node(cls, _flatten_variable, _unflatten_variable)


register_variable_class(Variable)

