"""`IndexLookup`: the vocabulary table behind `StringLookup`, `IntegerLookup` and
`TextVectorization` (Keras 3 semantics, without TensorFlow).

Index layout (as Keras): with `output_mode='int'` and a `mask_token`, index 0 is the mask;
then come `num_oov_indices` out-of-vocabulary indices, then the vocabulary terms in order.
In the other output modes the mask has no index (masked values are dropped).

The vocabulary lives on the host as a sorted key array, so lookups are a binary search
(`searchsorted`) that runs on numpy arrays and, for integer vocabularies, inside
`jax.jit`. `adapt` counts terms on the host and orders them as Keras does: by count, ties
broken by the term itself, highest first. Adapted vocabularies are saved in `.keras` files
as `assets/<layer path>/vocabulary.txt` and idf weights as `<layer path>/vars/idf_weights`,
Keras 3's layout, so files exchange with Keras 3.
"""

from __future__ import annotations

import collections
import os

import jax.numpy as jnp
import numpy as np

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.layer import Layer
from jkeras.layers.preprocessing_encoding import (
    check_choice,
    encode_categorical,
    encoded_shape,
    is_traced,
    legacy_output_mode,
    reject_sparse,
)
from jkeras.layers.preprocessing_hash_functions import hash_buckets

_DROPPED = np.iinfo(np.int32).max  # an index outside every encoding: the value is dropped
_LOOKUP_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _listify(x):
    """A vocabulary or weights argument as a plain list for the config."""
    if x is None or isinstance(x, str):
        return x
    return np.asarray(x).tolist()


