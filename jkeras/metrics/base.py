"""Metric base class and the reduction metrics Mean, Sum and MeanMetricWrapper.

A metric's state lives in jkeras `Variable`s created with `add_variable`.
`update_state` reads them with `.value` and writes with `.assign(...)`, so
the same code runs eagerly (mutating the variables) or inside a
`StatelessScope` under `jax.jit` (recording the new values in the scope).
`stateless_update_state` / `stateless_result` / `stateless_reset_state`
wrap that scope for callers holding the metric state as a list of arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import config as _config
from jkeras.backend import naming as _naming
from jkeras.backend import scope as _scope
from jkeras.engine.variable import Variable
from jkeras.losses import apply_mask, squeeze_or_expand_to_same_rank


def divide_no_nan(a, b):
    """a / b, with 0 where b == 0."""
    a = jnp.asarray(a)
    b = jnp.asarray(b)
    safe = jnp.where(b == 0, jnp.ones_like(b), b)
    return jnp.where(b == 0, jnp.zeros_like(a / safe), a / safe)


class Metric:
    """Base metric. Subclasses create their state with `add_variable` in
    `__init__` and implement `update_state(y_true, y_pred, sample_weight=None)`
    (pure jnp + `var.assign`) and `result()`."""

    _is_metric = True  # models track metrics kept as attributes (Model.metrics)

    def __init__(self, dtype=None, name: str | None = None):
        self.name = name or _naming.unique_name(_naming.to_snake_case(type(self).__name__))
        self._dtype = dtype
        self._variables: list[Variable] = []
        # "up" (higher is better), "down" or None; used by callbacks in 'auto' mode.
        self._direction = getattr(self, "_direction", None)

    @property
    def dtype(self) -> str:
        return self._dtype or _config.floatx()

    # state --------------------------------------------------------------------
    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation: str = "sum",
                     name: str | None = None) -> Variable:
        """Creates a non-trainable state variable owned by this metric."""
        from jkeras import initializers

        if not hasattr(self, "_variables"):
            raise RuntimeError(
                f"Metric {type(self).__name__}: call super().__init__() before add_variable()."
            )
        name = name or f"variable_{len(self._variables)}"
        var = Variable(
            initializers.get(initializer),
            shape=tuple(int(d) for d in shape),
            dtype=dtype or self.dtype,
            trainable=False,
            name=name,
            path=f"{self.name}/{name}",
            aggregation=aggregation,
        )
        self._variables.append(var)
        return var

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None,
                   aggregation: str = "sum", **kwargs) -> Variable:
        """Keras 2 (`add_weight(name, shape, ...)`) and Keras 3
        (`add_weight(shape, initializer, dtype, name)`) spelling of `add_variable`."""
        if name is not None and not isinstance(name, str):  # Keras 3 positional shape
            name, shape = kwargs.pop("name", None), name
        kwargs.pop("synchronization", None)
        if kwargs:
            raise TypeError(f"Metric.add_weight got unexpected arguments {sorted(kwargs)}.")
        return self.add_variable(shape=shape, initializer=initializer or "zeros", dtype=dtype,
                                 aggregation=aggregation, name=name)

    @property
    def variables(self) -> list[Variable]:
        """The metric's state variables, in creation order."""
        return list(self._variables)

    weights = variables

    # API ----------------------------------------------------------------------
    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self) -> None:
        """Sets every state variable back to zeros."""
        for v in self._variables:
            v.assign(np.zeros(v.shape, jnp.dtype(v.dtype)))  # host zeros: no compile

    def reset_states(self) -> None:
        """Keras 2 name of `reset_state`."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        """Updates the state with this batch and returns the new result."""
        self.update_state(*args, **kwargs)
        return self.result()

    # pure forms ------------------------------------------------------------------
    def _run_in_scope(self, metric_variables, fn):
        values = list(metric_variables)
        if len(values) != len(self._variables):
            raise ValueError(
                f"Metric '{self.name}' has {len(self._variables)} variables but "
                f"{len(values)} values were given. Pass one array per `metric.variables` entry."
            )
        values = [x.value if getattr(x, "_is_variable", False) else x for x in values]
        mapping = {id(v): jnp.asarray(x) for v, x in zip(self._variables, values)}
        with _scope.StatelessScope(mapping, collect_losses=False) as s:
            out = fn()
        new_values = [s.updates.get(id(v), x) for v, x in zip(self._variables, values)]
        return out, new_values

    def stateless_update_state(self, metric_variables, *args, **kwargs) -> list:
        """Pure `update_state`: returns the new variable values, leaves the metric unchanged."""
        return self._run_in_scope(metric_variables, lambda: self.update_state(*args, **kwargs))[1]

    def stateless_result(self, metric_variables):
        """Pure `result()` computed from the given variable values."""
        return self._run_in_scope(metric_variables, self.result)[0]

    def stateless_reset_state(self) -> list:
        """The variable values after `reset_state()` (the metric is left unchanged)."""
        return self._run_in_scope([v.value for v in self._variables], self.reset_state)[1]

    # config ----------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras's weighting rule for Mean/Sum: weights aligned with values
    (squeeze/expand), values reduced to the weights' rank, multiplied, then
    both reduced to one value per sample."""
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight).astype(dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_nd, v_nd = sample_weight.ndim, values.ndim
        if v_nd > w_nd:
            values = reduce_fn(values, axis=tuple(range(w_nd, v_nd)))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_nd > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_nd)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


