"""Example 2 of the Keras functional API guide: a trained model is callable like a layer,
and TimeDistributed applies it to every step of a sequence.

The digit classifier of example 1 is trained once on scikit-learn's 8x8 digits. Calling
it on a new Input returns its softmax and reuses its weights (no copy), and
TimeDistributed(model) on Input(shape=(20, 64)) reads a sequence of 20 digits at once,
giving (None, 20, 10): here it reads 20-digit "numbers" made of held-out digits.

    python examples/02_models_are_callable.py          # about 10 seconds
    python examples/02_models_are_callable.py --tiny   # 1 epoch on 128 digits

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
                        help="run at tiny size (1 epoch, 128 digits, 4 sequences)")
    parser.add_argument("--epochs", type=int, default=20)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16.0
    epochs, n_sequences = args.epochs, 18
    if args.tiny:
        x_train, y_train, epochs, n_sequences = x_train[:128], y_train[:128], 1, 4

    # Example 1's model, trained.
    inputs = keras.Input(shape=(64,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    predictions = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=predictions)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, keras.utils.to_categorical(y_train, 10), epochs=epochs, verbose=0)

    # Call the model on a new input: its weights are reused, not copied.
    x = keras.Input(shape=(64,))
    y = model(x)
    reused = keras.Model(x, y)
    assert reused.weights[0] is model.weights[0]
    same = np.allclose(reused.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
    print(f"model called on a new input: same weights, same predictions: {same}")

    # TimeDistributed: the model on each of 20 steps of a sequence.
    input_sequences = keras.Input(shape=(20, 64))
    processed_sequences = layers.TimeDistributed(model)(input_sequences)
    reader = keras.Model(input_sequences, processed_sequences)
    print(f"TimeDistributed(model) on {input_sequences.shape}: {processed_sequences.shape}")

    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(x_test), (n_sequences, 20))
    numbers = x_test[picks]  # (n_sequences, 20, 64): 20 handwritten digits each
    read = reader.predict(numbers, verbose=0).argmax(axis=-1)
    per_digit = float(np.mean(read == y_test[picks]))
    exact = float(np.mean(np.all(read == y_test[picks], axis=1)))
    print(f"read {n_sequences} numbers of 20 held-out digits: {per_digit:.3f} of the digits "
          f"right (chance 0.100), {exact:.2f} of the numbers entirely right")
    print("first number:", "".join(map(str, y_test[picks[0]])), "read as",
          "".join(map(str, read[0])))
    return {"model": model, "reader": reader, "same_predictions": same,
            "digit_accuracy": per_digit, "output_shape": tuple(processed_sequences.shape)}


if __name__ == "__main__":
    main()
