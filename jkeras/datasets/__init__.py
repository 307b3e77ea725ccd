"""Data sets, loaded as Keras loads them: ``(x_train, y_train), (x_test, y_test)``.

`mnist`, `fashion_mnist`, `cifar10`, `cifar100`, `imdb`, `reuters` and
`boston_housing` download their files once into ``$JKERAS_HOME/datasets``
(default ``~/.jkeras/datasets``), check the published checksum, and never
unpickle anything. Offline (``JKERAS_OFFLINE=1``, or no network), a missing
file raises `DatasetUnavailableError` naming the file and where to put it.
`digits` and `easy_vqa` read data that ships inside Python packages (the
``demo`` extra) and need no download.
"""

from jkeras.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    digits,
    easy_vqa,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from jkeras.datasets._files import DatasetUnavailableError, datasets_dir, get_file

__all__ = [
    "DatasetUnavailableError", "boston_housing", "cifar10", "cifar100", "datasets_dir",
    "digits", "easy_vqa", "fashion_mnist", "get_file", "imdb", "mnist", "reuters",
    "california_housing",
]
