"""Models: Model (functional or subclassed) and Sequential."""

from jkeras.engine.functional import Functional
from jkeras.engine.model import Model
from jkeras.engine.sequential import Sequential
from jkeras.saving import (
    clone_model,
    load_model,
    model_from_config,
    model_from_json,
    save_model,
)

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_config",
           "model_from_json", "save_model"]
