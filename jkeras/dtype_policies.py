"""`keras.dtype_policies`: dtype policies (the dtypes of a layer's variables and
computation) and `DTypePolicyMap` (policies by layer path). The quantized
policies of Keras 3 are not provided (see docs/keras3-compatibility.md)."""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from jkeras.backend.dtype_policy import DTypePolicy, FloatDTypePolicy, global_policy
from jkeras.backend.dtype_policy import get as _get_policy

__all__ = ["DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy", "deserialize", "get",
           "serialize"]


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """Layer paths (or regular expressions over them) -> DTypePolicy; a path that
    matches no key gets `default_policy` (default: `keras.config.dtype_policy()`)."""

    def __init__(self, default_policy=None, policy_map: dict | None = None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("DTypePolicyMap: `default_policy` cannot be a DTypePolicyMap.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(
                f"DTypePolicyMap: `policy_map` must be a dict of path -> policy, got "
                f"{type(policy_map).__name__}."
            )
        self._default_policy_arg = default_policy
        self._policy_map: dict = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def default_policy(self) -> DTypePolicy:
        return _get_policy(self._default_policy_arg) if self._default_policy_arg is not None \
            else global_policy()

    @property
    def name(self) -> str:
        return f"map_{self.default_policy.name}"

    @property
    def variable_dtype(self) -> str:
        return self.default_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        return self.default_policy.compute_dtype

    def __getitem__(self, key: str) -> DTypePolicy:
        """The policy of an exact key, else of the one key whose regular expression
        fully matches `key` (ValueError when several do), else the default."""
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [p for p in self._policy_map if re.fullmatch(p, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches multiple dtype policy specification keys: {matches}. "
                f"Make sure each path matches at most one key of the DTypePolicyMap."
            )
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key: str, policy) -> None:
        if key in self._policy_map:
            raise ValueError(
                f"DTypePolicyMap: '{key}' is already set to {self._policy_map[key]}; keys "
                f"must not repeat (delete it first)."
            )
        try:
            self._policy_map[key] = _get_policy(policy)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"DTypePolicyMap: cannot interpret {policy!r} as a dtype policy: {e}"
            ) from None

    def __delitem__(self, key: str) -> None:
        del self._policy_map[key]

    def __contains__(self, key) -> bool:
        return key in self._policy_map

    def __iter__(self):
        return iter(self._policy_map)

    def __len__(self) -> int:
        return len(self._policy_map)

    def __eq__(self, other):
        return isinstance(other, DTypePolicyMap) and other.get_config() == self.get_config()

    __hash__ = object.__hash__

    def get_config(self) -> dict:
        return {"default_policy": None if self._default_policy_arg is None
                else serialize(self.default_policy),
                "policy_map": {k: serialize(p) for k, p in self._policy_map.items()}}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> DTypePolicyMap:
        default = config.get("default_policy")
        return cls(default_policy=None if default is None else deserialize(default),
                   policy_map={k: deserialize(v) for k, v in
                               (config.get("policy_map") or {}).items()})

    def __repr__(self):
        return f"<DTypePolicyMap default={self.default_policy.name!r} {self._policy_map}>"


def get(identifier) -> DTypePolicy:
    """A policy from a name ('float32', 'mixed_bfloat16', ...), a config dict, a
    policy or None (the global policy)."""
    if isinstance(identifier, dict) and identifier.get("class_name") == "DTypePolicyMap":
        return deserialize(identifier)
    return _get_policy(identifier)


def serialize(policy) -> dict:
    """A policy's config as Keras 3 writes it in files."""
    return {"module": "keras", "class_name": type(policy).__name__,
            "config": policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None) -> DTypePolicy:
    """A policy from `serialize`'s output (or a policy name)."""
    if isinstance(config, str):
        return _get_policy(config)
    if not isinstance(config, dict) or "config" not in config:
        raise ValueError(
            f"dtype_policies.deserialize expects a dict with 'class_name' and 'config' (as "
            f"serialize gives) or a policy name, got {config!r}."
        )
    name = config.get("class_name")
    classes = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy,
               "DTypePolicyMap": DTypePolicyMap, "Policy": DTypePolicy}
    cls = classes.get(name) or (custom_objects or {}).get(name)
    if cls is None:
        raise ValueError(
            f"dtype_policies.deserialize: unknown class_name {name!r}; jkeras knows "
            f"{sorted(classes)} (quantized policies are not supported)."
        )
    return cls.from_config(config["config"])
