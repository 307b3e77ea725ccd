"""Keras 2 ("legacy") serialization: `{"class_name": ..., "config": {...}}` dicts.

`serialize_keras_object` writes an object's `get_config()` under the name it is
registered with; objects nested in the config are serialized the same way and
marked ``"__passive_serialization__": True``, and functions become their
registered names. `deserialize_keras_object` reverses it, finding classes and
functions only in the active custom-object scopes, `custom_objects`, the
registry of `register_keras_serializable`, and `module_objects` (nothing is
imported by name).
"""

from __future__ import annotations

import inspect

from jkeras.saving.object_registration import (
    CustomObjectScope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
)

_PASSIVE = "__passive_serialization__"


def serialize_keras_object(instance):
    """The Keras 2 config dict of `instance` (a class instance with
    `get_config()`), the registered name of a function or class, or None."""
    instance = inspect.unwrap(instance) if callable(instance) else instance
    if instance is None:
        return None
    if hasattr(instance, "get_config") and not inspect.isclass(instance):
        config = {}
        for key, item in instance.get_config().items():
            if isinstance(item, str):
                config[key] = item
                continue
            try:
                serialized = serialize_keras_object(item)
            except ValueError:
                config[key] = item  # plain values (numbers, lists, dicts) stay as they are
                continue
            if isinstance(serialized, dict) and not isinstance(item, dict):
                serialized[_PASSIVE] = True
            config[key] = serialized
        return {"class_name": get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return get_registered_name(instance)
    raise ValueError(
        f"serialize_keras_object: cannot serialize {instance!r:.80} (a "
        f"{type(instance).__name__}): it has no get_config() method."
    )


def _unknown(kind: str, name) -> ValueError:
    return ValueError(
        f"Unknown {kind}: '{name}'. Pass the objects the config may name in "
        f"`module_objects` (e.g. vars(jkeras.layers)) or `custom_objects`, register custom "
        f"ones with jkeras.saving.register_keras_serializable(), or use "
        f"jkeras.utils.custom_object_scope()."
    )


def _lookup(name: str, custom_objects, module_objects):
    return get_registered_object(name, custom_objects, module_objects)


def _class_and_config(config: dict, module_objects, custom_objects, kind: str):
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(
            f"deserialize_keras_object: expected a dict with 'class_name' and 'config' keys, "
            f"got {config!r:.120}."
        )
    cls = _lookup(config["class_name"], custom_objects, module_objects)
    if cls is None:
        raise _unknown(kind, config["class_name"])
    cls_config = config["config"]
    if isinstance(cls_config, list):  # old Sequential: a list of layer configs
        return cls, cls_config
    cls_config = dict(cls_config)
    for key, item in cls_config.items():
        if key == "name":
            continue  # a name is a name, even when a function has the same one
        if isinstance(item, dict) and _PASSIVE in item:
            item = {k: v for k, v in item.items() if k != _PASSIVE}
            cls_config[key] = deserialize_keras_object(
                item, module_objects, custom_objects, printable_module_name="config_item")
        elif isinstance(item, str):
            fn = _lookup(item, custom_objects, module_objects)
            if inspect.isfunction(fn):
                cls_config[key] = fn
    return cls, cls_config


def deserialize_keras_object(identifier, module_objects: dict | None = None,
                             custom_objects: dict | None = None,
                             printable_module_name: str = "object"):
    """The object described by `identifier`: a Keras 2 config dict (the class is
    instantiated with `from_config`, or called with the config as keyword
    arguments), a registered name (a class named so is instantiated without
    arguments, a function returned), or a function (returned as is).
    `printable_module_name` names the kind of object in errors."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls, cls_config = _class_and_config(identifier, module_objects, custom_objects,
                                            printable_module_name)
        custom_objects = custom_objects or {}
        if hasattr(cls, "from_config"):
            params = inspect.signature(cls.from_config).parameters
            if "custom_objects" in params:
                return cls.from_config(
                    cls_config, custom_objects={**get_custom_objects(), **custom_objects})
            with CustomObjectScope(custom_objects):
                return cls.from_config(cls_config)
        with CustomObjectScope(custom_objects):
            return cls(**cls_config)
    if isinstance(identifier, str):
        obj = _lookup(identifier, custom_objects, module_objects)
        if obj is None:
            raise _unknown(printable_module_name, identifier)
        return obj() if inspect.isclass(obj) else obj
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret serialized {printable_module_name}: {identifier!r:.120}. "
        f"Expected a config dict, a registered name or a function."
    )


__all__ = ["deserialize_keras_object", "serialize_keras_object"]
