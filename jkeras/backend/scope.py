"""Stateless execution scope.

Inside `StatelessScope(values, rng)`, reading a `Variable` returns the value
mapped to it (usually a traced array), assigning records the new value
instead of mutating the variable, `add_loss` collects losses, and random
keys are drawn from `rng`. This is what makes a model call a pure function of
(parameters, state, inputs, rng), so it can be jit-compiled.
"""

from __future__ import annotations

import threading

import jax

_local = threading.local()


class StatelessScope:
    def __init__(self, values: dict | None = None, rng: jax.Array | None = None,
                 collect_losses: bool = True):
        self.values = dict(values or {})  # id(variable) -> array
        self.updates: dict = {}  # id(variable) -> array
        self.rng = rng
        self.losses: list = []
        self.collect_losses = collect_losses

    def next_key(self) -> jax.Array:
        self.rng, key = jax.random.split(self.rng)
        return key

    def __enter__(self):
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _local.stack.pop()
        return False


def current() -> StatelessScope | None:
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None
