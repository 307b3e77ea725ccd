"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of
10 kinds of clothing (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot). Read from the four
gzipped IDX files Keras hosts."""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from jkeras.datasets._files import KERAS_ORIGIN, dataset_file
from jkeras.saving.limits import ReadBudget, load_limit

_FILES = {  # sha256 of each file, as Keras publishes them
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
               0x0E: ">f8"}


def read_idx(path: str, budget: ReadBudget | None = None) -> np.ndarray:
    """Reads an IDX file (optionally gzipped), checking its header. The size the
    header declares is charged to `budget` (default: `load_limit()`) before the
    data is read, so a crafted header or a gzip bomb cannot exhaust memory."""
    if budget is None:
        budget = ReadBudget(load_limit(), path, argument_of=None)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
                raise ValueError(f"{path} is not an IDX file (bad magic number {head!r}).")
            dims = f.read(4 * head[3])
            shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big")
                          for i in range(len(dims) // 4))
            dtype = np.dtype(_IDX_DTYPES[head[2]])
            count = 1
            for d in shape:
                count *= d
            nbytes = count * dtype.itemsize
            if len(dims) == 4 * head[3]:
                budget.charge(nbytes, f"file {path} (shape {shape} {dtype})")
                raw = f.read(nbytes + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path} cannot be read ({type(e).__name__}: {e}); it is damaged. "
                         f"Delete it and download it again.") from None
    if len(dims) != 4 * head[3] or len(raw) != nbytes:
        held = "its header is cut short" if len(dims) != 4 * head[3] else (
            f"the file holds {'more than ' if len(raw) > nbytes else ''}"
            f"{min(len(raw), nbytes):,} data bytes")
        raise ValueError(f"{path}: the header says shape {shape} {dtype} ({nbytes:,} bytes) "
                         f"but {held}; it is truncated or corrupt.")
    return np.frombuffer(raw, dtype=dtype, count=count).reshape(shape).astype(
        dtype.newbyteorder("="))


def load_data(path: str = "fashion-mnist"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
    (60000, 28, 28) / (10000, 28, 28) and uint8 labels 0-9.

    `path` is the folder (under ``$JKERAS_HOME/datasets``, or absolute) that holds
    the four files ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``.
    """
    paths = {name: dataset_file(os.path.join(path, name), KERAS_ORIGIN + name, digest)
             for name, digest in _FILES.items()}
    budget = ReadBudget(load_limit(), "fashion_mnist.load_data", argument_of=None)
    y_train = read_idx(paths["train-labels-idx1-ubyte.gz"], budget)
    x_train = read_idx(paths["train-images-idx3-ubyte.gz"], budget)
    y_test = read_idx(paths["t10k-labels-idx1-ubyte.gz"], budget)
    x_test = read_idx(paths["t10k-images-idx3-ubyte.gz"], budget)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y):
            raise ValueError(f"fashion_mnist: the {split} images ({len(x)}) and labels "
                             f"({len(y)}) differ in number.")
    return (x_train, y_train), (x_test, y_test)
