"""CIFAR-10: 50,000 training and 10,000 test 32x32 colour images of 10 classes
(airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck).

Keras downloads the *python* version of CIFAR, whose batches are pickles.
jkeras never unpickles: it reads the *binary* version
(``cifar-10-binary.tar.gz`` from the data set's authors), which holds the same
images and labels as fixed-size records.
"""

from __future__ import annotations

import numpy as np

from jkeras.datasets._cifar import parse_records, read_members
from jkeras.datasets._files import dataset_file

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_HASH = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"  # sha256
_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
_TEST = ["test_batch.bin"]


def load_data(path: str = "cifar-10-binary.tar.gz"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
    (50000, 32, 32, 3) / (10000, 32, 32, 3) (channels first if the image data
    format is 'channels_first') and uint8 labels of shape (n, 1).

    `path`: the binary-version archive (or its extracted folder) under
    ``$JKERAS_HOME/datasets``, or an absolute path.
    """
    fpath = dataset_file(path, _ORIGIN, _HASH)
    raw = read_members(fpath, _TRAIN + _TEST)
    train = [parse_records(raw[n], 1, n) for n in _TRAIN]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train]).reshape(-1, 1)
    x_test, y_test = parse_records(raw[_TEST[0]], 1, _TEST[0])
    return (x_train, y_train), (x_test, y_test.reshape(-1, 1))
