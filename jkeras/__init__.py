"""jkeras: the Keras functional API on JAX, compiled end to end.

`import jkeras as keras` serves Keras 1, 2 and 3 code.
"""

__version__ = "0.1.0"

from jkeras.backend import xla_flags as _xla_flags  # noqa: E402

# Before any JAX computation: XLA reads XLA_FLAGS when its CPU backend starts.
_xla_flags.apply_cpu_tuning()

from jkeras import (  # noqa: E402
    activations,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    distribution,
    initializers,
    layers,
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
    training,
    utils,
)
from jkeras.engine.input_layer import Input, InputLayer  # noqa: E402
from jkeras.engine.layer import Layer  # noqa: E402
from jkeras.engine.model import Model  # noqa: E402
from jkeras.engine.sequential import Sequential  # noqa: E402
from jkeras.engine.variable import Variable  # noqa: E402

objectives = losses  # Keras 1 name

__all__ = [
    "Input", "InputLayer", "Layer", "Model", "Sequential", "Variable", "activations", "backend",
    "callbacks", "config", "constraints", "datasets", "distribution", "initializers", "layers",
    "losses", "metrics", "mixed_precision", "models", "ops", "optimizers", "preprocessing",
    "random", "regularizers", "saving", "utils",
]
