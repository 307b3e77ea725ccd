"""Data and model parallel training on JAX's sharding and distributed runtime.

`set_distribution(DataParallel())` (or `with DataParallel().scope():`) makes
fit/evaluate/predict shard each global batch over the mesh's batch axis, with
variables replicated (DataParallel) or laid out by a `LayoutMap`
(ModelParallel). `initialize()` joins a multi-process run.
"""

from jkeras.distribution.api import (
    DataParallel,
    DeviceMesh,
    Distribution,
    LayoutMap,
    ModelParallel,
    TensorLayout,
    distribute_tensor,
    distribution,
    get_device_count,
    initialize,
    list_devices,
    set_distribution,
)

__all__ = [
    "DataParallel", "DeviceMesh", "Distribution", "LayoutMap", "ModelParallel", "TensorLayout",
    "distribute_tensor", "distribution", "get_device_count", "initialize", "list_devices",
    "set_distribution",
]
