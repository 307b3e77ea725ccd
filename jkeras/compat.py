"""Run Keras 1, 2 and 3 code on jkeras: `import keras` and `from keras.x import y`
resolve to jkeras once `install_keras_alias()` has run.

`keras.<path>` is `jkeras.<path>` for every module in jkeras's package (found by
walking the package's folders, so new modules are covered without a list here);
Keras 1/2 module paths (keras.layers.core, keras.utils.np_utils,
keras.engine.topology, ...) map onto jkeras's public modules, and `keras.src.<path>`
(Keras 3's private package, which some programs import) onto the nearest jkeras
module of that path. A name jkeras lacks raises an error naming the Keras API and,
for the names left out on purpose (jkeras/_keras3_exclusions.py), why; such names
are recorded in `missing_apis()`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import os
import sys
import types

from jkeras import _keras3_exclusions

# Keras 1/2 module paths -> the jkeras modules holding their names (after jkeras's
# module of the same path, where there is one).
_HISTORICAL = {
    "keras.initializations": ["jkeras.initializers"],
    "keras.objectives": ["jkeras.losses"],
    "keras.utils.np_utils": ["jkeras.utils"],
    "keras.utils.data_utils": ["jkeras.utils"],
    "keras.utils.generic_utils": ["jkeras.utils"],
    "keras.utils.io_utils": ["jkeras.utils"],
    "keras.utils.layer_utils": ["jkeras.utils"],
    "keras.utils.conv_utils": ["jkeras.utils"],
    "keras.engine": ["jkeras.models", "jkeras.layers"],
    "keras.engine.topology": ["jkeras.layers", "jkeras.models"],
    "keras.engine.training": ["jkeras.models"],
    "keras.engine.base_layer": ["jkeras.layers"],
    "keras.engine.input_layer": ["jkeras.layers"],
    "keras.engine.functional": ["jkeras.models"],
    "keras.engine.sequential": ["jkeras.models"],
}
# Historical submodules of keras.layers (keras.layers.core, keras.layers.recurrent,
# ...): their names come from the package (`from keras.layers.core import Dense`).
_LAYER_SUBMODULES = {
    "core", "convolutional", "convolutional_recurrent", "recurrent", "embeddings",
    "normalization", "pooling", "merge", "merging", "wrappers", "advanced_activations",
    "noise", "local", "activation", "rnn", "regularization", "attention",
    "preprocessing", "cudnn_recurrent", "reshaping", "dense_attention",
}
# jkeras modules that are not part of the Keras API
_NOT_KERAS = {"cli", "demo", "compat", "__main__"}
# keras.src.backend.<name> of the other Keras backends
_OTHER_BACKENDS = {"tensorflow", "torch", "numpy", "openvino"}

_missing: list[str] = []


def missing_apis() -> list[str]:
    """Keras names that code asked for and jkeras does not provide, in order."""
    return list(_missing)


@functools.cache
def jkeras_modules() -> frozenset:
    """Every module of the jkeras package ("jkeras.layers.core", ...), found from its
    folders without importing them; private (`_x`) and non-Keras modules left out."""
    root = os.path.dirname(os.path.abspath(__file__))
    found = {"jkeras"}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        prefix = "jkeras" if rel == "." else "jkeras." + rel.replace(os.sep, ".")
        if rel != "." and "__init__.py" not in files:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not d.startswith(("_", ".")) and d not in _NOT_KERAS]
        found.add(prefix)
        for f in files:
            stem = f[:-3]
            if f.endswith(".py") and not stem.startswith("_") and stem not in _NOT_KERAS:
                found.add(f"{prefix}.{stem}")
    return frozenset(found)


def _parents(module: str) -> list[str]:
    """`module` and its enclosing jkeras packages below `jkeras` itself, nearest first."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 1, -1)] or [module]


