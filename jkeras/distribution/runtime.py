"""What the training loop calls to run under a `Distribution`.

The loop (jkeras.training) stays device-agnostic; at a few points it asks this
module to:

- check the distribution against the model and the batch size before training
  (`check_before_training`; the batch-size rule is in `batching`);
- lay out its state: variables by `Distribution.get_variable_layout`, optimizer
  slots like the variable they belong to, everything else replicated
  (`place_state`, `place_variables`, `state_shardings`);
- turn each batch into global arrays split over the mesh's batch axis
  (`place_batch`): from the whole global batch in a single process, or from
  each process's own rows when several processes run (global batch = local
  batch x data shards); data windows are placed by `batching.DataLayout`;
- bring results back (`to_host`, `local_rows`), and coordinate processes
  (`is_process_zero`, `barrier`, `write_on_process_zero`).

Every function is a cheap no-op (or plain numpy) when no distribution is active
and a single process runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from jkeras.distribution import api, batching

# Set to a callable to see every batch after placement, e.g. in tests:
# `runtime.batch_hook = lambda batch: ...` (None: no call).
batch_hook: Callable | None = None


# ------------------------------------------------------------------------------------------
# processes
# ------------------------------------------------------------------------------------------
def active() -> api.Distribution | None:
    """The distribution fit/evaluate/predict use now (`distribution()`)."""
    return api.distribution()


def _joined() -> bool:
    """Whether `initialize()` joined a multi-process run (asking JAX for the process
    count before that would start its backend, which initialize() must precede)."""
    return jax.distributed.is_initialized()


def process_count() -> int:
    """Number of processes in the run (1 without `initialize`)."""
    return jax.process_count() if _joined() else 1


def process_index() -> int:
    """This process's index, 0 .. process_count() - 1."""
    return jax.process_index() if _joined() else 0


def is_process_zero() -> bool:
    """True in the process that prints progress and writes files (always, with one
    process)."""
    return process_index() == 0


def is_multiprocess() -> bool:
    """True when several processes train together."""
    return process_count() > 1


def barrier(name: str = "jkeras") -> None:
    """Waits until every process reaches the barrier of the same name (no-op with
    one process). Every process must call it, in the same order."""
    if is_multiprocess():
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def broadcast_from_process_zero(tree: Any) -> Any:
    """Process 0's values of a pytree of host arrays, in every process (numpy).
    Every process must call it with arrays of the same shapes and dtypes."""
    if process_count() == 1:
        return jax.tree_util.tree_map(np.asarray, tree)
    from jax.experimental import multihost_utils

    leaves, treedef = jax.tree_util.tree_flatten(tree)
    hosts = [np.asarray(a) for a in leaves]
    wire = [h.astype(np.int32) if h.dtype == np.bool_ else h for h in hosts]
    out = multihost_utils.broadcast_one_to_all(wire)
    out = [np.asarray(o).astype(h.dtype) for o, h in zip(out, hosts)]
    return jax.tree_util.tree_unflatten(treedef, out)


def assert_same_across_processes(value: int, what: str) -> None:
    """Raises ValueError (in every process) if the integer `value` differs between
    processes, naming `what`; with one process it does nothing."""
    if process_count() == 1:
        return
    from jax.experimental import multihost_utils

    values = np.asarray(multihost_utils.process_allgather(np.asarray(int(value), np.int64)))
    values = values.reshape(-1).tolist()
    if len(set(values)) > 1:
        raise ValueError(
            f"The processes disagree on {what}: {values} (process 0 first). Every process "
            f"must run the same number of steps: give each one the same number of samples "
            f"(its own shard) and the same batch_size/steps arguments."
        )


@contextlib.contextmanager
def write_on_process_zero(name: str = "jkeras_write") -> Iterator[bool]:
    """`with write_on_process_zero() as writer:` yields True in process 0 (which
    writes) and False elsewhere. Every process waits for the others on entry (all
    are past their own checks, e.g. overwrite=False, before anything is written)
    and on exit (what process 0 wrote is complete and renamed into place before any
    process goes on to read it). Every process must enter it, in the same order."""
    barrier(name + "_begin")
    try:
        yield is_process_zero()
    finally:
        barrier(name + "_end")


def discard_sink(mode: str = "wb") -> IO:
    """A seekable, anonymous temporary file for writes that must be thrown away
    (what processes other than 0 'save')."""
    return tempfile.TemporaryFile(mode=mode, dir=os.environ.get("TMPDIR") or None)


