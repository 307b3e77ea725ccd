"""Bounds on what a file may make jkeras allocate while it is being loaded.

Two bounds apply to every loader (`load_model`, `load_weights`, the data sets):

* **What the file stores.** A shape is metadata: a 16 KB file can declare a
  (4, 250_000_000) array. Loaders check each array's declared size against the
  bytes the file actually holds for it (see `h5_storage.py`, `datasets/_npz.py`)
  before reading it.
* **The memory available.** Everything one load reads may take at most
  `load_limit()` bytes: half of the memory available when loading starts (a
  load briefly holds each array twice: as read from the file and as the model's
  weight), or what the user allows with ``max_bytes=`` (`load_model`,
  `load_weights`) or the environment variable ``JKERAS_MAX_LOAD_BYTES``.

While a model is rebuilt from its config, each new variable is charged to an
`AllocationBudget` *before* its initializer runs (through
`jkeras.engine.variable`'s allocation hook), so a config asking for a 10^12-unit
Dense fails with a clear error instead of exhausting memory. Every refusal is a
`FileLimitError` (a ValueError) naming the file, the entry, what it declares,
what is stored or allowed, and what to do.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass

import numpy as np

# Extra bytes allowed beyond what the weights file declares (variables a file
# need not hold, such as counters, and rounding).
SLACK_BYTES = 64 * 1024 * 1024

#: Environment variable that sets the most bytes one load may read (e.g. "16G").
ENV_MAX_BYTES = "JKERAS_MAX_LOAD_BYTES"

_SUFFIXES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


class FileLimitError(ValueError):
    """A file declares more data than it stores, or more than a load may take."""


def physical_memory_bytes() -> int:
    """Installed memory, or 64 GiB where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 64 * 1024**3


def _cgroup_headroom() -> int | None:
    """Bytes left under a cgroup v2 memory limit (containers), or None."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            text = f.read().strip()
        if text == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as f:
            return max(0, int(text) - int(f.read().strip()))
    except (OSError, ValueError):
        return None


def available_memory_bytes() -> int:
    """Memory that can be allocated now without swapping: the kernel's
    MemAvailable (or free pages where /proc/meminfo is missing), lowered to a
    container's remaining cgroup allowance."""
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_AVPHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            available = physical_memory_bytes()
    headroom = _cgroup_headroom()
    return available if headroom is None else min(available, headroom)


def parse_byte_size(value, what: str) -> int:
    """A byte count from an int or a string such as "512M", "16G", "2GiB"
    (K/M/G/T are powers of 1024). ValueError naming `what` otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{what} must be a number of bytes >= 0, got {value}.")
        return int(value)
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            return int(float(m.group(1)) * _SUFFIXES[m.group(2).upper()])
    raise ValueError(
        f"{what} must be a number of bytes such as 8000000000, '8G' or '512M', got "
        f"{value!r}."
    )


@dataclass(frozen=True)
class LoadLimit:
    """The most bytes one load may read, and where that number comes from."""

    max_bytes: int
    origin: str

    def describe(self) -> str:
        return f"{self.max_bytes:,} bytes ({self.origin})"

    def advice(self, argument_of: str | None = "load_model/load_weights") -> str:
        """What a user who trusts the file can do."""
        how = (f"pass max_bytes=N to {argument_of} or set the environment variable "
               f"{ENV_MAX_BYTES}=N" if argument_of else
               f"set the environment variable {ENV_MAX_BYTES}=N")
        return (f"If the file is genuine and this machine has the memory, {how} "
                f"(N in bytes, or like '16G').")


def load_limit(max_bytes=None) -> LoadLimit:
    """The bound for one load: `max_bytes` if given, else ``$JKERAS_MAX_LOAD_BYTES``,
    else half of the memory available now."""
    if max_bytes is not None:
        n = parse_byte_size(max_bytes, "max_bytes")
        return LoadLimit(n, f"max_bytes={max_bytes!r}")
    env = os.environ.get(ENV_MAX_BYTES, "").strip()
    if env:
        return LoadLimit(parse_byte_size(env, ENV_MAX_BYTES), f"{ENV_MAX_BYTES}={env}")
    available = available_memory_bytes()
    return LoadLimit(available // 2, f"half of the {available:,} bytes of memory available "
                                     f"now")


class ReadBudget:
    """Counts the bytes a loader reads from one file against a `LoadLimit`;
    charge *before* allocating."""

    def __init__(self, limit: LoadLimit, source: str,
                 argument_of: str | None = "load_model/load_weights"):
        self.limit = limit
        self.source = source
        self.argument_of = argument_of
        self.used = 0

    def remaining(self) -> int:
        return max(0, self.limit.max_bytes - self.used)

    def ensure(self, nbytes: int, what: str) -> None:
        """Raises FileLimitError unless `nbytes` more fit (charges nothing)."""
        total = self.used + int(nbytes)
        if total > self.limit.max_bytes:
            raise FileLimitError(
                f"{self.source}: {what} takes {int(nbytes):,} bytes, which brings this load "
                f"to {total:,} bytes, more than the {self.limit.describe()} one load may "
                f"take. Nothing was allocated for it. "
                f"{self.limit.advice(self.argument_of)}"
            )

    def charge(self, nbytes: int, what: str) -> None:
        """Counts `nbytes` about to be allocated; FileLimitError if they do not fit."""
        self.ensure(nbytes, what)
        self.used += int(nbytes)


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
            raise FileLimitError(
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
