"""jkeras: the Keras functional API on JAX, compiled end to end.

`import jkeras as keras` serves Keras 1, 2 and 3 code. The names here are
Keras 3's top level (`keras.Model`, `keras.layers`, `keras.ops`, ...);
docs/keras3-compatibility.md lists what each module provides.
"""

__version__ = "0.1.0"

from jkeras.backend import xla_flags as _xla_flags  # noqa: E402

# Before any JAX computation: XLA reads XLA_FLAGS when its CPU backend starts.
_xla_flags.apply_cpu_tuning()

from jkeras import (  # noqa: E402
    activations,
    applications,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    distribution,
    dtype_policies,
    initializers,
    layers,
    legacy,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    tree,
    utils,
    visualization,
    wrappers,
)
from jkeras import training as _training  # noqa: E402,F401  (registers the training service)
from jkeras.backend.device_scope import device  # noqa: E402
from jkeras.backend.dtype_policy import DTypePolicy, FloatDTypePolicy  # noqa: E402
from jkeras.backend.keras_tensor import KerasTensor  # noqa: E402
from jkeras.backend.naming import name_scope  # noqa: E402
from jkeras.backend.remat import RematScope, remat  # noqa: E402
from jkeras.backend.scope import KerasStatelessScope as StatelessScope  # noqa: E402
from jkeras.backend.scope import SymbolicScope  # noqa: E402
from jkeras.engine.function import Function  # noqa: E402
from jkeras.engine.input_layer import Input, InputLayer  # noqa: E402
from jkeras.engine.input_spec import InputSpec  # noqa: E402
from jkeras.engine.layer import Layer  # noqa: E402
from jkeras.engine.model import Model  # noqa: E402
from jkeras.engine.sequential import Sequential  # noqa: E402
from jkeras.engine.variable import Variable  # noqa: E402
from jkeras.initializers import Initializer  # noqa: E402
from jkeras.losses import Loss  # noqa: E402
from jkeras.metrics import Metric  # noqa: E402
from jkeras.ops.operation import Operation  # noqa: E402
from jkeras.optimizers import Optimizer  # noqa: E402
from jkeras.regularizers import Regularizer  # noqa: E402

objectives = losses  # Keras 1 name


def version() -> str:
    """jkeras's version (`jkeras.__version__`)."""
    return __version__


def __getattr__(name: str):
    # Modules that pull in optional parts are imported when first used.
    if name in ("compat", "distillation"):
        import importlib

        try:
            return importlib.import_module(f"jkeras.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"jkeras.{name}":
                raise
    raise AttributeError(f"module 'jkeras' has no attribute '{name}'")


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
