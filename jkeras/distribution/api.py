"""Device meshes, layouts and distributions (Keras 3 names), on jax.sharding.

A `Distribution` says how the training loop lays data and variables out over a
`DeviceMesh` (a named grid of devices, a `jax.sharding.Mesh`): each global batch
is split over the mesh's batch axis; variables are replicated (`DataParallel`)
or split by a `LayoutMap` (`ModelParallel`). The loop itself lives in
`jkeras.training`; the placement it calls is in `jkeras.distribution.runtime`.
"""

from __future__ import annotations

import collections.abc
import contextlib
import os
import re
import threading
import warnings

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_state = threading.local()
_global_distribution = None


# ------------------------------------------------------------------------------------------
# devices
# ------------------------------------------------------------------------------------------
def _device_name(d) -> str:
    return f"{d.platform}:{d.id}"


def list_devices(device_type: str | None = None) -> list[str]:
    """Names like 'cpu:0' or 'gpu:1' of every device of `device_type` ('cpu', 'gpu',
    'tpu'; default: JAX's default backend) across all processes of the run."""
    if device_type is not None:
        kind = str(device_type).lower()
        try:
            devices = jax.devices(kind)
        except RuntimeError as e:
            raise ValueError(
                f"list_devices: no '{kind}' devices are available ({e}). Devices found: "
                f"{[_device_name(d) for d in jax.devices()]}."
            ) from None
    else:
        devices = jax.devices()
    return [_device_name(d) for d in devices]


def get_device_count(device_type: str | None = None) -> int:
    """How many devices of `device_type` ('cpu', 'gpu', 'tpu'; default: JAX's
    default backend) the run has, across all its processes."""
    return len(list_devices(device_type))


def _resolve_devices(devices) -> list:
    """jax devices from None (all devices), jax devices or names like 'gpu:0'."""
    if devices is None:
        return list(jax.devices())
    if isinstance(devices, np.ndarray):
        devices = devices.ravel().tolist()
    by_name = {}
    for d in jax.devices():
        by_name[_device_name(d)] = d
        by_name.setdefault(f"{d.device_kind.lower()}:{d.id}", d)
    out = []
    for d in devices:
        if isinstance(d, str):
            key = d.lower()
            if key not in by_name:
                raise ValueError(
                    f"Unknown device {d!r}. Available devices: "
                    f"{[_device_name(x) for x in jax.devices()]}."
                )
            out.append(by_name[key])
        else:
            out.append(d)
    if len({id(d) for d in out}) != len(out):
        raise ValueError(f"The device list names a device more than once: {devices}.")
    return out


def _spec(axes) -> PartitionSpec:
    """A PartitionSpec without trailing Nones: the form XLA gives its outputs, so a
    step's new state has exactly its inputs' sharding (no recompile on step 2)."""
    axes = list(axes)
    while axes and axes[-1] is None:
        axes.pop()
    return PartitionSpec(*axes)


