"""The four tasks of `jkeras demo`: data, models (the architectures of the Keras
functional API guide) and training. Each `run_*` function trains on the data it is
given and returns a `TaskResult`; the data loaders are separate so that tests can pass tiny data.

Held-out accuracy is always measured on data the model never trained on:
the digits' test split (and pairs made only from it), easy-VQA's test split
(1,000 unseen images), and a separately generated test set for the headlines.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np

import jkeras as keras
from jkeras import layers

# ---------------------------------------------------------------------------
# Settings and results
# ---------------------------------------------------------------------------
GUIDE = "the Keras functional API guide"

#: task key -> (number, name) of the guide's example it trains, numbered as in the
#: README's table "The ten examples of the functional API guide"
GUIDE_EXAMPLES = {
    "digits_dense": (1, "first model"),
    "digit_pairs": (8, "shared vision model"),
    "easy_vqa": (9, "visual question answering"),
    "headline": (3, "multiple inputs and outputs"),
}


def guide_example(key: str) -> str:
    """'example 8 of the Keras functional API guide (shared vision model)': which
    example of the guide a task trains."""
    number, name = GUIDE_EXAMPLES[key]
    return f"example {number} of {GUIDE} ({name})"


@dataclasses.dataclass
class DemoConfig:
    """Sizes, epochs and accuracy floors of one demo run.

    `full()` is what `jkeras demo` runs, `quick()` what `--quick` runs and
    `tiny()` a seconds-long run for tests (its floors are 0: it checks the
    plumbing, not the learning).
    """

    name: str = "full"
    digits_epochs: int = 30
    pairs_train: int = 16_000  #: training pairs (half "same")
    pairs_test: int = 2_000  #: held-out pairs, made from test digits only
    pairs_epochs: int = 6
    vqa_train_questions: int | None = None  #: None: all 38,575
    vqa_test_questions: int | None = None  #: None: all 9,673
    vqa_image_size: int = 32  #: images are downsampled from 64x64
    vqa_epochs: int = 8
    vqa_filters: tuple[int, int, int] = (8, 16, 32)  #: the guide's: (64, 128, 256)
    headline_train: int = 12_000
    headline_test: int = 2_000
    headline_epochs: int = 10
    batch_size: int = 64
    floors: dict[str, float] = dataclasses.field(default_factory=lambda: {
        "digits_dense": 0.90, "digit_pairs": 0.85, "easy_vqa": 0.60, "headline": 0.85})

    @classmethod
    def full(cls) -> DemoConfig:
        """The full demo (about 2 minutes on 2 CPU cores: `jkeras.cli.DEMO_MINUTES`)."""
        return cls()

    @classmethod
    def quick(cls) -> DemoConfig:
        """`--quick` (about 30 s on 2 CPU cores): fewer samples and epochs,
        lower floors."""
        return cls(name="quick", digits_epochs=15, pairs_train=6_000, pairs_test=1_000,
                   pairs_epochs=4, vqa_train_questions=12_000, vqa_test_questions=3_000,
                   vqa_epochs=3, headline_train=6_000, headline_test=1_000, headline_epochs=6,
                   floors={"digits_dense": 0.85, "digit_pairs": 0.75, "easy_vqa": 0.55,
                           "headline": 0.80})

    @classmethod
    def tiny(cls) -> DemoConfig:
        """Seconds-long, for tests: one epoch on a few samples, all floors 0."""
        return cls(name="tiny", digits_epochs=1, pairs_train=64, pairs_test=32, pairs_epochs=1,
                   vqa_train_questions=64, vqa_test_questions=32, vqa_image_size=32,
                   vqa_epochs=1, vqa_filters=(2, 2, 2), headline_train=64, headline_test=32,
                   headline_epochs=1, batch_size=32,
                   floors={"digits_dense": 0.0, "digit_pairs": 0.0, "easy_vqa": 0.0,
                           "headline": 0.0})


@dataclasses.dataclass
class TaskResult:
    """What one task reports: held-out accuracy against chance and a floor."""

    key: str  #: short name, also the stem of the files written for it
    title: str
    task: str  #: what the model is asked to do, in one or two sentences
    model: Any  #: the trained model
    history: Any  #: what fit() returned
    accuracy: float  #: held-out accuracy
    chance: float  #: accuracy of a uniform random guess
    chance_note: str  #: how the chance level is computed
    floor: float  #: the demo fails when `accuracy` is below this
    seconds: float = 0.0  #: training and evaluation time
    train_size: int = 0
    test_size: int = 0
    epochs: int = 0
    extra: dict[str, float] = dataclasses.field(default_factory=dict)  #: other numbers
    notes: list[str] = dataclasses.field(default_factory=list)  #: remarks for the report
    samples: list[dict] = dataclasses.field(default_factory=list)  #: example predictions
    files: dict[str, str] = dataclasses.field(default_factory=dict)  #: kind -> file name

    @property
    def passed(self) -> bool:
        """True when the held-out accuracy reaches the floor."""
        return self.accuracy >= self.floor


def _fit(model, x, y, epochs: int, batch_size: int, verbose):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=0.1,
                     verbose=verbose)


def _accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    pred = np.asarray(pred)
    if pred.shape[-1] == 1:
        return float(np.mean((pred[..., 0] > 0.5) == (np.asarray(y).reshape(-1) > 0.5)))
    return float(np.mean(np.argmax(pred, axis=-1) == np.asarray(y).reshape(-1)))


# ---------------------------------------------------------------------------
# 1. Handwritten digits, dense network (the guide's example 1)
# ---------------------------------------------------------------------------
def load_digits_data():
    """``(x_train, y_train), (x_test, y_test)``: digits as floats in [0, 1], shape
    (n, 8, 8), labels 0-9 (scikit-learn's 1,797 digits, 80/20 split)."""
    from jkeras.datasets import digits

    (x_tr, y_tr), (x_te, y_te) = digits.load_data()
    return ((x_tr / 16.0).astype("float32"), y_tr.astype("int32")), \
        ((x_te / 16.0).astype("float32"), y_te.astype("int32"))


def build_digits_dense(n_features: int = 64):
    """The guide's first model: Input(64) → Dense(64, relu) → Dense(64, relu) →
    Dense(10, softmax) (the guide has 784 MNIST pixels; these digits have 64)."""
    inputs = layers.Input(shape=(n_features,), name="pixels")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    predictions = layers.Dense(10, activation="softmax", name="digit")(x)
    model = keras.Model(inputs=inputs, outputs=predictions, name="digits_dense")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def run_digits_dense(data, config: DemoConfig, verbose="auto") -> TaskResult:
    """Trains the dense network on flattened digits; accuracy on the test split."""
    (x_tr, y_tr), (x_te, y_te) = data
    start = time.perf_counter()
    model = build_digits_dense(int(np.prod(x_tr.shape[1:])))
    history = _fit(model, x_tr.reshape(len(x_tr), -1), keras.utils.to_categorical(y_tr, 10),
                   config.digits_epochs, config.batch_size, verbose)
    pred = model.predict(x_te.reshape(len(x_te), -1), verbose=0)
    return TaskResult(
        key="digits_dense", title="Handwritten digits: the first model (dense network)",
        task="Read an 8x8 handwritten digit (scikit-learn's 1,797 digits, 64 pixels) and say "
             "which of the 10 digits it is.",
        model=model, history=history, accuracy=_accuracy(pred, y_te), chance=0.1,
        chance_note="1 in 10 classes", floor=config.floors["digits_dense"],
        seconds=time.perf_counter() - start, train_size=len(x_tr), test_size=len(x_te),
        epochs=config.digits_epochs,
        notes=["The guide's model, with 64 input pixels instead of MNIST's 784; rmsprop, "
               "categorical cross-entropy, batch 64."])


# ---------------------------------------------------------------------------
# 2. Are these two digits the same? (the guide's example 8, shared vision model)
# ---------------------------------------------------------------------------
def make_digit_pairs(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    """`n` pairs ``(a, b, same)`` from one pool of digits: half show the same
    digit class (two different images where the class has several), half two
    different classes, in random order. Images get a channel axis: (n, 8, 8, 1)."""
    y = np.asarray(y)
    classes = np.unique(y)
    by_class = {int(c): np.flatnonzero(y == c) for c in classes}
    same = np.zeros(n, dtype=bool)
    same[: n // 2] = True
    rng.shuffle(same)
    first = rng.integers(0, len(x), n)
    second = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = int(y[first[i]])
        if same[i] or len(classes) == 1:
            pool = by_class[c]
            if len(pool) > 1:
                pool = pool[pool != first[i]]
        else:
            other = rng.choice([k for k in by_class if k != c])
            pool = by_class[int(other)]
        second[i] = rng.choice(pool)
    same = y[first] == y[second]
    expand = lambda a: a[..., None] if a.ndim == 3 else a
    return expand(x[first]), expand(x[second]), same.astype("float32")


def build_digit_pairs(image_shape=(8, 8, 1)):
    """The guide's shared vision model: one tower (two 3x3 Conv2D(64), 2x2 max
    pooling, Flatten) as a `Model`, applied to both digits (same weights),
    concatenated. One Dense(64, relu) sits between the concatenation and the
    guide's Dense(1, sigmoid): see `PAIRS_NOTE`."""
    digit_input = layers.Input(shape=image_shape, name="digit")
    x = layers.Conv2D(64, (3, 3))(digit_input)
    x = layers.Conv2D(64, (3, 3))(x)
    x = layers.MaxPooling2D((2, 2))(x)
    out = layers.Flatten()(x)
    vision_model = keras.Model(digit_input, out, name="vision_model")
    digit_a = layers.Input(shape=image_shape, name="digit_a")
    digit_b = layers.Input(shape=image_shape, name="digit_b")
    out_a = vision_model(digit_a)
    out_b = vision_model(digit_b)
    concatenated = layers.concatenate([out_a, out_b])
    hidden = layers.Dense(64, activation="relu", name="compare")(concatenated)
    out = layers.Dense(1, activation="sigmoid", name="same")(hidden)
    model = keras.Model([digit_a, digit_b], out, name="digit_pairs")
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


PAIRS_NOTE = (
    "The guide feeds the concatenation straight into Dense(1, sigmoid). That head scores a "
    "pair as f(a) + g(b), which cannot say 'same class' for 10 classes (if (i,i) and (j,j) "
    "score above 0, (i,j) or (j,i) must too); trained that way it stays near chance (0.5). "
    "One Dense(64, relu) after the concatenation lets the two encodings interact."
)


def run_digit_pairs(data, config: DemoConfig, verbose="auto", seed: int = 0) -> TaskResult:
    """Trains the shared-tower model on pairs of training digits; accuracy on pairs
    made only from test digits."""
    (x_tr, y_tr), (x_te, y_te) = data
    rng = np.random.default_rng(seed)
    a, b, same = make_digit_pairs(x_tr, y_tr, config.pairs_train, rng)
    ta, tb, tsame = make_digit_pairs(x_te, y_te, config.pairs_test, rng)
    start = time.perf_counter()
    model = build_digit_pairs(a.shape[1:])
    history = _fit(model, [a, b], same, config.pairs_epochs, config.batch_size, verbose)
    pred = model.predict([ta, tb], verbose=0)
    return TaskResult(
        key="digit_pairs", title="Are these two digits the same? (shared vision model)",
        task="Given two 8x8 handwritten digits, say whether they show the same digit. Half "
             "the pairs are the same digit; held-out pairs use only test-split images.",
        model=model, history=history, accuracy=_accuracy(pred, tsame), chance=0.5,
        chance_note="balanced pairs: half same, half different",
        floor=config.floors["digit_pairs"], seconds=time.perf_counter() - start,
        train_size=len(same), test_size=len(tsame), epochs=config.pairs_epochs,
        extra={"shared tower parameters": float(model.get_layer("vision_model").count_params())},
        notes=["The guide's model, on 8x8 digits instead of 27x27; the tower is one Model "
               "called on both inputs, so both use the same weights.",
               PAIRS_NOTE])


# ---------------------------------------------------------------------------
# 3. Visual question answering on easy-VQA (the guide's example 9)
# ---------------------------------------------------------------------------
@dataclasses.dataclass
class VQAData:
    """easy-VQA ready for the model: one row per question."""

    train_images: np.ndarray  #: float32 (n_train_images, s, s, 3) in [0, 1]
    train_index: np.ndarray  #: image of each training question
    train_questions: np.ndarray  #: int32 (n, maxlen)
    train_answers: np.ndarray  #: int32 (n,)
    test_images: np.ndarray
    test_index: np.ndarray
    test_questions: np.ndarray
    test_answers: np.ndarray
    test_texts: list
    test_images_raw: np.ndarray  #: uint8 64x64 test images (for the report)
    answers: list  #: answer names
    vocab_size: int  #: word ids are 1..vocab_size-1, 0 pads


def downsample(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (n, h, w, c) images → float32 (n, size, size, c) in [0, 1], by block
    averaging (h and w must be multiples of `size`)."""
    n, h, w, c = images.shape
    if h % size or w % size:
        raise ValueError(f"downsample: image size {h}x{w} is not a multiple of {size}.")
    blocks = images.reshape(n, size, h // size, size, w // size, c).astype("float32")
    return blocks.mean(axis=(2, 4)) / 255.0


def load_vqa_data(config: DemoConfig, seed: int = 0) -> VQAData:
    """easy-VQA from the `easy-vqa` package, images downsampled to
    `config.vqa_image_size`; a random subset of questions when the config asks."""
    from jkeras.datasets import easy_vqa

    train, test = easy_vqa.load_data()
    rng = np.random.default_rng(seed)

    def pick(n_all: int, n: int | None) -> np.ndarray:
        return np.arange(n_all) if n is None or n >= n_all else np.sort(
            rng.choice(n_all, n, replace=False))

    tr = pick(len(train.answers), config.vqa_train_questions)
    te = pick(len(test.answers), config.vqa_test_questions)
    s = config.vqa_image_size
    return VQAData(
        train_images=downsample(train.images, s), train_index=train.image_index[tr],
        train_questions=train.questions[tr], train_answers=train.answers[tr],
        test_images=downsample(test.images, s), test_index=test.image_index[te],
        test_questions=test.questions[te], test_answers=test.answers[te],
        test_texts=[test.question_texts[i] for i in te], test_images_raw=test.images,
        answers=easy_vqa.get_answers(), vocab_size=len(easy_vqa.get_word_index()) + 1)


def build_vqa(image_size: int, maxlen: int, vocab_size: int, n_answers: int,
              filters=(8, 16, 32), embed_dim: int = 32, lstm_units: int = 64):
    """The guide's VQA model, shrunk: a Sequential vision model with the guide's shape
    (conv same, conv valid, pool; conv same, conv valid, pool; conv same, conv valid,
    conv valid, pool; flatten) with `filters` instead of (64, 128, 256); the question
    as Embedding → LSTM; both vectors concatenated → Dense(n_answers, softmax)."""
    f1, f2, f3 = filters
    vision_model = keras.Sequential([
        layers.Input(shape=(image_size, image_size, 3)),
        layers.Conv2D(f1, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(f1, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(f2, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(f2, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(f3, (3, 3), activation="relu", padding="same"),
        layers.Conv2D(f3, (3, 3), activation="relu"),
        layers.Conv2D(f3, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
    ], name="vision_model")
    image_input = layers.Input(shape=(image_size, image_size, 3), name="image")
    encoded_image = vision_model(image_input)
    question_input = layers.Input(shape=(maxlen,), dtype="int32", name="question")
    embedded_question = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)(
        question_input)
    encoded_question = layers.LSTM(lstm_units)(embedded_question)
    merged = layers.concatenate([encoded_question, encoded_image])
    output = layers.Dense(n_answers, activation="softmax", name="answer")(merged)
    model = keras.Model(inputs=[image_input, question_input], outputs=output, name="easy_vqa")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def run_vqa(data: VQAData, config: DemoConfig, verbose="auto", n_samples: int = 8,
            seed: int = 0) -> TaskResult:
    """Trains the VQA model on easy-VQA training questions; accuracy on the test
    split's questions (about 1,000 images never seen in training)."""
    start = time.perf_counter()
    model = build_vqa(data.train_images.shape[1], data.train_questions.shape[1],
                      data.vocab_size, len(data.answers), filters=config.vqa_filters)
    x = [data.train_images[data.train_index], data.train_questions]
    history = _fit(model, x, data.train_answers, config.vqa_epochs, config.batch_size, verbose)
    pred = model.predict([data.test_images[data.test_index], data.test_questions],
                         batch_size=256, verbose=0)
    majority = np.bincount(data.train_answers, minlength=len(data.answers)).argmax()
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(data.test_answers), min(n_samples, len(data.test_answers)),
                        replace=False)
    samples = [{"image": data.test_images_raw[data.test_index[i]],
                "question": data.test_texts[i],
                "truth": data.answers[int(data.test_answers[i])],
                "answer": data.answers[int(np.argmax(pred[i]))],
                "confidence": float(np.max(pred[i]))} for i in picked]
    size = data.train_images.shape[1]
    return TaskResult(
        key="easy_vqa", title="Visual question answering (easy-VQA)",
        task=f"Answer a question about a picture of one coloured shape ('what color is the "
             f"shape?', 'is there a triangle?'): 13 possible answers. Images {size}x{size} "
             f"(downsampled from 64x64); held-out questions are about test images only.",
        model=model, history=history, accuracy=_accuracy(pred, data.test_answers),
        chance=1.0 / len(data.answers), chance_note=f"1 in {len(data.answers)} answers",
        floor=config.floors["easy_vqa"], seconds=time.perf_counter() - start,
        train_size=len(data.train_answers), test_size=len(data.test_answers),
        epochs=config.vqa_epochs,
        extra={"always the most common answer "
               f"('{data.answers[int(majority)]}')": float(np.mean(
                   data.test_answers == majority))},
        samples=samples,
        notes=[f"The guide's model, smaller: the vision model is a Sequential with the "
               f"guide's layer pattern and {config.vqa_filters} filters "
               f"instead of (64, 128, 256); the question encoder is Embedding → LSTM; "
               f"the two vectors are concatenated and fed to Dense({len(data.answers)}, "
               f"softmax) as in the guide. Adam, sparse categorical cross-entropy."])


# ---------------------------------------------------------------------------
# 4. The headline model: two inputs, two outputs (the guide's example 3)
# ---------------------------------------------------------------------------
#: Word ids 1..UPBEAT_WORDS are "upbeat" words; 0 pads.
UPBEAT_WORDS = 20
HEADLINE_SHIFT = 0.7


def make_headlines(n: int, rng: np.random.Generator, vocab_size: int = 1000, maxlen: int = 30,
                   n_aux: int = 5):
    """Generates the headline task.

    Each headline is 8 to `maxlen` word ids (padded in front with 0). Half of
    them are upbeat: they contain one to three words from ids 1..20, the others
    none. Five extra numbers describe the posting (standard normal); the first is
    its timing. A headline is popular when ``timing + 0.7 > 0`` if upbeat and
    ``timing - 0.7 > 0`` if not (`HEADLINE_SHIFT`): classes are balanced; the
    headline alone predicts at most ``P(z > -0.7) = 75.8%``, the timing alone
    ``1.5 - P(z < 0.7) = 74.2%`` (sure outside [-0.7, 0.7], a coin toss inside),
    both together 100%.

    Returns ``headlines (n, maxlen) int32, extra (n, n_aux) float32,
    popular (n,) float32, upbeat (n,) bool``.
    """
    upbeat = np.zeros(n, dtype=bool)
    upbeat[: n // 2] = True
    rng.shuffle(upbeat)
    headlines = np.zeros((n, maxlen), dtype=np.int32)
    lengths = rng.integers(min(8, maxlen), maxlen + 1, n)
    for i in range(n):
        words = rng.integers(UPBEAT_WORDS + 1, vocab_size, lengths[i])
        if upbeat[i]:
            k = rng.integers(1, 4)
            pos = rng.choice(lengths[i], k, replace=False)
            words[pos] = rng.integers(1, UPBEAT_WORDS + 1, k)
        headlines[i, maxlen - lengths[i]:] = words
    extra = rng.standard_normal((n, n_aux)).astype("float32")
    popular = (extra[:, 0] + np.where(upbeat, HEADLINE_SHIFT, -HEADLINE_SHIFT)) > 0
    return headlines, extra, popular.astype("float32"), upbeat


def headline_bounds() -> dict[str, float]:
    """Best possible accuracy from the headline alone and from the timing alone."""
    phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    return {"headline alone (best possible)": phi(HEADLINE_SHIFT),
            "timing alone (best possible)": 1.5 - phi(HEADLINE_SHIFT)}


def build_headline(vocab_size: int = 1000, maxlen: int = 30, embed_dim: int = 64,
                   n_aux: int = 5):
    """The guide's headline model: main_input (word ids) → Embedding → LSTM(32) →
    aux_output; [LSTM output, aux_input] concatenated → three Dense(64, relu) →
    main_output; rmsprop, binary cross-entropy, loss weights 1 and 0.2. (The guide
    has 10,000 words, 100 per headline and 512-dim embeddings.)"""
    main_input = layers.Input(shape=(maxlen,), dtype="int32", name="main_input")
    x = layers.Embedding(output_dim=embed_dim, input_dim=vocab_size)(main_input)
    lstm_out = layers.LSTM(32)(x)
    auxiliary_output = layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = layers.Input(shape=(n_aux,), name="aux_input")
    x = layers.concatenate([lstm_out, auxiliary_input])
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    main_output = layers.Dense(1, activation="sigmoid", name="main_output")(x)
    model = keras.Model(inputs=[main_input, auxiliary_input],
                        outputs=[main_output, auxiliary_output], name="headline")
    model.compile(optimizer="rmsprop",
                  loss={"main_output": "binary_crossentropy",
                        "aux_output": "binary_crossentropy"},
                  loss_weights={"main_output": 1.0, "aux_output": 0.2},
                  metrics={"main_output": ["accuracy"], "aux_output": ["accuracy"]})
    return model


def run_headline(config: DemoConfig, verbose="auto", seed: int = 0) -> TaskResult:
    """Trains the headline model on generated data; accuracy of `main_output` on a
    separately generated test set."""
    rng = np.random.default_rng(seed)
    h, e, y, _ = make_headlines(config.headline_train, rng)
    th, te, ty, _ = make_headlines(config.headline_test, rng)
    start = time.perf_counter()
    model = build_headline()
    history = model.fit({"main_input": h, "aux_input": e},
                        {"main_output": y, "aux_output": y},
                        epochs=config.headline_epochs, batch_size=config.batch_size,
                        validation_split=0.1, verbose=verbose)
    main_pred, aux_pred = model.predict({"main_input": th, "aux_input": te}, verbose=0)
    extra = {"aux_output (headline only)": _accuracy(aux_pred, ty), **headline_bounds()}
    return TaskResult(
        key="headline", title="Headline popularity: two inputs, two outputs",
        task=f"Generated data: a post is popular when its timing (the first of 5 extra "
             f"inputs, ~ N(0, 1)) plus a bonus of {HEADLINE_SHIFT} for an upbeat headline "
             f"(one containing a word from a small list; otherwise a malus of "
             f"{HEADLINE_SHIFT}) is above 0. The main output sees the headline (word ids) "
             f"and the extra inputs; the auxiliary output sees the headline only. Neither "
             f"input alone can reach the floor.",
        model=model, history=history, accuracy=_accuracy(main_pred, ty), chance=0.5,
        chance_note="balanced classes", floor=config.floors["headline"],
        seconds=time.perf_counter() - start, train_size=len(y), test_size=len(ty),
        epochs=config.headline_epochs, extra=extra,
        notes=["The guide's model, with 1,000 words, 30 per headline and 64-dim embeddings "
               "(the guide: 10,000, 100 and 512); LSTM(32), three Dense(64), loss weights 1 "
               "and 0.2 as in the guide. The main output beats the best headline-only "
               "accuracy only by using the auxiliary input."])


__all__ = ["DemoConfig", "TaskResult", "load_digits_data", "build_digits_dense",
           "run_digits_dense", "make_digit_pairs", "build_digit_pairs", "run_digit_pairs",
           "VQAData", "downsample", "load_vqa_data", "build_vqa", "run_vqa", "make_headlines",
           "headline_bounds", "build_headline", "run_headline", "PAIRS_NOTE", "GUIDE",
           "GUIDE_EXAMPLES", "guide_example"]
