"""Device meshes, layouts and distributions (Keras 3 names), on jax.sharding."""

from __future__ import annotations

import contextlib
import os
import re
import threading

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_state = threading.local()
_global_distribution = None


def list_devices(device_type: str | None = None) -> list[str]:
    """Device names like 'cpu:0', 'gpu:1' of the given type (default: JAX's default
    backend), across all processes."""
    devices = jax.devices(device_type.lower()) if device_type else jax.devices()
    return [f"{d.platform}:{d.id}" for d in devices]


def _resolve_devices(devices) -> list:
    if devices is None:
        return list(jax.devices())
    by_name = {f"{d.platform}:{d.id}": d for d in jax.devices()}
    out = []
    for d in devices:
        if isinstance(d, str):
            if d not in by_name:
                raise ValueError(f"Unknown device {d!r}; available: {sorted(by_name)}.")
            out.append(by_name[d])
        else:
            out.append(d)
    return out


class DeviceMesh:
    """A named grid of devices, e.g. DeviceMesh((2, 2), ('batch', 'model'))."""

    def __init__(self, shape, axis_names, devices=None):
        shape = tuple(int(s) for s in shape)
        axis_names = tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(
                f"DeviceMesh: shape {shape} and axis_names {axis_names} must have the same "
                f"length."
            )
        devs = _resolve_devices(devices)
        if int(np.prod(shape)) != len(devs):
            raise ValueError(
                f"DeviceMesh: shape {shape} needs {int(np.prod(shape))} devices, but "
                f"{len(devs)} were given/found ({[str(d) for d in devs]})."
            )
        self.shape = shape
        self.axis_names = axis_names
        self.devices = np.array(devs, dtype=object).reshape(shape)
        self.jax_mesh = Mesh(self.devices, axis_names)

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """Which mesh axis (or None) each tensor axis is split over."""

    def __init__(self, axes, device_mesh: DeviceMesh | None = None):
        self.axes = tuple(axes)
        self.device_mesh = device_mesh

    def sharding(self, mesh: DeviceMesh) -> NamedSharding:
        for a in self.axes:
            if a is not None and a not in mesh.axis_names:
                raise ValueError(
                    f"TensorLayout {self.axes}: axis {a!r} is not a mesh axis "
                    f"{mesh.axis_names}."
                )
        return NamedSharding(mesh.jax_mesh, PartitionSpec(*self.axes))

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}>"


class LayoutMap:
    """Maps variable paths (regular expressions, matched with re.search) to layouts.

    `layout_map['dense.*kernel'] = (None, 'model')` shards every matching Dense
    kernel's output axis over the mesh axis 'model'."""

    def __init__(self, device_mesh: DeviceMesh):
        self.device_mesh = device_mesh
        self._map: dict[str, TensorLayout] = {}

    def __setitem__(self, key: str, layout) -> None:
        if not isinstance(layout, TensorLayout):
            layout = TensorLayout(layout, self.device_mesh)
        re.compile(key)
        self._map[key] = layout

    def __getitem__(self, path: str) -> TensorLayout | None:
        if path in self._map:
            return self._map[path]
        matches = [k for k in self._map if re.search(k, path)]
        if len(matches) > 1:
            raise ValueError(
                f"LayoutMap: variable path {path!r} matches several keys {matches}; make the "
                f"patterns more specific."
            )
        return self._map[matches[0]] if matches else None

    def __len__(self):
        return len(self._map)

    def keys(self):
        return self._map.keys()


