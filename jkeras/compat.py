"""Run Keras 1, 2 and 3 code on jkeras: `import keras` and `from keras.x import y`
resolve to jkeras once `install_keras_alias()` has run.

Keras's historical module paths (keras.layers.core, keras.layers.convolutional,
keras.utils.np_utils, keras.engine.topology, ...) map onto jkeras's public
modules. A name jkeras lacks raises an error naming the Keras API, and is
recorded in `missing_apis()`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types

# Keras module path -> jkeras module path. Unlisted keras.layers.* / keras.utils.* /
# keras.src.* paths fall back on the nearest listed parent.
_MODULE_MAP = {
    "keras": "jkeras",
    "keras.layers": "jkeras.layers",
    "keras.models": "jkeras.models",
    "keras.backend": "jkeras.backend",
    "keras.activations": "jkeras.activations",
    "keras.initializers": "jkeras.initializers",
    "keras.initializations": "jkeras.initializers",
    "keras.regularizers": "jkeras.regularizers",
    "keras.constraints": "jkeras.constraints",
    "keras.ops": "jkeras.ops",
    "keras.config": "jkeras.config",
    "keras.utils": "jkeras.utils",
    "keras.utils.np_utils": "jkeras.utils",
    "keras.utils.data_utils": "jkeras.utils",
    "keras.utils.vis_utils": "jkeras.utils",
    "keras.optimizers": "jkeras.optimizers",
    "keras.optimizers.schedules": "jkeras.optimizers.schedules",
    "keras.losses": "jkeras.losses",
    "keras.objectives": "jkeras.losses",
    "keras.metrics": "jkeras.metrics",
    "keras.callbacks": "jkeras.callbacks",
    "keras.datasets": "jkeras.datasets",
    "keras.preprocessing": "jkeras.preprocessing",
    "keras.preprocessing.sequence": "jkeras.preprocessing.sequence",
    "keras.engine": "jkeras.models",
    "keras.engine.topology": "jkeras.layers",
    "keras.engine.training": "jkeras.models",
    "keras.saving": "jkeras.saving",
    "keras.mixed_precision": "jkeras.mixed_precision",
    "keras.distribution": "jkeras.distribution",
    "keras.wrappers": "jkeras.layers",
}
_FALLBACK_PARENTS = ("keras.layers", "keras.utils", "keras.engine", "keras.models")
# Historical submodule names under those parents (keras.layers.core, ...).
_KNOWN_SUBMODULES = {
    "core", "convolutional", "convolutional_recurrent", "recurrent", "embeddings",
    "normalization", "pooling", "merge", "merging", "wrappers", "advanced_activations",
    "noise", "local", "topology", "training", "functional", "sequential", "base_layer",
    "input_layer", "np_utils", "generic_utils", "layer_utils", "vis_utils", "data_utils",
    "conv_utils", "io_utils", "reshaping", "activation", "rnn", "regularization",
    "attention", "preprocessing", "cudnn_recurrent",
}

_missing: list[str] = []


def missing_apis() -> list[str]:
    """Keras names that code asked for and jkeras does not provide, in order."""
    return list(_missing)


def _target_for(fullname: str) -> str | None:
    if fullname.startswith("keras.src."):
        fullname = "keras." + fullname[len("keras.src."):]
    if fullname in _MODULE_MAP:
        return _MODULE_MAP[fullname]
    for parent in _FALLBACK_PARENTS:
        if fullname.startswith(parent + "."):
            leaves = fullname[len(parent) + 1:].split(".")
            if all(leaf in _KNOWN_SUBMODULES for leaf in leaves):
                return _MODULE_MAP[parent]
    return None


class _AliasModule(types.ModuleType):
    """A `keras.*` module that forwards attribute access to a jkeras module."""

    def __init__(self, name: str, target: types.ModuleType):
        super().__init__(name)
        self.__dict__["_target"] = target
        self.__dict__["__path__"] = []
        self.__dict__["__file__"] = getattr(target, "__file__", None)

    def __getattr__(self, attr: str):
        target = self.__dict__["_target"]
        try:
            return getattr(target, attr)
        except AttributeError:
            if attr.startswith("__"):
                raise
            full = f"{self.__name__}.{attr}"
            sub = _target_for(full)
            if sub is not None:
                return importlib.import_module(full)
            if full not in _missing:
                _missing.append(full)
            raise AttributeError(
                f"jkeras does not provide the Keras API '{full}' (mapped to "
                f"{target.__name__}). See docs on migrating, or open an issue naming it."
            ) from None

    def __dir__(self):
        return dir(self.__dict__["_target"])


class _KerasAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        if _target_for(fullname) is None:
            if fullname not in _missing:
                _missing.append(fullname)
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        target = importlib.import_module(_target_for(spec.name))
        return _AliasModule(spec.name, target)

    def exec_module(self, module):
        return None


_FINDER = _KerasAliasFinder()


def install_keras_alias() -> None:
    """Makes `import keras` (and `from keras.x import y`) resolve to jkeras in this
    process. Modules named keras already imported are replaced."""
    _missing.clear()
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall_keras_alias() -> None:
    """Undoes `install_keras_alias`."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        if isinstance(sys.modules[name], _AliasModule):
            del sys.modules[name]
