"""Example 6 of the Keras functional API guide, an inception module: three towers read the
same input and their outputs are concatenated; trained on easy-VQA's pictures to name the
shape they show.

Tower 1: 1x1 conv -> 3x3 conv; tower 2: 1x1 conv -> 5x5 conv; tower 3: 3x3 max pooling
(stride 1, same padding) -> 1x1 conv; all relu with same padding, concatenated on the
channel axis. With 64 filters per conv (the guide's; --filters 64) the module has 140,160
parameters whatever the image size (the guide's input is 256x256; --size 256).

The data are the real easy-VQA images (64x64 pictures of one circle, rectangle or
triangle); each image's label is the answer to a "what shape ..." question about it. A
small head (pooling, one more convolution, Dense(3, softmax)) turns the module's output
into a guess.

    python examples/06a_inception_module.py          # 32x32 images, 16 filters: ~1 min
    python examples/06a_inception_module.py --tiny   # 16x16, 4 filters, 64 images

Needs easy-vqa and pillow (pip install ".[demo]"). JKERAS_EXAMPLES_TINY=1 acts like --tiny.
"""

import argparse
import os

import numpy as np

import jkeras as keras
from jkeras import layers
from jkeras.datasets import easy_vqa

SHAPES = ["circle", "rectangle", "triangle"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        default=os.environ.get("JKERAS_EXAMPLES_TINY") == "1",
                        help="run at tiny size")
    parser.add_argument("--size", type=int, default=32, help="image side (guide: 256)")
    parser.add_argument("--filters", type=int, default=16, help="filters per conv (guide: 64)")
    parser.add_argument("--epochs", type=int, default=5)
    return parser.parse_args(argv)


def resize(images, size):
    """uint8 (n, 64, 64, 3) -> float32 (n, size, size, 3) in [0, 1] (nearest pixel)."""
    rows = (np.arange(size) * images.shape[1]) // size
    cols = (np.arange(size) * images.shape[2]) // size
    return images[:, rows][:, :, cols].astype("float32") / 255.0


def shape_labels(split):
    """Images whose shape some question names, and that shape's index."""
    answers = easy_vqa.get_answers()
    label = {}
    for image, answer in zip(split.image_index, split.answers):
        if answers[answer] in SHAPES:
            label[int(image)] = SHAPES.index(answers[answer])
    images = np.array(sorted(label))
    return split.images[images], np.array([label[i] for i in images])


def main(argv=None) -> dict:
    args = parse_args(argv)
    size, filters, epochs = args.size, args.filters, args.epochs
    train, test = easy_vqa.load_data()
    x_train, y_train = shape_labels(train)
    x_test, y_test = shape_labels(test)
    if args.tiny:
        size, filters, epochs = 16, 4, 1
        x_train, y_train, x_test, y_test = x_train[:64], y_train[:64], x_test[:64], y_test[:64]
    x_train, x_test = resize(x_train, size), resize(x_test, size)

    input_img = keras.Input(shape=(size, size, 3))
    tower_1 = layers.Conv2D(filters, (1, 1), padding="same", activation="relu")(input_img)
    tower_1 = layers.Conv2D(filters, (3, 3), padding="same", activation="relu")(tower_1)
    tower_2 = layers.Conv2D(filters, (1, 1), padding="same", activation="relu")(input_img)
    tower_2 = layers.Conv2D(filters, (5, 5), padding="same", activation="relu")(tower_2)
    tower_3 = layers.MaxPooling2D((3, 3), strides=(1, 1), padding="same")(input_img)
    tower_3 = layers.Conv2D(filters, (1, 1), padding="same", activation="relu")(tower_3)
    output = layers.concatenate([tower_1, tower_2, tower_3], axis=-1)
    module = keras.Model(input_img, output, name="inception_module")
    print(f"inception module: {input_img.shape} -> {output.shape}, "
          f"{module.count_params():,} parameters")

    x = layers.MaxPooling2D((2, 2))(output)
    x = layers.Conv2D(2 * filters, (3, 3), activation="relu")(x)
    x = layers.GlobalMaxPooling2D()(x)
    shape = layers.Dense(len(SHAPES), activation="softmax")(x)
    model = keras.Model(input_img, shape)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"held-out accuracy {accuracy:.3f} naming the shape of {len(x_test)} test images "
          f"(chance 0.333)")
    return {"module": module, "model": model, "accuracy": accuracy,
            "module_shape": tuple(output.shape)}


if __name__ == "__main__":
    main()
