"""Data input for fit/evaluate: arrays, generators/iterables, PyDataset/Sequence,
torch DataLoader and tf.data (duck-typed).

Every source becomes a `DataHandler` (in-memory arrays an `ArrayHandler`, here;
the other sources an `IterableHandler`, in `data_iterables`). `epoch(e)` yields
batches `(x, y, sw, valid)`:
flat lists of device arrays in model input/output order, per-output sample
weights, and `valid`, a float mask of the rows that are real (1) or padding (0).
A batch smaller than the batch size is padded to it (when padding is exact
for the model) so the compiled step keeps one input signature.

In-memory arrays (`ArrayHandler`) are also served as *windows* (`windows(e)`):
a window is a set of device arrays of `R` rows plus `perm`, for each batch
position the window row to take (-1: a padding row), so a compiled function
gathers its batches itself (several steps per call, no host work per step).
When the data fits the memory budget it is one window put on the device once
(rows in their original order; shuffling only changes `perm`); otherwise each
epoch streams through windows of `R` rows gathered on the host in the epoch's
order. Window sizes are rounded up to a power-of-two number of batches, so data
of similar size reuses a compiled function.

Under a distribution the windows are the same, laid out for the mesh (see
`jkeras.distribution.batching`): each device of the batch axis holds the rows
it reads (a resident window: a copy of this process's rows; a streamed one:
its own part, in batch order) and `perm` is split likewise, so the compiled
step gathers every device's share of a batch from its own memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.distribution import batching, runtime
from jkeras.training import data_order
from jkeras.training.placement import aligned_empty, place_batch, put_local

Batch = tuple  # (x_list, y_list, sw_list, valid)


# ------------------------------------------------------------------------------------------
# recognising inputs
# ------------------------------------------------------------------------------------------
def is_array_like(a) -> bool:
    return isinstance(a, (np.ndarray, jax.Array)) or (
        hasattr(a, "shape") and hasattr(a, "__array__")  # torch/tf tensors, pandas
    )


def is_dataset(x) -> bool:
    """A source of batches (not arrays or a list/dict of arrays)."""
    from jkeras.utils.data import PyDataset

    if isinstance(x, PyDataset):
        return True
    if x is None or is_array_like(x) or isinstance(x, (list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "as_numpy_iterator"):  # tf.data.Dataset
        return True
    if hasattr(x, "__next__") or hasattr(x, "__iter__"):
        return True
    return hasattr(x, "__getitem__") and hasattr(x, "__len__")


def is_pydataset(x) -> bool:
    from jkeras.utils.data import PyDataset

    if isinstance(x, PyDataset):
        return True
    # Keras-2-style Sequences from other code: __getitem__ + __len__, no __iter__ protocol
    return (hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "__iter__")
            and not is_array_like(x))


def to_host(a):
    """A framework tensor (torch, tf) as a numpy array; numpy/jax arrays as they are."""
    if isinstance(a, (np.ndarray, jax.Array)):
        return a
    if getattr(a, "_is_variable", False):
        return a.value
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch
        return a.detach().cpu().numpy()
    if hasattr(a, "numpy") and callable(a.numpy):  # tf
        return a.numpy()
    return np.asarray(a)


def map_structure(fn, s):
    if isinstance(s, dict):
        return {k: map_structure(fn, v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return type(s)(map_structure(fn, v) for v in s) if isinstance(s, tuple) else [
            map_structure(fn, v) for v in s
        ]
    if s is None:
        return None
    return fn(s)


def unpack_batch(item):
    """(x, y, sample_weight) from a dataset item: a tuple/list of 1 to 3 parts, or x."""
    if isinstance(item, list):
        item = tuple(item)
    if isinstance(item, tuple):
        if len(item) == 1:
            return item[0], None, None
        if len(item) == 2:
            return item[0], item[1], None
        if len(item) == 3:
            return item
        raise ValueError(
            f"A dataset/generator batch must be (x,), (x, y) or (x, y, sample_weight); got a "
            f"tuple of {len(item)} elements."
        )
    return item, None, None


def num_rows(flat: list) -> int:
    for a in flat:
        if a is not None and getattr(a, "ndim", 0) > 0:
            return int(a.shape[0])
    return 0


# ------------------------------------------------------------------------------------------
# device gathering and padding
# ------------------------------------------------------------------------------------------
@jax.jit
def _gather(data, idx):
    return jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0, mode="clip"), data)


def _pad_rows(a, size: int):
    pad = size - a.shape[0]
    if pad <= 0:
        return a
    widths = [(0, pad)] + [(0, 0)] * (a.ndim - 1)
    return np.pad(np.asarray(a), widths)


class _ValidMasks:
    """Device masks of `size` rows with the first `real` set (rows `lo` .. `hi`
    of it: a process's share of a global batch), cached."""

    def __init__(self):
        self._cache: dict = {}

    def get(self, size: int, real: int, lo: int = 0, hi: int | None = None):
        hi = size if hi is None else hi
        key = (size, real, lo, hi)
        m = self._cache.get(key)
        if m is None:
            m = place_batch((np.arange(lo, hi) < real).astype("float32"))
            self._cache[key] = m
        return m


def default_budget_bytes() -> int:
    """How many bytes of training data a handler keeps on the device at once:
    `JKERAS_DATA_BUDGET_MB` if set, else 32 MiB on CPU (the data is already in host
    memory; streaming windows keeps peak memory low) and 1 GiB on accelerators.
    Data that fits stays on the device; larger data streams through three window
    buffers that share the budget."""
    env = os.environ.get("JKERAS_DATA_BUDGET_MB")
    if env:
        try:
            return max(1, int(float(env) * (1 << 20)))
        except ValueError:
            raise ValueError(
                f"JKERAS_DATA_BUDGET_MB must be a number of MiB, got {env!r}."
            ) from None
    return (32 << 20) if jax.default_backend() == "cpu" else (1 << 30)


_STREAM_BUFFERS = 3  # windows alive at once when streaming: computing, ready, being filled


def _bucket_steps(steps: int) -> int:
    """Batches per window: the next power of two (at least 8)."""
    return max(8, 1 << max(0, int(steps - 1).bit_length()))


# ------------------------------------------------------------------------------------------
# handlers
# ------------------------------------------------------------------------------------------
class Window(NamedTuple):
    """Device arrays of R rows (`data`: (xs, ys, sws)), `perm` (int32[R'], R' a
    multiple of the batch size: the window row of each batch position, -1 for
    padding) and the batches to run: positions `start` .. `start + steps - 1`.
    The loop appends to `done` the last output computed from the window (its
    host buffer is reused once that output is ready)."""

    data: tuple
    perm: object
    start: int
    steps: int
    done: list


class DataHandler:
    """Yields the batches of one epoch. `steps` is the number of batches per epoch
    (None until known for iterables without length); `num_samples` when known."""

    steps: int | None = None
    num_samples: int | None = None
    exhausted = False

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        """The batches of epoch `epoch` from batch `start_step` on (a resumed epoch)."""
        raise NotImplementedError

    def windows(self, epoch: int, start_step: int = 0) -> Iterator:
        """The epoch as Windows and batches (tuples); by default only batches."""
        return self.epoch(epoch, start_step)

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass


class ArrayHandler(DataHandler):
    """In-memory arrays (standardized: x, y, sw flat lists with one row count),
    served as windows (see the module doc) or batches. `batch_size` is this
    process's batch; the windows are laid out for the distribution active when
    the handler is made."""

    def __init__(self, x: list, y: list, sw: list, batch_size: int, shuffle=False,
                 steps: int | None = None, pad: bool = True, budget_bytes: int | None = None):
        self.num_samples = n = num_rows(x + y + sw)
        self.batch_size = bs = int(batch_size)
        self._nx, self._ny = len(x), len(y)
        self.layout = batching.layout_of(runtime.active())
        self._groups = self.layout.local_groups if self.layout is not None else 1
        keep = self.layout is None  # under a distribution windows are built on the host
        self.arrays = [a if keep and isinstance(a, jax.Array) else np.asarray(a)
                       for a in x + y + sw]
        self.shuffle = shuffle
        self.pad = pad
        self._full_steps = -(-n // bs)
        self.steps = int(steps) if steps is not None else self._full_steps
        self._masks = _ValidMasks()
        row_bytes = sum(int(np.prod(a.shape[1:], dtype=np.int64)) * np.dtype(a.dtype).itemsize
                        for a in self.arrays) or 1
        budget = default_budget_bytes() if budget_bytes is None else int(budget_bytes)
        bucket = _bucket_steps(self._full_steps)
        self.resident = bucket * bs * row_bytes <= budget
        stream_steps = max(1, budget // (_STREAM_BUFFERS * row_bytes * bs))
        self.window_rows = (bucket if self.resident else stream_steps) * bs
        self._resident_data = None
        self._perm_cache: dict = {}
        self._pool: list = []  # streaming: [host arrays, done list] per buffer
        self._next_slot = 0
        self.shuffle_seed = data_order.draw_seed() if shuffle else None

    def window_avals(self) -> tuple:
        """Types of a window's arrays ((xs, ys, sws) lists) and of `perm`, as
        jax.ShapeDtypeStruct (for compiling ahead of the first window)."""
        size = self.window_rows
        flat = [jax.ShapeDtypeStruct((size, *a.shape[1:]), np.dtype(a.dtype))
                for a in self.arrays]
        return self._split(flat), jax.ShapeDtypeStruct((size,), np.int32)

    # orders ---------------------------------------------------------------------------
    def _epoch_passes(self, epoch: int) -> Iterator[tuple[np.ndarray, int]]:
        """(pass order, batches to run from it) covering `steps` batches; the
        order is a function of (`shuffle_seed`, epoch) (see `data_order`)."""
        left, part = self.steps, 0
        while left > 0:
            take = min(left, self._full_steps)
            rng = data_order.generator(self.shuffle_seed, epoch, part) if self.shuffle else None
            yield data_order.pass_order(self.num_samples, self.batch_size, self.shuffle, rng), take
            left -= take
            part += 1

    # windows ----------------------------------------------------------------------------
    def _host_window(self, rows: np.ndarray, buffers: list | None = None,
                     whole: bool = False) -> tuple:
        """Window arrays holding data rows `rows` (-1: a padding row, filled with a
        real row), `window_rows` rows each, on the device(s); written into `buffers`
        when given. `whole`: every device of the batch axis gets all the rows (a
        resident window); else each its part (see `_put`)."""
        size = self.window_rows
        real = rows[rows >= 0]
        fill = int(real[0]) if len(real) else 0
        idx = np.where(rows >= 0, rows, fill)
        if len(idx) < size:
            idx = np.concatenate([idx, np.full(size - len(idx), fill, dtype=idx.dtype)])
        out = []
        dev_idx = None
        for j, a in enumerate(self.arrays):
            if isinstance(a, jax.Array):
                if dev_idx is None:
                    dev_idx = put_local(idx.astype(np.int32))
                out.append(_gather(a, dev_idx))
                continue
            buf = buffers[j] if buffers is not None else aligned_empty(
                (size, *a.shape[1:]), a.dtype)
            np.take(a, idx, axis=0, out=buf, mode="clip")
            out.append(buf)
        return self._split(self._put(out, whole))

    def _put(self, arrays: list, whole: bool) -> list:
        """Window arrays on the device(s). Under a distribution the device(s) of
        this process's batch-axis group j get block j of each array (rows
        arranged by `_device_order`), or all of it when `whole`."""
        if self.layout is None:
            return put_local(arrays)
        g = self._groups
        return [self.layout.put_blocks([a] * g if whole else np.split(a, g)) for a in arrays]

    def _device_order(self, positions: np.ndarray) -> np.ndarray:
        """`positions` (one entry per batch position of a window) in the order the
        devices hold them: group by group under a distribution, else unchanged."""
        if self.layout is None:
            return positions
        return self.layout.window_order(positions, self.batch_size)

    def _padded(self, positions: np.ndarray) -> np.ndarray:
        """`positions` padded with -1 to `window_rows` entries."""
        size = self.window_rows
        if len(positions) >= size:
            return positions
        return np.concatenate([positions, np.full(size - len(positions), -1,
                                                  dtype=positions.dtype)])

    def _stream_window(self, chunk: np.ndarray) -> tuple[tuple, list, object]:
        """A streaming window of the data rows `chunk` (one per batch position, -1
        for padding) in the next of `_STREAM_BUFFERS` reused host buffers (waiting
        until the device is done with that buffer's previous window). Returns
        (window data, its `done` list, its perm)."""
        if len(self._pool) < _STREAM_BUFFERS:
            bufs = [None if isinstance(a, jax.Array) else aligned_empty(
                (self.window_rows, *a.shape[1:]), a.dtype) for a in self.arrays]
            self._pool.append([bufs, []])
        slot = self._pool[self._next_slot % len(self._pool)]
        self._next_slot += 1
        if slot[1]:
            jax.block_until_ready(slot[1][-1])
        slot[1] = []
        chunk = self._padded(chunk)
        data = self._host_window(self._device_order(chunk), slot[0])
        # each device's part holds its rows of batch 0, 1, ... in order: batch b's
        # position i of a group sits at b * (rows per group) + i of the part
        pos = np.arange(len(chunk))
        m = self.batch_size // self._groups
        local = np.where(chunk >= 0, pos // self.batch_size * m + pos % m, -1)
        return data, slot[1], self._perm(local)

    def _split(self, flat: list) -> tuple:
        nx, ny = self._nx, self._ny
        return (list(flat[:nx]), list(flat[nx:nx + ny]), list(flat[nx + ny:]))

    def _resident(self) -> tuple:
        if self._resident_data is None:
            rows = self._padded(np.arange(self.num_samples))
            self._resident_data = self._host_window(rows, whole=True)
        return self._resident_data

    def _perm(self, positions: np.ndarray):
        """`positions` (window rows or -1, one per batch position) padded with -1 to
        the window size, on the device(s) in their order (`_device_order`); the
        ones of unshuffled data are cached."""
        positions = self._padded(positions)
        key = positions.tobytes() if not self.shuffle else None
        hit = self._perm_cache.get(key) if key is not None else None
        if hit is None:
            ordered = self._device_order(positions).astype(np.int32)
            hit = self._put([ordered], whole=False)[0]
            if key is not None:
                self._perm_cache[key] = hit
        return hit

    def _pieces(self, order: np.ndarray, steps: int) -> Iterator[tuple]:
        """(data rows or -1 per position, first batch, batches) windows of one pass."""
        bs, size = self.batch_size, self.window_rows
        order = order[:steps * bs]
        for lo in range(0, len(order), size):
            chunk = order[lo:lo + size]
            yield chunk, -(-len(chunk) // bs)

    def windows(self, epoch: int, start_step: int = 0) -> Iterator:
        """The epoch as Window items (and, for models that cannot pad, short batches
        as `(x, y, sw, valid)` tuples at their real size), from batch `start_step`
        on."""
        bs = self.batch_size
        skip = start_step
        for order, steps in self._epoch_passes(epoch):
            for chunk, nsteps in self._pieces(order, steps):
                if skip >= nsteps:  # a resumed epoch: a window before its first batch
                    skip -= nsteps
                    continue
                if self.resident:
                    data, perm, done = self._resident(), self._perm(chunk), []
                else:
                    data, done, perm = self._stream_window(chunk)
                if self.pad:
                    yield Window(data, perm, skip, nsteps - skip, done)
                else:
                    yield from data_order.skip_batches(
                        self._unpadded(data, perm, chunk, nsteps, bs, done), skip, Window)
                skip = 0

    def _unpadded(self, data, perm, chunk, nsteps, bs, done) -> Iterator:
        """Full batches as windows, short ones as batches of their real size."""
        run = 0
        for b in range(nsteps):
            real = chunk[b * bs:(b + 1) * bs]
            if len(real) == bs and (real >= 0).all():
                continue
            if b > run:
                yield Window(data, perm, run, b - run, done)
            rows = real[real >= 0]
            yield self._short_batch(rows)
            run = b + 1
        if nsteps > run:
            yield Window(data, perm, run, nsteps - run, done)

    def _short_batch(self, rows: np.ndarray) -> Batch:
        out = []
        for a in self.arrays:
            if isinstance(a, jax.Array):
                out.append(_gather(a, place_batch(rows.astype(np.int32))))
            else:
                out.append(np.take(a, rows, axis=0))
        xs, ys, sws = self._split(place_batch(out))
        return xs, ys, sws, self._masks.get(len(rows), len(rows))

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        """The epoch batch by batch (each gathered from its window)."""
        take = _take_fn(self.batch_size, self.layout)
        for item in self.windows(epoch, start_step):
            if not isinstance(item, Window):
                yield item
                continue
            for s in range(item.start, item.start + item.steps):
                yield take(item.data, item.perm, np.int32(s))


_TAKE_FNS: dict = {}


def _take_fn(batch_size: int, layout):
    from jkeras.training.steps import batch_taker

    key, take = batch_taker(batch_size, layout)
    fn = _TAKE_FNS.get(key)
    if fn is None:
        fn = _TAKE_FNS[key] = jax.jit(take)
    return fn


def __getattr__(name: str):
    """`IterableHandler` lives in `data_iterables` (imported on first use)."""
    if name == "IterableHandler":
        from jkeras.training.data_iterables import IterableHandler

        return IterableHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