def _mean_delta(fn, fn_kwargs, dtype, y_true, values, sample_weight, mask, config_key=None):
    """(sum of weighted per-sample values, weight count) for one batch; with
    `fn`, the values are fn(y_true, values, **fn_kwargs)."""
    if fn is not None:
        values = fn(y_true, values, **dict(fn_kwargs))
        sample_weight = apply_mask(sample_weight, mask, dtype, "sum")
    values, sample_weight = reduce_to_samplewise_values(values, sample_weight, jnp.mean, dtype)
    if sample_weight is not None:
        count = jnp.sum(sample_weight)
    elif values.ndim >= 1:
        count = values.shape[0]
    else:
        count = 1
    return jnp.sum(values), jnp.asarray(count, dtype)


# Compiled once per (function, kwargs, dtype, shapes): eagerly this replaces one
# compilation per operation; under an outer jit it is inlined.
_mean_delta_jit = jax.jit(_mean_delta, static_argnums=(0, 1, 2, 7))

# Metric functions known to be pure jnp (registered by jkeras.metrics).
JIT_SAFE_FUNCTIONS: set = set()


class Sum(Metric):
    """The (weighted) sum of the given values."""

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = reduce_to_samplewise_values(values, sample_weight, jnp.sum, self.dtype)
        self.total.assign(self.total.value + jnp.sum(values))

    def result(self):
        return self.total.value


class Mean(Metric):
    """The (weighted) mean of the given values: total / count."""

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values, sample_weight=None) -> None:
        total, count = _mean_delta_jit(
            None, (), self.dtype, None, jnp.asarray(values),
            None if sample_weight is None else jnp.asarray(sample_weight), None,
            _config.epsilon())
        self.total.assign(self.total.value + total)
        self.count.assign(self.count.value + count)

    def result(self):
        return divide_no_nan(self.total.value, self.count.value)


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` over all samples seen.
    `fn` returns per-sample values (any shape with a leading batch axis)."""

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper needs a callable fn, got {fn!r}.")
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper",
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        from jkeras import losses

        if fn in losses.ALL_OBJECTS or type(fn) in losses.ALL_OBJECTS:
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None, *, mask=None) -> None:
        """Adds this batch. `mask` (optional, boolean, per-sample shape) drops entries."""
        args = (jnp.asarray(y_true), jnp.asarray(y_pred),
                None if sample_weight is None else jnp.asarray(sample_weight),
                None if mask is None else jnp.asarray(mask))
        kwargs = tuple(sorted(self._fn_kwargs.items()))
        delta = _mean_delta
        if self._fn in JIT_SAFE_FUNCTIONS:
            try:
                hash(kwargs)
                delta = _mean_delta_jit
            except TypeError:
                pass
        total, count = delta(self._fn, kwargs, self.dtype, *args, _config.epsilon())
        self.total.assign(self.total.value + total)
        self.count.assign(self.count.value + count)

    def get_config(self) -> dict:
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", None)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if cls is MeanMetricWrapper:
            fn = config.pop("fn")
            if isinstance(fn, str):
                from jkeras import metrics

                fn = metrics.get_function(fn)
            return cls(fn, **config)
        return cls(**config)
