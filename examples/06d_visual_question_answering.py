"""Example 9 of the Keras functional API guide, visual question answering: a Sequential
vision model and an Embedding+LSTM question encoder, concatenated, choose one answer;
trained on easy-VQA.

The vision model has the guide's layer pattern: conv same, conv valid, pool; conv same,
conv valid, pool; conv same, conv valid, conv valid, pool; flatten. The question is word
ids -> Embedding -> LSTM. The guide's sizes (--guide-size: 224x224 images, filters 64,
128 and 256, 256-dim embedding and LSTM, 1000 answers) make a 165-million-parameter
model; by default this script keeps the architecture with 64x64 images, filters 8, 16
and 32, and 64-dim question encodings, and answers with Dense(13, softmax) for easy-VQA's
13 answers. The data are easy-VQA's real pictures and questions ("what color is the
shape?", "is there a triangle?"); held-out questions are about test images only
(chance 1/13 = 0.077; always answering "yes" scores about 0.37).

    python examples/06d_visual_question_answering.py          # ~5 minutes on 2 CPU cores
    python examples/06d_visual_question_answering.py --tiny   # 32x32, 2-8 filters, 64 questions

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
    parser.add_argument("--guide-size", action="store_true",
                        help="the guide's sizes: 224x224 images, filters 64/128/256, 256-dim "
                             "question encodings (very slow on a CPU)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=20_000,
                        help="training questions to use (of 38,575)")
    return parser.parse_args(argv)


def resize(images, size):
    """uint8 (n, 64, 64, 3) -> float32 (n, size, size, 3) in [0, 1] (nearest pixel)."""
    rows = (np.arange(size) * images.shape[1]) // size
    cols = (np.arange(size) * images.shape[2]) // size
    return images[:, rows][:, :, cols].astype("float32") / 255.0


def build_vision_model(size, filters):
    f1, f2, f3 = filters
    vision_model = keras.Sequential()
    vision_model.add(keras.Input(shape=(size, size, 3)))
    vision_model.add(layers.Conv2D(f1, (3, 3), activation="relu", padding="same"))
    vision_model.add(layers.Conv2D(f1, (3, 3), activation="relu"))
    vision_model.add(layers.MaxPooling2D((2, 2)))
    vision_model.add(layers.Conv2D(f2, (3, 3), activation="relu", padding="same"))
    vision_model.add(layers.Conv2D(f2, (3, 3), activation="relu"))
    vision_model.add(layers.MaxPooling2D((2, 2)))
    vision_model.add(layers.Conv2D(f3, (3, 3), activation="relu", padding="same"))
    vision_model.add(layers.Conv2D(f3, (3, 3), activation="relu"))
    vision_model.add(layers.Conv2D(f3, (3, 3), activation="relu"))
    vision_model.add(layers.MaxPooling2D((2, 2)))
    vision_model.add(layers.Flatten())
    return vision_model


def main(argv=None) -> dict:
    args = parse_args(argv)
    size, filters, dim, epochs, n = 64, (8, 16, 32), 64, args.epochs, args.questions
    if args.guide_size:
        size, filters, dim = 224, (64, 128, 256), 256
    if args.tiny:
        size, filters, dim, epochs, n = 32, (2, 4, 8), 8, 1, 64
    train, test = easy_vqa.load_data()
    answers = easy_vqa.get_answers()
    vocab = len(easy_vqa.get_word_index()) + 1
    maxlen = train.questions.shape[1]
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(train.answers))[:n]
    test_pick = np.arange(len(test.answers)) if not args.tiny else np.arange(64)
    train_images = resize(train.images, size)
    test_images = resize(test.images, size)
    x_train = [train_images[train.image_index[pick]], train.questions[pick]]
    y_train = train.answers[pick]
    x_test = [test_images[test.image_index[test_pick]], test.questions[test_pick]]
    y_test = test.answers[test_pick]

    # First, a vision model with a Sequential model: an image becomes a vector.
    vision_model = build_vision_model(size, filters)
    image_input = keras.Input(shape=(size, size, 3))
    encoded_image = vision_model(image_input)

    # Next, a language model that encodes the question into a vector.
    question_input = keras.Input(shape=(maxlen,), dtype="int32")
    embedded_question = layers.Embedding(input_dim=vocab, output_dim=dim)(question_input)
    encoded_question = layers.LSTM(dim)(embedded_question)

    # Concatenate the question vector and the image vector, then pick an answer.
    merged = layers.concatenate([encoded_question, encoded_image])
    output = layers.Dense(len(answers), activation="softmax")(merged)
    vqa_model = keras.Model(inputs=[image_input, question_input], outputs=output)
    print(f"vision model: {vision_model.output_shape[1]:,} features, "
          f"{vision_model.count_params():,} parameters; VQA model: "
          f"{vqa_model.count_params():,} parameters")

    vqa_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    vqa_model.fit(x_train, y_train, epochs=epochs, batch_size=64)
    _, accuracy = vqa_model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"held-out accuracy {accuracy:.3f} on {len(y_test)} questions about test images "
          f"(chance {1 / len(answers):.3f})")
    guess = vqa_model.predict([x[:3] for x in x_test], verbose=0).argmax(axis=-1)
    for i in range(3):
        print(f"  {test.question_texts[test_pick[i]]!r}: {answers[guess[i]]} "
              f"(truth: {answers[y_test[i]]})")
    return {"model": vqa_model, "vision_model": vision_model, "accuracy": accuracy,
            "image_features": vision_model.output_shape[1]}


if __name__ == "__main__":
    main()
