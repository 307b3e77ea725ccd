"""Handwritten digits that ship with scikit-learn (``load_digits``): 1,797
8x8 images, values 0-16. No download; needs the ``demo`` extra."""

from __future__ import annotations

import numpy as np

from jkeras.datasets._files import optional_import


def load_data(test_split: float = 0.2, seed: int = 113):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
    (n, 8, 8) with values 0-16 (divide by 16 to scale to [0, 1]) and uint8
    labels 0-9, shuffled with `seed`; the last `test_split` of them are the test set.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"digits.load_data: test_split must be in [0, 1), got {test_split}.")
    sk = optional_import("sklearn.datasets", "scikit-learn", "jkeras.datasets.digits")
    bunch = sk.load_digits()
    x = np.asarray(bunch.images).round().astype(np.uint8)
    y = np.asarray(bunch.target).astype(np.uint8)
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x))
    rng.shuffle(idx)
    x, y = x[idx], y[idx]
    n = int(len(x) * (1 - test_split))
    return (x[:n], y[:n]), (x[n:], y[n:])
