"""Rematerialization (gradient checkpointing): `keras.remat(f)` and
`keras.RematScope`.

Inside a `RematScope`, layers created in the block recompute their forward
pass during the backward pass instead of keeping their activations, trading
compute for memory: every layer (`mode="full"`), the activation functions of
layers (`"activations"`), layers whose output has more than
`output_size_threshold` elements (`"larger_than"`), or the layers named in
`layer_names` (`"list_of_layers"`). Values and gradients are unchanged.
"""

from __future__ import annotations

import jax

_MODES = ("full", "activations", "larger_than", "list_of_layers")
_stack: list = []


def remat(f):
    """`f` rematerialized: its intermediate values are recomputed in the
    backward pass rather than stored (`jax.checkpoint`)."""
    return jax.checkpoint(f)


class RematScope:
    """Rematerialization of the layers created inside the block (see the module
    doc). Nested scopes: the innermost applies."""

    def __init__(self, mode: str = "full", output_size_threshold: int = 1024,
                 layer_names=None):
        if mode not in _MODES and mode is not None:
            raise ValueError(f"RematScope: `mode` must be one of {_MODES} or None, got {mode!r}.")
        if mode == "list_of_layers" and not layer_names:
            raise ValueError("RematScope(mode='list_of_layers') needs `layer_names`.")
        self.mode = mode
        self.output_size_threshold = int(output_size_threshold)
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        _stack.append(self)
        return self

    def __exit__(self, *exc):
        _stack.pop()
        return False


def current_remat_scope() -> RematScope | None:
    return _stack[-1] if _stack else None
