"""Training and inference: compile/fit/evaluate/predict and their parts.

Importing this package registers the training service the engine's `Model`
methods call (`jkeras.engine.services`)."""

from jkeras.engine import services as _services
from jkeras.training import service as _service

_services.register("training", _service)
