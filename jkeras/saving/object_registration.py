"""Registry of user classes and functions that configs may name.

Loading resolves a class or function only from jkeras's own public objects,
from objects registered here with `register_keras_serializable`, from an
active `CustomObjectScope`, or from the `custom_objects` given to the loader.
Nothing is ever imported by name from a file.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

# "package>name" -> object, and object -> "package>name"
_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_local = threading.local()


def _scope_stack() -> list[dict]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = []
        _local.stack = stack
    return stack


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Decorator registering a class or function under `"package>name"` so that
    configs naming it can be loaded without passing `custom_objects`.

    `name` defaults to the object's `__name__`. A registered class must define
    `get_config()` (layers, losses, metrics, initializers... all do).
    """
    if not isinstance(package, str) or ">" in package or not package:
        raise ValueError(
            f"register_keras_serializable: package must be a non-empty string without '>', "
            f"got {package!r}."
        )
    if name is not None and (not isinstance(name, str) or ">" in name or not name):
        raise ValueError(
            f"register_keras_serializable: name must be a non-empty string without '>', "
            f"got {name!r}."
        )

    def decorator(obj):
        if not (inspect.isclass(obj) or callable(obj)):
            raise TypeError(
                f"register_keras_serializable can decorate classes and functions, got "
                f"{type(obj).__name__}."
            )
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register class '{obj.__name__}': it has no get_config() method, so "
                f"it could not be saved. Define get_config() returning its constructor "
                f"arguments."
            )
        registered_name = f"{package}>{name if name is not None else obj.__name__}"
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered_name
        return obj

    return decorator


def get_registered_name(obj) -> str:
    """The name `obj` is registered under ("package>name"), or its `__name__`."""
    try:
        name = _GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:  # unhashable
        name = None
    if name is not None:
        return name
    return getattr(obj, "__name__", type(obj).__name__)


def is_registered(obj) -> bool:
    try:
        return obj in _GLOBAL_CUSTOM_NAMES
    except TypeError:
        return False


def get_custom_objects() -> dict[str, Any]:
    """The global registry dict ("package>name" -> object). Editing it registers
    objects, as in Keras."""
    return _GLOBAL_CUSTOM_OBJECTS


def _lookup(table: dict, name: str):
    if not isinstance(name, str):
        return None
    try:
        return table.get(name)
    except TypeError:
        return None


def get_registered_object(name: str | None, custom_objects: dict | None = None,
                          module_objects: dict | None = None):
    """The object named `name` in the active custom-object scopes (innermost
    first), then `custom_objects`, then the global registry, then
    `module_objects`; None if not found. A plain name also matches a
    registered "package>name"."""
    if not isinstance(name, str) or not name:
        return None
    tables = [*reversed(_scope_stack())]
    if custom_objects:
        tables.append(custom_objects)
    tables.append(_GLOBAL_CUSTOM_OBJECTS)
    for table in tables:
        obj = _lookup(table, name)
        if obj is not None:
            return obj
    if ">" not in name:
        suffix = ">" + name
        matches = [v for k, v in _GLOBAL_CUSTOM_OBJECTS.items()
                   if isinstance(k, str) and k.endswith(suffix)]
        if len(matches) == 1:
            return matches[0]
    if module_objects:
        return _lookup(module_objects, name)
    return None


def active_custom_objects() -> dict[str, Any]:
    """All objects of the active scopes, merged (innermost wins)."""
    merged: dict[str, Any] = {}
    for table in _scope_stack():
        merged.update(table)
    return merged


class CustomObjectScope:
    """Context manager making `custom_objects` visible to deserialization:

        with CustomObjectScope({"MyLayer": MyLayer}):
            model = jkeras.models.load_model("m.keras")
    """

    def __init__(self, *custom_objects: dict | None):
        self._tables = []
        for table in custom_objects:
            if table is None:
                continue
            if not isinstance(table, dict):
                raise TypeError(
                    f"CustomObjectScope takes dicts of name -> class/function, got "
                    f"{type(table).__name__}."
                )
            self._tables.append(dict(table))

    def __enter__(self):
        stack = _scope_stack()
        self._depth = len(stack)
        stack.extend(self._tables)
        return self

    def __exit__(self, *exc):
        del _scope_stack()[self._depth:]
        return False


custom_object_scope = CustomObjectScope

__all__ = [
    "CustomObjectScope",
    "active_custom_objects",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
]
