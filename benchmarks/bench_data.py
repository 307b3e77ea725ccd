"""The benchmark's models by name, their sizes, and the random data every peer trains on.

numpy only: imported by every worker, whatever framework it runs. The same seed gives the
same arrays in every process, so every peer sees identical data. Images are channels-last
(NHWC) here; the PyTorch peer transposes them once, before timing, to the NCHW layout a
PyTorch user keeps.

Model g reads text: its inputs are strings (space-separated lowercase words). jkeras takes
them as they are (`Input(dtype="string")` + TextVectorization in the model); the other peers
get the token ids `tokenize` computes, outside the timed loop, exactly as that
TextVectorization does.
"""

from __future__ import annotations

from collections import Counter
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
    text: bool = False  # inputs are strings (jkeras) / token ids (other peers)


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
    "e": ModelSpec("e", "resnet50", "keras.applications.ResNet50(weights=None) on 64x64x3, "
                   "10 classes; torchvision resnet50", 64, 32, conv=True, predict=False),
    "f": ModelSpec("f", "mobilenet_v2", "keras.applications.MobileNetV2(weights=None) on "
                   "96x96x3, 10 classes; torchvision mobilenet_v2", 96, 32, conv=True,
                   predict=False),
    "g": ModelSpec("g", "text_transformer", "text Transformer encoder: TextVectorization "
                   "(20k tokens, seq 128), Embedding 64 + positions, 2x (MultiHeadAttention "
                   "4x16, LayerNorm, Dense 128-64, LayerNorm), mean pool, 4-way softmax",
                   1024, 64, conv=False, predict=False, text=True),
}

# Parameter counts the seed guide's architectures imply (SEED-API.md); (d) is ours.
SEED_PARAM_COUNTS = {"a": 55_050, "b": 5_200_610, "c": 53_057, "d": 9_418}

# The text model (g): vocabulary, sequence and layer sizes.
TEXT_MAX_TOKENS = 20000  # TextVectorization(max_tokens=...): '' and '[UNK]' included
TEXT_SEQUENCE = 128  # output_sequence_length: longer texts are cut, shorter ones padded (0)
TEXT_WORD_TYPES = 30000  # distinct words in the generated texts (the rarest become OOV)
TEXT_WORDS = (64, 192)  # words per text, inclusive range
TEXT_EMBED, TEXT_HEADS, TEXT_FF, TEXT_BLOCKS, TEXT_CLASSES = 64, 4, 128, 2, 4
IMAGE_SHAPES = {"e": (64, 64, 3), "f": (96, 96, 3)}
IMAGE_CLASSES = 10

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
    if key in IMAGE_SHAPES:
        x = rng.random((n, *IMAGE_SHAPES[key]), dtype=np.float32)
        labels = rng.integers(0, IMAGE_CLASSES, n)
        return [x], [np.eye(IMAGE_CLASSES, dtype=np.float32)[labels]]
    if key == "g":
        labels = rng.integers(0, TEXT_CLASSES, n)
        return [make_texts(rng, n)], [np.eye(TEXT_CLASSES, dtype=np.float32)[labels]]
    raise ValueError(f"unknown benchmark model {key!r}: expected one of {sorted(MODELS)}")


def sample_count(key: str, quick: bool, override: int | None = None,
                 batch_size: int = BATCH_SIZE) -> int:
    """Samples per epoch for a model: `override` if given, else the model's full or quick
    size; rounded down to a multiple of the batch size (at least one batch)."""
    spec = MODELS[key]
    n = override if override is not None else (spec.n_quick if quick else spec.n_full)
    return max(batch_size, n // batch_size * batch_size)


def make_texts(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` texts of TEXT_WORDS words each ("w17 w3 w17 ..."), word frequencies roughly
    Zipfian as in natural language; a numpy array of str."""
    lengths = rng.integers(TEXT_WORDS[0], TEXT_WORDS[1] + 1, n)
    ids = (rng.zipf(1.2, int(lengths.sum())) - 1) % TEXT_WORD_TYPES
    words = np.char.add("w", np.arange(TEXT_WORD_TYPES).astype(str)).tolist()
    ends = np.cumsum(lengths)
    flat = [words[i] for i in ids.tolist()]
    return np.array([" ".join(flat[e - k:e]) for e, k in zip(ends.tolist(), lengths.tolist())])


def text_vocabulary(texts, max_tokens: int = TEXT_MAX_TOKENS) -> list[str]:
    """The vocabulary `TextVectorization(max_tokens).adapt(texts)` learns on these texts
    (lowercase words without punctuation, so standardization changes nothing): padding ''
    and '[UNK]', then the words by count, most frequent first (ties: the later word in
    sort order first, as Keras orders them)."""
    counts = Counter(w for t in texts for w in str(t).split())
    tokens = np.array(list(counts))
    order = np.lexsort((tokens, np.array([counts[t] for t in tokens.tolist()])))[::-1]
    return ["", "[UNK]"] + tokens[order[:max_tokens - 2]].tolist()


def tokenize(texts, vocabulary: list[str], length: int = TEXT_SEQUENCE) -> np.ndarray:
    """Token ids as TextVectorization(output_mode='int', output_sequence_length=length)
    gives them: each word's index in `vocabulary` (1 for unknown words), cut or padded
    with 0 to `length`; int32 (n, length)."""
    index = {w: i for i, w in enumerate(vocabulary) if w}
    out = np.zeros((len(texts), length), np.int32)
    for row, t in enumerate(texts):
        ids = [index.get(w, 1) for w in str(t).split()[:length]]
        out[row, :len(ids)] = ids
    return out


def token_inputs(key: str, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The inputs of a model for peers that take numbers only: a text model's strings
    become token ids (vocabulary learned on these texts); other models' pass through."""
    if not MODELS[key].text:
        return inputs
    return [tokenize(inputs[0], text_vocabulary(inputs[0]))]
