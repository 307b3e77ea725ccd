"""Example 10 of the Keras functional API guide, video question answering: TimeDistributed
runs the VQA vision model on every frame, an LSTM reads the frame vectors, and the VQA
question encoder, reused as a Model, encodes the question; trained on clearly synthetic
videos of a moving shape.

As in the guide: the vision model (a Sequential with example 9's layer pattern) and the
question tensors (word ids -> Embedding -> LSTM) are built first; the question encoder
becomes `Model(question_input, encoded_question)` and is called on a new question input
(same weights). TimeDistributed(vision_model) turns (frames, rows, cols, 3) into one
vector per frame; LSTM reads them; both vectors are concatenated -> Dense(softmax).
The guide's sizes (--guide-size: 100 frames of 224x224, filters 64/128/256, 256-dim
encodings) give 169 million parameters with its 1000 answers; the default here keeps the
architecture with 6 frames of 48x48, filters 8/16/32 and 32-dim encodings.

Synthetic videos: one red, green, blue or yellow square or circle glides left, right, up
or down over a black background. Questions: "what color is the shape", "which way does
the shape move", "what shape is moving"; 10 answers. Chance: 1/10 over all answers, 1/4,
1/4 and 1/2 within each kind of question. The direction needs several frames.

    python examples/06e_video_question_answering.py          # a few minutes on a CPU
    python examples/06e_video_question_answering.py --tiny   # 3 frames of 32x32, 32 videos

JKERAS_EXAMPLES_TINY=1 acts like --tiny.
"""

import argparse
import os

import numpy as np

import jkeras as keras
from jkeras import layers

COLORS = {"red": (1.0, 0.1, 0.1), "green": (0.1, 0.9, 0.1), "blue": (0.2, 0.3, 1.0),
          "yellow": (1.0, 0.9, 0.1)}
DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}
SHAPES = ["square", "circle"]
ANSWERS = list(COLORS) + list(DIRECTIONS) + SHAPES
QUESTIONS = ["what color is the shape", "which way does the shape move",
             "what shape is moving"]
WORDS = {w: i + 1 for i, w in enumerate(sorted({w for q in QUESTIONS for w in q.split()}))}
MAXLEN = max(len(q.split()) for q in QUESTIONS)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        default=os.environ.get("JKERAS_EXAMPLES_TINY") == "1",
                        help="run at tiny size")
    parser.add_argument("--guide-size", action="store_true",
                        help="the guide's sizes (100 frames of 224x224; far too slow on a CPU)")
    parser.add_argument("--videos", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=8)
    return parser.parse_args(argv)


def encode(question):
    ids = [WORDS[w] for w in question.split()]
    return [0] * (MAXLEN - len(ids)) + ids


def make_videos(n, frames, size, rng):
    """`n` videos (n, frames, size, size, 3), one question each (n, MAXLEN) and the
    answer index (n,)."""
    videos = np.zeros((n, frames, size, size, 3), dtype="float32")
    questions = np.zeros((n, MAXLEN), dtype="int32")
    answers = np.zeros(n, dtype="int32")
    radius = max(2, size // 8)
    rows, cols = np.mgrid[:size, :size]
    for i in range(n):
        color = rng.choice(list(COLORS))
        direction = rng.choice(list(DIRECTIONS))
        shape = rng.choice(SHAPES)
        dr, dc = DIRECTIONS[direction]
        travel = size - 2 * radius - 2  # from one side to the other
        start = rng.integers(radius + 1, size - radius - 1, 2).astype(float)
        for axis, d in ((0, dr), (1, dc)):
            if d:
                start[axis] = radius + 1 if d > 0 else size - radius - 2
        for t in range(frames):
            r, c = start + np.array([dr, dc]) * travel * t / max(frames - 1, 1)
            if shape == "square":
                mask = (np.abs(rows - r) <= radius) & (np.abs(cols - c) <= radius)
            else:
                mask = (rows - r) ** 2 + (cols - c) ** 2 <= (radius + 0.5) ** 2
            videos[i, t][mask] = COLORS[color]
        kind = rng.integers(3)
        questions[i] = encode(QUESTIONS[kind])
        answers[i] = ANSWERS.index((color, direction, shape)[kind])
    return videos, questions, answers


def build_vision_model(size, filters):
    f1, f2, f3 = filters
    return keras.Sequential([
        keras.Input(shape=(size, size, 3)),
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
    ])


def main(argv=None) -> dict:
    args = parse_args(argv)
    frames, size, filters, dim, n, epochs = 6, 48, (8, 16, 32), 32, args.videos, args.epochs
    if args.guide_size:
        frames, size, filters, dim = 100, 224, (64, 128, 256), 256
    if args.tiny:
        frames, size, filters, dim, n, epochs = 3, 32, (2, 2, 2), 8, 32, 1
    rng = np.random.default_rng(0)
    videos, questions, answers = make_videos(n, frames, size, rng)
    test_videos, test_questions, test_answers = make_videos(max(n // 5, 16), frames, size, rng)

    # Example 9's vision model and question encoder.
    vision_model = build_vision_model(size, filters)
    question_input = keras.Input(shape=(MAXLEN,), dtype="int32")
    embedded_question = layers.Embedding(input_dim=len(WORDS) + 1, output_dim=dim)(
        question_input)
    encoded_question = layers.LSTM(dim)(embedded_question)

    # The video encoder: the vision model on every frame, then an LSTM over the frames.
    video_input = keras.Input(shape=(frames, size, size, 3))
    encoded_frame_sequence = layers.TimeDistributed(vision_model)(video_input)
    encoded_video = layers.LSTM(dim)(encoded_frame_sequence)

    # The question encoder as a model, reused (same weights) on a new question input.
    question_encoder = keras.Model(inputs=question_input, outputs=encoded_question)
    video_question_input = keras.Input(shape=(MAXLEN,), dtype="int32")
    encoded_video_question = question_encoder(video_question_input)

    merged = layers.concatenate([encoded_video, encoded_video_question])
    output = layers.Dense(len(ANSWERS), activation="softmax")(merged)
    video_qa_model = keras.Model(inputs=[video_input, video_question_input], outputs=output)
    print(f"frames {video_input.shape} -> {encoded_frame_sequence.shape} -> "
          f"{encoded_video.shape}; {video_qa_model.count_params():,} parameters")

    video_qa_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"])
    video_qa_model.fit([videos, questions], answers, epochs=epochs, batch_size=32)
    guess = video_qa_model.predict([test_videos, test_questions], verbose=0).argmax(axis=-1)
    accuracy = float(np.mean(guess == test_answers))
    print(f"held-out accuracy {accuracy:.3f} on {len(test_answers)} new videos "
          f"(chance 0.100 over all answers)")
    for question in QUESTIONS:
        rows = np.all(test_questions == encode(question), axis=1)
        if rows.any():
            print(f"  {question}?  {np.mean(guess[rows] == test_answers[rows]):.3f}")
    return {"model": video_qa_model, "question_encoder": question_encoder,
            "accuracy": accuracy, "frame_features": tuple(encoded_frame_sequence.shape)}


if __name__ == "__main__":
    main()
