"""Bounds on what a file may make jkeras allocate while it is being loaded.

A loader knows, from the weights file's metadata, how many bytes of variables
the model should need. While the model is rebuilt from its config, each new
variable is charged to an `AllocationBudget` *before* its initializer runs
(through `jkeras.engine.variable`'s allocation hook), so a config asking for a
10^12-unit Dense fails with a clear error instead of exhausting memory.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

# Extra bytes allowed beyond what the weights file declares (variables a file
# need not hold, such as counters, and rounding).
SLACK_BYTES = 64 * 1024 * 1024


def physical_memory_bytes() -> int:
    """Installed memory, or 64 GiB where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 64 * 1024**3


def nbytes_of(shape, dtype) -> int:
    """Bytes an array of this shape and dtype takes (ValueError on a bad shape)."""
    n = 1
    for d in shape:
        if d is None or isinstance(d, bool) or int(d) != d or int(d) < 0:
            raise ValueError(f"invalid dimension {d!r} in shape {tuple(shape)}")
        n *= int(d)
    try:
        itemsize = np.dtype(dtype or "float32").itemsize
    except TypeError:
        itemsize = 4
    return n * itemsize


class AllocationBudget:
    """Counts bytes of variables created while loading `source`."""

    def __init__(self, max_bytes: int, source: str, reason: str):
        self.max_bytes = int(max_bytes)
        self.used = 0
        self.source = source
        self.reason = reason

    def consume(self, nbytes: int, what: str) -> None:
        self.used += int(nbytes)
        if self.used > self.max_bytes:
            raise ValueError(
                f"{self.source}: its config asks for variable '{what}' taking "
                f"{int(nbytes):,} bytes, which brings the model to {self.used:,} bytes, more "
                f"than {self.reason} ({self.max_bytes:,} bytes). The file is damaged or "
                f"was crafted to exhaust memory; nothing was allocated for that variable."
            )

    def charge_shape(self, shape, dtype, what: str) -> None:
        try:
            n = nbytes_of(shape, dtype)
        except ValueError as e:
            raise ValueError(f"{self.source}: variable '{what}': {e}.") from None
        self.consume(n, what)


@contextlib.contextmanager
def allocation_budget(budget: AllocationBudget | None):
    """Charges every Variable created in this block to `budget` (no-op where the
    engine has no allocation hook, or budget is None)."""
    if budget is None:
        yield
        return
    from jkeras.engine import variable as _variable

    var = getattr(_variable, "_ALLOCATION_LIMIT", None)
    if var is None:
        yield
        return
    token = var.set(budget)
    try:
        yield
    finally:
        var.reset(token)


def has_engine_hook() -> bool:
    from jkeras.engine import variable as _variable

    return getattr(_variable, "_ALLOCATION_LIMIT", None) is not None
