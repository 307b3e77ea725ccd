"""Shared preprocessing of the word-index datasets (IMDB, Reuters), vectorized
with numpy but with Keras's exact semantics."""

from __future__ import annotations

import warnings

import numpy as np


def legacy_num_words(num_words, kwargs: dict, fn: str):
    """Accepts the Keras 1 spelling `nb_words` (with a DeprecationWarning)."""
    if "nb_words" in kwargs:
        warnings.warn(f"{fn}(nb_words=...) is the Keras 1 spelling; use num_words=...",
                      DeprecationWarning, stacklevel=3)
        value = kwargs.pop("nb_words")
        if num_words is None:
            num_words = value
    if kwargs:
        raise TypeError(f"{fn} got unexpected keyword argument(s) {sorted(kwargs)}.")
    return num_words


def flatten(seqs) -> tuple[np.ndarray, np.ndarray]:
    """(all values concatenated as int64, one length per sequence)."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    if lengths.sum() == 0:
        return np.zeros(0, dtype=np.int64), lengths
    values = np.concatenate([np.asarray(s, dtype=np.int64).reshape(-1) for s in seqs])
    return values, lengths


def add_start_and_offset(values, lengths, start_char, index_from):
    """Adds `index_from` to every word and, unless `start_char` is None, puts
    `start_char` in front of every sequence (Keras's order of operations)."""
    if start_char is None:
        return (values + index_from if index_from else values), lengths
    new_lengths = lengths + 1
    ends = np.cumsum(new_lengths)
    starts = ends - new_lengths
    out = np.empty(int(new_lengths.sum()), dtype=np.int64)
    is_start = np.zeros(len(out), dtype=bool)
    is_start[starts] = True
    out[is_start] = start_char
    out[~is_start] = values + index_from
    return out, new_lengths


def drop_long(values, lengths, labels, maxlen):
    """Keeps the sequences shorter than `maxlen` (Keras keeps len < maxlen)."""
    keep = lengths < maxlen
    seq_ids = np.repeat(np.arange(len(lengths)), lengths)
    return values[keep[seq_ids]], lengths[keep], labels[keep]


def limit_vocabulary(values, lengths, num_words, skip_top, oov_char):
    """Replaces (or, with oov_char=None, drops) words outside
    [skip_top, num_words)."""
    ok = (values >= skip_top) & (values < num_words)
    if oov_char is not None:
        return np.where(ok, values, oov_char), lengths
    seq_ids = np.repeat(np.arange(len(lengths)), lengths)
    return values[ok], np.bincount(seq_ids[ok], minlength=len(lengths)).astype(np.int64)


def to_object_array(values, lengths) -> np.ndarray:
    """A 1-D object array whose items are Python lists of ints (Keras's layout)."""
    out = np.empty(len(lengths), dtype=object)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    flat = values.tolist()
    for i in range(len(lengths)):
        out[i] = flat[bounds[i]:bounds[i + 1]]
    return out


def default_num_words(values) -> int:
    # Keras uses the largest index as num_words, so that word itself becomes
    # out-of-vocabulary (`w < num_words`); kept for identical results.
    return int(values.max()) if len(values) else 0