class DeviceMesh:
    """A named grid of devices, e.g. `DeviceMesh((2, 4), ('batch', 'model'))` over 8
    devices (default: every device of every process, in `jax.devices()` order, so
    the first axis runs across processes). `.jax_mesh` is the `jax.sharding.Mesh`."""

    def __init__(self, shape, axis_names, devices=None):
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(
            int(s) for s in shape)
        axis_names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(
                f"DeviceMesh: shape {shape} and axis_names {axis_names} must have the same "
                f"length."
            )
        if any(s < 1 for s in shape):
            raise ValueError(f"DeviceMesh: every dimension of shape {shape} must be >= 1.")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh: axis_names {axis_names} must be distinct.")
        devs = _resolve_devices(devices)
        if int(np.prod(shape)) != len(devs):
            raise ValueError(
                f"DeviceMesh: shape {shape} needs {int(np.prod(shape))} devices, but "
                f"{len(devs)} were given/found ({[_device_name(d) for d in devs]}). Use a "
                f"shape whose product is the number of devices."
            )
        self.shape = shape
        self.axis_names = axis_names
        self.devices = np.array(devs, dtype=object).reshape(shape)
        self.jax_mesh = Mesh(self.devices, axis_names)

    def axis_size(self, name: str) -> int:
        """Number of devices along mesh axis `name`."""
        if name not in self.axis_names:
            raise ValueError(f"{name!r} is not an axis of the mesh {self.axis_names}.")
        return self.shape[self.axis_names.index(name)]

    def __eq__(self, other):
        return (isinstance(other, DeviceMesh) and self.shape == other.shape
                and self.axis_names == other.axis_names
                and [d.id for d in self.devices.ravel()] == [d.id for d in other.devices.ravel()])

    __hash__ = object.__hash__

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """Which mesh axis (or None: not split) each axis of a tensor is split over,
    e.g. `TensorLayout((None, 'model'))` splits a Dense kernel's output axis."""

    def __init__(self, axes, device_mesh: DeviceMesh | None = None):
        if isinstance(axes, str) or axes is None:
            axes = (axes,)
        self.axes = tuple(axes)
        for a in self.axes:
            if a is not None and not isinstance(a, str):
                raise TypeError(
                    f"TensorLayout: each axis must be a mesh axis name or None, got {a!r} in "
                    f"{self.axes}."
                )
        self.device_mesh = device_mesh
        if device_mesh is not None:
            self._check_mesh(device_mesh)

    def _check_mesh(self, mesh: DeviceMesh) -> None:
        for a in self.axes:
            if a is not None and a not in mesh.axis_names:
                raise ValueError(
                    f"TensorLayout {self.axes}: {a!r} is not an axis of the mesh "
                    f"{mesh.axis_names}."
                )
        named = [a for a in self.axes if a is not None]
        if len(set(named)) != len(named):
            raise ValueError(
                f"TensorLayout {self.axes}: a mesh axis can split only one tensor axis."
            )

    def sharding(self, mesh: DeviceMesh | None = None) -> NamedSharding:
        """The `NamedSharding` of this layout on `mesh` (default: its own mesh)."""
        mesh = mesh or self.device_mesh
        if mesh is None:
            raise ValueError(f"TensorLayout {self.axes} has no device mesh; pass one.")
        self._check_mesh(mesh)
        return NamedSharding(mesh.jax_mesh, _spec(self.axes))

    def __eq__(self, other):
        return isinstance(other, TensorLayout) and self.axes == other.axes

    __hash__ = object.__hash__

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}>"


class LayoutMap(collections.abc.MutableMapping):
    """Maps variable paths to layouts. Keys are regular expressions matched with
    `re.search` against paths like 'dense/kernel' (an exact key wins over patterns):

        layout_map = LayoutMap(DeviceMesh((2, 2), ('batch', 'model')))
        layout_map['dense.*/kernel'] = (None, 'model')   # split output units
        layout_map['embedding/embeddings'] = ('model', None)  # split the table's rows

    Variables that no key matches are replicated."""

    def __init__(self, device_mesh: DeviceMesh):
        if not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"LayoutMap needs a DeviceMesh, got {device_mesh!r}.")
        self.device_mesh = device_mesh
        self._map: dict[str, TensorLayout] = {}

    def __setitem__(self, key: str, layout) -> None:
        if not isinstance(key, str):
            raise TypeError(f"LayoutMap keys are variable path patterns (str), got {key!r}.")
        if key in self._map:
            raise ValueError(
                f"LayoutMap: key {key!r} is already set to {self._map[key]}; delete it first "
                f"(del layout_map[{key!r}]) to change it."
            )
        try:
            re.compile(key)
        except re.error as e:
            raise ValueError(f"LayoutMap: key {key!r} is not a valid regular expression: {e}.")\
                from None
        if not isinstance(layout, TensorLayout):
            layout = TensorLayout(layout, self.device_mesh)
        else:
            layout._check_mesh(self.device_mesh)
            if layout.device_mesh is None:
                layout.device_mesh = self.device_mesh
        self._map[key] = layout

    def __getitem__(self, path: str) -> TensorLayout | None:
        """The layout for a variable path (None when no key matches)."""
        if path in self._map:
            return self._map[path]
        matches = [k for k in self._map if re.search(k, path)]
        if len(matches) > 1:
            raise ValueError(
                f"LayoutMap: variable path {path!r} matches several keys {matches}; make the "
                f"patterns more specific (e.g. anchor them: '^dense/kernel$')."
            )
        return self._map[matches[0]] if matches else None

    def __delitem__(self, key: str) -> None:
        del self._map[key]

    def __iter__(self):
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __contains__(self, key) -> bool:
        return key in self._map

    def __repr__(self):
        return f"<LayoutMap {dict(self._map)} on {self.device_mesh}>"