class IndexLookup(Layer):
    """Base of the lookup layers; subclasses set `_string_vocab` and convert inputs."""

    _string_vocab = True
    _batch_independent = True

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", name=None,
                 salt=None, **kwargs):
        cls = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{cls}: `max_tokens` must be greater than 1 when set, got "
                             f"{max_tokens}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{cls}: `pad_to_max_tokens=True` needs `max_tokens` to be set.")
        if not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(f"{cls}: `num_oov_indices` must be an integer >= 0, got "
                             f"{num_oov_indices!r}.")
        check_choice(cls, "oov_method", oov_method, ("floormod", "farmhash"))
        output_mode = legacy_output_mode(output_mode)
        check_choice(cls, "output_mode", output_mode, _LOOKUP_MODES)
        if salt is not None:
            if not self._string_vocab and oov_method != "farmhash":
                raise ValueError(f"{cls}: `salt` is only used with oov_method='farmhash', "
                                 f"got oov_method={oov_method!r}.")
            if isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            elif isinstance(salt, (list, tuple)) and len(salt) == 2:
                salt = [int(s) for s in salt]
            else:
                raise ValueError(f"{cls}: `salt` must be an integer or a pair of integers, "
                                 f"got {salt!r}.")
        if invert and output_mode != "int":
            raise ValueError(f"{cls}: `invert=True` needs output_mode='int', got "
                             f"{output_mode!r}.")
        reject_sparse(cls, sparse)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{cls}: `idf_weights` is only used with output_mode='tf_idf', "
                             f"not {output_mode!r}.")
        frozen_size = kwargs.pop("vocabulary_size", None)
        has_vocab = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self.invert = bool(invert)
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._frozen_vocab_size = frozen_size
        self.input_vocabulary = None if isinstance(vocabulary, str) else vocabulary
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = bool(has_vocab)
        if oov_method == "farmhash" and num_oov_indices > 1:
            self._host_only = True  # FarmHash of integers runs on the host
        self._tokens = self._empty_tokens()
        self._idf = None
        self._reset_counts()
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError(f"{cls}: with a `vocabulary` and output_mode='tf_idf', give "
                             f"`idf_weights` too.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # ------------------------------------------------------------------ vocabulary
    def _empty_tokens(self) -> np.ndarray:
        return np.array([], dtype=str if self._string_vocab else np.int64)

    def _as_tokens(self, values) -> np.ndarray:
        """Terms as a 1-D numpy array of the vocabulary's type (override)."""
        raise NotImplementedError

    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The size of the vocabulary, mask and OOV indices included."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The terms in index order; with `include_special_tokens`, a term's position
        is its index (mask and OOV tokens first)."""
        terms = [str(t) if self._string_vocab else int(t) for t in self._tokens]
        if not include_special_tokens:
            return terms
        special = [self.mask_token] * self._oov_start_index()
        return special + [self.oov_token] * self.num_oov_indices + terms

    def _set_tokens(self, tokens: np.ndarray) -> None:
        self._tokens = tokens
        order = np.argsort(tokens, kind="stable")
        self._sorted_keys = tokens[order]
        self._sorted_pos = order.astype(np.int64)
        self._record_vocabulary_size()

    def _record_vocabulary_size(self) -> None:
        size = self.vocabulary_size()
        fixed = self.output_mode == "int" or self.pad_to_max_tokens
        if not fixed and self._frozen_vocab_size is not None and size != self._frozen_vocab_size:
            raise RuntimeError(
                f"{type(self).__name__} '{self.name}': with output_mode="
                f"{self.output_mode!r} and pad_to_max_tokens=False the vocabulary size cannot "
                f"change once set (its output width); it was {self._frozen_vocab_size}, the "
                f"new vocabulary has {size}."
            )
        self._frozen_vocab_size = size

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Replaces the vocabulary (a list/array of terms, or the path of a text file with
        one term per line) and, for output_mode='tf_idf', the idf weights (one per term).
        Mask and OOV tokens may lead the list, in index order, or be left out."""
        cls = f"{type(self).__name__} '{self.name}'"
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{cls}: `idf_weights` must be given with output_mode='tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{cls}: `idf_weights` is only used with output_mode='tf_idf', "
                             f"not {self.output_mode!r}.")
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = self._read_vocabulary_file(os.fspath(vocabulary), cls)
        vocab = self._as_tokens(vocabulary)
        if vocab.size == 0:
            raise ValueError(f"{cls}: cannot set an empty vocabulary.")
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * \
            self.num_oov_indices
        has_special = len(vocab) >= token_start and vocab[:token_start].tolist() == special
        tokens = vocab[token_start:] if has_special else vocab
        repeated = [t for t, c in collections.Counter(tokens.tolist()).items() if c > 1]
        if repeated:
            raise ValueError(f"{cls}: the vocabulary repeats the terms {repeated[:10]}; "
                             f"each term must appear once.")
        for token, what in ((self.mask_token, "mask"),
                            (self.oov_token if self.invert else None, "OOV")):
            if token is not None and token in tokens.tolist():
                raise ValueError(
                    f"{cls}: the {what} token {token!r} is in the vocabulary. Leave the mask "
                    f"and OOV tokens out, or put them only at its start in this order: "
                    f"{special}."
                )
        if self.max_tokens is not None and token_start + len(tokens) > self.max_tokens:
            raise ValueError(
                f"{cls}: the vocabulary has {token_start + len(tokens)} entries (special "
                f"tokens included), more than max_tokens={self.max_tokens}."
            )
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(vocab):
                raise ValueError(
                    f"{cls}: `idf_weights` must be 1-D with one weight per vocabulary entry "
                    f"({len(vocab)}), got shape {weights.shape}."
                )
            front = 0 if has_special else token_start
            self._idf = self._pad_idf(weights, front, np.average(weights) if front else 0.0)

    def _pad_idf(self, weights, front: int, front_value) -> np.ndarray:
        """idf weights padded in front (special tokens) and, with pad_to_max_tokens, at
        the back with zeros."""
        back = 0
        if self.pad_to_max_tokens:
            back = max(self.max_tokens - front - len(weights), 0)
        out = np.pad(weights, (front, back), constant_values=(front_value, 0))
        return out.astype("float32")

    def _read_vocabulary_file(self, path: str, cls: str) -> list:
        from jkeras.saving.serialization import in_safe_mode

        if in_safe_mode():
            raise ValueError(
                f"{cls}: loading the vocabulary file '{path}' from outside the model archive "
                f"is refused in safe mode. If you trust it, load with safe_mode=False or call "
                f"jkeras.saving.enable_unsafe_deserialization()."
            )
        if not os.path.isfile(path):
            raise ValueError(f"{cls}: vocabulary file '{path}' does not exist.")
        if self.output_mode == "tf_idf":
            raise ValueError(f"{cls}: output_mode='tf_idf' cannot read its vocabulary from a "
                             f"file; pass a list with `idf_weights`.")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines if self._string_vocab else [int(v) for v in lines]

    # ------------------------------------------------------------------ adapt
    def _reset_counts(self) -> None:
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    def reset_state(self) -> None:
        if not self._has_input_vocabulary:
            self._reset_counts()

    def adapt(self, data, steps=None, batch_size=None) -> None:
        """Learns the vocabulary (and idf weights for 'tf_idf') from `data`: an array or
        list (each row, or each element of a 1-D array, one document) or an iterable of
        batches (a 1-D batch is one document). Terms are ordered by count, ties broken by
        the term, highest first, and cut to `max_tokens`."""
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray)) or hasattr(data, "__array__"):
            arr = self._as_documents_array(data)
            self.update_state(arr[:, None] if arr.ndim == 1 else arr)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch[0] if isinstance(batch, tuple) else batch)
        self.finalize_state()

    def _as_documents_array(self, data) -> np.ndarray:
        return self._as_input(data)

    def update_state(self, data) -> None:
        """Adds a batch's term (and document) counts: an array (rank 0 or 1: one
        document; otherwise one document per row) or a list of term sequences."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' has a fixed vocabulary (given as "
                f"`vocabulary` or with set_vocabulary), so it cannot be adapted."
            )
        if isinstance(data, list) and data and not np.isscalar(data[0]):
            docs = [self._as_input(d).reshape(-1) for d in data]
        else:
            arr = self._as_input(data)
            arr = arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(arr.shape[0], -1)
            docs = list(arr)
        for doc in docs:
            if doc.size == 0:
                continue
            terms, counts = np.unique(doc, return_counts=True)
            terms = terms.tolist()
            self._token_counts.update(dict(zip(terms, counts.tolist())))
            if self.output_mode == "tf_idf":
                self._document_counts.update(terms)
        if self.output_mode == "tf_idf":
            self._num_documents += len(docs)

    def finalize_state(self) -> None:
        if self._has_input_vocabulary or not self._token_counts:
            self._record_vocabulary_size()
            return
        counts = self._token_counts
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        tokens = self._as_tokens(list(counts))
        order = np.lexsort((tokens, np.array([counts[t] for t in tokens.tolist()])))[::-1]
        if self.max_tokens:
            order = order[:self.max_tokens - self._token_start_index()]
        tokens = tokens[order]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            df = np.array([self._document_counts[t] for t in tokens.tolist()], np.float64)
            idf = np.log(1.0 + self._num_documents / (1.0 + df)).astype("float32")
            self._idf = self._pad_idf(idf, self._token_start_index(), np.mean(idf))
        self._reset_counts()

    # ------------------------------------------------------------------ lookups
    def _as_input(self, x):
        """The input as a numpy array (host) or a traced jax array (override)."""
        raise NotImplementedError

    def _index_of(self, values, xp):
        """Each value's index in the vocabulary, or -1."""
        n = len(self._tokens)
        if n == 0:
            return xp.full(values.shape, -1, "int32" if xp is jnp else np.int64)
        keys, pos = self._sorted_keys, self._sorted_pos
        if xp is jnp:
            keep = (keys >= np.iinfo(np.int32).min) & (keys <= np.iinfo(np.int32).max)
            keys, pos = jnp.asarray(keys[keep], "int32"), jnp.asarray(pos[keep], "int32")
            if keys.size == 0:
                return jnp.full(values.shape, -1, "int32")
        at = xp.clip(xp.searchsorted(keys, values), 0, len(keys) - 1)
        return xp.where(keys[at] == values, pos[at] + self._token_start_index(), -1)

    def _oov_indices(self, values, xp):
        if not self._string_vocab and self.oov_method == "floormod":
            return xp.mod(values, self.num_oov_indices)
        from jkeras.layers.preprocessing_hashing import _as_hash_text

        return hash_buckets(_as_hash_text(np.asarray(values), self.name),
                            self.num_oov_indices, self.salt)

    def _lookup(self, values, xp):
        idx = self._index_of(values, xp)
        masked = values == self.mask_token if self.mask_token is not None else None
        oov = idx < 0
        if masked is not None:
            oov = oov & ~masked
        if self.num_oov_indices == 0:
            if xp is np and oov.any():
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': with num_oov_indices=0 every input "
                    f"must be in the vocabulary, found {np.unique(values[oov])[:10].tolist()}. "
                    f"Set num_oov_indices=1 to map unknown values to an OOV index."
                )
        elif self.num_oov_indices == 1:
            idx = xp.where(oov, self._oov_start_index(), idx)
        else:
            idx = xp.where(oov, self._oov_indices(values, xp) + self._oov_start_index(), idx)
        if masked is not None:
            idx = xp.where(masked, 0 if self.output_mode == "int" else _DROPPED, idx)
        return idx

    def _invert(self, indices, xp):
        table = self.get_vocabulary(include_special_tokens=True)
        tokens = np.asarray(table, dtype=str if self._string_vocab else np.int64)
        tokens = xp.asarray(tokens) if xp is np else jnp.asarray(tokens, "int32")
        at = xp.clip(indices, 0, max(len(table) - 1, 0))
        valid = (indices >= self._token_start_index()) & (indices < len(table))
        out = xp.where(valid, tokens[at], self.oov_token)
        if self.mask_token is not None:
            out = xp.where(indices == 0, self.mask_token, out)
        return out

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self._frozen_vocab_size is None:
            raise RuntimeError(
                f"{type(self).__name__} '{self.name}': with output_mode={self.output_mode!r} "
                f"and pad_to_max_tokens=False, set the vocabulary (the `vocabulary` argument "
                f"or adapt(data)) before calling the layer."
            )
        return self._frozen_vocab_size

    def call(self, inputs):
        values = self._as_input(inputs)
        xp = jnp if is_traced(values) else np
        if self.invert:
            return self._invert(values, xp)
        indices = self._lookup(values, xp)
        if self.output_mode == "int":
            return indices
        depth = self._depth()
        if self.output_mode != "tf_idf":
            return encode_categorical(indices, self.output_mode, depth, np.dtype("float32"))
        if self._idf is None:
            raise RuntimeError(f"{type(self).__name__} '{self.name}' has no idf weights yet: "
                               f"adapt it or give `idf_weights`.")
        counts = encode_categorical(indices, "count", depth, np.dtype("float32"))
        return counts * xp.asarray(self._idf[:depth])

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def compute_output_spec(self, inputs):
        if self.output_mode != "int":
            dtype = "float32"
        elif self.invert and self._string_vocab:
            dtype = "object"  # strings: only host-side data carries them
        else:
            dtype = "int64"
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype)

    # ------------------------------------------------------------------ saving
    def get_config(self):
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": False, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype,
                "idf_weights": _listify(self.input_idf_weights),
                "vocabulary": _listify(self.input_vocabulary),
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method,
                "salt": self.salt}

    def _named_state_arrays(self) -> dict:
        if self.output_mode == "tf_idf" and self._idf is not None:
            return {"idf_weights": self._idf}
        return {}

    def _load_named_state_arrays(self, arrays: dict) -> None:
        if self.output_mode == "tf_idf" and "idf_weights" in arrays:
            self._idf = np.asarray(arrays["idf_weights"], "float32").reshape(-1)

    def _save_assets(self) -> dict:
        if self.input_vocabulary is not None:  # the config holds it
            return {}
        text = "\n".join(str(t) for t in self.get_vocabulary(include_special_tokens=True))
        return {"vocabulary.txt": text.encode("utf-8")}

    def _load_assets(self, files: dict) -> None:
        if self.input_vocabulary is not None:
            return
        if "vocabulary.txt" not in files:
            raise ValueError("the archive has no vocabulary.txt for this layer")
        lines = files["vocabulary.txt"].decode("utf-8").splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        values = lines if self._string_vocab else [int(v) for v in lines]
        if not values:
            return
        idf = None
        if self.output_mode == "tf_idf":  # saved with the special tokens' weights in front
            idf = None if self._idf is None else self._idf[:len(values)]
        self.set_vocabulary(values, idf)
