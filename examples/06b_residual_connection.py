"""Example 7 of the Keras functional API guide, a residual connection: y = x + conv(x),
trained to remove noise from easy-VQA's pictures.

Conv2D(3, (3, 3), padding="same") keeps the image's shape, so add([x, y]) can sum it
with its input (Keras 1: merge([x, y], mode='sum')). With a zero-initialised kernel the
model starts as the identity and learns only the correction: here, noisy pictures in,
clean pictures out.
The guide's input is 256x256 (--size 256); the real easy-VQA images are 64x64 (the
default). The result is compared with doing nothing (the noisy image itself).

    python examples/06b_residual_connection.py          # 64x64 images: ~30 seconds
    python examples/06b_residual_connection.py --tiny   # 16x16, 64 images, 1 epoch

Needs easy-vqa and pillow (pip install ".[demo]"). JKERAS_EXAMPLES_TINY=1 acts like --tiny.
"""

import argparse
import os

import numpy as np

import jkeras as keras
from jkeras import layers
from jkeras.datasets import easy_vqa


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        default=os.environ.get("JKERAS_EXAMPLES_TINY") == "1",
                        help="run at tiny size")
    parser.add_argument("--size", type=int, default=64, help="image side (guide: 256)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--noise", type=float, default=0.1, help="noise standard deviation")
    return parser.parse_args(argv)


def resize(images, size):
    """uint8 (n, 64, 64, 3) -> float32 (n, size, size, 3) in [0, 1] (nearest pixel)."""
    rows = (np.arange(size) * images.shape[1]) // size
    cols = (np.arange(size) * images.shape[2]) // size
    return images[:, rows][:, :, cols].astype("float32") / 255.0


def main(argv=None) -> dict:
    args = parse_args(argv)
    size, epochs = args.size, args.epochs
    train, test = easy_vqa.load_data()
    clean_train, clean_test = train.images, test.images
    if args.tiny:
        size, epochs, clean_train, clean_test = 16, 1, clean_train[:64], clean_test[:32]
    clean_train, clean_test = resize(clean_train, size), resize(clean_test, size)
    rng = np.random.default_rng(0)
    noisy_train = clean_train + args.noise * rng.standard_normal(clean_train.shape, "float32")
    noisy_test = clean_test + args.noise * rng.standard_normal(clean_test.shape, "float32")

    # input tensor for a 3-channel size x size image
    x = keras.Input(shape=(size, size, 3))
    # 3x3 conv with 3 output channels (same as input channels); a zero kernel makes the
    # model start as the identity, so it only has to learn the correction
    y = layers.Conv2D(3, (3, 3), padding="same", kernel_initializer="zeros")(x)
    # this returns x + y.
    z = layers.add([x, y])
    model = keras.Model(x, z)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")

    before = float(np.mean((noisy_test - clean_test) ** 2))
    model.fit(noisy_train, clean_train, epochs=epochs, batch_size=32)
    denoised = model.predict(noisy_test, verbose=0)
    after = float(np.mean((denoised - clean_test) ** 2))
    print(f"held-out mean squared error: noisy input {before:.5f}, after the residual "
          f"model {after:.5f} ({after / before:.0%} of it)")
    return {"model": model, "mse_before": before, "mse_after": after}


if __name__ == "__main__":
    main()
