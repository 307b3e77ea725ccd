"""StackedRNNCells: several RNN cells run as one cell (each step feeds one cell's
output to the next), so that `RNN` drives a deep recurrent stack in one scan.
`RNN([cell1, cell2])` builds one."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.engine.layer import Layer
from jkeras.layers.recurrent import (
    _as_list,
    _flat_list,
    _state_sizes,
    deserialize_layer,
    serialize_layer,
)


def _cell_output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return _as_list(cell.state_size)[0]


class StackedRNNCells(Layer):
    """Runs `cells` (a list of RNN cells) one after the other at every step.

    `state_size` is the list of the cells' state sizes; `output_size` is the last
    cell's. `call(inputs, states)` takes the states as that nested list (or
    flattened, as `RNN` passes them) and returns `(output, new nested states)`.
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells) if isinstance(cells, (list, tuple)) else None
        if not cells:
            raise ValueError(
                f"StackedRNNCells '{self.name}': cells must be a non-empty list of RNN cells, "
                f"got {cells!r}."
            )
        cells = [deserialize_layer(c) if isinstance(c, dict) else c for c in cells]
        for cell in cells:
            if not callable(getattr(cell, "call", None)) or getattr(
                cell, "state_size", None
            ) is None:
                raise ValueError(
                    f"StackedRNNCells '{self.name}': every cell needs a `call(inputs, "
                    f"states)` method and a `state_size` attribute, got {cell!r}."
                )
        self.cells = cells

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return _cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None) -> list:
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                states = _as_list(fn(batch_size=batch_size))
            else:
                states = [jnp.zeros((batch_size, s), self.dtype) for s in _state_sizes(cell)]
            out.append(states if isinstance(cell.state_size, (list, tuple)) else states[0])
        return out

    def build(self, input_shape) -> None:
        batch = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(tuple(input_shape))
                cell.built = True
            input_shape = (batch, _cell_output_size(cell))
        self.built = True

    def _grouped(self, states) -> list:
        """The states as one entry per cell (a list for cells with several states)."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) == len(self.cells) and all(
            isinstance(s, (list, tuple)) == isinstance(c.state_size, (list, tuple))
            for s, c in zip(states, self.cells)
        ):
            return states
        flat = _flat_list(states)
        counts = [len(_state_sizes(c)) for c in self.cells]
        if len(flat) != sum(counts):
            raise ValueError(
                f"StackedRNNCells '{self.name}' has {sum(counts)} states ({counts} per cell), "
                f"but was given {len(flat)}."
            )
        grouped, i = [], 0
        for cell, n in zip(self.cells, counts):
            part = flat[i:i + n]
            grouped.append(part if isinstance(cell.state_size, (list, tuple)) else part[0])
            i += n
        return grouped

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, self._grouped(states)):
            kwargs = {"training": training} if (
                isinstance(cell, Layer) and cell._call_has_training) else {}
            as_list = isinstance(cell_states, (list, tuple))
            inputs, new = cell.call(inputs, list(cell_states) if as_list else [cell_states],
                                    **kwargs)
            new = _as_list(new)
            new_states.append(new if as_list else new[0])
        return inputs, new_states

    def get_config(self) -> dict:
        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        cells = [deserialize_layer(c) for c in config.pop("cells")]
        return cls(cells, **config)


__all__ = ["StackedRNNCells"]
