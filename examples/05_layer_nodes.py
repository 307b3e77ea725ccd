"""Example 5 of the Keras functional API guide, layer nodes: each call of a layer adds a
node, and a layer called more than once answers node by node (get_output_at,
get_input_shape_at, ...).

A shared LSTM called on two inputs is trained briefly on a clearly synthetic comparison
task (which of two random sequences has the larger sum of its first feature?); then the
node accessors are shown: `lstm.output` works while the layer has one node and raises
afterwards, asking for `get_output_at(node_index)`. A Conv2D(16, (3, 3), padding="same")
called on 32x32 and then 64x64 images shows the same for input and output shapes.
Keras 3 dropped these accessors; jkeras keeps them.

    python examples/05_layer_nodes.py          # a few seconds
    python examples/05_layer_nodes.py --tiny   # smaller data, 1 epoch

JKERAS_EXAMPLES_TINY=1 acts like --tiny.
"""

import argparse
import os

import numpy as np

import jkeras as keras
from jkeras import layers


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        default=os.environ.get("JKERAS_EXAMPLES_TINY") == "1",
                        help="run at tiny size")
    parser.add_argument("--epochs", type=int, default=10)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    steps, features, n, epochs = 20, 16, 2000, args.epochs
    if args.tiny:
        steps, features, n, epochs = 6, 4, 64, 1

    # One call: the layer has one node, and `lstm.output` is that call's output.
    a = keras.Input(shape=(steps, features))
    lstm = layers.LSTM(32)
    encoded_a = lstm(a)
    assert lstm.output is encoded_a
    print(f"after one call: lstm.output is encoded_a -> {lstm.output is encoded_a}")

    # A second call adds node 1; `lstm.output` is now ambiguous.
    b = keras.Input(shape=(steps, features))
    encoded_b = lstm(b)
    try:
        lstm.output  # noqa: B018
        raise AssertionError("expected an error: the layer has two nodes")
    except AttributeError as e:
        message = str(e)
        print(f"after two calls, lstm.output raises: {message}")
    assert lstm.get_output_at(0) is encoded_a
    assert lstm.get_output_at(1) is encoded_b
    assert lstm.get_input_at(0) is a and lstm.get_input_at(1) is b
    print("get_output_at(0) is encoded_a, get_output_at(1) is encoded_b")

    # Train the two-node model: both nodes share the LSTM's weights.
    out = layers.Dense(1, activation="sigmoid")(layers.concatenate([encoded_a, encoded_b]))
    model = keras.Model([a, b], out)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((n, steps, features)).astype("float32")
    xb = rng.standard_normal((n, steps, features)).astype("float32")
    y = (xa[:, :, 0].sum(axis=1) > xb[:, :, 0].sum(axis=1)).astype("float32")[:, None]
    history = model.fit([xa, xb], y, epochs=epochs, batch_size=32, validation_split=0.2)
    print(f"validation accuracy {history.history['val_accuracy'][-1]:.3f} (chance 0.500)")

    # Shapes, node by node: one Conv2D called on two image sizes.
    a_img = keras.Input(shape=(32, 32, 3))
    conv = layers.Conv2D(16, (3, 3), padding="same")
    conved_a = conv(a_img)
    assert conv.input_shape == (None, 32, 32, 3)
    b_img = keras.Input(shape=(64, 64, 3))
    conved_b = conv(b_img)
    shapes = [conv.get_input_shape_at(0), conv.get_input_shape_at(1)]
    print(f"conv.get_input_shape_at(0) = {shapes[0]}, get_input_shape_at(1) = {shapes[1]}")
    print(f"conv.get_output_shape_at(0) = {conv.get_output_shape_at(0)}, "
          f"get_output_shape_at(1) = {conv.get_output_shape_at(1)}")
    try:
        conv.input_shape  # noqa: B018
        raise AssertionError("expected an error: the layer has two input shapes")
    except AttributeError as e:
        print(f"conv.input_shape raises: {e}")
    # The same kernel runs on both sizes.
    images = rng.random((2, 64, 64, 3)).astype("float32")
    small = keras.Model(a_img, conved_a).predict(images[:, ::2, ::2], verbose=0)
    large = keras.Model(b_img, conved_b).predict(images, verbose=0)
    print(f"one kernel, two image sizes: {small.shape} and {large.shape}")
    return {"model": model, "message": message, "input_shapes": shapes,
            "output_shapes": [conv.get_output_shape_at(0), conv.get_output_shape_at(1)]}


if __name__ == "__main__":
    main()
