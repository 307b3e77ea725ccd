"""Optimizers (optax underneath) with Keras's API, and learning-rate schedules.

`get(identifier)` returns an optimizer from a name ('sgd', 'rmsprop', 'adam',
'adamw', 'adagrad', 'adadelta', 'adamax', 'nadam', 'lion', 'adafactor', 'ftrl',
'lamb', 'muon', 'schedulefreeadamw'; any case), an
instance (returned as is), a class, or a config dict. `LossScaleOptimizer`
(dynamic loss scaling for float16, also `jkeras.mixed_precision.LossScaleOptimizer`)
is here as in Keras 3; configs with class_name 'LossScaleOptimizer' deserialize.
"""

from __future__ import annotations

from jkeras.optimizers import legacy, schedules
from jkeras.optimizers.algorithms import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    Nadam,
    RMSprop,
)
from jkeras.optimizers.base import Optimizer, OptimizerState
from jkeras.optimizers.multi import MultiOptimizer, OptimizerMap
from jkeras.optimizers.specialized import Adafactor, Ftrl, Lamb, Muon, ScheduleFreeAdamW

_CLASSES = {c.__name__.lower(): c for c in (
    SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Lion,
    Adafactor, Ftrl, Lamb, Muon, ScheduleFreeAdamW)}
_CLASSES_WITH_ARGS = {"multioptimizer": MultiOptimizer}  # deserialize only: need a map

# Keras 1/2 lowercase aliases of the classes.
sgd = SGD
rmsprop = RMSprop
adam = Adam
adamw = AdamW
adagrad = Adagrad
adadelta = Adadelta
adamax = Adamax
nadam = Nadam


def __getattr__(name: str):
    # Lazy: the loss-scaling wrapper lives with the trainer (jkeras.training).
    if name == "LossScaleOptimizer":
        from jkeras.training.loss_scale import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module 'jkeras.optimizers' has no attribute '{name}'")


def _class(name: str):
    """The optimizer class called `name` (any case), or None."""
    name = str(name).lower()
    if name == "lossscaleoptimizer":
        return __getattr__("LossScaleOptimizer")
    return _CLASSES.get(name)


def get(identifier) -> Optimizer:
    """An optimizer from a name (case-insensitive), a class, an instance or
    a config dict {'class_name': ..., 'config': {...}}."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Unknown optimizer {identifier!r}. Valid names: {sorted(_CLASSES)}, or pass "
                f"an optimizer instance such as jkeras.optimizers.Adam(learning_rate=1e-3)."
            )
        return cls()
    raise ValueError(
        f"Could not interpret optimizer identifier {identifier!r}: expected a name, an "
        f"Optimizer instance or a config dict."
    )


def serialize(optimizer: Optimizer) -> dict:
    """{'module', 'class_name', 'config', 'registered_name'} for an optimizer."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """An optimizer from `serialize`'s output (class names in any case)."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Invalid optimizer config {config!r}: expected a dict with 'class_name'."
        )
    name = config["class_name"]
    cls = custom_objects.get(name) or _class(name) or _CLASSES_WITH_ARGS.get(str(name).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer class {name!r}. Valid names: {sorted(_CLASSES)}.")
    return cls.from_config(config.get("config") or {}, custom_objects)


__all__ = [
    "Adafactor", "Ftrl", "Lamb", "MultiOptimizer", "Muon", "OptimizerMap", "ScheduleFreeAdamW",
    "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Lion", "Nadam", "Optimizer",
    "OptimizerState", "RMSprop", "adadelta", "adagrad", "adam", "adamax", "adamw",
    "deserialize", "get", "legacy", "nadam", "rmsprop", "schedules", "serialize", "sgd",
]
