"""Example 4 of the Keras functional API guide, shared layers: one LSTM instance encodes two
tweets with the same weights, and a sigmoid unit compares them; trained on clearly
synthetic tweets.

Two Input(shape=(140, 256)) (140 characters, one-hot over 256 codes) go through the
same LSTM(64) layer object; the two encodings are concatenated and fed to
Dense(1, sigmoid): 82,305 parameters at the guide's sizes (the default here).

The guide's question is "are the two tweets by the same person?". Its head scores a pair
as f(a) + g(b), which can compare two tweets but cannot test them for equality, so the
synthetic task here is a comparison that this exact model can learn: tweets are random
lower-case text with 0 to 6 exclamation marks, and the label says whether tweet A has
more of them than tweet B (ties left out; chance 0.5). The shared LSTM learns one
"excitement" score for both tweets.

    python examples/04_shared_layers.py          # a few minutes on a laptop CPU
    python examples/04_shared_layers.py --tiny   # 20 characters, 32 codes, 1 epoch

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
    parser.add_argument("--pairs", type=int, default=3000)
    return parser.parse_args(argv)


def make_tweets(n, length, codes, rng):
    """`n` one-hot tweets (n, length, codes) and their numbers of '!'."""
    letters = np.arange(ord("a"), ord("z") + 1) % codes
    space, bang = ord(" ") % codes, ord("!") % codes
    text = rng.choice(letters, (n, length))
    text[rng.random((n, length)) < 0.18] = space
    bangs = rng.integers(0, 7, n)
    for i in range(n):
        text[i, rng.choice(length, bangs[i], replace=False)] = bang
    return np.eye(codes, dtype="float32")[text], bangs


def make_pairs(n, length, codes, rng):
    a, bangs_a = make_tweets(2 * n, length, codes, rng)
    b, bangs_b = make_tweets(2 * n, length, codes, rng)
    keep = np.flatnonzero(bangs_a != bangs_b)[:n]
    return a[keep], b[keep], (bangs_a[keep] > bangs_b[keep]).astype("float32")[:, None]


def main(argv=None) -> dict:
    args = parse_args(argv)
    length, codes, units, n, epochs = 140, 256, 64, args.pairs, args.epochs
    if args.tiny:
        length, codes, units, n, epochs = 20, 48, 8, 64, 1
    rng = np.random.default_rng(0)
    a, b, labels = make_pairs(n, length, codes, rng)
    test_a, test_b, test_labels = make_pairs(max(n // 5, 32), length, codes, rng)

    tweet_a = keras.Input(shape=(length, codes))
    tweet_b = keras.Input(shape=(length, codes))
    # One layer instance, called twice: both calls use the same weights.
    shared_lstm = layers.LSTM(units)
    encoded_a = shared_lstm(tweet_a)
    encoded_b = shared_lstm(tweet_b)
    merged_vector = layers.concatenate([encoded_a, encoded_b], axis=-1)
    predictions = layers.Dense(1, activation="sigmoid")(merged_vector)
    model = keras.Model(inputs=[tweet_a, tweet_b], outputs=predictions)
    print(f"{model.count_params():,} parameters; the LSTM has "
          f"{shared_lstm.count_params():,}, used for both tweets")

    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit([a, b], labels, epochs=epochs, batch_size=32)
    _, accuracy = model.evaluate([test_a, test_b], test_labels, verbose=0)
    print(f"held-out accuracy {accuracy:.3f} (chance 0.500)")
    return {"model": model, "accuracy": accuracy, "lstm": shared_lstm}


if __name__ == "__main__":
    main()