def _targets_for(fullname: str, partial_ok: bool = True) -> list[str] | None:
    """The jkeras modules whose names `keras.<...>` module `fullname` shows, nearest
    first (None: jkeras has no such module). A `keras.src` path whose last parts
    jkeras lacks (module-like names only) shows the nearest jkeras module, unless
    `partial_ok` is False."""
    modules = jkeras_modules()
    if fullname in _HISTORICAL:
        direct = "jkeras" + fullname[len("keras"):]
        return ([direct] if direct in modules else []) + _HISTORICAL[fullname]
    if fullname == "keras.src" or fullname.startswith("keras.src."):
        parts = ["jkeras", *fullname.split(".")[2:]]
        if parts[1:3] and parts[1] == "backend" and parts[2:3] and (
                parts[2] in _OTHER_BACKENDS):
            return None
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in modules:
                if end < len(parts) and (not partial_ok or not all(
                        p.islower() and p.isidentifier() for p in parts[end:])):
                    return None
                return _parents(".".join(parts[:end]))
        return None
    direct = "jkeras" + fullname[len("keras"):]
    leaves = fullname.split(".")[2:]
    if fullname.startswith("keras.layers.") and leaves and all(
            leaf in _LAYER_SUBMODULES for leaf in leaves):
        # keras.layers.core: jkeras's own module of that name where there is one, then
        # the whole layers package
        return [m for m in (direct, "jkeras.layers") if m in modules]
    if direct in modules:
        return _parents(direct)
    return None


def _missing_message(full: str, where: str) -> str:
    if full not in _missing:
        _missing.append(full)
    why = _keras3_exclusions.reason(full)
    if why is not None:
        return f"The Keras API '{full}' is not in jkeras: {why}."
    return (f"jkeras does not provide the Keras API '{full}' ({where}): it is not "
            f"implemented in jkeras, or not a Keras name. Open an issue naming it if "
            f"your program needs it.")


def _importing_a_name() -> bool:
    """True while the import system tries `pkg.name` as a module for `from pkg import
    name` (pkg lacking the attribute): a name, not a module path."""
    frame = sys._getframe(2)  # above find_spec: the import system's own frames
    while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        if frame.f_code.co_name == "_handle_fromlist":
            return True
        frame = frame.f_back
    return False


class _AliasModule(types.ModuleType):
    """A `keras.*` module that shows the names of its jkeras module(s)."""

    def __init__(self, name: str, targets: list[types.ModuleType]):
        super().__init__(name)
        self.__dict__["_targets"] = targets
        self.__dict__["__path__"] = []
        self.__dict__["__file__"] = getattr(targets[0], "__file__", None)
        self.__dict__["__doc__"] = targets[0].__doc__

    def __getattr__(self, attr: str):
        full = f"{self.__name__}.{attr}"
        for target in self.__dict__["_targets"]:
            try:
                value = getattr(target, attr)
            except AttributeError:
                continue
            if isinstance(value, types.ModuleType) and value.__name__ == (
                    "jkeras" + full[len("keras"):]) and _targets_for(full, False) is not None:
                # `from keras import layers` gives the alias module, which names the
                # missing Keras APIs it is asked for
                return importlib.import_module(full)
            return value
        if attr.startswith("__"):
            raise AttributeError(attr)
        if _targets_for(full, partial_ok=False) is not None:
            return importlib.import_module(full)
        raise AttributeError(_missing_message(
            full, f"looked up in {', '.join(t.__name__ for t in self.__dict__['_targets'])}"))

    def __dir__(self):
        names = set()
        for target in self.__dict__["_targets"]:
            names.update(dir(target))
        return sorted(names)


class _KerasAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        if _targets_for(fullname, partial_ok=not _importing_a_name()) is None:
            # Raised here (not None) so that `from keras.layers import TFSMLayer` shows
            # this message: with name=None the import system does not replace it.
            raise ModuleNotFoundError(_missing_message(fullname, "no such module"))
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        targets = [importlib.import_module(m) for m in _targets_for(spec.name)]
        return _AliasModule(spec.name, targets)

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
