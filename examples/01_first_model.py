"""Example 1 of the Keras functional API guide, the first model: a fully connected network
reads handwritten digits.

Input(64) -> Dense(64, relu) -> Dense(64, relu) -> Dense(10, softmax), compiled with
rmsprop and categorical cross-entropy and trained with fit's defaults (batch 32), as in
the guide. The data are scikit-learn's 1,797 real 8x8 digits (64 pixels; the guide has
MNIST's 28x28 = 784), so the model has 8,970 parameters instead of 55,050.

    python examples/01_first_model.py            # about 10 seconds on a laptop CPU
    python examples/01_first_model.py --tiny     # 1 epoch on 128 digits (for tests)

Needs scikit-learn (pip install ".[demo]"). JKERAS_EXAMPLES_TINY=1 acts like --tiny.
"""

import argparse
import os

import jkeras as keras
from jkeras import layers
from jkeras.datasets import digits


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        default=os.environ.get("JKERAS_EXAMPLES_TINY") == "1",
                        help="run at tiny size (1 epoch, 128 digits)")
    parser.add_argument("--epochs", type=int, default=20)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16.0
    epochs = args.epochs
    if args.tiny:
        x_train, y_train, epochs = x_train[:128], y_train[:128], 1

    # The model: each layer is called on a tensor and returns a tensor.
    inputs = keras.Input(shape=(64,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    predictions = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=predictions)
    model.summary()

    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, keras.utils.to_categorical(y_train, 10), epochs=epochs)
    _, accuracy = model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)
    print(f"test accuracy {accuracy:.3f} on {len(x_test)} held-out digits (chance 0.100)")
    return {"model": model, "accuracy": accuracy}


if __name__ == "__main__":
    main()
