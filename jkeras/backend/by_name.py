"""Looking up small configurable objects (constraints, regularizers) by name,
config dict, instance or callable, and their Keras-style serialized form."""

from __future__ import annotations

from collections.abc import Callable


def get_by_name(kind: str, by_name: dict[str, type], identifier, example: str):
    """`identifier` as an object of `kind`: None stays None, a name or a
    {'class_name', 'config'} dict builds the class from `by_name`, a callable is
    returned as is. Unknown names raise ValueError listing the known ones and
    showing `example` (how to pass an instance)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = by_name.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown {kind} {identifier!r}. Known names: {sorted(by_name)}; "
                             f"or pass an instance such as {example}.")
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = by_name.get(name)
        if cls is None:
            raise ValueError(f"Unknown {kind} class {name!r} in config {identifier!r}. Known: "
                             f"{sorted(by_name)}.")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} {identifier!r}: expected a name, a config "
                     f"dict, an instance such as {example}, or a callable.")


def serialize_object(module: str, obj) -> dict | None:
    """{'module', 'class_name', 'config', 'registered_name'} for `obj` (None: None)."""
    if obj is None:
        return None
    get_config: Callable[[], dict] = obj.get_config
    return {"module": module, "class_name": type(obj).__name__, "config": get_config(),
            "registered_name": None}
