"""Batches from generators, iterables, PyDataset/Sequence, torch DataLoader and
tf.data (duck-typed): the `DataHandler` for every source that is not in-memory
arrays (those are `data_adapter.ArrayHandler`).

Each batch is standardized (checked and flattened in model input/output order),
padded to the batch size when the model allows it (masked by `valid`) and put on
the device(s); under a distribution it is split over the mesh's batch axis, and
in a multi-process run with `auto_shard_dataset=True` each process keeps its
share of every (global) batch (`shard`).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import jax
import numpy as np

from jkeras.training import data_order
from jkeras.training.data_adapter import (
    Batch,
    DataHandler,
    _pad_rows,
    _ValidMasks,
    is_pydataset,
    num_rows,
)
from jkeras.training.placement import place_batch


class IterableHandler(DataHandler):
    """Batches from a generator, iterable, PyDataset, DataLoader or tf.data.

    `shard=(index, count)`: the source yields global batches (every process of
    a multi-process run reads it whole) and this handler keeps part `index` of
    `count` equal parts of each (after padding a short one)."""

    def __init__(self, source, standardize: Callable, steps: int | None = None,
                 shuffle: bool = False, pad: bool = True, workers: int | None = None,
                 max_queue_size: int = 10, cache_one_shot: bool = False,
                 samples_per_epoch: int | None = None, what: str = "x",
                 shard: tuple[int, int] | None = None):
        self.source = source
        self.shard = shard
        self.standardize = standardize
        self.pad = pad
        self.shuffle = shuffle
        self.what = what
        self._is_pydataset = is_pydataset(source)
        self._workers = workers
        self._max_queue = max(int(max_queue_size), 1)
        self._masks = _ValidMasks()
        self._iterator = None
        self._peeked: list = []
        self._cache_one_shot = cache_one_shot
        self._cache: list | None = None
        self._pool = None
        self.exhausted = False
        if self._is_pydataset:
            self._reiterable = True
            self._len = len(source)
        elif hasattr(source, "as_numpy_iterator"):
            self._reiterable = True
            self._len = _safe_len(source)
        else:
            self._reiterable = iter(source) is not source if hasattr(source, "__iter__") else False
            self._len = _safe_len(source) if self._reiterable else None
        # PyDataset: its order is a function of (seed, epoch) (see `data_order`)
        self.shuffle_seed = data_order.draw_seed() if shuffle and self._is_pydataset else None
        self._peek_key = (0, 0, self.shuffle_seed)  # the epoch, first batch and seed peeked
        self.batch_size = None
        first = self.peek()
        self.batch_size = num_rows(first[0] + first[1] + first[2])
        if steps is None and samples_per_epoch is not None:
            steps = -(-int(samples_per_epoch) // max(self.batch_size, 1))
        self.steps = int(steps) if steps is not None else self._len

    # raw items ---------------------------------------------------------------------------
    def _raw_iter(self, epoch: int = 0, start_step: int = 0) -> Iterator:
        """The source's items for `epoch` from item `start_step` on (re-iterable
        sources only skip; a one-shot iterator goes on where it is)."""
        src = self.source
        if self._is_pydataset:
            order = list(range(self._len))
            if self.shuffle:
                order = list(data_order.generator(self.shuffle_seed, epoch).permutation(self._len))
            order = order[start_step:]
            workers = self._workers or getattr(src, "workers", 1) or 1
            if workers > 1:
                return self._threaded(order, workers)
            return (src[i] for i in order)
        if hasattr(src, "as_numpy_iterator"):
            return itertools.islice(src.as_numpy_iterator(), start_step, None)
        if hasattr(src, "__next__"):
            return src
        return itertools.islice(iter(src), start_step, None)

    def _threaded(self, order, workers) -> Iterator:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=workers)
        src, pool = self.source, self._pool
        queue_size = max(self._max_queue, getattr(src, "max_queue_size", 10) or 10)

        def gen():
            pending = []
            it = iter(order)
            for i in itertools.islice(it, queue_size):
                pending.append(pool.submit(src.__getitem__, i))
            while pending:
                fut = pending.pop(0)
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(pool.submit(src.__getitem__, nxt))
                yield fut.result()

        return gen()

    def _next_raw(self):
        if self._iterator is None:
            self._iterator = self._raw_iter()
        return next(self._iterator)

    def peek(self):
        if not self._peeked:
            try:
                item = self._next_raw()
            except StopIteration:
                raise ValueError(
                    f"The dataset/generator passed as `{self.what}` produced no batch: it is "
                    f"empty (or already exhausted). Pass data with at least one batch."
                ) from None
            self._peeked.append(self.standardize(item, first=True))
        return self._peeked[0]

    # epochs -------------------------------------------------------------------------------
    def _std_items(self, epoch: int, start_step: int) -> Iterator:
        resumed = (epoch, start_step, self.shuffle_seed) != self._peek_key
        if self._peeked and not (resumed and self._reiterable):
            yield self._peeked.pop(0)
        elif self._reiterable or self._iterator is None:
            self._peeked.clear()
            self._iterator = self._raw_iter(epoch, start_step)
        for item in self._iterator:
            yield self.standardize(item, first=False)

    def _device_batch(self, std) -> Batch:
        x, y, sw = std
        real = num_rows(x + y + sw)
        size = real
        ref = self.batch_size or real
        if self.pad and real < ref:
            x = [_pad_rows(a, ref) for a in x]
            y = [_pad_rows(a, ref) for a in y]
            sw = [_pad_rows(a, ref) for a in sw]
            size = ref
        lo, hi = 0, size
        if self.shard is not None:
            index, count = self.shard
            if size % count:
                raise ValueError(
                    f"A batch of {size} rows from the dataset passed as `{self.what}` does not "
                    f"split into {count} equal parts: with auto_shard_dataset=True every "
                    f"process reads the whole dataset and keeps 1/{count} of each batch. "
                    f"Batch the dataset with a multiple of {count} rows, or give each process "
                    f"its own batches and pass auto_shard_dataset=False to the distribution."
                )
            lo, hi = index * size // count, (index + 1) * size // count
            x, y, sw = ([np.asarray(a)[lo:hi] for a in part] for part in (x, y, sw))
        x, y, sw = place_batch(tuple([a if isinstance(a, jax.Array) else np.asarray(a)
                                      for a in part] for part in (x, y, sw)))
        return list(x), list(y), list(sw), self._masks.get(size, real, lo, hi)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        if self._cache is not None:
            yield from self._cache[start_step:]
            return
        if self._is_pydataset and hasattr(self.source, "on_epoch_begin"):
            self.source.on_epoch_begin()
        items = self._std_items(epoch, start_step)
        target = None if self.steps is None else max(0, self.steps - start_step)
        if target is not None:
            items = itertools.islice(items, target)
        count = 0
        record = [] if (self._cache_one_shot and not self._reiterable) else None
        for std in items:
            batch = self._device_batch(std)
            if record is not None:
                record.append(batch)
            count += 1
            yield batch
        if self.steps is None:
            self.steps = start_step + count
        if record is not None and count:
            self._cache = record
        if (count == 0 and target != 0) or (target is not None and count < target
                                            and not self._reiterable):
            self.exhausted = True
            warnings.warn(
                f"The dataset/generator passed as `{self.what}` ran out of data after {count} "
                f"batch(es) this epoch; training stops. Make sure it can produce at least "
                f"steps_per_epoch * epochs batches (e.g. loop forever, or use a re-iterable "
                f"dataset).",
                RuntimeWarning, stacklevel=2,
            )

    def on_epoch_end(self) -> None:
        if self._is_pydataset and hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _safe_len(x) -> int | None:
    try:
        n = len(x)
    except (TypeError, NotImplementedError):
        return None
    return int(n) if n is not None and n >= 0 else None