# ------------------------------------------------------------------------------------------
# distributions
# ------------------------------------------------------------------------------------------
class Distribution:
    """Base: how batches and variables are laid out over a DeviceMesh.

    `auto_shard_dataset` (Keras 3's argument) says what a dataset (generator,
    PyDataset, tf.data, DataLoader) passed to fit/evaluate holds in a
    multi-process run: True (default), the global batches, read whole by every
    process, each keeping its share of each batch; False, each process's own
    batches. Arrays are always each process's own rows, with `batch_size` the
    per-process batch (see `jkeras.distribution.batching`)."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True):
        if not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"{type(self).__name__} needs a DeviceMesh, got {device_mesh!r}.")
        batch_dim_name = batch_dim_name or device_mesh.axis_names[0]
        if batch_dim_name not in device_mesh.axis_names:
            raise ValueError(
                f"{type(self).__name__}: batch_dim_name {batch_dim_name!r} is not an axis of "
                f"the mesh {device_mesh.axis_names}."
            )
        self.device_mesh = device_mesh
        self.batch_dim_name = batch_dim_name
        self.auto_shard_dataset = bool(auto_shard_dataset)

    @property
    def batch_size_divisor(self) -> int:
        """Devices on the batch axis (a single process's batch must be a multiple)."""
        return self.device_mesh.axis_size(self.batch_dim_name)

    def get_data_layout(self, data_shape) -> NamedSharding:
        """Sharding of a global data batch of `data_shape`: rows over the batch axis."""
        if len(data_shape) == 0:
            return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec())
        return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec(self.batch_dim_name))

    def get_variable_layout(self, variable) -> NamedSharding:
        """Sharding of a variable (replicated here)."""
        return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec())

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        """Layout of an intermediate tensor named `path` (None: let XLA decide)."""
        return None

    def check_batch_size(self, batch_size: int, what: str = "batch_size") -> None:
        """Raises ValueError if this process's `batch_size` rows do not split evenly
        over its devices of the batch axis (the rule: `batching`)."""
        from jkeras.distribution import batching

        batching.layout_of(self).check_batch_size(batch_size, what)

    @property
    def num_processes(self) -> int:
        """Processes in the run (1 without `initialize`)."""
        return jax.process_count() if jax.distributed.is_initialized() else 1

    @property
    def num_model_replicas(self) -> int:
        """Devices on the batch axis: copies of the model that see different rows."""
        return self.batch_size_divisor

    @property
    def data_shard_id(self) -> int:
        """Which shard of each global batch this process feeds (processes of one
        model replica feed the same shard)."""
        from jkeras.distribution import batching

        return batching.layout_of(self).shard_index

    @contextlib.contextmanager
    def scope(self):
        """Makes this the active distribution inside the `with` block (models built and
        trained there use it); the previous one is restored on exit."""
        prev = getattr(_state, "distribution", None)
        _state.distribution = self
        try:
            yield self
        finally:
            _state.distribution = prev

    def __repr__(self):
        return (f"<{type(self).__name__} mesh={self.device_mesh.shape} "
                f"axes={self.device_mesh.axis_names} batch_dim_name='{self.batch_dim_name}'>")


class DataParallel(Distribution):
    """Replicates variables on every device and splits each batch across them.

    `DataParallel()` uses every device (of every process); `devices=[...]` picks
    some; `device_mesh=` gives a mesh whose first axis is the batch axis.
    `auto_shard_dataset`: see `Distribution`."""

    def __init__(self, device_mesh: DeviceMesh | None = None, devices=None,
                 auto_shard_dataset: bool = True):
        if device_mesh is not None and devices is not None:
            raise ValueError("DataParallel: pass device_mesh or devices, not both.")
        if device_mesh is None:
            devs = _resolve_devices(devices)
            device_mesh = DeviceMesh((len(devs),), ("batch",), devs)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)


