"""Random keys: a global, seedable key stream, and a traced key stream inside
stateless execution (see `jkeras.backend.scope`)."""

from __future__ import annotations

import random as _py_random
import threading

import jax
import numpy as np

_seed: int | None = None
_counter = 0
# Incremented by set_random_seed: generators made from the global state (the one
# behind `jkeras.random` ops with seed=None) are made afresh after it.
generation = 0


def set_random_seed(seed: int) -> None:
    """Makes weight initialisation, shuffling and dropout repeatable."""
    global _seed, _counter, generation
    seed = int(seed)
    _seed = seed
    _counter = 0
    generation += 1
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


_host_local = threading.local()


def reserve_host_seed() -> tuple[int, int]:
    """Takes the next position of the global stream, to be used later by `host_seed`."""
    global _counter
    _counter += 1
    return (_base_seed(), _counter)


class host_seed:  # noqa: N801
    """While active, `host_rng(None)` draws from this reserved stream position."""

    def __init__(self, seed: tuple[int, int]):
        self.seed = seed

    def __enter__(self):
        self.prev = getattr(_host_local, "seed", None)
        _host_local.seed = self.seed
        return self

    def __exit__(self, *exc):
        _host_local.seed = self.prev
        return False


def host_rng(seed: int | None = None) -> np.random.Generator:
    """A numpy generator for weight initialisation on the host: seeded from `seed`,
    or else a reserved position (`host_seed`) or the next draw of the global stream
    (repeatable after set_random_seed). Host generation avoids compiling one XLA
    program per weight shape."""
    if seed is not None:
        return np.random.default_rng(int(seed))
    reserved = getattr(_host_local, "seed", None)
    if reserved is not None:
        return np.random.default_rng(list(reserved))
    return np.random.default_rng(list(reserve_host_seed()))


def make_seed_key(seed: int | None) -> jax.Array:
    """A PRNG key from an explicit seed, or the next global key for None."""
    if seed is None:
        return next_key()
    return jax.random.key(int(seed))
