"""`BatchDataset`: the dataset object the `*_dataset_from_*` utilities return.

Keras returns a `tf.data.Dataset`; jkeras returns a `PyDataset` (so `fit`,
`evaluate` and `predict` take it directly, loading batches in `workers`
background threads) that also iterates like a dataset: `for x, y in ds`
yields batches of numpy arrays, reading ahead in background threads. With
`shuffle` the order of the samples changes every epoch (reproducibly from
`seed`). `map`, `take`, `prefetch` and `as_numpy_iterator` cover the
`tf.data` calls Keras examples make on these datasets.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jkeras.utils.data import PyDataset


def default_workers() -> int:
    """Threads that read files: the CPU count, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def _first_item(batch):
    """Sample 0 of a batch (arrays or lists, possibly in a tuple)."""
    if isinstance(batch, tuple):
        return tuple(_first_item(b) for b in batch)
    return batch[0]


class _Dataset(PyDataset):
    """Shared iteration for `BatchDataset` and its views: batches come from
    `__getitem__`, `__iter__` reads ahead in background threads."""

    class_names: list[str] | None = None
    file_paths: list[str] | None = None

    def _batch(self, index: int):
        raise NotImplementedError

    def __getitem__(self, index: int):
        n = len(self)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"{type(self).__name__} indices are batch numbers (int), got "
                            f"{type(index).__name__}.")
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"batch {index} out of range: the dataset has {n} batches.")
        return self._batch(int(index))

    def __iter__(self) -> Iterator:
        """The batches of one epoch, read ahead by `workers` threads; a full pass
        ends the epoch (the next one is reshuffled when shuffling)."""
        n, workers = len(self), max(1, self.workers)
        if workers == 1:
            for i in range(n):
                yield self._batch(i)
        else:
            ahead = max(workers, self.max_queue_size)
            pool = ThreadPoolExecutor(max_workers=workers)
            try:
                pending = [pool.submit(self._batch, i) for i in range(min(ahead, n))]
                for i in range(n):
                    batch = pending[i].result()
                    if i + ahead < n:
                        pending.append(pool.submit(self._batch, i + ahead))
                    pending[i] = None
                    yield batch
            finally:  # also when the caller stops early: drop the batches read ahead
                pool.shutdown(wait=False, cancel_futures=True)
        self.on_epoch_end()

    def as_numpy_iterator(self) -> Iterator:
        """Iterates the batches (already numpy arrays), as `tf.data` spells it."""
        return iter(self)

    def map(self, fn: Callable) -> _Dataset:
        """A dataset whose batches are `fn(*batch)` for tuple batches, else
        `fn(batch)` (as `tf.data.Dataset.map` on a batched dataset)."""
        if not callable(fn):
            raise TypeError(f"map() takes a function, got {type(fn).__name__}.")
        return _View(self, fn=fn)

    def take(self, count: int) -> _Dataset:
        """A dataset of the first `count` batches (all of them for -1)."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < -1:
            raise ValueError(f"take() needs a batch count >= 0 (or -1 for all), got {count!r}.")
        return _View(self, limit=None if count == -1 else int(count))

    def prefetch(self, buffer_size=None) -> _Dataset:
        """The dataset itself: batches are already read ahead in background threads."""
        return self


class _View(_Dataset):
    """`map` / `take` of another dataset (sharing its order and epochs)."""

    def __init__(self, parent: _Dataset, fn: Callable | None = None, limit: int | None = None):
        super().__init__(workers=parent.workers, max_queue_size=parent.max_queue_size)
        self._parent, self._fn, self._limit = parent, fn, limit
        self.class_names = parent.class_names
        self.file_paths = parent.file_paths

    def __len__(self) -> int:
        n = len(self._parent)
        return n if self._limit is None else min(n, self._limit)

    def _batch(self, index: int):
        batch = self._parent._batch(index)
        if self._fn is None:
            return batch
        return self._fn(*batch) if isinstance(batch, tuple) else self._fn(batch)

    def on_epoch_begin(self) -> None:
        self._parent.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self._parent.on_epoch_end()


class BatchDataset(_Dataset):
    """`num_samples` samples served in batches of `batch_size` (None: one sample
    at a time). Subclasses define `load(indices)`, returning the batch of the
    samples at `indices` (an array or a tuple `(inputs, targets)`).

    Sample order: as given at first; with `shuffle`, every later epoch (after
    `on_epoch_end`, which `fit` calls and a full iteration triggers) draws a
    new permutation from `numpy.random.default_rng(seed)`.
    """

    def __init__(self, num_samples: int, batch_size: int | None, shuffle: bool = False,
                 seed=None, workers: int = 1, class_names=None, file_paths=None):
        super().__init__(workers=workers, max_queue_size=max(10, 2 * workers))
        self.num_samples = int(num_samples)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self._rng = np.random.default_rng(seed) if shuffle else None
        self._order = np.arange(self.num_samples)
        self.class_names = None if class_names is None else list(class_names)
        self.file_paths = None if file_paths is None else list(file_paths)

    def load(self, indices: np.ndarray):
        raise NotImplementedError

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.num_samples
        return -(-self.num_samples // self.batch_size)

    def _batch(self, index: int):
        if self.batch_size is None:
            return _first_item(self.load(self._order[index:index + 1]))
        return self.load(self._order[index * self.batch_size:(index + 1) * self.batch_size])

    def on_epoch_end(self) -> None:
        if self._rng is not None:
            self._order = self._rng.permutation(self.num_samples)

    def __repr__(self) -> str:
        parts = [f"{self.num_samples} samples", f"batch_size={self.batch_size}"]
        if self.class_names is not None:
            parts.insert(1, f"{len(self.class_names)} classes")
        return f"<{type(self).__name__}: {', '.join(parts)}, {len(self)} batches>"


class FileDataset(BatchDataset):
    """A `BatchDataset` of files (read in `default_workers()` threads) with
    optional labels (an array, one row per file)."""

    def __init__(self, file_paths, labels, batch_size, shuffle: bool, seed, class_names):
        super().__init__(len(file_paths), batch_size, shuffle=shuffle, seed=seed,
                         workers=default_workers(), class_names=class_names,
                         file_paths=file_paths)
        self.labels = labels

    def with_labels(self, inputs, indices: np.ndarray):
        """`(inputs, labels of indices)`, or `inputs` for an unlabeled dataset."""
        return inputs if self.labels is None else (inputs, self.labels[indices])
