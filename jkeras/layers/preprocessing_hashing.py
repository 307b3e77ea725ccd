"""Hashing preprocessing layers (Keras 3 names and semantics): `Hashing`, `HashedCrossing`.

They hash on the host, with the same functions TensorFlow uses for Keras 3 (FarmHash
fingerprints, or SipHash-2-4 when a `salt` is given; see `preprocessing_hash_functions`),
so a value lands in the same bin as under Keras: a model's behaviour carries over.
Integers are hashed through their decimal text and floats through their integer part,
as Keras does. Both layers are host-only (`_host_only = True`): they run on numpy data
before a compiled model step, not inside `jax.jit`.
"""

from __future__ import annotations

import numbers

import numpy as np

from jkeras.backend.config import floatx
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.layer import Layer
from jkeras.layers.preprocessing_encoding import (
    check_choice,
    encode_categorical,
    encoded_shape,
    host_array,
    positive_int,
    reject_sparse,
)
from jkeras.layers.preprocessing_hash_functions import (
    fingerprint64,
    fingerprint_cat64,
    hash_buckets,
)

__all__ = ["HashedCrossing", "Hashing"]

_CROSS_HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default key
_M64 = (1 << 64) - 1


def _as_hash_text(arr: np.ndarray, layer: str) -> np.ndarray:
    """The byte strings TensorFlow hashes for an array of values: UTF-8 text as is,
    integers (and the integer part of floats) as decimal text, booleans as true/false."""
    kind = arr.dtype.kind
    if kind == "U":
        return np.char.encode(arr, "utf-8").astype(object)
    if kind == "b":
        return np.where(arr, b"true", b"false").astype(object)
    if kind == "f":
        arr = arr.astype(np.int64)
        kind = "i"
    if kind in "iu":
        return np.char.encode(arr.astype(str), "ascii").astype(object)
    raise TypeError(f"{layer}: expected strings or numbers, got an array of {arr.dtype}.")


def _salt_pair(layer: str, salt):
    if salt is None:
        return None
    if isinstance(salt, numbers.Integral) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    if isinstance(salt, (list, tuple)) and len(salt) == 2 and all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in salt
    ):
        return [int(s) for s in salt]
    raise ValueError(
        f"{layer}: `salt` must be an integer or a pair of integers (the SipHash key), got "
        f"{salt!r}."
    )


class Hashing(Layer):
    """Maps strings or integers to `num_bins` bins by hashing: `FarmHash64(x) % num_bins`
    (as `tf.strings.to_hash_bucket_fast`), or `SipHash64(salt, x) % num_bins` when `salt`
    (an integer or a pair of integers) is given. With `mask_value`, that value goes to
    bin 0 and the others to bins 1..num_bins-1. `output_mode`: 'int' (int64 bin indices,
    the input's shape), 'one_hot', 'multi_hot' or 'count' (float vectors of size
    `num_bins`). Bins equal Keras 3's for the same input. Runs on the host.
    """

    _host_only = True
    _batch_independent = True

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else floatx()
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, numbers.Integral) or num_bins <= 0:
            raise ValueError(f"Hashing: `num_bins` must be a positive integer, got {num_bins!r}.")
        check_choice("Hashing", "output_mode", output_mode,
                     ("int", "one_hot", "multi_hot", "count"))
        if output_mode == "int" and self.dtype_policy.name not in ("int32", "int64"):
            raise ValueError(
                f"Hashing: with output_mode='int' the `dtype` must be 'int32' or 'int64', got "
                f"{kwargs['dtype']!r}."
            )
        reject_sparse("Hashing", sparse)
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = _salt_pair("Hashing", salt)
        self.strong_hash = self.salt is not None
        self.output_mode = output_mode
        self.sparse = False

    def _bins(self, values: np.ndarray) -> np.ndarray:
        buckets = self.num_bins
        masked = None
        if self.mask_value is not None and buckets > 1:
            buckets -= 1
            masked = values == self.mask_value
        bins = hash_buckets(_as_hash_text(values, f"Hashing '{self.name}'"), buckets,
                            self.salt)
        if masked is not None:
            bins = np.where(masked, 0, bins + 1)
        return bins

    def call(self, inputs):
        values = host_array(inputs, f"Hashing '{self.name}'")
        if self.output_mode == "one_hot" and values.ndim > 0 and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self._bins(values)
        return encode_categorical(bins, self.output_mode, self.num_bins,
                                  np.dtype(self.compute_dtype))

    def compute_output_shape(self, input_shape):
        if self.output_mode != "int" and len(input_shape) == 0:
            return (self.num_bins,)
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def compute_output_spec(self, inputs):
        return KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": False}


