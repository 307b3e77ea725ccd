"""jkeras: the Keras functional API on JAX, compiled end to end.

`import jkeras as keras` serves Keras 1, 2 and 3 code. The names here are
Keras 3's top level (`keras.Model`, `keras.layers`, `keras.ops`, ...);
docs/keras3-compatibility.md lists what each module provides. They are
imported on first use, so `import jkeras` (and `jkeras --help`) does not load
JAX until a name is needed; it only tunes XLA:CPU and the host allocator.
"""

from __future__ import annotations

import importlib

from jkeras.backend import xla_flags as _xla_flags

__version__ = "0.1.0"

# Before any JAX computation: XLA reads XLA_FLAGS when its CPU backend starts (this
# imports no JAX).
_xla_flags.apply_cpu_tuning()

# public modules: `jkeras.<name>`
_MODULES = (
    "activations", "applications", "backend", "callbacks", "compat", "config", "constraints",
    "datasets", "distillation", "distribution", "dtype_policies", "initializers", "layers",
    "legacy", "losses", "metrics", "mixed_precision", "models", "ops", "optimizers",
    "preprocessing", "random", "regularizers", "saving", "training", "tree", "utils",
    "visualization", "wrappers",
)

# public objects: name -> (module, attribute)
_OBJECTS = {
    "DTypePolicy": ("jkeras.backend.dtype_policy", "DTypePolicy"),
    "FloatDTypePolicy": ("jkeras.backend.dtype_policy", "FloatDTypePolicy"),
    "Function": ("jkeras.engine.function", "Function"),
    "Initializer": ("jkeras.initializers", "Initializer"),
    "Input": ("jkeras.engine.input_layer", "Input"),
    "InputLayer": ("jkeras.engine.input_layer", "InputLayer"),
    "InputSpec": ("jkeras.engine.input_spec", "InputSpec"),
    "KerasTensor": ("jkeras.backend.keras_tensor", "KerasTensor"),
    "Layer": ("jkeras.engine.layer", "Layer"),
    "Loss": ("jkeras.losses", "Loss"),
    "Metric": ("jkeras.metrics", "Metric"),
    "Model": ("jkeras.engine.model", "Model"),
    "Operation": ("jkeras.ops.operation", "Operation"),
    "Optimizer": ("jkeras.optimizers", "Optimizer"),
    "Regularizer": ("jkeras.regularizers", "Regularizer"),
    "RematScope": ("jkeras.backend.remat", "RematScope"),
    "Sequential": ("jkeras.engine.sequential", "Sequential"),
    "StatelessScope": ("jkeras.backend.scope", "KerasStatelessScope"),
    "SymbolicScope": ("jkeras.backend.scope", "SymbolicScope"),
    "Variable": ("jkeras.engine.variable", "Variable"),
    "device": ("jkeras.backend.device_scope", "device"),
    "name_scope": ("jkeras.backend.naming", "name_scope"),
    "remat": ("jkeras.backend.remat", "remat"),
    "objectives": ("jkeras.losses", None),  # Keras 1's name of `losses`
}


def version() -> str:
    """jkeras's version (`jkeras.__version__`)."""
    return __version__


def __getattr__(name: str):
    if name in _MODULES:
        value = importlib.import_module(f"jkeras.{name}")
    elif name in _OBJECTS:
        module, attribute = _OBJECTS[name]
        value = importlib.import_module(module)
        if attribute is not None:
            value = getattr(value, attribute)
    else:
        raise AttributeError(f"module 'jkeras' has no attribute '{name}'")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES) | set(_OBJECTS))


__all__ = [
    "DTypePolicy", "FloatDTypePolicy", "Function", "Initializer", "Input", "InputLayer",
    "InputSpec", "KerasTensor", "Layer", "Loss", "Metric", "Model", "Operation", "Optimizer",
    "Regularizer", "RematScope", "Sequential", "StatelessScope", "SymbolicScope", "Variable",
    "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets",
    "device", "distribution", "dtype_policies", "initializers", "layers", "legacy", "losses",
    "metrics", "mixed_precision", "models", "name_scope", "ops", "optimizers", "preprocessing",
    "random", "regularizers", "remat", "saving", "tree", "utils", "version", "visualization",
    "wrappers",
]
