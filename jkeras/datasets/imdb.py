"""IMDB movie-review sentiment data set: 25,000 training and 25,000 test
reviews, each a sequence of word indices, labelled 1 (positive) or 0.

The Keras file ``imdb.npz`` stores the reviews as numpy object arrays, which
numpy writes as a pickle stream. jkeras never unpickles it: its object arrays
are decoded by `jkeras.datasets._npz.decode_pickled_array`, which only builds
lists, numbers and numpy arrays and refuses anything else. A pickle-free
layout is also read: ``x_train_values`` (every review's indices concatenated)
plus ``x_train_lengths`` (one length per review), and likewise for ``x_test``.
"""

from __future__ import annotations

import json

import numpy as np

from jkeras.datasets import _sequences as seq
from jkeras.datasets._files import KERAS_ORIGIN, dataset_file
from jkeras.datasets._npz import load_npz, ragged, require

_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"  # sha256
_WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"  # md5, as Keras publishes it


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3, **kwargs):
    """Loads IMDB as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    Args:
        path: file name under ``$JKERAS_HOME/datasets`` (or an absolute path).
        num_words: keep only the `num_words` most frequent words (others become
            `oov_char`); None keeps all.
        skip_top: also treat the `skip_top` most frequent words as out of vocabulary.
        maxlen: drop reviews with `maxlen` or more words (after adding the start mark).
        seed: seed of the shuffle applied to each split.
        start_char: index put at the start of every review (None: none).
        oov_char: index that replaces dropped words (None: remove them).
        index_from: offset added to every word index (0-2 are reserved).

    Returns:
        ``x_*``: 1-D object arrays of Python lists of ints; ``y_*``: int arrays of 0/1.
    """
    num_words = seq.legacy_num_words(num_words, kwargs, "imdb.load_data")
    fpath = dataset_file(path, KERAS_ORIGIN + "imdb.npz", _HASH)
    arrays = load_npz(fpath)
    x_train, x_test = ragged(arrays, "x_train", fpath), ragged(arrays, "x_test", fpath)
    y_train, y_test = require(arrays, ["y_train", "y_test"], fpath)
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x_train))
    rng.shuffle(idx)
    x_train, y_train = x_train[idx], np.asarray(y_train)[idx]
    idx = np.arange(len(x_test))
    rng.shuffle(idx)
    x_test, y_test = x_test[idx], np.asarray(y_test)[idx]

    v_tr, l_tr = seq.add_start_and_offset(*seq.flatten(x_train), start_char, index_from)
    v_te, l_te = seq.add_start_and_offset(*seq.flatten(x_test), start_char, index_from)
    if maxlen:
        v_tr, l_tr, y_train = seq.drop_long(v_tr, l_tr, y_train, maxlen)
        v_te, l_te, y_test = seq.drop_long(v_te, l_te, y_test, maxlen)
        if not len(l_tr) or not len(l_te):
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; "
                             f"increase maxlen.")
    values = np.concatenate([v_tr, v_te])
    lengths = np.concatenate([l_tr, l_te])
    if not num_words:
        num_words = seq.default_num_words(values)
    values, lengths = seq.limit_vocabulary(values, lengths, num_words, skip_top, oov_char)
    xs = seq.to_object_array(values, lengths)
    n = len(l_tr)
    return (xs[:n], y_train), (xs[n:], y_test)


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The dict word -> index used by IMDB (add `index_from` to match `load_data`)."""
    fpath = dataset_file(path, KERAS_ORIGIN + "imdb_word_index.json", _WORD_INDEX_HASH)
    with open(fpath, encoding="utf-8") as f:
        return json.load(f)
