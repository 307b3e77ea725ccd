"""Boston housing prices (506 samples of 13 attributes; targets in k$).

Keras's warning applies: the data set has an ethical problem (its "B" column
encodes a racial assumption); use it only to illustrate such issues.
"""

from __future__ import annotations

import numpy as np

from jkeras.datasets._files import KERAS_ORIGIN, dataset_file
from jkeras.datasets._npz import load_npz, require

_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"  # sha256


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113):
    """Returns ``(x_train, y_train), (x_test, y_test)``: float64 arrays of shape
    (n, 13) and (n,), shuffled with `seed`, the last `test_split` kept for test."""
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: test_split must be in [0, 1), got "
                         f"{test_split}.")
    fpath = dataset_file(path, KERAS_ORIGIN + "boston_housing.npz", _HASH)
    x, y = require(load_npz(fpath), ["x", "y"], fpath)
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x))
    rng.shuffle(idx)
    x, y = x[idx], y[idx]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))