# ------------------------------------------------------------------------------------------
# checks before training
# ------------------------------------------------------------------------------------------
def global_batch_size(local_batch_size: int, dist: api.Distribution | None = None) -> int:
    """The global batch made of `local_batch_size` rows from every data shard of
    `dist` (default: the active distribution; with none, the batch itself)."""
    layout = batching.layout_of(dist if dist is not None else active())
    return int(local_batch_size) if layout is None else layout.global_batch(local_batch_size)


def check_before_training(dist: api.Distribution | None, variables: Sequence = (),
                          batch_size: int | None = None, what: str = "batch_size") -> None:
    """Raises a clear ValueError before any step runs if the distribution does not fit
    the model or the data: a LayoutMap key that names no variable, a layout that
    does not match a variable's rank or does not divide its shape, a batch size
    that this process's devices on the mesh's batch axis do not divide,
    or a mesh that does not span every process. `batch_size` is this process's
    (see `batching` for the rule)."""
    if dist is None:
        return
    variables = list(variables)
    if variables and isinstance(dist, api.ModelParallel):
        dist.check_variables(variables)
    for v in variables:
        dist.get_variable_layout(v)
    layout = batching.layout_of(dist)
    if batch_size is not None:
        layout.check_batch_size(batch_size, what)


def dataset_shard(dist: api.Distribution | None) -> tuple[int, int] | None:
    """For a dataset (a source of batches) in a multi-process run with
    `auto_shard_dataset=True`: (this process's data shard, shards), the part of
    each global batch it keeps; None when each process's dataset already yields
    its own batches (one process, or `auto_shard_dataset=False`)."""
    if dist is None or process_count() == 1 or not dist.auto_shard_dataset:
        return None
    layout = batching.layout_of(dist)
    return layout.shard_index, layout.shards


def check_dataset_is_global(batch: Any, what: str = "x") -> None:
    """Raises ValueError (in every process) if the first batch of a dataset that
    every process should read whole (`auto_shard_dataset=True`) differs between
    processes: the dataset is then already sharded. One collective."""
    if process_count() == 1:
        return
    digest = 0
    for a in jax.tree_util.tree_leaves(batch):
        h = np.ascontiguousarray(np.asarray(a))
        digest = zlib.crc32(h.tobytes(), zlib.crc32(str((h.shape, h.dtype)).encode(), digest))
    from jax.experimental import multihost_utils

    values = np.asarray(multihost_utils.process_allgather(np.asarray(digest, np.int64)))
    if len(set(values.reshape(-1).tolist())) > 1:
        raise ValueError(
            f"The dataset passed as `{what}` yields different first batches in different "
            f"processes, but the distribution has auto_shard_dataset=True: every process is "
            f"to read the same, whole dataset (its batches are global batches) and keep its "
            f"share of each. If each process's dataset already yields that process's own "
            f"batches, pass auto_shard_dataset=False to DataParallel/ModelParallel."
        )


def check_short_batch(dist: api.Distribution | None, num_samples: int, local_batch: int,
                      pad: bool, what: str = "x") -> None:
    """Before training: when a model cannot pad a short last batch (it runs at its
    real size), that batch too must divide over this process's devices of the
    batch axis. `num_samples` and `local_batch` are this process's."""
    if dist is None or pad:
        return
    layout = batching.layout_of(dist)
    short = int(num_samples) % int(local_batch)
    g = layout.local_groups
    if short and short % g:
        raise ValueError(
            f"{type(dist).__name__}: the last batch of `{what}` has {short} rows"
            f"{' in this process' if layout.multiprocess else ''}, which does not divide over "
            f"the {g} devices of mesh axis '{dist.batch_dim_name}' ({layout.rule(local_batch)}); "
            f"this model cannot pad it (its layers depend on the whole batch, e.g. "
            f"BatchNormalization). Use a number of samples that is a multiple of the batch "
            f"size, or a remainder that is a multiple of {g}."
        )


# ------------------------------------------------------------------------------------------
# placement
# ------------------------------------------------------------------------------------------
def replicated(dist: api.Distribution) -> NamedSharding:
    """A sharding that keeps a full copy on every device of the mesh."""
    return NamedSharding(dist.device_mesh.jax_mesh, PartitionSpec())


def _has_sharding(value, sharding) -> bool:
    """Whether `value` already is a concrete array with exactly `sharding` (an
    equivalent but different sharding is re-placed: jit keys its compiled code on
    the exact input shardings)."""
    if not isinstance(value, jax.Array) or isinstance(value, jax.core.Tracer):
        return False
    return value.sharding == sharding


