"""jkeras's own serializable objects, found by name at lookup time.

Every lookup goes through a fixed list of jkeras modules (never a module named
by a file) and accepts only classes/functions defined inside jkeras, so layers
added to `jkeras.layers` later are found without registration.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from typing import Any

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

KINDS = ("layer", "initializer", "regularizer", "constraint", "activation", "optimizer",
         "loss", "metric", "op", "dtype_policy")

# kind -> jkeras modules searched (in order)
_KIND_MODULES = {
    "layer": ("jkeras.layers", "jkeras.models", "jkeras.engine.functional",
              "jkeras.engine.sequential", "jkeras.engine.input_layer",
              "jkeras.utils.feature_space", "jkeras.distillation",
              "jkeras.applications.convnext", "jkeras.applications.inception_resnet_v2"),
    "initializer": ("jkeras.initializers",),
    "regularizer": ("jkeras.regularizers",),
    "constraint": ("jkeras.constraints",),
    "activation": ("jkeras.activations",),
    "optimizer": ("jkeras.optimizers",),
    "loss": ("jkeras.losses",),
    "metric": ("jkeras.metrics",),
    "op": ("jkeras.ops",),
    "dtype_policy": ("jkeras.backend.dtype_policy", "jkeras.mixed_precision"),
}

# Keras module (after "keras." / "keras.src.") first part -> kind
_MODULE_KINDS = {
    "layers": "layer", "models": "layer", "engine": "layer", "initializers": "initializer",
    "regularizers": "regularizer", "constraints": "constraint", "activations": "activation",
    "optimizers": "optimizer", "losses": "loss", "metrics": "metric", "ops": "op",
    "dtype_policies": "dtype_policy", "mixed_precision": "dtype_policy",
    "applications": "layer", "distillation": "layer",
}

# Keras module written for jkeras builtins of each kind
KERAS_MODULE = {
    "layer": "keras.layers", "initializer": "keras.initializers",
    "regularizer": "keras.regularizers", "constraint": "keras.constraints",
    "activation": "keras.activations", "optimizer": "keras.optimizers",
    "loss": "keras.losses", "metric": "keras.metrics", "op": "keras.src.ops.numpy",
    "dtype_policy": "keras",
}

_layer_modules_imported = False


def _import(name: str):
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _import_layer_submodules() -> None:
    """Imports every module of the jkeras.layers package (jkeras's own code), so
    layers not yet exported are found too."""
    global _layer_modules_imported
    if _layer_modules_imported:
        return
    pkg = _import("jkeras.layers")
    if pkg is not None and hasattr(pkg, "__path__"):
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                _import(f"jkeras.layers.{info.name}")
    _layer_modules_imported = True


def _is_jkeras(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "jkeras" or module.startswith("jkeras.")


def _base_class(kind: str):
    if kind == "layer":
        from jkeras.engine.layer import Layer

        return Layer
    if kind == "initializer":
        from jkeras.initializers import Initializer

        return Initializer
    if kind == "regularizer":
        from jkeras.regularizers import Regularizer

        return Regularizer
    if kind == "constraint":
        from jkeras.constraints import Constraint

        return Constraint
    if kind == "optimizer":
        mod = _import("jkeras.optimizers")
        return getattr(mod, "Optimizer", None) if mod else None
    if kind == "loss":
        mod = _import("jkeras.losses")
        return getattr(mod, "Loss", None) if mod else None
    if kind == "metric":
        mod = _import("jkeras.metrics")
        return getattr(mod, "Metric", None) if mod else None
    if kind == "dtype_policy":
        mod = _import("jkeras.backend.dtype_policy")
        return getattr(mod, "DTypePolicy", None) if mod else None
    return None


def _modules_for(kind: str) -> list:
    if kind == "layer":
        _import_layer_submodules()
        names = list(_KIND_MODULES["layer"])
        names += sorted(n for n in sys.modules if n.startswith("jkeras.layers."))
    else:
        names = list(_KIND_MODULES.get(kind, ()))
    mods = []
    for n in names:
        m = _import(n)
        if m is not None:
            mods.append(m)
    return mods


# Keras class names (as Keras 3 writes them) that jkeras exports under another name.
_KERAS_CLASS_ALIASES = {
    "initializer": {"OrthogonalInitializer": "Orthogonal", "IdentityInitializer": "Identity",
                    "ConstantInitializer": "Constant"},
    "constraint": {"MaxNormConstraint": "MaxNorm"},
}


def builtin_class(kind: str, name: str):
    """The jkeras class called `name` of this kind (e.g. "layer", "Dense"), or None."""
    if not isinstance(name, str) or not _IDENT.match(name):
        return None
    found = _builtin_class(kind, name)
    if found is None and name in _KERAS_CLASS_ALIASES.get(kind, {}):
        found = _builtin_class(kind, _KERAS_CLASS_ALIASES[kind][name])
    return found


def _builtin_class(kind: str, name: str):
    base = _base_class(kind)
    for mod in _modules_for(kind):
        obj = vars(mod).get(name)
        if not isinstance(obj, type) or not _is_jkeras(obj):
            continue
        if base is not None and not issubclass(obj, base):
            continue
        if base is None and not hasattr(obj, "get_config"):
            continue
        return obj
    return None


# helpers that live next to the functions but are not losses/metrics/activations
_NOT_FUNCTIONS = {"get", "serialize", "deserialize"}


def builtin_function(kind: str, name: str):
    """The jkeras function called `name` of this kind, or None."""
    if not isinstance(name, str) or not _IDENT.match(name) or name in _NOT_FUNCTIONS:
        return None
    if kind == "activation":
        from jkeras import activations

        return activations._BY_NAME.get(name)
    if kind == "op":
        mod = _import("jkeras.ops")
        fn = vars(mod).get(name) if mod else None
        if callable(fn) and hasattr(fn, "__wrapped__") and _is_jkeras(fn):
            return fn
        return None
    for mod in _modules_for(kind):
        fn = vars(mod).get(name)
        if callable(fn) and not isinstance(fn, type) and _is_jkeras(fn):
            return fn
    return None


def find_op(name: str):
    """The jkeras.ops function for a Keras op class or op name (`Add`, `add`,
    `GetItem`, `getitem`), or None."""
    if not isinstance(name, str) or not _IDENT.match(name):
        return None
    fn = builtin_function("op", name)
    if fn is not None:
        return fn
    from jkeras.backend.naming import to_snake_case

    for candidate in (keras_snake_case(name), to_snake_case(name)):
        fn = builtin_function("op", candidate)
        if fn is not None:
            return fn
    squashed = name.replace("_", "").lower()
    mod = _import("jkeras.ops")
    for key, fn in vars(mod).items():
        if key.replace("_", "").lower() == squashed and hasattr(fn, "__wrapped__") and (
            _is_jkeras(fn)
        ):
            return fn
    return None


def kind_of_module(module) -> str | None:
    """'layer', 'initializer', ... for a Keras/jkeras module path; 'keras' for the
    top-level package; 'builtins'; None when absent; 'foreign' otherwise."""
    if module is None:
        return None
    if not isinstance(module, str):
        return "foreign"
    if module == "builtins":
        return "builtins"
    parts = module.split(".")
    if parts[0] not in ("keras", "jkeras", "tf_keras") and module != "tensorflow.keras":
        if module.startswith("tensorflow.keras.") or module.startswith(
            "tensorflow.python.keras."
        ):
            parts = ["keras", *module.split(".")[2:]]
            if parts[1:2] == ["keras"]:
                parts = parts[1:]
        else:
            return "foreign"
    rest = parts[1:]
    if rest[:1] == ["src"]:
        rest = rest[1:]
    if not rest:
        return "keras"
    return _MODULE_KINDS.get(rest[0], "keras")


def kind_of_object(obj) -> str | None:
    """The kind of a jkeras object instance (by base class), or None."""
    for kind in ("layer", "initializer", "regularizer", "constraint", "optimizer", "loss",
                 "metric", "dtype_policy"):
        base = _base_class(kind)
        if base is not None and isinstance(obj, base):
            return kind
    from jkeras.ops.operation import Operation

    if isinstance(obj, Operation):
        return "op"
    return None


def keras_snake_case(name: str) -> str:
    """Keras 3's snake case (`Conv2D` -> `conv2d`, `BatchNormalization` ->
    `batch_normalization`), used for weight paths."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def all_names(kind: str) -> list[str]:
    """Names of the jkeras objects of this kind (for error messages)."""
    out = set()
    base = _base_class(kind)
    for mod in _modules_for(kind):
        for k, v in vars(mod).items():
            if k.startswith("_") or not _is_jkeras(v):
                continue
            if isinstance(v, type) and (base is None or issubclass(v, base)):
                out.add(k)
    return sorted(out)


def describe(obj: Any) -> str:
    return f"{type(obj).__name__} {obj!r:.60}"
