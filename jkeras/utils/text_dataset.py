"""`text_dataset_from_directory`: a dataset of texts read from class folders."""

from __future__ import annotations

import numpy as np

from jkeras.utils.batch_dataset import FileDataset
from jkeras.utils.directory_index import check_batch_size, check_format, dataset_subsets

TEXT_FORMATS = (".txt",)
_FN = "text_dataset_from_directory"


class TextDataset(FileDataset):
    """The contents of text files (numpy object arrays of `str`) and their labels."""

    def __init__(self, file_paths, labels, max_length, batch_size, shuffle, seed, class_names):
        super().__init__(file_paths, labels, batch_size, shuffle, seed, class_names)
        self.max_length = max_length

    def read(self, path: str) -> str:
        """A file's text (UTF-8; undecodable bytes become U+FFFD), cut to
        `max_length` characters."""
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        return text if self.max_length is None else text[:self.max_length]

    def load(self, indices: np.ndarray):
        texts = np.empty(len(indices), dtype=object)
        texts[:] = [self.read(self.file_paths[i]) for i in indices]
        return self.with_labels(texts, indices)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size: int | None = 32,
                                max_length: int | None = None, shuffle: bool = True, seed=None,
                                validation_split=None, subset=None, follow_links: bool = False,
                                format: str = "tf", verbose: bool = True):
    """A dataset of the .txt files under `directory`, with Keras's arguments.

    Labels, `class_names`, shuffling and `validation_split`/`subset` work as in
    `image_dataset_from_directory`. Batches are `(texts, labels)` (or texts):
    texts a numpy object array `(batch,)` of `str` (Keras yields `tf.string`
    bytes), each cut to `max_length` characters when given; labels as Keras
    encodes them for `label_mode`. The result is a `jkeras` dataset with
    `class_names` and `file_paths`; `format` is accepted and ignored.
    """
    check_format(_FN, format)
    batch_size = check_batch_size(_FN, batch_size)
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(
            max_length, (int, np.integer)) or max_length < 0):
        raise ValueError(f"{_FN}: `max_length` must be a non-negative integer or None; got "
                         f"{max_length!r}.")
    class_names, parts = dataset_subsets(
        _FN, directory, labels, label_mode, class_names, shuffle, seed, validation_split,
        subset, follow_links, verbose, TEXT_FORMATS, "text")
    datasets = [TextDataset(paths, part_labels, max_length, batch_size, part_shuffle, seed,
                            class_names) for paths, part_labels, part_shuffle in parts]
    return datasets if subset == "both" else datasets[0]