class ModelParallel(Distribution):
    """Lays variables out by a `LayoutMap` (unmatched ones are replicated) and splits
    batches over the mesh axis `batch_dim_name` (default: the first axis).

    `ModelParallel(layout_map=layout_map, batch_dim_name='batch')`; the Keras 3.0
    form `ModelParallel(device_mesh, layout_map, batch_dim_name)` is accepted too.
    `auto_shard_dataset`: see `Distribution`."""

    def __init__(self, *args, layout_map: LayoutMap | None = None,
                 batch_dim_name: str | None = None, device_mesh: DeviceMesh | None = None,
                 auto_shard_dataset: bool = True):
        args = list(args)
        if args and isinstance(args[0], DeviceMesh):
            if device_mesh is not None:
                raise TypeError("ModelParallel: device_mesh given twice.")
            device_mesh = args.pop(0)
        if args and isinstance(args[0], LayoutMap):
            if layout_map is not None:
                raise TypeError("ModelParallel: layout_map given twice.")
            layout_map = args.pop(0)
        if args and isinstance(args[0], str) and batch_dim_name is None:
            batch_dim_name = args.pop(0)
        if args:
            raise TypeError(
                f"ModelParallel: unexpected positional arguments {args}; use "
                f"ModelParallel(layout_map=..., batch_dim_name=...)."
            )
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(
                f"ModelParallel needs layout_map=LayoutMap(device_mesh), got {layout_map!r}."
            )
        mesh = device_mesh or layout_map.device_mesh
        if device_mesh is not None and device_mesh != layout_map.device_mesh:
            raise ValueError(
                f"ModelParallel: device_mesh {device_mesh} is not the LayoutMap's mesh "
                f"{layout_map.device_mesh}."
            )
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self.layout_map = layout_map

    def get_variable_layout(self, variable) -> NamedSharding:
        """The LayoutMap's sharding for `variable` (by `variable.path`), checked
        against its shape; replicated when no key matches."""
        path = getattr(variable, "path", None) or getattr(variable, "name", "")
        layout = self.layout_map[path]
        if layout is None:
            return NamedSharding(self.device_mesh.jax_mesh, PartitionSpec())
        shape = tuple(variable.shape)
        if len(layout.axes) != len(shape):
            raise ValueError(
                f"ModelParallel: the layout {layout.axes} for variable '{path}' has "
                f"{len(layout.axes)} axes but the variable has shape {shape} "
                f"({len(shape)} axes). Give one entry (mesh axis or None) per axis."
            )
        for dim, axis in zip(shape, layout.axes):
            if axis is not None:
                n = self.device_mesh.axis_size(axis)
                if dim % n:
                    raise ValueError(
                        f"ModelParallel: variable '{path}' of shape {shape} cannot be split "
                        f"over mesh axis '{axis}' ({n} devices): {dim} is not a multiple of "
                        f"{n}."
                    )
        return layout.sharding(self.device_mesh)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return self.layout_map[path]

    def check_variables(self, variables) -> None:
        """Raises ValueError if a LayoutMap key names no variable of the model (a
        typo would silently replicate what was meant to be split)."""
        paths = [getattr(v, "path", None) or getattr(v, "name", "") for v in variables]
        for key in self.layout_map:
            if key not in paths and not any(re.search(key, p) for p in paths):
                raise ValueError(
                    f"ModelParallel: LayoutMap key {key!r} matches no variable of the model. "
                    f"Variable paths are: {paths}. Fix the pattern (keys are regular "
                    f"expressions searched in these paths)."
                )


# ------------------------------------------------------------------------------------------
# global state
# ------------------------------------------------------------------------------------------
def set_distribution(value: Distribution | None) -> None:
    """Sets the distribution used by fit/evaluate/predict (None: single device).
    Models already built keep their variables until the next fit/evaluate/predict,
    which moves them to the layouts of the distribution active then."""
    global _global_distribution
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution expects a Distribution or None, got {value!r}.")
    _global_distribution = value


