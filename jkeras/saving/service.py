"""The saving service the engine calls (see `jkeras.engine.services`): model
files, weights, JSON and configs of functional and Sequential models."""

from __future__ import annotations

from jkeras.saving.functional_config import (  # noqa: F401
    functional_from_config,
    functional_get_config,
    sequential_from_config,
    sequential_get_config,
)
from jkeras.saving.object_registration import CustomObjectScope
from jkeras.saving.saving_api import (  # noqa: F401
    load_weights,
    model_to_json,
    save_model,
    save_weights,
)


def functional_from_config_with(cls, config: dict, custom_objects=None):
    """A functional model of class `cls` from its config, with `custom_objects`
    in scope while layers are looked up."""
    with CustomObjectScope(custom_objects):
        return functional_from_config(cls, dict(config), custom_objects)


def sequential_from_config_with(cls, config, custom_objects=None):
    """A Sequential model of class `cls` from its config (Keras 1/2/3)."""
    with CustomObjectScope(custom_objects):
        return sequential_from_config(cls, config, custom_objects)
