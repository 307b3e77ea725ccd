"""California housing prices: 20,640 census block groups of 8 attributes;
targets are median house values in dollars."""

from __future__ import annotations

import numpy as np

from jkeras.datasets._files import KERAS_ORIGIN, dataset_file
from jkeras.datasets._npz import load_npz, require

_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"  # sha256
_SMALL = 600  # samples of the "small" version (a stand-in for boston_housing)


def load_data(version: str = "large", path: str = "california_housing.npz",
              test_split: float = 0.2, seed: int = 113):
    """Returns ``(x_train, y_train), (x_test, y_test)``: arrays of shape (n, 8)
    (MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude,
    Longitude) and (n,).

    `version` "large" keeps all 20,640 samples, "small" the first 600. The
    samples are shuffled with `seed` and the last `test_split` of them kept for
    test, as Keras does. The file is read from ``$JKERAS_HOME/datasets`` (or
    downloaded there once); offline, a missing file raises an error naming the
    URL and where to put it.
    """
    if version not in ("small", "large"):
        raise ValueError(f"california_housing.load_data: `version` must be 'small' or 'large', "
                         f"got {version!r}.")
    if not 0 <= test_split < 1:
        raise ValueError(f"california_housing.load_data: test_split must be in [0, 1), got "
                         f"{test_split}.")
    fpath = dataset_file(path, KERAS_ORIGIN + "california_housing.npz", _HASH)
    x, y = require(load_npz(fpath), ["x", "y"], fpath)
    if version == "small":
        x, y = x[:_SMALL], y[:_SMALL]
    idx = np.arange(len(x))
    np.random.RandomState(seed).shuffle(idx)
    x, y = x[idx], y[idx]
    n = int(len(x) * (1 - test_split))
    return (np.array(x[:n]), np.array(y[:n])), (np.array(x[n:]), np.array(y[n:]))
