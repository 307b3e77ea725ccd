"""SeedGenerator: a random-number state that layers and ops draw keys from.

Keys are raw `uint32[2]` arrays `[seed, counter]`, as Keras 3 draws them on JAX,
so `jkeras.random.normal(shape, seed=42)` gives Keras's numbers. Where a key
comes from, in order:

1. inside a stateless scope that carries a key stream (jkeras's compiled
   training steps, shape inference): the next key of that stream, so every
   step of `fit` draws fresh values without threading the generator's state;
2. inside a stateless scope that maps the generator's `state` variable
   (`Model.stateless_call` with `model.non_trainable_variables`): the mapped
   state, whose advance is recorded in the scope, as Keras's stateless API does;
3. otherwise (eager code): the generator's own state, advanced in place.
"""

from __future__ import annotations

import random as _py_random

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import naming
from jkeras.backend import random as _backend_random
from jkeras.backend import scope as _scope
from jkeras.engine.variable import Variable

_INCREMENT = np.array([0, 1], dtype=np.uint32)


def in_jax_trace() -> bool:
    """Whether the caller runs while JAX traces a function (jit, grad, scan...)."""
    return isinstance(jnp.zeros(()), jax.core.Tracer)


def _default_seed() -> int:
    return _py_random.randint(1, int(1e9))


class SeedGenerator:
    """A random state: each `next()` returns a new key and advances the state.

    `seed`: an int (repeatable sequence) or None (a seed drawn from Python's
    `random`, which `jkeras.utils.set_random_seed` seeds). Attach it to a layer
    as an attribute; its `state` variable is then among the layer's
    `non_trainable_variables` (not its weights)."""

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(
                f"SeedGenerator got unrecognized keyword argument(s) {sorted(kwargs)}; it "
                f"takes `seed` and `name`."
            )
        self.name = name or naming.unique_name("seed_generator")
        self._initial_seed = seed
        if seed is None:
            seed = _default_seed()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(
                f"SeedGenerator: `seed` must be an integer or None, got {seed!r} "
                f"(of type {type(seed).__name__})."
            )
        start = np.array([int(seed) & 0xFFFFFFFF, 0], dtype=np.uint32)
        self.state = Variable(lambda shape, dtype=None: start, shape=(2,), dtype="uint32",
                              trainable=False, name="seed_generator_state",
                              path=f"{self.name}/seed_generator_state", aggregation="none")

    def next(self, ordered: bool = True) -> jax.Array:
        """A fresh key (see the module doc for where it comes from)."""
        s = _scope.current()
        if s is not None and s.rng is not None:
            return s.next_key()
        mapped = s is not None and id(self.state) in s.values
        value = self.state._current()
        if not mapped and isinstance(value, jax.core.Tracer):
            raise ValueError(self._traced_error())
        if not mapped and in_jax_trace():
            raise ValueError(self._traced_error())
        if ordered:
            new = value + jnp.asarray(_INCREMENT)
        else:
            new = ((value + 1) * 5387 % 933199).astype(jnp.uint32)
        self.state.assign(new)
        return value

    def _traced_error(self) -> str:
        return (
            f"SeedGenerator '{self.name}' was used inside a traced JAX function (jax.jit, "
            f"jax.grad, ...) without its state: the draws would be frozen into the trace. "
            f"Call the model with model.stateless_call(trainable_variables, "
            f"non_trainable_variables, ...) passing model.non_trainable_variables (which "
            f"hold the generator's state), or pass an integer seed."
        )

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> SeedGenerator:
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name!r} seed={self._initial_seed!r}>"


_GLOBAL: dict = {}


def global_seed_generator() -> SeedGenerator:
    """The generator behind `seed=None` in eager code (made afresh after each
    `set_random_seed`, from Python's `random`, which that seeds)."""
    gen = _GLOBAL.get(_backend_random.generation)
    if gen is None:
        _GLOBAL.clear()
        gen = _GLOBAL[_backend_random.generation] = SeedGenerator(name="global_seed_generator")
    return gen


def draw_key(seed) -> jax.Array:
    """A key for a random op from `seed`: an int (always the same key), a
    SeedGenerator (its next key), a key array (used as is) or None (the
    enclosing compiled step's key stream, else the global generator)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        s = _scope.current()
        if s is not None and s.rng is not None:
            return s.next_key()
        if in_jax_trace():
            raise ValueError(
                "A jkeras.random op with seed=None was called inside a traced JAX function "
                "(jax.jit, jax.grad, ...): its values would be frozen into the trace. Create "
                "a jkeras.random.SeedGenerator, keep it on your layer or model, and pass it "
                "as `seed=` (or pass an integer seed)."
            )
        return global_seed_generator().next(ordered=False)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return jnp.asarray(np.array([int(seed) & 0xFFFFFFFF, 0], dtype=np.uint32))
    if isinstance(seed, (jax.Array, np.ndarray)):
        return jnp.asarray(seed)
    raise ValueError(
        f"`seed` must be an integer, a jkeras.random.SeedGenerator or None, got {seed!r} "
        f"(of type {type(seed).__name__})."
    )
