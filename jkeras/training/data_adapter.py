"""Data input for fit/evaluate: arrays, generators/iterables, PyDataset/Sequence,
torch DataLoader and tf.data (duck-typed).

Every source becomes a `DataHandler` that yields batches `(x, y, sw, valid)`:
flat lists of device arrays in model input/output order, per-output sample
weights, and `valid`, a float mask of the rows that are real (1) or padding (0).
A batch smaller than the batch size is padded to it (when padding is exact
for the model) so the compiled step keeps one input signature.
Arrays are put on the device once; each batch is gathered there by index.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

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
    return jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), data)


def _pad_rows(a, size: int):
    pad = size - a.shape[0]
    if pad <= 0:
        return a
    widths = [(0, pad)] + [(0, 0)] * (a.ndim - 1)
    return np.pad(np.asarray(a), widths)


class _ValidMasks:
    """Device masks of `size` rows with the first `real` set, cached."""

    def __init__(self):
        self._cache: dict = {}

    def get(self, size: int, real: int):
        key = (size, real)
        m = self._cache.get(key)
        if m is None:
            m = jnp.asarray((np.arange(size) < real).astype("float32"))
            self._cache[key] = m
        return m


# ------------------------------------------------------------------------------------------
# handlers
# ------------------------------------------------------------------------------------------
class DataHandler:
    """Yields the batches of one epoch. `steps` is the number of batches per epoch
    (None until known for iterables without length); `num_samples` when known."""

    steps: int | None = None
    num_samples: int | None = None
    exhausted = False

    def epoch(self, epoch: int) -> Iterator[Batch]:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass


class ArrayHandler(DataHandler):
    """In-memory arrays (standardized: x, y, sw flat lists with one row count)."""

    def __init__(self, x: list, y: list, sw: list, batch_size: int, shuffle=False,
                 steps: int | None = None, pad: bool = True):
        self.num_samples = n = num_rows(x + y + sw)
        self.batch_size = int(batch_size)
        self.data = (
            [jnp.asarray(a) for a in x], [jnp.asarray(a) for a in y],
            [jnp.asarray(a) for a in sw],
        )
        self.shuffle = shuffle
        self.pad = pad
        self._full_steps = -(-n // self.batch_size)
        self.steps = int(steps) if steps is not None else self._full_steps
        self._masks = _ValidMasks()

    def _order(self) -> np.ndarray:
        n = self.num_samples
        if self.shuffle == "batch":
            blocks = np.random.permutation(self._full_steps)
            return np.concatenate(
                [np.arange(b * self.batch_size, min((b + 1) * self.batch_size, n))
                 for b in blocks]
            )
        if self.shuffle:
            return np.random.permutation(n)
        return np.arange(n)

    def _batches(self) -> Iterator[np.ndarray]:
        bs = self.batch_size
        while True:
            order = self._order()
            for b in range(self._full_steps):
                yield order[b * bs:(b + 1) * bs]

    def epoch(self, epoch: int) -> Iterator[Batch]:
        bs = self.batch_size
        for idx in itertools.islice(self._batches(), self.steps):
            real = len(idx)
            size = real
            if real < bs and self.pad:
                idx = np.concatenate([idx, np.zeros(bs - real, dtype=idx.dtype)])
                size = bs
            x, y, sw = _gather(self.data, jnp.asarray(idx.astype("int32")))
            yield x, y, sw, self._masks.get(size, real)


class IterableHandler(DataHandler):
    """Batches from a generator, iterable, PyDataset, DataLoader or tf.data."""

    def __init__(self, source, standardize: Callable, steps: int | None = None,
                 shuffle: bool = False, pad: bool = True, workers: int | None = None,
                 max_queue_size: int = 10, cache_one_shot: bool = False,
                 samples_per_epoch: int | None = None, what: str = "x"):
        self.source = source
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
        self.batch_size = None
        first = self.peek()
        self.batch_size = num_rows(first[0] + first[1] + first[2])
        if steps is None and samples_per_epoch is not None:
            steps = -(-int(samples_per_epoch) // max(self.batch_size, 1))
        self.steps = int(steps) if steps is not None else self._len

    # raw items ---------------------------------------------------------------------------
    def _raw_iter(self) -> Iterator:
        src = self.source
        if self._is_pydataset:
            order = list(range(self._len))
            if self.shuffle:
                order = list(np.random.permutation(self._len))
            workers = self._workers or getattr(src, "workers", 1) or 1
            if workers > 1:
                return self._threaded(order, workers)
            return (src[i] for i in order)
        if hasattr(src, "as_numpy_iterator"):
            return iter(src.as_numpy_iterator())
        if hasattr(src, "__next__"):
            return src
        return iter(src)

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
    def _std_items(self) -> Iterator:
        if self._peeked:
            yield self._peeked.pop(0)
        elif self._reiterable or self._iterator is None:
            self._iterator = self._raw_iter()
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
        to = jnp.asarray
        return [to(a) for a in x], [to(a) for a in y], [to(a) for a in sw], self._masks.get(
            size, real
        )

    def epoch(self, epoch: int) -> Iterator[Batch]:
        if self._cache is not None:
            yield from self._cache
            return
        if self._is_pydataset and hasattr(self.source, "on_epoch_begin"):
            self.source.on_epoch_begin()
        items = self._std_items()
        if self.steps is not None:
            items = itertools.islice(items, self.steps)
        count = 0
        record = [] if (self._cache_one_shot and not self._reiterable) else None
        for std in items:
            batch = self._device_batch(std)
            if record is not None:
                record.append(batch)
            count += 1
            yield batch
        if self.steps is None:
            self.steps = count
        if record is not None and count:
            self._cache = record
        if count == 0 or (self.steps is not None and count < self.steps
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
