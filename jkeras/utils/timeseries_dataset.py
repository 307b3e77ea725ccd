"""`timeseries_dataset_from_array`: sliding windows over an array, as a dataset."""

from __future__ import annotations

import numpy as np

from jkeras.utils.batch_dataset import BatchDataset
from jkeras.utils.directory_index import check_batch_size, check_format

_FN = "timeseries_dataset_from_array"


class TimeseriesDataset(BatchDataset):
    """Windows `data[start + p + r * arange(sequence_length)]` for the window
    starts `p` (and targets `targets[start + p]`), gathered per batch."""

    def __init__(self, data, targets, positions, sequence_length, sampling_rate, start_index,
                 batch_size, shuffle, seed):
        super().__init__(len(positions), batch_size, shuffle=shuffle, seed=seed, workers=1)
        self.data, self.targets = data, targets
        self.start_positions = positions
        self._offsets = np.arange(sequence_length) * sampling_rate
        self._start = start_index

    def load(self, indices: np.ndarray):
        starts = self._start + self.start_positions[indices]
        windows = self.data[starts[:, None] + self._offsets]
        return windows if self.targets is None else (windows, self.targets[starts])


def _check_int(arg: str, value, low: int, high: int | None, length: int) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value >= high):
        bound = f" and lower than the length of the data ({length})" if high is not None else ""
        raise ValueError(f"{_FN}: `{arg}` must be an integer >= {low}{bound}; got {value!r}.")
    return int(value)


def timeseries_dataset_from_array(data, targets, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1,
                                  batch_size: int | None = 128, shuffle: bool = False,
                                  seed=None, start_index: int | None = None,
                                  end_index: int | None = None, format: str = "tf"):
    """A dataset of sliding windows over `data` (axis 0 is time), with Keras's
    arguments.

    Window `i` starts at `start_index + i * sequence_stride` and takes
    `sequence_length` steps `sampling_rate` apart, all before `end_index`
    (exclusive; default the end of the data); its target is
    `targets[start_index + i * sequence_stride]` (the window's first step).
    Batches are `(windows, targets)`, or windows when `targets` is None, with
    the arrays' dtypes; batch_size=None yields one window at a time. With
    `shuffle`, windows are shuffled with `numpy.random.RandomState(seed)` (the
    same start order as Keras) and reshuffled every later epoch. `format` is
    accepted for Keras code and ignored.
    """
    check_format(_FN, format)
    batch_size = check_batch_size(_FN, batch_size)
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"{_FN}: `data` must be an array whose axis 0 is time; got a scalar.")
    n = len(data)
    sequence_length = _check_int("sequence_length", sequence_length, 1, None, n)
    sampling_rate = _check_int("sampling_rate", sampling_rate, 1, n, n)
    sequence_stride = _check_int("sequence_stride", sequence_stride, 1, n, n)
    start = 0 if not start_index else _check_int("start_index", start_index, 0, n, n)
    end = n
    if end_index:
        end = _check_int("end_index", end_index, 1, n, n)
        if end <= start:
            raise ValueError(f"{_FN}: `end_index` ({end}) must be higher than `start_index` "
                             f"({start}).")
    num_windows = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        if targets.ndim == 0:
            raise ValueError(f"{_FN}: `targets` must be an array (one target per time step) "
                             f"or None; got a scalar.")
        num_windows = min(num_windows, len(targets) - start)
    if num_windows <= 0:
        raise ValueError(
            f"{_FN}: no window fits: a window spans (sequence_length - 1) * sampling_rate + 1 "
            f"= {(sequence_length - 1) * sampling_rate + 1} steps but only {end - start} steps "
            f"lie between start_index={start} and end_index={end}"
            f"{' (or targets is too short)' if targets is not None else ''}."
        )
    positions = np.arange(0, num_windows, sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    return TimeseriesDataset(data, targets, positions, sequence_length, sampling_rate, start,
                             batch_size, shuffle, seed)