def _needs_host_copy(value, sharding) -> bool:
    """Whether building `value` under `sharding` needs its host value in every process
    (a value that is not yet a global array, placed on devices of other processes)."""
    if sharding.is_fully_addressable:
        return False
    return not (isinstance(value, jax.Array) and not value.is_fully_addressable)


def _from_host(host: np.ndarray, sharding) -> jax.Array:
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def place(value: Any, sharding: jax.sharding.Sharding) -> jax.Array:
    """`value` as a global array laid out by `sharding` (returned as is when it already
    is). With several processes a value that is not yet a global array must be equal
    in every process (use `place_tree`, which takes process 0's values)."""
    if _has_sharding(value, sharding):
        return value
    if _needs_host_copy(value, sharding):
        return _from_host(np.asarray(value), sharding)
    return jax.device_put(value, sharding)


def place_tree(tree: Any, shardings: Any) -> Any:
    """Places each leaf of `tree` by the matching leaf of `shardings` (a pytree of the
    same structure, or one sharding for every leaf). Leaves already laid out are
    kept; with several processes, leaves that are not yet global arrays take
    process 0's values (one broadcast for all of them), so every process starts
    from the same weights, optimizer state and random key."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if isinstance(shardings, jax.sharding.Sharding):
        shs = [shardings] * len(leaves)
    else:
        shs = treedef.flatten_up_to(shardings)
    out = list(leaves)
    host_idx = []
    dev_idx = []
    for i, (a, s) in enumerate(zip(leaves, shs)):
        if _has_sharding(a, s):
            continue
        if _needs_host_copy(a, s):
            host_idx.append(i)
        else:
            dev_idx.append(i)
    if dev_idx:
        placed = jax.device_put([leaves[i] for i in dev_idx], [shs[i] for i in dev_idx])
        for i, a in zip(dev_idx, placed):
            out[i] = a
    if host_idx:
        impls = [_key_impl(leaves[i]) for i in host_idx]
        raw = [jax.random.key_data(leaves[i]) if k is not None else leaves[i]
               for i, k in zip(host_idx, impls)]
        hosts = broadcast_from_process_zero([np.asarray(a) for a in raw])
        for i, h, k in zip(host_idx, hosts, impls):
            a = _from_host(h, shs[i])
            out[i] = a if k is None else jax.random.wrap_key_data(a, impl=k)
    return jax.tree_util.tree_unflatten(treedef, out)


def _key_impl(a):
    """The PRNG implementation of a typed key array (None for other arrays)."""
    dtype = getattr(a, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return jax.random.key_impl(a)
    return None


def variable_shardings(dist: api.Distribution, variables: Sequence) -> list:
    """Each variable's sharding under `dist` (checked against its shape)."""
    return [dist.get_variable_layout(v) for v in variables]


def optimizer_state_shardings(dist: api.Distribution, opt_state: Any,
                              variables: Sequence) -> Any:
    """Shardings for an optimizer state over `variables` (the list the optimizer
    updates, in order): a slot (a leaf found at index i of a list/tuple, with the
    shape of variable i) is laid out like variable i; counters, learning rates and
    anything else are replicated."""
    variables = list(variables)
    var_sh = variable_shardings(dist, variables)
    rep = replicated(dist)
    paths, treedef = jax.tree_util.tree_flatten_with_path(opt_state)
    out = []
    for path, leaf in paths:
        s = rep
        last = path[-1] if path else None
        idx = getattr(last, "idx", None)
        if isinstance(idx, int) and 0 <= idx < len(variables) and \
                tuple(np.shape(leaf)) == tuple(variables[idx].shape):
            s = var_sh[idx]
        out.append(s)
    return jax.tree_util.tree_unflatten(treedef, out)


def state_shardings(dist: api.Distribution, state: dict, tvars: Sequence,
                    ntvars: Sequence) -> dict:
    """Shardings for the training loop's state dict: 'tv' / 'ntv' (trainable and
    non-trainable variable values) by the variables' layouts, 'opt' like the
    trainable variables, and any other entry ('mv' metric values, 'rng', ...)
    replicated. Same keys as `state`."""
    rep = replicated(dist)
    out = {}
    for k, v in state.items():
        if k == "tv":
            out[k] = type(v)(variable_shardings(dist, tvars)) if isinstance(
                v, (list, tuple)) else variable_shardings(dist, tvars)
        elif k == "ntv":
            out[k] = type(v)(variable_shardings(dist, ntvars)) if isinstance(
                v, (list, tuple)) else variable_shardings(dist, ntvars)
        elif k == "opt":
            out[k] = optimizer_state_shardings(dist, v, tvars)
        else:
            out[k] = jax.tree_util.tree_map(lambda _: rep, v)
    return out


