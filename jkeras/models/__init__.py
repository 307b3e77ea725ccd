"""Models: Model (functional or subclassed) and Sequential."""

from jkeras.engine.functional import Functional
from jkeras.engine.model import Model
from jkeras.engine.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]
