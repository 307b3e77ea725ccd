"""`StringLookup` and `IntegerLookup` (Keras 3 names, arguments and configs).

`StringLookup` runs on the host (`_host_only = True`): it takes lists, numpy str/bytes/
object arrays and returns numpy arrays (int64 indices, float32 encodings, or strings with
`invert=True`). `IntegerLookup` also runs inside `jax.jit` (lookups are a binary search
over the sorted vocabulary; in jit, indices are int32 and with `num_oov_indices=0` an
unknown value gives -1 instead of an error, which cannot be raised there).
"""

from __future__ import annotations

import numpy as np

from jkeras.layers.preprocessing_encoding import host_array, is_traced
from jkeras.layers.preprocessing_index_lookup import IndexLookup

__all__ = ["IntegerLookup", "StringLookup"]


class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary (or back, with
    `invert=True`). Index 0 is the `mask_token` when one is set (output_mode='int'), then
    `num_oov_indices` indices for unknown strings (several: chosen by FarmHash, or SipHash
    with `salt`, as Keras), then the vocabulary. Set the vocabulary with `vocabulary` (a
    list or a file with one term per line) or learn it with `adapt(data)`.
    `output_mode`: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'. Runs on the host.
    """

    _host_only = True
    _string_vocab = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None,
                 salt=None, **kwargs):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def _as_tokens(self, values) -> np.ndarray:
        arr = host_array(values, f"StringLookup '{self.name}'", self.encoding).reshape(-1)
        if arr.size and arr.dtype.kind != "U":
            raise TypeError(f"StringLookup '{self.name}': the vocabulary must hold strings, "
                            f"got {arr.dtype} values.")
        return arr.astype(str)

    def _as_input(self, x):
        where = f"StringLookup '{self.name}'"
        arr = host_array(x, where, self.encoding)
        if self.invert:
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{where} (invert=True) maps integer indices back to "
                                f"strings, got {arr.dtype} values.")
            return arr.astype(np.int64)
        if arr.dtype.kind != "U":
            if arr.size == 0:
                return arr.astype(str)
            raise TypeError(f"{where} expects strings (str or bytes), got {arr.dtype} values.")
        return arr

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices through a vocabulary (or back, with
    `invert=True`). Index 0 is the `mask_token` when one is set (output_mode='int'), then
    `num_oov_indices` indices for unknown values (`value % num_oov_indices` with the
    default oov_method='floormod', or FarmHash of the decimal text with 'farmhash'), then
    the vocabulary. Set the vocabulary with `vocabulary` or learn it with `adapt(data)`.
    `output_mode`: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'. Runs on numpy data
    and inside `jax.jit`.
    """

    _host_only = False
    _string_vocab = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(f"IntegerLookup: only vocabulary_dtype='int64' is supported, got "
                             f"{vocabulary_dtype!r}.")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, oov_method=oov_method, vocabulary_dtype="int64",
                         **kwargs)

    def _as_tokens(self, values) -> np.ndarray:
        return self._integers(np.asarray(values).reshape(-1), "vocabulary")

    def _integers(self, arr: np.ndarray, what: str) -> np.ndarray:
        if arr.size and arr.dtype.kind not in "iub":
            if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0):
                return arr.astype(np.int64)
            raise TypeError(f"IntegerLookup '{self.name}': the {what} must hold integers, "
                            f"got {arr.dtype} values.")
        return arr.astype(np.int64)

    def _as_input(self, x):
        if is_traced(x):
            if not np.issubdtype(x.dtype, np.integer):
                raise TypeError(f"IntegerLookup '{self.name}' expects integers, got {x.dtype}.")
            if getattr(self, "_host_only", False):
                raise TypeError(
                    f"IntegerLookup '{self.name}' with oov_method='farmhash' hashes on the "
                    f"host and cannot run inside jax.jit; call it on numpy data."
                )
            return x
        return self._integers(host_array(x, f"IntegerLookup '{self.name}'"), "input")

    def get_config(self):
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None and not isinstance(config["vocabulary"], str):
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
