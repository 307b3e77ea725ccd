"""easy-VQA: visual question answering on 64x64 pictures of one coloured shape.

The data ships inside the PyPI package ``easy-vqa`` (4,000 training and 1,000
test images, 38,575 and 9,673 questions such as "what color is the shape?",
13 possible answers); images are PNG files read with pillow. Both packages
come with the ``demo`` extra: ``pip install 'jkeras[demo]'``.
"""

from __future__ import annotations

import json
import os
import re
from typing import NamedTuple

import numpy as np

from jkeras.datasets._files import optional_import

_WHAT = "jkeras.datasets.easy_vqa"


class EasyVQASplit(NamedTuple):
    """One split of easy-VQA. Question i is about image ``images[image_index[i]]``."""

    images: np.ndarray  #: uint8 (n_images, 64, 64, 3); row k is the image with id k
    image_index: np.ndarray  #: int32 (n_questions,): the image each question is about
    questions: np.ndarray  #: int32 (n_questions, maxlen): word ids, 0-padded in front
    answers: np.ndarray  #: int32 (n_questions,): index into `get_answers()`
    question_texts: list  #: the questions as text


def _data_dir() -> str:
    pkg = optional_import("easy_vqa", "easy-vqa", _WHAT)
    return os.path.join(os.path.dirname(pkg.__file__), "data")


def tokenize(question: str) -> list[str]:
    """Lower-case words of a question, punctuation dropped."""
    return re.findall(r"[a-z0-9]+", question.lower())


def get_answers() -> list[str]:
    """The 13 possible answers, in the order of the answer ids."""
    with open(os.path.join(_data_dir(), "answers.txt"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _questions(split: str):
    with open(os.path.join(_data_dir(), split, "questions.json"), encoding="utf-8") as f:
        return json.load(f)


def get_word_index() -> dict[str, int]:
    """word -> id (1-based, alphabetical; 0 is padding) over all questions."""
    words = sorted({w for split in ("train", "test") for q in _questions(split)
                    for w in tokenize(q[0])})
    return {w: i + 1 for i, w in enumerate(words)}


def _images(split: str) -> np.ndarray:
    image_mod = optional_import("PIL.Image", "pillow", _WHAT)
    folder = os.path.join(_data_dir(), split, "images")
    ids = sorted(int(f[:-4]) for f in os.listdir(folder) if f.endswith(".png"))
    if ids != list(range(len(ids))):
        raise ValueError(f"{folder}: expected images 0.png ... {len(ids) - 1}.png.")
    out = np.empty((len(ids), 64, 64, 3), dtype=np.uint8)
    for k in ids:
        with image_mod.open(os.path.join(folder, f"{k}.png")) as im:
            out[k] = np.asarray(im.convert("RGB").resize((64, 64)))
    return out


def load_data(maxlen: int | None = None) -> tuple[EasyVQASplit, EasyVQASplit]:
    """Returns ``(train, test)`` as `EasyVQASplit`s.

    Questions are encoded with `get_word_index()` and padded in front with 0
    to `maxlen` words (default: the longest question, 9 words).
    """
    word_index = get_word_index()
    answer_ids = {a: i for i, a in enumerate(get_answers())}
    raw = {s: _questions(s) for s in ("train", "test")}
    if maxlen is None:
        maxlen = max(len(tokenize(q[0])) for qs in raw.values() for q in qs)
    out = []
    for split in ("train", "test"):
        qs = raw[split]
        encoded = np.zeros((len(qs), maxlen), dtype=np.int32)
        for i, (text, _, _) in enumerate(qs):
            ids = [word_index[w] for w in tokenize(text)][-maxlen:]
            if ids:
                encoded[i, maxlen - len(ids):] = ids
        out.append(EasyVQASplit(
            images=_images(split),
            image_index=np.array([q[2] for q in qs], dtype=np.int32),
            questions=encoded,
            answers=np.array([answer_ids[q[1]] for q in qs], dtype=np.int32),
            question_texts=[q[0] for q in qs],
        ))
    return out[0], out[1]
