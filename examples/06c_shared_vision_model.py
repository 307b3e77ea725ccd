"""Example 8 of the Keras functional API guide, a shared vision model: one convolutional
tower, wrapped as a Model, reads two handwritten digits with the same weights to tell
whether they are the same.

The tower is the guide's: Input(27, 27, 1) -> Conv2D(64, 3x3) -> Conv2D(64, 3x3) ->
MaxPooling2D(2x2) -> Flatten (7,744 features), built as `Model(digit_input, out)` and
called on both inputs; the two vectors are concatenated and fed to Dense(1, sigmoid):
53,057 parameters. The digits are scikit-learn's real 8x8 digits, padded to 9x9 and
enlarged 3x to 27x27; pairs are half "same digit", half not (chance 0.5), and held-out
pairs use only test-split digits.

Note: the guide's head scores a pair as f(a) + g(b), which cannot test two digits for
equality (if (i, i) and (j, j) score above 0, so must (i, j) or (j, i)); trained as is it
stays near chance. `--hidden` adds one Dense(64, relu) after the concatenation, which lets
the two encodings interact (this is what `jkeras demo` does): with the defaults it then
reaches about 0.85 on held-out pairs (more with more epochs).

    python examples/06c_shared_vision_model.py --hidden   # a few minutes on a laptop CPU
    python examples/06c_shared_vision_model.py --tiny     # 8 filters, 64 pairs, 1 epoch

Needs scikit-learn (pip install ".[demo]"). JKERAS_EXAMPLES_TINY=1 acts like --tiny.
"""

import argparse
import os

import numpy as np

import jkeras as keras
from jkeras import layers
from jkeras.datasets import digits


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        default=os.environ.get("JKERAS_EXAMPLES_TINY") == "1",
                        help="run at tiny size")
    parser.add_argument("--hidden", action="store_true",
                        help="add Dense(64, relu) between the concatenation and the output")
    parser.add_argument("--pairs", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=3)
    return parser.parse_args(argv)


def to_27x27(images):
    """(n, 8, 8) digits 0-16 -> (n, 27, 27, 1) floats in [0, 1]: pad to 9x9, enlarge 3x."""
    padded = np.pad(images, ((0, 0), (0, 1), (0, 1))).astype("float32") / 16.0
    return np.kron(padded, np.ones((3, 3), dtype="float32"))[..., None]


def make_pairs(x, y, n, rng):
    """`n` pairs of images and whether they show the same digit (half of them do)."""
    by_class = [np.flatnonzero(y == c) for c in range(10)]
    first = rng.integers(0, len(x), n)
    same = rng.random(n) < 0.5
    other = (y[first] + rng.integers(1, 10, n)) % 10  # a different digit
    second = np.array([rng.choice(by_class[y[i] if s else o])
                       for i, s, o in zip(first, same, other)])
    return x[first], x[second], (y[first] == y[second]).astype("float32")[:, None]


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train, x_test = to_27x27(x_train), to_27x27(x_test)
    filters, n, epochs = 64, args.pairs, args.epochs
    if args.tiny:
        filters, n, epochs = 8, 64, 1
    rng = np.random.default_rng(0)
    a, b, same = make_pairs(x_train, y_train, n, rng)
    test_a, test_b, test_same = make_pairs(x_test, y_test, max(n // 5, 32), rng)

    # First, define the vision model
    digit_input = keras.Input(shape=(27, 27, 1))
    x = layers.Conv2D(filters, (3, 3))(digit_input)
    x = layers.Conv2D(filters, (3, 3))(x)
    x = layers.MaxPooling2D((2, 2))(x)
    out = layers.Flatten()(x)
    vision_model = keras.Model(digit_input, out)

    # Then define the tell-digits-apart model
    digit_a = keras.Input(shape=(27, 27, 1))
    digit_b = keras.Input(shape=(27, 27, 1))
    # The vision model will be shared, weights and all
    out_a = vision_model(digit_a)
    out_b = vision_model(digit_b)
    concatenated = layers.concatenate([out_a, out_b])
    if args.hidden:
        concatenated = layers.Dense(64, activation="relu")(concatenated)
    out = layers.Dense(1, activation="sigmoid")(concatenated)
    classification_model = keras.Model([digit_a, digit_b], out)
    print(f"tower output {out_a.shape}; {classification_model.count_params():,} parameters")

    classification_model.compile(optimizer="rmsprop", loss="binary_crossentropy",
                                 metrics=["accuracy"])
    classification_model.fit([a, b], same, epochs=epochs, batch_size=32)
    _, accuracy = classification_model.evaluate([test_a, test_b], test_same, verbose=0)
    print(f"held-out accuracy {accuracy:.3f} on {len(test_same)} pairs of test digits "
          f"(chance 0.500)")
    if not args.hidden:
        print("(the guide's head cannot test for equality, see the docstring; try --hidden)")
    return {"model": classification_model, "vision_model": vision_model,
            "accuracy": accuracy, "tower_shape": tuple(out_a.shape)}


if __name__ == "__main__":
    main()
