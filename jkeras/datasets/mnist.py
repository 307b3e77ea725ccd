"""MNIST handwritten digits: 60,000 training and 10,000 test 28x28 images."""

from __future__ import annotations

from jkeras.datasets._files import KERAS_ORIGIN, dataset_file
from jkeras.datasets._npz import load_npz, require

_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # sha256


def load_data(path: str = "mnist.npz"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
    (60000, 28, 28) / (10000, 28, 28) and uint8 labels 0-9.

    `path` is a file name under ``$JKERAS_HOME/datasets`` (or an absolute path);
    the Keras file ``mnist.npz`` is downloaded there once if missing.
    """
    fpath = dataset_file(path, KERAS_ORIGIN + "mnist.npz", _HASH)
    x_train, y_train, x_test, y_test = require(
        load_npz(fpath), ["x_train", "y_train", "x_test", "y_test"], fpath)
    return (x_train, y_train), (x_test, y_test)
