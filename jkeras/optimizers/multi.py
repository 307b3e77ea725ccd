"""Routing variables to different optimizers: `OptimizerMap` (variable path
or regex -> optimizer, with a default) and `MultiOptimizer`, which updates
each variable with the optimizer its map (or selector function) gives.

The MultiOptimizer's state is its step count plus the sub-optimizers' own
states; each sub-optimizer sees only its variables (its clipping, learning
rate, weight decay and EMA apply to those).
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping

import jax.numpy as jnp

from jkeras.optimizers.base import Optimizer, OptimizerState, _is_traced, _VariableList


def _check_plain(optimizer, what: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{what} must be a jkeras Optimizer instance, got {optimizer!r}.")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{what} cannot be a MultiOptimizer.")
    if hasattr(optimizer, "inner_optimizer"):
        raise ValueError(f"{what} cannot be a LossScaleOptimizer.")


class OptimizerMap(MutableMapping):
    """Maps variable paths to optimizers: `m[path]` is the optimizer set for
    that exact path, else the one whose key (a regular expression) fully
    matches it, else `default_optimizer`. Calling `m(variable)` looks up
    `variable.path`."""

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                f"OptimizerMap: default_optimizer must be a jkeras Optimizer instance, got "
                f"{default_optimizer!r}."
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                f"OptimizerMap: optimizer_map must be a dict {{path or regex: optimizer}}, "
                f"got {optimizer_map!r}."
            )
        self._default_optimizer = default_optimizer
        self._optimizer_map = dict(optimizer_map or {})

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matches) > 1:
            raise ValueError(
                f"OptimizerMap: variable {key!r} matches several keys {matches}; make the "
                f"patterns exclusive."
            )
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key: str, optimizer) -> None:
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: keys must be strings, got {key!r}.")
        if key in self._optimizer_map:
            raise ValueError(
                f"OptimizerMap: {key!r} is already mapped to {self._optimizer_map[key]!r}; "
                f"keys must not repeat."
            )
        _check_plain(optimizer, f"OptimizerMap[{key!r}]")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict:
        from jkeras import optimizers

        return {"default_optimizer": optimizers.serialize(self._default_optimizer),
                "optimizer_map": {k: optimizers.serialize(v)
                                  for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from jkeras import optimizers

        default = optimizers.deserialize(config["default_optimizer"], custom_objects)
        mapping = {k: optimizers.deserialize(v, custom_objects)
                   for k, v in (config.get("optimizer_map") or {}).items()}
        return cls(default, mapping)


class MultiOptimizer(Optimizer):
    """Updates each trainable variable with the optimizer `optimizer_map`
    gives it: an `OptimizerMap`, or a function variable -> optimizer.
    `loss_scale_factor` is set on every sub-optimizer. It has no learning
    rate of its own (reading or setting one raises AttributeError): use
    `optimizers` to reach the sub-optimizers."""

    _init_needs_variables = True  # the routing depends on the variables

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        if not callable(optimizer_map):
            raise TypeError(
                "MultiOptimizer: optimizer_map must be an OptimizerMap or a function "
                f"variable -> optimizer, got {optimizer_map!r}."
            )
        self._subs: list[Optimizer] = []
        self._iterations = None
        self._routes: list[int] | None = None
        self._optimizer_map = optimizer_map
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        if isinstance(optimizer_map, OptimizerMap):
            for opt in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                self._add(opt)

    def _add(self, opt) -> int:
        for i, known in enumerate(self._subs):
            if known is opt:
                return i
        _check_plain(opt, "MultiOptimizer: the optimizer of a variable")
        opt.loss_scale_factor = self.loss_scale_factor
        self._subs.append(opt)
        return len(self._subs) - 1

    @property
    def optimizers(self) -> list:
        """The sub-optimizers (the map's, then its default, then any others met)."""
        return list(self._subs)

    @property
    def loss_scale_factor(self):
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value) -> None:
        self._loss_scale_factor = value
        for opt in getattr(self, "_subs", []):
            opt.loss_scale_factor = value

    @property
    def learning_rate(self):
        raise AttributeError(
            "A MultiOptimizer has no learning rate of its own: read it on the sub-optimizers "
            "(`optimizer.optimizers`)."
        )

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError(
            "A MultiOptimizer has no learning rate of its own: set it on the sub-optimizers "
            "(`optimizer.optimizers`)."
        )

    lr = learning_rate

    def _set_initial_learning_rate(self, value) -> None:
        self._lr = 0.0  # (the base constructor's; unused)

    # state: the step count and the sub-optimizers' states --------------------------------
    def _used(self) -> list[int]:
        return sorted(set(self._routes or []))

    @property
    def state(self):
        if getattr(self, "_iterations", None) is None:
            return None
        subs = tuple(self._subs[i].state for i in self._used())
        return OptimizerState(self._iterations, jnp.zeros((), jnp.float32), subs)

    @state.setter
    def state(self, value) -> None:
        if value is None:
            self._iterations = None
            return
        self._iterations = value.iterations
        for i, sub_state in zip(self._used(), value.inner):
            self._subs[i].state = sub_state

    def _split(self, values) -> list[list]:
        groups: list[list] = [[] for _ in self._subs]
        for route, value in zip(self._routes, values):
            groups[route].append(value)
        return groups

    def build(self, variables) -> None:
        """Routes each variable to its optimizer and builds those with variables."""
        variables = list(variables)
        if self._trainable_variables is not None and self.state is not None and [
                id(v) for v in variables] == [id(v) for v in self._trainable_variables]:
            return
        self._routes = [self._add(self._optimizer_map(v)) for v in variables]
        for opt, group in zip(self._subs, self._split(variables)):
            if group:
                opt.build(group)
        self._trainable_variables = variables
        self._num_params = len(variables)
        if self._iterations is None:
            self._iterations = jnp.zeros((), jnp.int32)
        self.__dict__.pop("_jit_updates", None)  # compiled for the previous routing

    def init(self, params) -> OptimizerState:
        params = list(params)
        if self._routes is None or len(self._routes) != len(params):
            raise ValueError(
                f"MultiOptimizer '{self.name}' routes variables by their paths: call "
                f"build(variables) (compile/fit do) before init."
            )
        subs = tuple(self._subs[i].init(group) for i, group in enumerate(self._split(params))
                     if group)
        state = OptimizerState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32), subs)
        if not _is_traced(params):
            self._iterations = state.iterations
        return state

    def update(self, grads, state, params):
        """One step: each sub-optimizer updates its own variables. Pure."""
        params, grads = list(params), list(grads)
        if self._routes is None or len(params) != len(self._routes):
            raise ValueError(
                f"MultiOptimizer '{self.name}': got {len(params)} parameters but it was built "
                f"for {len(self._routes or [])} variables."
            )
        grad_groups, param_groups = self._split(grads), self._split(params)
        new_groups: dict[int, list] = {}
        new_subs = []
        for i, sub_state in zip(self._used(), state.inner):
            new_groups[i], new_sub = self._subs[i].update(grad_groups[i], sub_state,
                                                         param_groups[i])
            new_subs.append(new_sub)
        positions = [0] * len(self._subs)
        new_params = []
        for route in self._routes:
            new_params.append(new_groups[route][positions[route]])
            positions[route] += 1
        return new_params, OptimizerState(state.iterations + 1, state.learning_rate,
                                          tuple(new_subs))

    def finalize_variable_values(self, var_list) -> None:
        for opt, group in zip(self._subs, self._split(list(var_list))):
            if group:
                opt.finalize_variable_values(group)

    @property
    def variables(self) -> list:
        """The step count, then each sub-optimizer's variables."""
        from jkeras.engine.variable import Variable

        out = _VariableList()
        iterations = self._iterations if self._iterations is not None else jnp.zeros((), jnp.int32)
        out.append(Variable(iterations, trainable=False, name="iteration",
                            path=f"{self.name}/iteration"))
        for i in self._used():
            out.extend(self._subs[i].variables)
        return out

    # config ----------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"optimizer_map": _serialize_map(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        config = dict(config)
        config["optimizer_map"] = _deserialize_map(config["optimizer_map"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<MultiOptimizer name={self.name!r} optimizers={self._subs!r}>"


def _serialize_map(optimizer_map) -> dict:
    if isinstance(optimizer_map, OptimizerMap):
        return {"module": "keras.optimizers", "class_name": "OptimizerMap",
                "config": optimizer_map.get_config(), "registered_name": None}
    name = getattr(optimizer_map, "__name__", None)
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def _deserialize_map(config, custom_objects: dict | None) -> OptimizerMap | Callable:
    custom_objects = custom_objects or {}
    if not isinstance(config, dict):
        if callable(config):
            return config
        raise ValueError(f"MultiOptimizer: invalid optimizer_map config {config!r}.")
    if config.get("class_name") == "OptimizerMap":
        return OptimizerMap.from_config(config.get("config") or {}, custom_objects)
    name = config.get("config")
    fn = custom_objects.get(name)
    if fn is None:
        raise ValueError(
            f"MultiOptimizer: the optimizer selector function {name!r} is not known; pass it "
            f"in custom_objects={{{name!r}: fn}}."
        )
    return fn
