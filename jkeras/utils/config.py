"""`Config`: a dict of named values with attribute access, JSON export and freezing."""

from __future__ import annotations

import copy
import difflib
import json


class Config:
    """A dict-like container of named values.

    Values are set and read as attributes (``config.seed = 1``, ``config.seed``)
    or as items (``config["seed"]``); ``keys``/``values``/``items``/``get``/
    ``pop``/``update``, ``len``, ``in`` and iteration (over the sorted keys)
    behave as for a dict. `as_dict()` returns a copy, `to_json()` a JSON string.
    After `freeze()` every change raises ValueError until `unfreeze()`.

        config = Config(learning_rate=0.1)
        config.momentum = 0.9
        config["seed"] = 123
        config.freeze()
    """

    __attrs__ = None  # the object's own attribute names; everything else is a value

    def __init__(self, **kwargs):
        self._config = kwargs
        self._frozen = False
        self.__attrs__ = set(dir(self))

    @property
    def frozen(self) -> bool:
        """True once `freeze()` has been called (and not undone by `unfreeze()`)."""
        return self._frozen

    def freeze(self) -> None:
        """Forbids any further change to the values."""
        self._frozen = True

    def unfreeze(self) -> None:
        """Allows changes again."""
        self._frozen = False

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError(
                "Cannot mutate attribute(s) because the config is frozen. Call "
                "config.unfreeze() first if the change is intended."
            )

    def as_dict(self) -> dict:
        return copy.copy(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        return self._config.update(*args, **kwargs)

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def __setattr__(self, name, value):
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            object.__setattr__(self, name, value)
            return
        self._raise_if_frozen()
        self._config[name] = value

    def __getattr__(self, name):
        # only called when normal lookup fails: `name` is a value (or unknown)
        if name.startswith("__") or name in ("_config", "_frozen"):
            raise AttributeError(name)
        config = self._config
        if name in config:
            return config[name]
        message = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, [str(k) for k in config], n=1, cutoff=0.7)
        if close:
            message += f" Did you mean '{close[0]}'?"
        raise AttributeError(message)

    def __setitem__(self, key, item):
        self._raise_if_frozen()
        self._config[key] = item

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key):
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, item) -> bool:
        return item in self._config

    def __iter__(self):
        yield from sorted(self._config)

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
