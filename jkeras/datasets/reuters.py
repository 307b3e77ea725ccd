"""Reuters newswire topics: 11,228 newswires as word-index sequences, labelled
with one of 46 topics.

As for IMDB, the Keras file ``reuters.npz`` holds numpy object arrays; jkeras
decodes them without unpickling (see `jkeras.datasets.imdb`), and also reads
the pickle-free layout ``x_values`` + ``x_lengths``.
"""

from __future__ import annotations

import json

import numpy as np

from jkeras.datasets import _sequences as seq
from jkeras.datasets._files import KERAS_ORIGIN, dataset_file
from jkeras.datasets._npz import load_npz, ragged, require

_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"  # sha256
_WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"  # md5, as Keras publishes it

_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113,
              start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              **kwargs):
    """Loads Reuters as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    The options are those of `jkeras.datasets.imdb.load_data`, plus
    `test_split`, the fraction of the (shuffled) newswires kept for testing.
    ``x_*`` are 1-D object arrays of Python lists of ints; ``y_*`` int topic ids.
    """
    num_words = seq.legacy_num_words(num_words, kwargs, "reuters.load_data")
    if not 0 <= test_split < 1:
        raise ValueError(f"reuters.load_data: test_split must be in [0, 1), got {test_split}.")
    fpath = dataset_file(path, KERAS_ORIGIN + "reuters.npz", _HASH)
    arrays = load_npz(fpath)
    xs = ragged(arrays, "x", fpath)
    (labels,) = require(arrays, ["y"], fpath)
    rng = np.random.RandomState(seed)
    idx = np.arange(len(xs))
    rng.shuffle(idx)
    xs, labels = xs[idx], np.asarray(labels)[idx]
    values, lengths = seq.add_start_and_offset(*seq.flatten(xs), start_char, index_from)
    if maxlen:
        values, lengths, labels = seq.drop_long(values, lengths, labels, maxlen)
    if not num_words:
        num_words = seq.default_num_words(values)
    values, lengths = seq.limit_vocabulary(values, lengths, num_words, skip_top, oov_char)
    xs = seq.to_object_array(values, lengths)
    n = int(len(xs) * (1 - test_split))
    return (xs[:n], np.array(labels[:n])), (xs[n:], np.array(labels[n:]))


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The dict word -> index used by Reuters (add `index_from` to match `load_data`)."""
    fpath = dataset_file(path, KERAS_ORIGIN + "reuters_word_index.json", _WORD_INDEX_HASH)
    with open(fpath, encoding="utf-8") as f:
        return json.load(f)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed like the labels."""
    return _LABELS
