"""JaxLayer and FlaxLayer: a pure JAX model (or a flax.linen Module) as a layer whose
parameters are jkeras Variables, so it trains with `fit` and saves with the model.

`call_fn` takes some of `params`, `state`, `rng`, `inputs` (required) and
`training`, by those names, in any order; with `state` it returns
`(outputs, new_state)`. `init_fn(rng, inputs, training)` (`inputs` required)
returns the params, or `(params, state)` when `call_fn` takes a state; it runs at
build on ones shaped like the input (unknown sizes as 1). Alternatively `params`
and `state` are given directly. Float leaves become variables of the layer's
dtype, other array and number leaves variables of their own dtype; params are
trainable except non-float leaves (which cannot have gradients), state is not;
other leaves (strings, ...) stay as they are. Variables are listed in the order of
`jax.tree_util.tree_flatten`, trainable ones first, as Keras saves them.

`rng` is a raw `uint32[2]` key from jkeras's random stream (`set_random_seed`
makes it reproducible) in training calls and None otherwise; init gets one too.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.random import next_key
from jkeras.engine.layer import Layer

_CALL_ARGS = {"params", "state", "rng", "inputs", "training"}
_INIT_ARGS = {"rng", "inputs", "training"}


def _arguments(owner: str, fn, fn_name: str, allowed: set) -> list[str]:
    """The parameter names of `fn`, checked: only `allowed` ones, `inputs` among them."""
    if not callable(fn):
        raise TypeError(f"{owner}: {fn_name} must be a function, got {fn!r}.")
    names = list(inspect.signature(fn).parameters)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(
            f"{owner}: {fn_name} has argument '{unknown[0]}'; its arguments must be named "
            f"among {sorted(allowed)}."
        )
    if "inputs" not in names:
        raise ValueError(f"{owner}: {fn_name} must take an argument named 'inputs'.")
    return names


def _raw_key():
    return jax.random.key_data(next_key())


def _leaf_name(path, default: str) -> str:
    """A variable name from the leaf's place in its tree ('Dense_0/kernel')."""
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
    return "/".join(parts) or default


def _is_variable(x) -> bool:
    return getattr(x, "_is_variable", False)


class JaxLayer(Layer):
    """A layer computing `call_fn` with its params/state held in jkeras Variables
    (see the module docstring for the conventions). `seed` is accepted as in Keras;
    the keys come from jkeras's random stream (`jkeras.utils.set_random_seed`)."""

    def __init__(self, call_fn, init_fn=None, params=None, state=None, seed=None,
                 native_serialization_platforms=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.seed = seed
        self.native_serialization_platforms = native_serialization_platforms
        self.call_fn_arguments = _arguments(owner, call_fn, "call_fn", _CALL_ARGS)
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        if init_fn is not None:
            self.init_fn_arguments = _arguments(owner, init_fn, "init_fn", _INIT_ARGS)
        if init_fn is None and params is None and state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            raise ValueError(
                f"{owner}: call_fn takes params or state, so give init_fn, params or state "
                f"(all three are None)."
            )
        self.params = self._create_variables("params", params, trainable=True)
        self.state = self._create_variables("state", state, trainable=False)
        if params is not None or state is not None:
            self.built = True

    def _create_variables(self, kind: str, values, trainable: bool):
        """`values` with every array/number leaf replaced by a new Variable."""
        if values is None:
            return None

        def make(path, value):
            if isinstance(value, (bool, int, float, np.generic, np.ndarray, jax.Array)):
                arr = jnp.asarray(value)
                floating = jnp.issubdtype(arr.dtype, jnp.floating)
                dtype = None if floating else arr.dtype
                return self.add_weight(
                    _leaf_name(path, kind), arr.shape,
                    lambda shape, dtype=None, arr=arr: jnp.asarray(arr, dtype),
                    dtype=dtype, trainable=trainable and floating)
            return value

        return jax.tree_util.tree_map_with_path(make, values)

    def build(self, input_shape):
        if self.params is None and self.state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            self._initialize(input_shape)
        self.built = True

    def _init_rng(self):
        return _raw_key()

    def _call_rng(self, training):
        return _raw_key() if training else None

    def _initialize(self, input_shape) -> None:
        def ones(shape):
            return jnp.ones(tuple(1 if d is None else d for d in shape))

        is_shape = lambda s: isinstance(s, tuple) and all(  # noqa: E731
            d is None or isinstance(d, int) for d in s)
        inputs = jax.tree_util.tree_map(ones, input_shape, is_leaf=is_shape)
        values = {"rng": self._init_rng(), "inputs": inputs, "training": True}
        result = self.init_fn(*[values[n] for n in self.init_fn_arguments])
        params, state = result if self.call_fn_has_state else (result, None)
        self.params = self._create_variables("params", params, trainable=True)
        self.state = self._create_variables("state", state, trainable=False)

    def _saveable_variables(self) -> list:
        """Keras's order: the params' and state's leaves in tree order, trainable first."""
        leaves = [v for tree in (self.params, self.state)
                  for v in jax.tree_util.tree_leaves(tree, is_leaf=_is_variable)
                  if _is_variable(v)]
        return [v for v in leaves if v.trainable] + [v for v in leaves if not v.trainable]

    def call(self, inputs, training=False):
        def value(v):
            return v.value if getattr(v, "_is_variable", False) else v

        values = {
            "params": jax.tree_util.tree_map(value, self.params, is_leaf=_is_variable),
            "state": jax.tree_util.tree_map(value, self.state, is_leaf=_is_variable),
            "inputs": inputs,
            "training": bool(training),
        }
        if "rng" in self.call_fn_arguments:
            values["rng"] = self._call_rng(training)
        result = self.call_fn(*[values[n] for n in self.call_fn_arguments])
        if not self.call_fn_has_state:
            return result
        outputs, new_state = result
        variables, treedef = jax.tree_util.tree_flatten(self.state, is_leaf=_is_variable)
        new_leaves, new_def = jax.tree_util.tree_flatten(new_state)
        if new_def != treedef:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': call_fn returned a state of structure "
                f"{new_def}, but the state has structure {treedef}."
            )
        for var, new in zip(variables, new_leaves):
            if getattr(var, "_is_variable", False):
                var.assign(new)
        return outputs

    def get_config(self) -> dict:
        from jkeras.saving import serialize_keras_object

        return {**super().get_config(),
                "call_fn": serialize_keras_object(self.call_fn),
                "init_fn": serialize_keras_object(self.init_fn),
                "native_serialization_platforms": self.native_serialization_platforms}

    @classmethod
    def from_config(cls, config: dict):
        from jkeras.saving import deserialize_keras_object

        config = dict(config)
        for key in ("call_fn", "init_fn"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key])
        return cls(**config)


