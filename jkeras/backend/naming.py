"""Unique default names: dense, dense_1, dense_2, ..."""

from __future__ import annotations

import re
from collections import defaultdict

_counts: dict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s.replace("__", "_")


def unique_name(prefix: str) -> str:
    n = _counts[prefix]
    _counts[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset() -> None:
    _counts.clear()
    _uids.clear()


_uids: dict[str, int] = defaultdict(int)


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... for successive calls with the same `prefix` (Keras's
    `backend.get_uid`; reset by `clear_session`)."""
    _uids[prefix] += 1
    return _uids[prefix]


def reset_uids() -> None:
    _uids.clear()


_scopes: list[str] = []


class name_scope:  # noqa: N801
    """Prefixes the paths of the variables created inside it (`outer/dense/kernel`),
    as Keras 3's `keras.name_scope`. Nested scopes join with '/'."""

    def __init__(self, name: str, **kwargs):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name_scope: `name` must be a non-empty string, got {name!r}.")
        self.name = name

    def __enter__(self):
        _scopes.append(self.name)
        return self

    def __exit__(self, *exc):
        _scopes.pop()
        return False


def current_path() -> str:
    """The path of the enclosing name scopes ('' outside any)."""
    return "/".join(_scopes)


def scoped_path(path: str) -> str:
    """`path` under the enclosing name scopes."""
    prefix = current_path()
    return f"{prefix}/{path}" if prefix else path
