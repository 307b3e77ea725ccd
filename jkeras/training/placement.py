"""Where the training loop's arrays live: the one place that puts batches and state
on devices.

`place_batch(arrays)` puts a pytree of host arrays (a data window, a batch) on the
device(s) and `place_state(state)` lays out the loop's state (variable values,
optimizer state, metric values, random key). Both defer to
`jkeras.distribution.runtime` when a distribution is active (batches split over
the mesh's batch axis, variables by their layouts); otherwise they put arrays on
the default device. On CPU a host array that is 64-byte aligned is used in place
(`jax.device_put` aliases it, no copy), so windows are built in aligned buffers
(`aligned_empty`).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np

_ALIGN = 64  # XLA:CPU aliases host buffers with this alignment


def aligned_empty(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised numpy array whose data is 64-byte aligned (so placing it
    on the CPU device needs no copy)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, dtype=np.uint8)
    offset = (-raw.ctypes.data) % _ALIGN
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


def _distribution():
    from jkeras.distribution import runtime

    return runtime.active()


def place_batch(arrays):
    """A pytree of arrays (rows first) on the device(s) the step runs on: split over
    the batch axis under a distribution, else on the default device. Host arrays
    are transferred once (aliased when aligned on CPU); device arrays stay."""
    dist = _distribution()
    if dist is not None:
        from jkeras.distribution import runtime

        return runtime.place_batch(dist, arrays)
    return put_local(arrays)


def put_local(arrays):
    """A pytree of arrays on the default device: host arrays transferred once
    (aliased when aligned on CPU), device arrays kept."""
    leaves, treedef = jax.tree_util.tree_flatten(arrays)
    host = [i for i, a in enumerate(leaves) if not isinstance(a, jax.Array)]
    if host:
        put = jax.device_put([leaves[i] for i in host])
        for i, a in zip(host, put):
            leaves[i] = a
    return jax.tree_util.tree_unflatten(treedef, leaves)


def place_state(state: dict, tvars: Sequence = (), ntvars: Sequence = ()) -> dict:
    """The loop's state dict ('tv', 'ntv', 'opt', 'mv', 'rng', ...) on the device(s):
    laid out by the distribution if one is active. Every leaf becomes a distinct
    device buffer, so the compiled step may donate (update in place) all of them."""
    dist = _distribution()
    if dist is not None:
        from jkeras.distribution import runtime

        state = runtime.place_state(dist, state, tvars, ntvars)
    leaves, treedef = jax.tree_util.tree_flatten(state)
    seen: set = set()
    out = []
    for a in leaves:
        if not isinstance(a, jax.Array):
            a = jax.device_put(np.asarray(a))
        elif id(a) in seen:
            a = jax.device_put(a, may_alias=False)  # donated twice otherwise
        seen.add(id(a))
        out.append(a)
    return jax.tree_util.tree_unflatten(treedef, out)
