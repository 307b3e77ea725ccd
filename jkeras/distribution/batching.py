"""Where the rows of each global batch live under a distribution, and the rule
that says what `batch_size` means.

The rule: within one process, `batch_size` is the global batch, split across
that process's devices on the mesh's batch axis. In a multi-process run each
process passes its own rows and `batch_size` is the per-process batch: the
global batch is `batch_size x data shards`, where the data shards are the
groups of processes that feed different rows (every process, unless a
`ModelParallel` mesh runs its model axis across processes: the processes of
one model replica then feed the same rows). Losses and metrics are means over
the global batch.

`DataLayout` answers the questions the training loop asks about one
distribution: how many devices of the batch axis this process feeds (its
*groups*, in order), how many data shards the run has and which one this
process is, how to put per-group blocks of rows on the devices
(`put_blocks`), and how a compiled step gathers each device's rows of a batch
from a data window without communication (`take`, a `shard_map`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec

from jkeras.distribution import api


def _process_count() -> int:
    return jax.process_count() if jax.distributed.is_initialized() else 1


def _process_index() -> int:
    return jax.process_index() if jax.distributed.is_initialized() else 0


class DataLayout:
    """The batch layout of `dist` in this process (see the module doc).

    Attributes: `num_groups` (devices on the batch axis), `groups` (the batch-axis
    positions this process feeds, ascending and contiguous), `shards` (data
    shards of the run), `shard_index` (this process's), `sharding` (rows split
    over the batch axis) and `key` (hashable: equal layouts compile the same)."""

    def __init__(self, dist: api.Distribution):
        self.dist = dist
        self.axis = dist.batch_dim_name
        self.jax_mesh = dist.device_mesh.jax_mesh
        nb = dist.batch_size_divisor
        self.num_groups = nb
        self.sharding = dist.get_data_layout((nb,))
        self._group_of = {d: idx[0].indices(nb)[0]
                          for d, idx in self.sharding.devices_indices_map((nb,)).items()}
        by_process: dict[int, set] = {}
        for d, g in self._group_of.items():
            by_process.setdefault(d.process_index, set()).add(g)
        p = _process_count()
        name = type(dist).__name__
        if set(by_process) != set(range(p)):
            raise ValueError(
                f"{name}: the mesh {dist.device_mesh} uses devices of processes "
                f"{sorted(by_process)}, but the run has {p} processes. Build the mesh over all "
                f"devices (jax.devices() / list_devices()), not only this process's."
            )
        sets = {pid: tuple(sorted(gs)) for pid, gs in by_process.items()}
        distinct = sorted(set(sets.values()))
        covered = sorted(g for s in distinct for g in s)
        contiguous = all(s == tuple(range(s[0], s[0] + len(s))) for s in distinct)
        if covered != list(range(nb)) or not contiguous or len({len(s) for s in distinct}) != 1:
            raise ValueError(
                f"{name}: with {p} processes, each process's devices must hold a contiguous "
                f"block of the batch axis '{self.axis}' ({nb} devices), the same number of "
                f"positions in every process, and processes must hold either the same block "
                f"or disjoint blocks (found {[list(sets[i]) for i in range(p)]}). Order the "
                f"mesh devices process by process (the default jax.devices() order) and "
                f"make the batch axis the first axis."
            )
        mine = sets[_process_index()]
        self.groups = list(mine)
        self.shards = len(distinct)
        self.shard_index = distinct.index(mine)
        self.multiprocess = p > 1
        self._local = sorted(((d, self._group_of[d] - mine[0]) for d in self._group_of
                              if d.process_index == _process_index()), key=lambda t: t[0].id)
        self.key = (tuple(d.id for d in dist.device_mesh.devices.ravel()),
                    dist.device_mesh.shape, dist.device_mesh.axis_names, self.axis)

    # ------------------------------------------------------------------ the batch-size rule
    @property
    def local_groups(self) -> int:
        """Batch-axis positions this process feeds (its devices' share of a batch)."""
        return len(self.groups)

    def global_batch(self, batch_size: int) -> int:
        """The global batch made of `batch_size` rows from each data shard."""
        return int(batch_size) * self.shards

    def rule(self, batch_size: int) -> str:
        """The batch-size rule, worked out for `batch_size` (for error messages)."""
        if not self.multiprocess:
            return (f"batch_size is the global batch ({batch_size} rows), split over the "
                    f"{self.num_groups} devices of mesh axis '{self.axis}'")
        return (f"in a multi-process run batch_size is the per-process batch: each process "
                f"feeds {batch_size} of its own rows per step, the global batch is "
                f"{batch_size} x {self.shards} data shard(s) = {self.global_batch(batch_size)} "
                f"rows, and each process splits its rows over its {self.local_groups} "
                f"device(s) of mesh axis '{self.axis}'")

    def check_batch_size(self, batch_size: int, what: str = "batch_size") -> None:
        """Raises ValueError, stating the rule, when this process's `batch_size`
        rows do not split evenly over its devices of the batch axis."""
        g = self.local_groups
        if int(batch_size) % g:
            raise ValueError(
                f"{type(self.dist).__name__}: {what}={batch_size} does not divide evenly over "
                f"the {g} devices of mesh axis '{self.axis}'"
                f"{' in this process' if self.multiprocess else ''} ({self.rule(batch_size)}). "
                f"Use a {what} that is a multiple of {g}."
            )

    # ------------------------------------------------------------------ placement
    def put_blocks(self, blocks: Sequence[Any]) -> jax.Array:
        """A global array split over the batch axis whose part on each of this
        process's devices is `blocks[j]` for its group `j` (0 .. local_groups - 1;
        equal shapes). Global shape: (num_groups * rows of a block, ...)."""
        first = blocks[0]
        shape = (self.num_groups * int(first.shape[0]), *first.shape[1:])
        arrays = [jax.device_put(blocks[j], d) for d, j in self._local]
        return jax.make_array_from_single_device_arrays(shape, self.sharding, arrays)

    def put_rows(self, a) -> jax.Array:
        """This process's rows `a` of a batch (its data shard's rows, in order) as
        a global array split over the batch axis."""
        a = np.asarray(a)
        g = self.local_groups
        if a.shape[0] % g:
            raise ValueError(
                f"{type(self.dist).__name__}: a batch of {a.shape[0]} rows"
                f"{' (this process)' if self.multiprocess else ''} does not divide over the "
                f"{g} devices of mesh axis '{self.axis}' ({self.rule(a.shape[0])}). Use a "
                f"batch size (and, for models that cannot pad a short last batch, a number of "
                f"samples) that is a multiple of {g}."
            )
        if not self.multiprocess:
            return jax.device_put(a, self.dist.get_data_layout(a.shape))
        return self.put_blocks(np.split(a, g))

    # ------------------------------------------------------------------ in the step
    def take(self, window, perm, step, rows: int):
        """Inside a compiled step: batch `step` of a window placed by groups (each
        device's part of `window` holds the rows it reads, `perm` its positions in
        that part, `rows` per batch, -1 for padding), gathered on each device from
        its own part. Returns the gathered pytree and the float mask of real rows,
        both split over the batch axis."""
        spec = PartitionSpec(self.axis)

        def local(window, perm, step):
            idx = jax.lax.dynamic_slice(perm, (step * rows,), (rows,))
            taken = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0, mode="clip"),
                                           window)
            return taken, (idx >= 0).astype(jnp.float32)

        return jax.shard_map(local, mesh=self.jax_mesh, in_specs=(spec, spec, PartitionSpec()),
                             out_specs=spec, check_vma=False)(window, perm, step)

    def scatter(self, buffers, values, step, rows: int):
        """Inside a compiled step: each device writes its rows of a batch
        (`values`, split over the batch axis) at position `step` of its part of
        `buffers` (the inverse of `take` on an identity `perm`)."""
        spec = PartitionSpec(self.axis)

        def local(buffers, values, step):
            return [jax.lax.dynamic_update_slice_in_dim(b, v, step * rows, axis=0)
                    for b, v in zip(buffers, values)]

        return jax.shard_map(local, mesh=self.jax_mesh, in_specs=(spec, spec, PartitionSpec()),
                             out_specs=spec, check_vma=False)(buffers, values, step)

    # ------------------------------------------------------------------ windows
    def window_order(self, positions: np.ndarray, batch_size: int) -> np.ndarray:
        """Positions of a window (one entry per batch position, a multiple of
        `batch_size`) reordered group by group: group j's rows of batch 0, of
        batch 1, ... then group j + 1's (the order `put_blocks(np.split(.., G))`
        hands to the devices)."""
        g = self.local_groups
        m = int(batch_size) // g
        return positions.reshape(-1, g, m).transpose(1, 0, 2).reshape(-1)

    def window_unorder(self, a: np.ndarray, batch_size: int) -> np.ndarray:
        """The inverse of `window_order` along the first axis."""
        g = self.local_groups
        m = int(batch_size) // g
        return a.reshape(g, -1, m, *a.shape[1:]).swapaxes(0, 1).reshape(a.shape)


def layout_of(dist: api.Distribution | None) -> DataLayout | None:
    """The (cached) DataLayout of `dist`; None for None."""
    if dist is None:
        return None
    cached = getattr(dist, "_data_layout", None)
    if cached is None or cached.multiprocess != (_process_count() > 1):
        cached = DataLayout(dist)
        dist._data_layout = cached
    return cached