def distribution() -> Distribution | None:
    """The active distribution: the innermost `scope()`, else the global one."""
    scoped = getattr(_state, "distribution", None)
    return scoped if scoped is not None else _global_distribution


def distribute_tensor(value, layout):
    """`value` laid out by `layout` (a TensorLayout or a jax Sharding): placed on the
    devices when concrete, a sharding constraint when traced inside `jax.jit`."""
    if isinstance(layout, TensorLayout):
        mesh = layout.device_mesh
        if mesh is None:
            active = distribution()
            if active is None:
                raise ValueError(
                    "distribute_tensor: the TensorLayout has no device mesh and no "
                    "distribution is set; give the layout a mesh or set_distribution()."
                )
            mesh = active.device_mesh
        layout = layout.sharding(mesh)
    if isinstance(value, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(value, layout)
    from jkeras.distribution import runtime

    return runtime.place(value, layout)


# ------------------------------------------------------------------------------------------
# multi-process
# ------------------------------------------------------------------------------------------
def _env_int(*names: str) -> int | None:
    for n in names:
        v = os.environ.get(n)
        if v not in (None, ""):
            try:
                return int(v)
            except ValueError:
                raise ValueError(f"Environment variable {n}={v!r} must be an integer.") from None
    return None


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, job_addresses: str | None = None,
               local_device_ids=None, initialization_timeout: int | None = None) -> None:
    """Joins a multi-process run; call it first thing in every process, before any
    model is built or any JAX computation runs.

    Wraps `jax.distributed.initialize`. `coordinator_address` is 'host:port' of
    process 0 (Keras's `job_addresses`, a comma-separated list of every process's
    address, is accepted too: its first entry is the coordinator). Unset arguments
    come from the environment: JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES /
    JAX_PROCESS_ID, Keras's KERAS_DISTRIBUTION_JOB_ADDRESSES /
    KERAS_DISTRIBUTION_NUM_PROCESSES / KERAS_DISTRIBUTION_PROCESS_ID, or a cluster
    JAX detects itself (SLURM, Open MPI, Kubernetes, Cloud TPU). On CPU it selects
    the gloo collectives, so processes on one machine (127.0.0.1) or several
    machines train together. Calling it again in a process that already joined
    does nothing."""
    if job_addresses is None:
        job_addresses = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or None
    if coordinator_address is None and job_addresses:
        coordinator_address = str(job_addresses).split(",")[0].strip()
    coordinator_address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None:
        num_processes = _env_int("JAX_NUM_PROCESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES")
        if num_processes is None and job_addresses and "," in str(job_addresses):
            num_processes = len(str(job_addresses).split(","))
    if process_id is None:
        process_id = _env_int("JAX_PROCESS_ID", "KERAS_DISTRIBUTION_PROCESS_ID")
    if jax.distributed.is_initialized():
        if num_processes is not None and num_processes != jax.process_count():
            warnings.warn(
                f"initialize(): this process already joined a run of {jax.process_count()} "
                f"processes; num_processes={num_processes} is ignored.", stacklevel=2)
        return
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError, KeyError):
        pass
    kwargs = {}
    if initialization_timeout is not None:
        kwargs["initialization_timeout"] = int(initialization_timeout)
    try:
        jax.distributed.initialize(coordinator_address=coordinator_address,
                                   num_processes=num_processes, process_id=process_id,
                                   local_device_ids=local_device_ids, **kwargs)
    except RuntimeError as e:
        if "before any JAX" in str(e) or "backend" in str(e).lower():
            raise RuntimeError(
                f"jkeras.distribution.initialize() must run before any JAX computation (and "
                f"before models are built or jax.devices() is called): move it to the top "
                f"of the script. JAX said: {e}"
            ) from None
        raise
    except ValueError as e:
        raise ValueError(
            f"jkeras.distribution.initialize(): {e} Pass coordinator_address='host:port', "
            f"num_processes and process_id (or set JAX_COORDINATOR_ADDRESS, "
            f"JAX_NUM_PROCESSES, JAX_PROCESS_ID), or run under a cluster manager JAX "
            f"detects (SLURM, Open MPI)."
        ) from None
