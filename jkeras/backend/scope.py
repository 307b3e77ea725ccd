"""Stateless execution scope.

Inside `StatelessScope(values, rng)`, reading a `Variable` returns the value
mapped to it (usually a traced array), assigning records the new value
instead of mutating the variable, `add_loss` collects losses, and random
keys are drawn from `rng`. This is what makes a model call a pure function of
(parameters, state, inputs, rng), so it can be jit-compiled.

The public `keras.StatelessScope` (`KerasStatelessScope`) takes Keras 3's
arguments: `state_mapping`, a list of (variable, value) pairs, and
`collect_losses` (default False), with `get_current_value(variable)`.
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
        self.record_all = False  # record assignments to variables it does not map too

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


class KerasStatelessScope(StatelessScope):
    """Keras 3's `StatelessScope(state_mapping=None, collect_losses=False,
    initialize_variables=True)`: inside it the variables of `state_mapping`
    (pairs of (variable, value)) read those values, assignments are recorded
    (read them back with `get_current_value`), and with `collect_losses=True`
    `add_loss` terms are kept in `losses`."""

    def __init__(self, state_mapping=None, collect_losses: bool = False,
                 initialize_variables: bool = True):
        pairs = list(state_mapping or [])
        for item in pairs:
            if not (isinstance(item, (list, tuple)) and len(item) == 2
                    and getattr(item[0], "_is_variable", False)):
                raise ValueError(
                    f"StatelessScope: `state_mapping` must be a list of (variable, value) "
                    f"pairs, got an entry {item!r}."
                )
        self._variables = {id(v): v for v, _ in pairs}
        super().__init__({id(v): _value_of(x) for v, x in pairs}, collect_losses=collect_losses)
        self.record_all = True  # as Keras: no assignment inside the scope touches a variable

    def get_current_value(self, variable):
        """The variable's value in this scope (after assignments), or None when
        the scope does not map it and it was not assigned."""
        key = id(variable)
        if key in self.updates:
            return self.updates[key]
        return self.values.get(key)

    def add_loss(self, loss) -> None:
        self.losses.append(loss)

    def add_update(self, update) -> None:
        """Records `(variable, value)` as that variable's new value."""
        variable, value = update
        self.updates[id(variable)] = _value_of(value)


def _value_of(x):
    return x.value if getattr(x, "_is_variable", False) else x


def current() -> StatelessScope | None:
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


class SymbolicScope:
    """Marks code run while building symbolic graphs (Keras 3's
    `keras.SymbolicScope`); `in_symbolic_scope()` tells whether one is active."""

    def __enter__(self):
        _local.symbolic = getattr(_local, "symbolic", 0) + 1
        return self

    def __exit__(self, *exc):
        _local.symbolic -= 1
        return False


def in_symbolic_scope() -> bool:
    return getattr(_local, "symbolic", 0) > 0
