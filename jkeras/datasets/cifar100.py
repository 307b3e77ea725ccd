"""CIFAR-100: 50,000 training and 10,000 test 32x32 colour images of 100 fine
classes grouped into 20 coarse ones.

Keras downloads the *python* version, whose files are pickles. jkeras never
unpickles: it reads the *binary* version (``cifar-100-binary.tar.gz`` from the
data set's authors; records of coarse label, fine label, image).
"""

from __future__ import annotations

import numpy as np

from jkeras.datasets._cifar import parse_records, read_members
from jkeras.datasets._files import dataset_file

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
_HASH = "03b5dce01913d631647c71ecec9e9cb8"  # md5 published by the authors (no sha256 known)


def load_data(label_mode: str = "fine", path: str = "cifar-100-binary.tar.gz"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
    (50000, 32, 32, 3) / (10000, 32, 32, 3) (channels first if the image data
    format is 'channels_first') and int64 labels of shape (n, 1), fine (0-99) or
    coarse (0-19) per `label_mode`.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: label_mode must be 'fine' or 'coarse', got "
                         f"{label_mode!r}.")
    fpath = dataset_file(path, _ORIGIN, _HASH)
    raw = read_members(fpath, ["train.bin", "test.bin"])
    column = 1 if label_mode == "fine" else 0
    x_train, labels_train = parse_records(raw["train.bin"], 2, "train.bin")
    x_test, labels_test = parse_records(raw["test.bin"], 2, "test.bin")
    y_train = labels_train[:, column].astype(np.int64).reshape(-1, 1)
    y_test = labels_test[:, column].astype(np.int64).reshape(-1, 1)
    return (x_train, y_train), (x_test, y_test)
