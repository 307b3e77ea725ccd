"""Datasets for fit: PyDataset (Keras 3) / Sequence (Keras 2), and split_dataset."""

from __future__ import annotations

import numpy as np


class PyDataset:
    """A dataset of batches: subclass it and define `__len__` (number of batches)
    and `__getitem__(index)` returning `(x, y)` or `(x, y, sample_weight)`.

    `fit` calls `on_epoch_begin`/`on_epoch_end` around each epoch. With
    `workers > 1` batches are fetched ahead by that many threads (at most
    `max_queue_size` ahead); `use_multiprocessing` is accepted but threads are
    used (JAX arrays and processes do not mix well).
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        self._workers = int(workers)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = int(max_queue_size)

    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = int(value)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = bool(value)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = int(value)

    def __getitem__(self, index: int):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __getitem__(index) returning one batch."
        )

    def __len__(self) -> int:
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__() returning the number of batches."
        )

    @property
    def num_batches(self) -> int | None:
        try:
            return len(self)
        except NotImplementedError:
            return None

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (e.g. to reshuffle)."""


class Sequence(PyDataset):
    """Keras 2 name of `PyDataset`."""


def split_dataset(dataset, left_size=None, right_size=None, shuffle: bool = False,
                  seed: int | None = None):
    """Splits arrays into a left and a right part along the first axis.

    `dataset` is an array, a tuple/list of arrays with the same number of rows,
    or a dict of such arrays. `left_size`/`right_size` are fractions in (0, 1) or
    sample counts; a missing one is the complement of the other. Returns
    `(left, right)` with the structure of `dataset`; rows are shuffled first
    (with `seed`) when `shuffle=True`.
    """
    if isinstance(dataset, dict):
        keys = list(dataset)
        arrays = [np.asarray(dataset[k]) for k in keys]
    elif isinstance(dataset, (list, tuple)):
        arrays = [np.asarray(a) for a in dataset]
    elif hasattr(dataset, "shape"):
        arrays = [np.asarray(dataset)]
    else:
        raise TypeError(
            "split_dataset expects a numpy array, a tuple/list of arrays or a dict of arrays, "
            f"got {type(dataset).__name__}. Convert the data to arrays first."
        )
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise ValueError("split_dataset: the dataset needs at least one array with a first axis.")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(
            f"split_dataset: all arrays must have the same number of rows, got "
            f"{[len(a) for a in arrays]}."
        )
    total = lengths.pop()
    if total == 0:
        raise ValueError("split_dataset: the dataset is empty.")
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: give left_size, right_size or both.")

    def to_count(size, arg):
        if size is None:
            return None
        if isinstance(size, (float, np.floating)):
            if not 0 < size < 1:
                raise ValueError(
                    f"split_dataset: a float {arg} must be a fraction in (0, 1), got {size}."
                )
            return int(round(float(size) * total))
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            if not 0 < size <= total:
                raise ValueError(
                    f"split_dataset: an integer {arg} must be in [1, {total}] (the number "
                    f"of samples), got {size}."
                )
            return int(size)
        raise TypeError(f"split_dataset: {arg} must be a float or an int, got {size!r}.")

    left, right = to_count(left_size, "left_size"), to_count(right_size, "right_size")
    if left is None:
        left = total - right
    if right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"split_dataset: left_size + right_size = {left} + {right} samples is more than "
            f"the {total} samples in the dataset."
        )
    if left <= 0 or right <= 0:
        raise ValueError(
            f"split_dataset: both parts must hold at least one sample; got {left} left and "
            f"{right} right of {total}. Adjust left_size/right_size."
        )
    order = np.arange(total)
    if shuffle:
        order = np.random.default_rng(seed).permutation(total)
    li, ri = order[:left], order[left:left + right]
    lefts = [a[li] for a in arrays]
    rights = [a[ri] for a in arrays]
    if isinstance(dataset, dict):
        return dict(zip(keys, lefts)), dict(zip(keys, rights))
    if isinstance(dataset, tuple):
        return tuple(lefts), tuple(rights)
    if isinstance(dataset, list):
        return lefts, rights
    return lefts[0], rights[0]