class Distribution:
    """Base: how batches and variables are laid out over a DeviceMesh."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str):
        self.device_mesh = device_mesh
        self.batch_dim_name = batch_dim_name
        if batch_dim_name not in device_mesh.axis_names:
            raise ValueError(
                f"{type(self).__name__}: batch_dim_name {batch_dim_name!r} is not an axis of "
                f"the mesh {device_mesh.axis_names}."
            )

    @property
    def batch_size_divisor(self) -> int:
        """The global batch must be a multiple of this."""
        i = self.device_mesh.axis_names.index(self.batch_dim_name)
        return self.device_mesh.shape[i]

    def get_data_layout(self, data_shape) -> NamedSharding:
        axes = [self.batch_dim_name] + [None] * (len(data_shape) - 1)
        return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec(*axes))

    def get_variable_layout(self, variable) -> NamedSharding:
        return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec())

    def check_batch_size(self, batch_size: int, what: str = "batch_size") -> None:
        """Raises if the global batch does not divide over the batch axis."""
        n = self.batch_size_divisor
        if batch_size % n:
            raise ValueError(
                f"{type(self).__name__}: the global {what} {batch_size} does not divide "
                f"evenly over the {n} devices of mesh axis '{self.batch_dim_name}'. Use a "
                f"{what} that is a multiple of {n}."
            )

    @contextlib.contextmanager
    def scope(self):
        """Makes this the active distribution inside the `with` block."""
        prev = getattr(_state, "distribution", None)
        _state.distribution = self
        try:
            yield self
        finally:
            _state.distribution = prev


class DataParallel(Distribution):
    """Replicates variables on every device and splits each batch across them."""

    def __init__(self, device_mesh: DeviceMesh | None = None, devices=None):
        if device_mesh is None:
            devs = _resolve_devices(devices)
            device_mesh = DeviceMesh((len(devs),), ("batch",), devs)
        if len(device_mesh.axis_names) != 1:
            # Keras uses the first axis as the batch axis for a multi-axis mesh.
            pass
        super().__init__(device_mesh, device_mesh.axis_names[0])


class ModelParallel(Distribution):
    """Lays variables out by a LayoutMap; batches split over `batch_dim_name`."""

    def __init__(self, layout_map: LayoutMap | None = None, batch_dim_name: str | None = None,
                 device_mesh: DeviceMesh | None = None):
        if layout_map is None:
            raise ValueError("ModelParallel needs layout_map=LayoutMap(device_mesh).")
        mesh = device_mesh or layout_map.device_mesh
        super().__init__(mesh, batch_dim_name or mesh.axis_names[0])
        self.layout_map = layout_map

    def get_variable_layout(self, variable) -> NamedSharding:
        layout = self.layout_map[variable.path]
        if layout is None:
            return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec())
        if len(layout.axes) != len(variable.shape):
            raise ValueError(
                f"ModelParallel: the layout {layout.axes} for variable '{variable.path}' has "
                f"{len(layout.axes)} axes but the variable has shape {variable.shape}."
            )
        sharding = layout.sharding(self.device_mesh)
        for dim, axis in zip(variable.shape, layout.axes):
            if axis is not None:
                n = self.device_mesh.shape[self.device_mesh.axis_names.index(axis)]
                if dim % n:
                    raise ValueError(
                        f"ModelParallel: variable '{variable.path}' of shape {variable.shape} "
                        f"cannot be split over mesh axis '{axis}' ({n} devices): {dim} is "
                        f"not a multiple of {n}."
                    )
        return sharding

    def check_variables(self, variables) -> None:
        """Raises if a LayoutMap key names no variable of the model."""
        paths = [v.path for v in variables]
        for key in self.layout_map.keys():
            if not any(re.search(key, p) for p in paths):
                raise ValueError(
                    f"ModelParallel: LayoutMap key {key!r} matches no variable of the model. "
                    f"Variable paths: {paths}."
                )


def set_distribution(value: Distribution | None) -> None:
    """Sets the distribution used by fit/evaluate/predict (None: single device)."""
    global _global_distribution
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution expects a Distribution or None, got {value!r}.")
    _global_distribution = value


def distribution() -> Distribution | None:
    """The active distribution: the innermost `scope()`, else the global one."""
    return getattr(_state, "distribution", None) or _global_distribution


def distribute_tensor(value, layout):
    """Places `value` with a NamedSharding or TensorLayout (on the active mesh)."""
    if isinstance(layout, TensorLayout):
        mesh = layout.device_mesh or distribution().device_mesh
        layout = layout.sharding(mesh)
    return jax.device_put(value, layout)


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, local_device_ids=None) -> None:
    """Joins a multi-process run (wraps jax.distributed.initialize; arguments default
    to the environment: JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID, or
    a cluster such as SLURM). On CPU it enables the gloo collectives JAX needs."""
    coordinator_address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and os.environ.get("JAX_NUM_PROCESSES"):
        num_processes = int(os.environ["JAX_NUM_PROCESSES"])
    if process_id is None and os.environ.get("JAX_PROCESS_ID"):
        process_id = int(os.environ["JAX_PROCESS_ID"])
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError):
        pass
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id,
                               local_device_ids=local_device_ids)