class HashedCrossing(Layer):
    """Crosses categorical features by hashing: for inputs `(f1, f2, ...)` (strings or
    integers, each of shape `()`, `(batch,)` or `(batch, 1)`), each sample's bin is the
    fingerprint combination `tf.sparse.cross_hashed` computes, modulo `num_bins`.
    `output_mode`: 'int' (int64 bins, the inputs' shape) or 'one_hot'. Bins equal
    Keras 3's for the same inputs. Runs on the host.
    """

    _host_only = True
    _batch_independent = True

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        check_choice("HashedCrossing", "output_mode", output_mode, ("int", "one_hot"))
        reject_sparse("HashedCrossing", sparse)
        self.num_bins = positive_int("HashedCrossing", "num_bins", num_bins)
        self.output_mode = output_mode
        self.sparse = False

    def _check_inputs(self, shapes) -> None:
        where = f"HashedCrossing '{self.name}'"
        if len(shapes) < 2:
            raise ValueError(f"{where} needs at least two inputs to cross, got {len(shapes)}.")
        first = tuple(shapes[0])
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ValueError(
                f"{where}: every input must have shape (), (batch,) or (batch, 1), got "
                f"{first}."
            )
        if any(tuple(s) != first for s in shapes[1:]):
            raise ValueError(
                f"{where}: all inputs must have the same shape, got {[tuple(s) for s in shapes]}."
            )

    def _validate_input(self, inputs) -> None:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"HashedCrossing '{self.name}' must be called on a list or tuple of inputs, "
                f"got {type(inputs).__name__}."
            )
        self._check_inputs([np.shape(x) if not hasattr(x, "shape") else x.shape
                            for x in inputs])

    def call(self, inputs):
        where = f"HashedCrossing '{self.name}'"
        arrays = [host_array(x, where) for x in inputs]
        self._check_inputs([a.shape for a in arrays])
        columns = []
        for a in arrays:
            flat = a.reshape(-1)
            if a.dtype.kind == "U":
                uniq, inverse = np.unique(flat, return_inverse=True)
                fps = [fingerprint64(u.encode("utf-8")) for u in uniq.tolist()]
                columns.append([fps[i] for i in inverse.tolist()])
            elif a.dtype.kind in "iu":
                columns.append([int(v) & _M64 for v in flat.tolist()])
            else:
                raise ValueError(
                    f"{where}: inputs must hold integers or strings, got {a.dtype}."
                )
        bins = []
        for features in zip(*columns):
            h = _CROSS_HASH_KEY
            for f in features:
                h = fingerprint_cat64(h, f)
            bins.append(h % self.num_bins)
        out = np.asarray(bins, np.int64).reshape(arrays[0].shape)
        if self.output_mode == "int":
            return out.astype(self.compute_dtype)
        return encode_categorical(out, "one_hot", self.num_bins, np.dtype(self.compute_dtype))

    def compute_output_shape(self, input_shape):
        self._check_inputs(input_shape)
        return encoded_shape(tuple(input_shape[0]), self.output_mode, self.num_bins)

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape([x.shape for x in inputs])
        return KerasTensor(shape, self.compute_dtype)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": False,
                "name": self.name, "dtype": self.dtype_policy.name}
