"""`TextVectorization` (Keras 3 arguments, configs and outputs), on the host with Python
strings: standardize, split, n-grams, then a `StringLookup` with mask token '' (held as
`_lookup_layer`, as in Keras, so `.keras` files exchange with Keras 3).

Standardization follows TensorFlow's ops exactly: 'lower' lowercases ASCII letters only
(as `tf.strings.lower`), 'strip_punctuation' removes ASCII punctuation, 'whitespace'
splits on runs of ASCII whitespace and 'character' into Unicode code points. Callables
get (and return) a numpy array of str for `standardize`; a `split` callable gets a 1-D
numpy array of str and returns one sequence of tokens per element.
"""

from __future__ import annotations

import re

import numpy as np

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.layer import Layer
from jkeras.layers.preprocessing_encoding import (
    check_choice,
    encode_categorical,
    host_array,
    legacy_output_mode,
    reject_sparse,
)
from jkeras.layers.preprocessing_index_lookup import _DROPPED
from jkeras.layers.preprocessing_lookup import StringLookup

__all__ = ["TextVectorization"]

_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_SPACE = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


def _ngrams(tokens: list, widths) -> list:
    """All n-grams of each width in `widths` (in that order), joined by spaces."""
    out = []
    for n in widths:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


class TextVectorization(Layer):
    """Turns strings into token indices or token vectors: `standardize` (default
    'lower_and_strip_punctuation'; 'lower', 'strip_punctuation', None or a callable),
    `split` ('whitespace', 'character', None or a callable), optional `ngrams` (an int n
    for 1..n-grams, or a tuple of widths), then a vocabulary lookup (learned with
    `adapt(data)` or given as `vocabulary`; index 0 is padding and 1 the OOV token).
    `output_mode`: 'int' (int64 indices, padded with 0 to the longest sample or to
    `output_sequence_length`, or truncated), 'multi_hot', 'count' or 'tf_idf' (float32
    vectors of the vocabulary size, or `max_tokens` with `pad_to_max_tokens`).
    Inputs: strings of shape (batch,) or (batch, 1). Runs on the host.
    """

    _host_only = True
    _batch_independent = True

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        reject_sparse("TextVectorization", sparse)
        if ragged:
            raise ValueError("TextVectorization: `ragged=True` needs ragged tensors, which "
                             "only Keras's TensorFlow backend has; use ragged=False.")
        if not (standardize is None or callable(standardize)):
            check_choice("TextVectorization", "standardize", standardize, _STANDARDIZE)
        if not (split is None or callable(split)):
            check_choice("TextVectorization", "split", split, _SPLIT)
        output_mode = legacy_output_mode(output_mode)
        check_choice("TextVectorization", "output_mode", output_mode,
                     ("int", "one_hot", "multi_hot", "count", "tf_idf"))
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or (isinstance(ngrams, int) and ngrams > 0) or (
                isinstance(ngrams, tuple) and ngrams
                and all(isinstance(n, int) and n > 0 for n in ngrams))):
            raise ValueError(f"TextVectorization: `ngrams` must be None, a positive integer or "
                             f"a tuple of positive integers, got {ngrams!r}.")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(
                    f"TextVectorization: `output_sequence_length` is only used with "
                    f"output_mode='int', got output_mode={output_mode!r}."
                )
            if not isinstance(output_sequence_length, int) or output_sequence_length < 1:
                raise ValueError(
                    f"TextVectorization: `output_sequence_length` must be None or a positive "
                    f"integer, got {output_sequence_length!r}."
                )
        has_vocab = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._max_tokens = max_tokens
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._ragged = False
        self._has_input_vocabulary = has_vocab
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            has_input_vocabulary=has_vocab, encoding=encoding,
            vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")
        self.built = True

    # ----------------------------------------------------------------- preprocessing
    def _standardized(self, strings: np.ndarray) -> np.ndarray:
        mode = self._standardize
        if callable(mode):
            out = host_array(mode(strings), f"TextVectorization '{self.name}' standardize")
            return out.astype(str)
        if mode is None:
            return strings
        flat = strings.reshape(-1).tolist()
        if mode in ("lower", "lower_and_strip_punctuation"):
            flat = [s.translate(_ASCII_LOWER) for s in flat]
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            flat = [_PUNCTUATION.sub("", s) for s in flat]
        return np.array(flat, dtype=str).reshape(strings.shape)

    def _split_tokens(self, strings: np.ndarray) -> list:
        """One list of tokens per string of a 1-D array."""
        if self._split == "whitespace":
            return [[t for t in _ASCII_SPACE.split(s) if t] for s in strings.tolist()]
        if self._split == "character":
            return [list(s) for s in strings.tolist()]
        out = self._split(strings)
        return [[str(t.decode(self._encoding) if isinstance(t, bytes) else t) for t in row]
                for row in (out.tolist() if hasattr(out, "tolist") else out)]

    def _preprocess(self, inputs):
        """(token sequences, one per sample, or an array of tokens without split; whether
        the input was a single scalar string)."""
        where = f"TextVectorization '{self.name}'"
        strings = host_array(inputs, where, self._encoding)
        if strings.dtype.kind != "U":
            raise TypeError(f"{where} expects strings, got {strings.dtype} values.")
        scalar = strings.ndim == 0
        strings = self._standardized(strings.reshape(1) if scalar else strings)
        if self._split is None:
            tokens = strings[..., None] if strings.ndim == 1 else strings
            rows = [list(r) for r in tokens.reshape(tokens.shape[0], -1).tolist()]
        else:
            if strings.ndim > 1:
                if strings.shape[-1] != 1 or strings.ndim > 2:
                    raise ValueError(
                        f"{where}: to split strings the input must have shape (batch,) or "
                        f"(batch, 1), got {strings.shape}."
                    )
                strings = strings[:, 0]
            rows = self._split_tokens(strings)
        if self._ngrams is not None:
            rows = [_ngrams(r, self._ngrams) for r in rows]
        return rows, scalar

    # ----------------------------------------------------------------- vocabulary
    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learns the vocabulary (and idf weights for 'tf_idf') from strings: an array
        or list (one document per element), or an iterable of batches."""
        self._lookup_layer.reset_state()
        if isinstance(data, (list, tuple, np.ndarray)) or hasattr(data, "__array__"):
            batches = [data]
        else:
            batches = data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            rows, _ = self._preprocess(batch[0] if isinstance(batch, tuple) else batch)
            if rows:
                self._lookup_layer.update_state(rows)
        self._lookup_layer.finalize_state()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order (padding '' and OOV '[UNK]' first by default)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (a list or a file path) and, for 'tf_idf', idf weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # ----------------------------------------------------------------- call
    def call(self, inputs):
        rows, scalar = self._preprocess(inputs)
        lookup = self._lookup_layer
        width = max((len(r) for r in rows), default=0)
        if self._output_mode == "int":
            width = self._output_sequence_length or width
        pad = 0 if self._output_mode == "int" else _DROPPED
        dense = np.full((len(rows), width), "", dtype=object)
        filled = np.zeros((len(rows), width), bool)
        for i, r in enumerate(rows):
            r = r[:width]
            dense[i, :len(r)] = r
            filled[i, :len(r)] = True
        values = dense.astype(str) if dense.size else np.zeros(dense.shape, str)
        indices = lookup._lookup(values, np) if values.size else values.astype(np.int64)
        indices = np.where(filled, indices, pad).astype(np.int64)
        if self._output_mode == "int":
            out = indices
        else:
            mode = "count" if self._output_mode == "tf_idf" else self._output_mode
            depth = lookup._depth()
            out = encode_categorical(indices, mode, depth, np.dtype("float32"))
            if self._output_mode == "tf_idf":
                out = out * lookup._idf[:depth]
        if scalar:
            return out[0]
        if self._split is None and np.ndim(inputs) == 1 and self._output_mode == "int" \
                and self._output_sequence_length is None:
            return out[:, 0]  # one token per sample: the input's shape, as Keras
        return out

    def compute_output_shape(self, input_shape):
        batch = input_shape[0] if len(input_shape) else None
        if self._output_mode == "int":
            return (batch, self._output_sequence_length)
        lookup = self._lookup_layer
        return (batch, lookup.max_tokens if lookup.pad_to_max_tokens else
                lookup._frozen_vocab_size)

    def compute_output_spec(self, inputs):
        dtype = "int64" if self._output_mode == "int" else "float32"
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype)

    # ----------------------------------------------------------------- saving
    def get_config(self):
        lookup = self._lookup_layer
        return {**super().get_config(), "max_tokens": lookup.max_tokens,
                "standardize": self._standardize, "split": self._split,
                "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": False,
                "ragged": False, "vocabulary": lookup.get_config()["vocabulary"],
                "idf_weights": lookup.get_config()["idf_weights"],
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config):
        from jkeras.saving import deserialize_keras_object

        config = dict(config)
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str) \
                    and not callable(config[key]):
                config[key] = deserialize_keras_object(config[key])
        return cls(**config)

    def _named_state_arrays(self) -> dict:
        return self._lookup_layer._named_state_arrays()

    def _load_named_state_arrays(self, arrays: dict) -> None:
        self._lookup_layer._load_named_state_arrays(arrays)

    def _save_assets(self) -> dict:
        return self._lookup_layer._save_assets()

    def _load_assets(self, files: dict) -> None:
        self._lookup_layer._load_assets(files)
