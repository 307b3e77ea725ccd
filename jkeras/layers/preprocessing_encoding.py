"""Integer category encodings (Keras 3 names and semantics): `CategoryEncoding`,
`Discretization`, and the helpers the lookup, hashing and text layers share.

`encode_categorical` turns integer indices into one-hot, multi-hot or count vectors; it
works on numpy arrays (on the host, for the layers that consume strings) and on jax arrays
(inside `jax.jit`), dropping indices outside `[0, depth)` as Keras's JAX backend does.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.layer import Layer

__all__ = ["CategoryEncoding", "Discretization"]

ENCODED_MODES = ("one_hot", "multi_hot", "count")


def check_choice(layer: str, arg: str, value, choices) -> None:
    """Raises a ValueError naming the layer and argument when `value` is not a choice."""
    if value not in choices:
        raise ValueError(
            f"{layer}: `{arg}` must be one of {list(choices)}, got {value!r}."
        )


def legacy_output_mode(mode):
    """Keras 2's names of the output modes ('binary', 'tf-idf') as Keras 3 spells them."""
    return {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(mode, mode)


def is_traced(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def host_array(x, layer: str, encoding: str = "utf-8") -> np.ndarray:
    """`x` (a list, tuple, numpy or jax array) as a numpy array on the host; strings
    (bytes, decoded with `encoding`, or str) become a numpy unicode array."""
    if isinstance(x, KerasTensor):
        raise TypeError(f"{layer}: expected data, got a symbolic tensor.")
    if is_traced(x):
        raise TypeError(
            f"{layer} works on the host (strings and hash tables) and cannot run inside "
            f"jax.jit or a compiled model step; call it on numpy data before the model."
        )
    arr = np.asarray(x)
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, encoding)
    elif arr.dtype.kind == "O":
        flat = [v.decode(encoding) if isinstance(v, bytes) else v for v in arr.reshape(-1)]
        if flat and all(isinstance(v, str) for v in flat):
            arr = np.array(flat, dtype=str).reshape(arr.shape)
    return arr


def encode_categorical(indices, output_mode: str, depth: int, dtype, count_weights=None):
    """Encodes integer `indices` as Keras does for `output_mode`:

    - 'int': the indices, cast to `dtype`;
    - 'one_hot': one vector of size `depth` per index (a trailing axis of size 1 is
      replaced, otherwise one is appended);
    - 'multi_hot' / 'count': one vector per sample, the last axis being the sample's
      indices (a rank-1 input is a single sample); 'count' sums `count_weights` (or ones).

    Indices outside `[0, depth)` contribute nothing. numpy in, numpy out; jax otherwise.
    """
    xp = np if isinstance(indices, np.ndarray) else jnp
    if output_mode == "int":
        return xp.asarray(indices).astype(dtype)
    indices = xp.asarray(indices)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return (indices[..., None] == xp.arange(depth)).astype(dtype)
    if indices.ndim == 0:
        indices = indices[None]
    lead, n = indices.shape[:-1], indices.shape[-1]
    rows = int(np.prod(lead, dtype=np.int64))
    flat = indices.reshape(rows, n).astype("int32")
    if count_weights is None:
        weights = xp.ones((rows, n), dtype)
    else:
        weights = xp.broadcast_to(xp.asarray(count_weights), indices.shape).reshape(rows, n)
        dtype = weights.dtype
    row_ids = xp.broadcast_to(xp.arange(rows)[:, None], (rows, n))
    valid = (flat >= 0) & (flat < depth)
    if xp is np:
        out = np.zeros((rows, depth), dtype)
        np.add.at(out, (row_ids[valid], flat[valid]), weights[valid])
    else:
        cols = jnp.where(valid, flat, depth)  # out of range: dropped by the scatter
        out = jnp.zeros((rows, depth), dtype).at[row_ids, cols].add(weights, mode="drop")
    if output_mode == "multi_hot":
        out = (out > 0).astype(dtype)
    return out.reshape(*lead, depth)


def encoded_shape(input_shape, output_mode: str, depth) -> tuple:
    """The output shape of `encode_categorical` for an input shape."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            shape = shape[:-1]
        return (*shape, depth)
    return (*shape[:-1], depth)


def positive_int(layer: str, arg: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"{layer}: `{arg}` must be an integer >= {minimum}, got {value!r}."
        )
    return int(value)


def reject_sparse(layer: str, sparse) -> None:
    if sparse:
        raise ValueError(
            f"{layer}: `sparse=True` needs sparse tensors, which only Keras's TensorFlow "
            f"backend has; jkeras returns dense arrays (use sparse=False)."
        )


class CategoryEncoding(Layer):
    """Encodes integer category indices in `[0, num_tokens)` as one-hot ('one_hot'),
    multi-hot ('multi_hot', the default) or count ('count') vectors of size
    `num_tokens`. For 'multi_hot' and 'count' the last axis holds one sample's indices
    (a rank-1 input is one sample); 'count' accepts `count_weights` of the input's shape.
    Runs inside `jax.jit`; indices outside the range contribute nothing. Output: the
    layer's dtype (float32 by default).
    """

    _batch_independent = True

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        output_mode = legacy_output_mode(output_mode)
        check_choice("CategoryEncoding", "output_mode", output_mode, ENCODED_MODES)
        if num_tokens is None:
            raise ValueError(
                "CategoryEncoding: `num_tokens` must be set (the number of categories); "
                "use IntegerLookup when the categories are not known in advance."
            )
        self.num_tokens = positive_int("CategoryEncoding", "num_tokens", num_tokens)
        self.output_mode = output_mode
        reject_sparse("CategoryEncoding", sparse)
        self.sparse = False

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 0:
            return (self.num_tokens,)
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def compute_output_spec(self, inputs, count_weights=None):
        return KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                f"CategoryEncoding '{self.name}': `count_weights` is only used with "
                f"output_mode='count', not {self.output_mode!r}."
            )
        traced = is_traced(inputs) or is_traced(count_weights)
        xp = jnp if traced else np  # concrete data is encoded on the host: no compiling
        x = inputs if traced else np.asarray(inputs)
        if not np.issubdtype(x.dtype, np.integer):
            x = x.astype("int32")
        dtype = np.dtype(self.compute_dtype)
        if count_weights is not None:
            count_weights = xp.asarray(count_weights, dtype)
        if x.ndim == 0 and self.output_mode == "one_hot":
            out = encode_categorical(x[None], "one_hot", self.num_tokens, dtype)[0]
        else:
            out = encode_categorical(x, self.output_mode, self.num_tokens, dtype, count_weights)
        return out if traced else jnp.asarray(out)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}


# ---------------------------------------------------------------------------------------
# Discretization: quantile summaries for adapt
# ---------------------------------------------------------------------------------------
def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """A (2, k) summary of a batch: every `step`-th sorted value, each weighing `step`."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)
    points = values[int(step - 1)::int(step)]
    return np.stack([points, np.full_like(points, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Resamples a summary at cumulative-weight fractions epsilon, 2 epsilon, ..., 1."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    points = np.interp(fractions, at, summary[0])
    cum_at = np.interp(fractions, at, cumulative)
    weights = np.diff(cum_at, prepend=0.0)
    return np.stack((points, weights)).astype("float32")


def _merge(a: np.ndarray, b: np.ndarray, epsilon: float) -> np.ndarray:
    both = np.concatenate((a, b), axis=1)
    return _compress(both[:, np.argsort(both[0])], epsilon)


class Discretization(Layer):
    """Buckets numbers by `bin_boundaries`: with boundaries `[b0, ..., bk]` a value `x`
    goes to bin 0 if `x < b0`, bin `i` if `b(i-1) <= x < bi`, bin `k + 1` if `x >= bk`.
    Give the boundaries, or `num_bins` and learn approximate quantile boundaries with
    `adapt(data)` (`epsilon` sets the summary's precision, as in Keras). `output_mode`:
    'int' (int32 bin indices), 'one_hot', 'multi_hot' or 'count' (float vectors of size
    `len(bin_boundaries) + 1`). Runs inside `jax.jit` once the boundaries are known.
    """

    _batch_independent = True

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        check_choice("Discretization", "output_mode", output_mode, ("int", *ENCODED_MODES))
        reject_sparse("Discretization", sparse)
        if num_bins is not None:
            positive_int("Discretization", "num_bins", num_bins, minimum=0)
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                f"Discretization: give `num_bins` (then adapt) or `bin_boundaries`, not both; "
                f"got num_bins={num_bins} and bin_boundaries={bin_boundaries}."
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError(
                "Discretization: give either `bin_boundaries` or `num_bins` (then call "
                "adapt(data))."
            )
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in np.asarray(bin_boundaries).reshape(-1)]
            if any(b > a for b, a in zip(bin_boundaries, bin_boundaries[1:])):
                raise ValueError(
                    f"Discretization: `bin_boundaries` must be sorted in increasing order, "
                    f"got {bin_boundaries}."
                )
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False
        self._summary = np.zeros((2, 0), "float32")

    @property
    def _depth(self):
        if self.bin_boundaries is not None:
            return len(self.bin_boundaries) + 1
        return self.num_bins

    def adapt(self, data, steps=None, batch_size=None) -> None:
        """Learns `num_bins - 1` boundaries at the data's approximate quantiles. `data`:
        an array, or an iterable of arrays (batches); `steps` limits the batches read."""
        if self.num_bins is None:
            raise ValueError(
                f"Discretization '{self.name}' was given `bin_boundaries`, so it cannot be "
                f"adapted; create it with `num_bins` instead."
            )
        if isinstance(data, (np.ndarray, jax.Array)) or not hasattr(data, "__iter__"):
            batches = [data]
        else:
            batches = data
        summary = np.zeros((2, 0), "float32")
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):
                batch = batch[0]
            values = np.asarray(batch).astype("float32")
            summary = _merge(_summarize(values, self.epsilon), summary, self.epsilon)
        if summary.shape[1] == 0:
            raise ValueError(f"Discretization '{self.name}'.adapt: `data` holds no values.")
        self._summary = summary
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self._depth)

    def compute_output_spec(self, inputs):
        dtype = "int32" if self.output_mode == "int" else self.compute_dtype
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype)

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                f"Discretization '{self.name}' has no bin boundaries yet: pass "
                f"`bin_boundaries` or call adapt(data) before using it."
            )
        traced = is_traced(inputs)
        xp = jnp if traced else np  # concrete data is bucketed on the host: no compiling
        x = inputs if traced else np.asarray(inputs)
        bins = xp.asarray(self.bin_boundaries, x.dtype if np.issubdtype(
            x.dtype, np.floating) else "float32")
        index = xp.searchsorted(bins, x, side="right").astype("int32")
        dtype = np.dtype("int32" if self.output_mode == "int" else self.compute_dtype)
        out = encode_categorical(index, self.output_mode, self._depth, dtype)
        return out if traced else jnp.asarray(out)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": False,
                "name": self.name, "dtype": self.dtype_policy.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("trainable", None)
        boundaries = config.get("bin_boundaries")
        if boundaries is not None and config.get("num_bins") is not None:
            config.pop("bin_boundaries")  # an adapted layer: boundaries learned, not given
            layer = cls(**config)
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return cls(**config)
