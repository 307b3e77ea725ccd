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


def model_to_keras_bytes(model) -> bytes:
    """The model as the bytes of a `.keras` file (what pickling a model stores)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jkeras-pickle-") as folder:
        path = os.path.join(folder, "model.keras")
        save_model(model, path)
        with open(path, "rb") as f:
            return f.read()


def model_from_keras_bytes(data: bytes):
    """A model from `model_to_keras_bytes`' output (unpickling a model)."""
    import os
    import tempfile

    from jkeras.saving.saving_api import load_model

    with tempfile.TemporaryDirectory(prefix="jkeras-pickle-") as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return load_model(path)
