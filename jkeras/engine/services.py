"""What the engine asks of the layers above it, without importing them.

`Model.compile/fit/evaluate/predict/...` and `save/load_weights/get_config`
are implemented by `jkeras.training` and `jkeras.saving`, which sit above the
engine in the package's layering. Each of them registers an object here when
it is imported; the engine looks the object up by name when a method needs it
(loading the provider package by name the first time, as a plug-in). So the
import graph has no cycle: the engine names no module above it in code.
"""

from __future__ import annotations

_registry: dict = {}
# the package that provides each service (it registers it when imported)
_PROVIDERS = {"training": "jkeras.training", "saving": "jkeras.saving"}


def register(name: str, service) -> None:
    """Makes `service` the implementation of `name` ('training' or 'saving')."""
    _registry[name] = service


def get(name: str):
    """The registered implementation of `name`; a clear error when the package
    that provides it was not imported."""
    service = _registry.get(name)
    if service is None and name in _PROVIDERS:
        # the provider is a plug-in found by name: loading it registers the service
        import importlib

        importlib.import_module(_PROVIDERS[name])
        service = _registry.get(name)
    if service is None:
        raise RuntimeError(
            f"jkeras's {name} package is not loaded: `import jkeras` (or `import "
            f"jkeras.{name}`) before using this method."
        )
    return service


def training():
    """The training service: compile/fit/evaluate/predict and the stateless
    training API (see `jkeras.training.service`)."""
    return get("training")


def saving():
    """The saving service: save/load and configs (see `jkeras.saving.service`)."""
    return get("saving")
