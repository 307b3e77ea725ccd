"""Random keys: a global, seedable key stream, and a traced key stream inside
stateless execution (see `jkeras.backend.scope`)."""

from __future__ import annotations

import random as _py_random

import jax
import numpy as np

_seed: int | None = None
_counter = 0


def set_random_seed(seed: int) -> None:
    """Makes weight initialisation, shuffling and dropout repeatable."""
    global _seed, _counter
    seed = int(seed)
    _seed = seed
    _counter = 0
    _py_random.seed(seed)
    np.random.seed(seed % (2**32))


def _base_seed() -> int:
    global _seed
    if _seed is None:
        _seed = int(np.random.SeedSequence().entropy % (2**31))
    return _seed


def next_key() -> jax.Array:
    """A fresh PRNG key. Inside a stateless scope that carries a traced key,
    keys are split from it; otherwise from the global stream."""
    from jkeras.backend import scope as _scope

    s = _scope.current()
    if s is not None and s.rng is not None:
        return s.next_key()
    global _counter
    _counter += 1
    return jax.random.fold_in(jax.random.key(_base_seed()), _counter)


def host_rng(seed: int | None = None) -> np.random.Generator:
    """A numpy generator for weight initialisation on the host: seeded from `seed`,
    or else the next draw of the global stream (repeatable after set_random_seed).
    Host generation avoids compiling one XLA program per weight shape."""
    global _counter
    if seed is not None:
        return np.random.default_rng(int(seed))
    _counter += 1
    return np.random.default_rng([_base_seed(), _counter])


def make_seed_key(seed: int | None) -> jax.Array:
    """A PRNG key from an explicit seed, or the next global key for None."""
    if seed is None:
        return next_key()
    return jax.random.key(int(seed))