def place_state(dist: api.Distribution | None, state: dict, tvars: Sequence,
                ntvars: Sequence) -> dict:
    """`state` (see `state_shardings`) laid out under `dist`; unchanged when `dist` is
    None. Cheap when already placed (the check is per leaf, no copy)."""
    if dist is None:
        return state
    return place_tree(state, state_shardings(dist, state, tvars, ntvars))


def place_variables(dist: api.Distribution | None, variables: Sequence) -> None:
    """Moves each variable's value to its layout under `dist` (in place), e.g. when a
    distribution is set after the model was built. Multi-process: every process
    takes process 0's values."""
    if dist is None:
        return
    variables = list(variables)
    values = [v.value for v in variables]
    placed = place_tree(values, variable_shardings(dist, variables))
    for v, a in zip(variables, placed):
        if a is not v.value:
            v.assign(a)


def place_optimizer(dist: api.Distribution | None, optimizer: Any,
                    variables: Sequence) -> None:
    """Lays out `optimizer.state` (if built) like `variables` (see
    `optimizer_state_shardings`)."""
    state = getattr(optimizer, "state", None)
    if dist is None or state is None:
        return
    optimizer.state = place_tree(state, optimizer_state_shardings(dist, state, variables))


def place_batch(dist: api.Distribution | None, batch: Any) -> Any:
    """A batch (any pytree of arrays with rows first) as global arrays split over the
    batch axis of `dist`; unchanged when `dist` is None.

    One process: each leaf is the whole global batch. Several processes: each leaf
    holds this process's rows (local batch), and the global batch is the local
    batches of the data shards in order (global rows = local rows x shards; see
    `batching`). 0-d leaves are replicated."""
    if dist is None:
        return batch
    layout = batching.layout_of(dist)
    leaves, treedef = jax.tree_util.tree_flatten(batch)
    out = list(leaves)
    rep = replicated(dist)
    for i, a in enumerate(leaves):
        if np.ndim(a) == 0:
            out[i] = place(a, rep)
        elif not _has_sharding(a, dist.get_data_layout(np.shape(a))):
            out[i] = layout.put_rows(a)
    placed = jax.tree_util.tree_unflatten(treedef, out)
    if batch_hook is not None:
        batch_hook(placed)
    return placed


def constrain(tree: Any, shardings: Any) -> Any:
    """Inside a jitted step: `jax.lax.with_sharding_constraint` of each leaf of
    `tree` to the matching sharding (keeps the new state laid out like the old one,
    so the next step reuses the compiled function). `shardings` None: unchanged."""
    if shardings is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, shardings)


# ------------------------------------------------------------------------------------------
# back to the host
# ------------------------------------------------------------------------------------------
def _index_key(index) -> tuple:
    return tuple((sl.start, sl.stop, sl.step) for sl in index)


def _locally_complete(a) -> bool:
    """Whether this process's devices hold every piece of `a` (e.g. variables split
    over a 'model' axis that lies within each process)."""
    every = {_index_key(i) for i in a.sharding.devices_indices_map(a.shape).values()}
    here = {_index_key(s.index) for s in a.addressable_shards}
    return every <= here


def to_host(a: Any) -> np.ndarray:
    """The whole value of `a` as numpy, in every process. An array whose pieces are
    not all on this process's devices is gathered (a collective: every process
    must call this for the same arrays, in the same order)."""
    if isinstance(a, jax.Array) and not a.is_fully_addressable and \
            not a.is_fully_replicated and not _locally_complete(a):
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(a, tiled=True))
    return np.asarray(a)


def local_rows(a: Any) -> np.ndarray:
    """This process's rows of an array split over the batch axis (the rows it fed in
    `place_batch`), assembled from its own devices (no communication); the whole
    array with one process or when not split."""
    if not isinstance(a, jax.Array) or a.is_fully_addressable or a.is_fully_replicated \
            or a.ndim == 0:
        return np.asarray(a)
    blocks: dict[int, np.ndarray] = {}
    for shard in a.addressable_shards:
        idx = tuple(shard.index) + (slice(None),) * (a.ndim - len(shard.index))
        start, stop, _ = idx[0].indices(a.shape[0])
        buf = blocks.get(start)
        if buf is None:
            buf = blocks[start] = np.empty((stop - start, *a.shape[1:]), dtype=a.dtype)
        buf[(slice(None), *idx[1:])] = np.asarray(shard.data)
    chunks = [blocks[k] for k in sorted(blocks)]
    return np.concatenate(chunks, axis=0) if len(chunks) > 1 else chunks[0]
