"""`clear_session`, with Keras's `free_memory` argument."""

from __future__ import annotations

import gc

from jkeras import backend


def clear_session(free_memory: bool = True) -> None:
    """Resets jkeras's global state (default layer names start again at
    "dense", ...) and, with `free_memory`, runs Python's garbage collector so
    that the memory of deleted models is released now."""
    backend.clear_session()
    if free_memory:
        gc.collect()
