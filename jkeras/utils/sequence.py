"""pad_sequences: lists of variable-length sequences to one padded array."""

from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen: int | None = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Pads (or truncates) each sequence to the same length, as Keras does.

    Returns an array of shape `(len(sequences), maxlen, *feature_shape)`: sequences
    longer than `maxlen` lose values at the start (`truncating='pre'`) or the end
    ('post'); shorter ones are filled with `value` before ('pre') or after ('post').
    `maxlen=None` uses the longest sequence. Feature dimensions come from the first
    non-empty sequence.
    """
    if padding not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding must be 'pre' or 'post', got {padding!r}.")
    if truncating not in ("pre", "post"):
        raise ValueError(
            f"pad_sequences: truncating must be 'pre' or 'post', got {truncating!r}."
        )
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "pad_sequences: `sequences` must be a list (or array) of sequences, got "
            f"{type(sequences).__name__}."
        )
    if maxlen is not None and (int(maxlen) != maxlen or maxlen < 0):
        raise ValueError(f"pad_sequences: maxlen must be a non-negative integer, got {maxlen!r}.")
    lengths, sample_shape = [], ()
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(
                f"pad_sequences: every entry must be a sequence (list or array); entry {i} is "
                f"{type(s).__name__} {s!r}."
            )
        lengths.append(len(s))
        if len(s) and not sample_shape:
            sample_shape = np.asarray(s).shape[1:]
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    maxlen = int(maxlen)
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == np.dtype(object)
    if isinstance(value, str) and not is_str:
        raise ValueError(
            f"pad_sequences: value {value!r} is a string, but dtype is {dtype!r}. Pass "
            f"dtype=object (or a str dtype) to pad with strings."
        )
    out = np.full((len(lengths), maxlen, *sample_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: sequence {i} has elements of shape {trunc.shape[1:]}, but the "
                f"first non-empty sequence has elements of shape {sample_shape}."
            )
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out
