"""The benchmark's models by name, their sizes, and the random data every peer trains on.

numpy only: imported by every worker, whatever framework it runs. The same seed gives the
same arrays in every process, so every peer sees identical data. Images are channels-last
(NHWC) here; the PyTorch peer transposes them once, before timing, to the NCHW layout a
PyTorch user keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BATCH_SIZE = 32
LEARNING_RATE = 1e-3
RHO = 0.9
EPSILON = 1e-7


@dataclass(frozen=True)
class ModelSpec:
    """One benchmark model: its key, what it is, and its sample counts."""

    key: str
    name: str
    description: str
    n_full: int
    n_quick: int
    conv: bool
    predict: bool
    predict_n: int | None = None  # predict over this many samples (None: all)


MODELS: dict[str, ModelSpec] = {
    "a": ModelSpec("a", "mlp", "seed first model: 784-64-64-10 softmax, categorical CE",
                   60000, 4096, conv=False, predict=True, predict_n=10000),
    "b": ModelSpec("b", "headline", "seed headline model: Embedding 10000x512, LSTM(32), "
                   "aux input, 2 outputs, loss weights 1/0.2", 2048, 128, conv=False,
                   predict=True),
    "c": ModelSpec("c", "shared_vision", "seed shared vision model: 2x 27x27x1 through one "
                   "conv64-conv64-pool-flatten tower, sigmoid", 512, 64, conv=True,
                   predict=True),
    "d": ModelSpec("d", "inception", "inception block (3 towers, 16 filters) on 32x32x3, "
                   "GAP, 10-way softmax", 512, 64, conv=True, predict=False),
}

# Parameter counts the seed guide's architectures imply (SEED-API.md); (d) is ours.
SEED_PARAM_COUNTS = {"a": 55_050, "b": 5_200_610, "c": 53_057, "d": 9_418}

# PyTorch's LSTM keeps two bias vectors (b_ih and b_hh): 4 * units more parameters than
# Keras's single bias. Everything else matches exactly.
TORCH_PARAM_EXTRA = {"b": 4 * 32}


def make_data(key: str, n: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Returns (inputs, targets) as lists of numpy arrays with `n` samples each.

    Targets are what a Keras user passes: one-hot float32 for softmax models, float32 0/1
    columns for sigmoid ones. Deterministic in (key, n, seed).
    """
    rng = np.random.default_rng([seed, ord(key)])
    if key == "a":
        x = rng.random((n, 784), dtype=np.float32)
        labels = rng.integers(0, 10, n)
        return [x], [np.eye(10, dtype=np.float32)[labels]]
    if key == "b":
        headlines = rng.integers(1, 10000, (n, 100)).astype(np.int32)
        extra = rng.random((n, 5), dtype=np.float32)
        y = rng.integers(0, 2, (n, 1)).astype(np.float32)
        return [headlines, extra], [y, y.copy()]
    if key == "c":
        a = rng.random((n, 27, 27, 1), dtype=np.float32)
        b = rng.random((n, 27, 27, 1), dtype=np.float32)
        y = rng.integers(0, 2, (n, 1)).astype(np.float32)
        return [a, b], [y]
    if key == "d":
        x = rng.random((n, 32, 32, 3), dtype=np.float32)
        labels = rng.integers(0, 10, n)
        return [x], [np.eye(10, dtype=np.float32)[labels]]
    raise ValueError(f"unknown benchmark model {key!r}: expected one of {sorted(MODELS)}")


def sample_count(key: str, quick: bool, override: int | None = None,
                 batch_size: int = BATCH_SIZE) -> int:
    """Samples per epoch for a model: `override` if given, else the model's full or quick
    size; rounded down to a multiple of the batch size (at least one batch)."""
    spec = MODELS[key]
    n = override if override is not None else (spec.n_quick if quick else spec.n_full)
    return max(batch_size, n // batch_size * batch_size)