def _require_flax():
    try:
        import flax.linen as nn
    except ImportError:
        raise ImportError(
            "FlaxLayer needs the flax package, which is not installed: pip install flax"
        ) from None
    return nn


class FlaxLayer(JaxLayer):
    """A flax.linen Module as a layer: its 'params' collection trainable, its other
    collections (e.g. 'batch_stats') non-trainable state updated in calls.

    `method` (default `__call__`) takes `inputs` and optionally `training`;
    `variables` are the Module's variables as `Module.init` returns them (else
    they are initialised at build with rngs 'params' and 'dropout'). Calls in
    training get a 'dropout' rng. flax is an optional dependency (`pip install flax`).
    """

    def __init__(self, module, method=None, variables=None, **kwargs):
        nn = _require_flax()
        self.module = module
        self.method = method
        mutable = nn.DenyList(["params"])
        fn = method or module.__call__
        with_training = "training" in inspect.signature(fn).parameters

        def apply_with_training(params, state, rng, inputs, training):
            return module.apply(_merge(params, state), inputs, rngs=rng, method=method,
                                mutable=mutable, training=training)

        def apply_without_training(params, state, rng, inputs):
            return module.apply(_merge(params, state), inputs, rngs=rng, method=method,
                                mutable=mutable)

        def init_with_training(rng, inputs, training):
            return _split(module.init(rng, inputs, method=method, training=training))

        def init_without_training(rng, inputs):
            return _split(module.init(rng, inputs, method=method))

        call_fn, init_fn = ((apply_with_training, init_with_training) if with_training
                            else (apply_without_training, init_without_training))
        params, state = _split(variables)
        super().__init__(call_fn=call_fn, init_fn=init_fn, params=params, state=state,
                         **kwargs)

    def _init_rng(self):
        return {"params": _raw_key(), "dropout": _raw_key()}

    def _call_rng(self, training):
        return {"dropout": _raw_key()} if training else {}

    def get_config(self) -> dict:
        from jkeras.saving import serialize_keras_object

        method = self.method
        if getattr(method, "__self__", None) is self.module:
            method = method.__name__
        config = super().get_config()
        config.pop("call_fn")
        config.pop("init_fn")
        return {**config, "module": _module_config(self.module),
                "method": serialize_keras_object(method)}

    @classmethod
    def from_config(cls, config: dict):
        from jkeras.saving import deserialize_keras_object

        config = dict(config)
        module = deserialize_keras_object(config.pop("module"))
        method = config.pop("method", None)
        method = getattr(module, method) if isinstance(method, str) else (
            deserialize_keras_object(method))
        return cls(module, method=method, **config)


def _module_config(module) -> dict:
    """A flax Module as a Keras-style entry: its own (when it defines get_config and
    is registered), else its class and dataclass fields (to be found among custom
    objects when loading)."""
    import dataclasses

    from jkeras.saving import get_registered_name, serialize_keras_object

    if hasattr(module, "get_config"):
        return serialize_keras_object(module)
    cls = type(module)
    fields = {f.name: getattr(module, f.name) for f in dataclasses.fields(module)
              if f.name not in ("parent", "name")}
    return {"module": cls.__module__, "class_name": cls.__name__, "config": fields,
            "registered_name": get_registered_name(cls)}


def _merge(params, state) -> dict:
    """Flax variables from the layer's params and state."""
    return {**(params or {}), **(state or {})}


def _split(variables):
    """(params, state) from flax variables: 'params' trainable, the rest state."""
    if variables is None:
        return None, None
    params = {k: v for k, v in variables.items() if k == "params"}
    state = {k: v for k, v in variables.items() if k != "params"}
    return params, state


__all__ = ["FlaxLayer", "JaxLayer"]
