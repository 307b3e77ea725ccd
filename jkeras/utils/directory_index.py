"""Listing the files of a dataset folder with their labels, and the argument
checks and train/validation split shared by the `*_dataset_from_directory`
functions (Keras's semantics, without TensorFlow)."""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from jkeras.backend.interactive_logging import print_msg

#: Seconds between progress messages while a long directory scan runs.
PROGRESS_INTERVAL_S = 5.0

LABEL_MODES = ("int", "categorical", "binary", None)


def check_label_args(fn: str, labels, label_mode, class_names, kind: str):
    """Checks `labels`/`label_mode`/`class_names`; returns (labels, label_mode)
    with both None when either asks for no labels."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError(
                f"{fn}: `labels` must be 'inferred' (labels from the sub-folder names), None "
                f"(no labels) or a list/tuple of integer labels, one per {kind} file in the "
                f"folder; got {labels!r:.80}."
            )
        if class_names:
            raise ValueError(
                f"{fn}: `class_names` can only be given with labels='inferred' (with explicit "
                f"labels the class names are the sorted labels); got labels={labels!r:.60} and "
                f"class_names={class_names!r:.60}."
            )
    if label_mode not in LABEL_MODES:
        raise ValueError(
            f'{fn}: `label_mode` must be "int", "categorical", "binary" or None; got '
            f"{label_mode!r}."
        )
    if labels is None or label_mode is None:
        return None, None
    return labels, label_mode


def check_validation_split(fn: str, validation_split, subset, shuffle, seed) -> None:
    """Keras's rules for `validation_split`, `subset`, `shuffle` and `seed`."""
    if validation_split is not None and not (
            isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ValueError(
            f"{fn}: `validation_split` must be a float in (0, 1); got {validation_split!r}."
        )
    if bool(validation_split) != bool(subset):
        raise ValueError(
            f"{fn}: `subset` and `validation_split` go together: give both or neither (got "
            f"validation_split={validation_split!r}, subset={subset!r})."
        )
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            f'{fn}: `subset` must be "training", "validation" or "both"; got {subset!r}.'
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            f"{fn}: with `validation_split` and shuffle=True you must give a `seed`, so that "
            f"the training and validation subsets (made by separate calls) do not overlap."
        )


def check_format(fn: str, format) -> None:
    """Keras's `format` argument ("tf" or "grain"): both give a jkeras dataset."""
    if format not in ("tf", "grain"):
        raise ValueError(f'{fn}: `format` must be "tf" or "grain" (both return a jkeras '
                         f"dataset); got {format!r}.")


def check_batch_size(fn: str, batch_size) -> int | None:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"{fn}: `batch_size` must be a positive integer or None (no "
                         f"batching); got {batch_size!r}.")
    return int(batch_size)


def _class_folders(fn: str, directory: str, class_names) -> list[str]:
    names = sorted(d for d in os.listdir(directory)
                   if not d.startswith(".") and os.path.isdir(os.path.join(directory, d)))
    if class_names is None:
        return names
    class_names = list(class_names)
    missing = [c for c in class_names if c not in names]
    if missing or len(set(class_names)) != len(class_names):
        raise ValueError(
            f"{fn}: `class_names` must name sub-folders of {directory}, each once; "
            f"{'not found: ' + repr(missing) if missing else 'some are repeated'}. The "
            f"sub-folders are {names}."
        )
    return class_names


def _walk(root: str, follow_links: bool, formats: tuple, counter: list, slot: int) -> list[str]:
    """Files under `root` with one of `formats`, as paths relative to `root`, in
    Keras's order (folders by path, files by name)."""
    found = []
    for folder, _, files in sorted(os.walk(root, followlinks=follow_links), key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                found.append(os.path.relpath(os.path.join(folder, name), root))
        counter[slot] = len(found)
    return found


def _scan(fn: str, directory: str, subdirs: list[str], follow_links: bool, formats: tuple
          ) -> list[list[str]]:
    """Walks each of `subdirs` of `directory` in parallel, printing progress
    while a long scan runs."""
    counter = [0] * len(subdirs)
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(subdirs)))) as pool:
        futures = [pool.submit(_walk, os.path.join(directory, s), follow_links, formats,
                               counter, i) for i, s in enumerate(subdirs)]
        pending = set(futures)
        started = time.monotonic()
        while pending:
            _, pending = wait(pending, timeout=PROGRESS_INTERVAL_S, return_when=FIRST_COMPLETED)
            if pending and time.monotonic() - started >= PROGRESS_INTERVAL_S:
                print_msg(f"{fn}: scanning {directory}: {sum(counter)} files so far "
                          f"({len(subdirs) - len(pending)}/{len(subdirs)} folders done)...")
        return [f.result() for f in futures]


def index_directory(fn: str, directory, labels, formats: tuple, class_names=None,
                    shuffle: bool = True, seed=None, follow_links: bool = False,
                    verbose: bool = True, kind: str = "data"):
    """The files under `directory` whose name ends with one of `formats`.

    Returns `(file_paths, labels, class_names)`: with labels="inferred" each
    non-hidden sub-folder is a class (sorted, or in the order of `class_names`)
    and `labels` is an int32 array of class indices; with a list of labels (one
    per file, in sorted path order) `class_names` are the sorted labels as
    strings; with None, both are None. When `shuffle`, files (and labels) are
    shuffled with `numpy.random.RandomState(seed)` exactly as Keras does, so the
    same seed selects the same files as Keras.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        what = "is not a folder" if os.path.exists(directory) else "does not exist"
        raise ValueError(f"{fn}: `directory` {directory!r} {what}.")
    if labels == "inferred":
        subdirs = _class_folders(fn, directory, class_names)
        if not subdirs:
            raise ValueError(
                f"{fn}: labels='inferred' takes one sub-folder per class, but {directory} has "
                f"no sub-folders. Put the {kind} files of each class in their own sub-folder, "
                f"or pass labels=None (no labels) or a list of labels."
            )
    else:
        subdirs = [""]
    per_folder = _scan(fn, directory, subdirs, follow_links, formats)
    file_paths = [os.path.join(directory, s, p) for s, files in zip(subdirs, per_folder)
                  for p in files]
    if labels == "inferred":
        label_array = np.concatenate(
            [np.full(len(files), i, np.int32) for i, files in enumerate(per_folder)])
        class_names = list(subdirs)
    elif labels is None:
        label_array, class_names = None, None
    else:
        label_array = _explicit_labels(fn, labels, len(file_paths), directory, kind)
        class_names = [str(v) for v in sorted(set(label_array.tolist()))]
    if verbose:
        if label_array is None:
            print_msg(f"Found {len(file_paths)} files.")
        else:
            print_msg(f"Found {len(file_paths)} files belonging to {len(class_names)} "
                      f"classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        order = np.random.RandomState(seed).permutation(len(file_paths))
        file_paths = [file_paths[i] for i in order]
        if label_array is not None:
            label_array = label_array[order]
    return file_paths, label_array, class_names


def _explicit_labels(fn: str, labels, num_files: int, directory: str, kind: str) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{fn}: `labels` must be a flat list of integers, one per {kind} "
                         f"file; got {labels!r:.80}.")
    if len(array) != num_files:
        raise ValueError(
            f"{fn}: `labels` has {len(array)} entries but {num_files} {kind} files were found "
            f"in {directory}; give one label per file, in the sorted order of the file paths."
        )
    if array.size and array.min() < 0:
        raise ValueError(f"{fn}: `labels` must be non-negative class indices; got "
                         f"{int(array.min())}.")
    return array.astype(np.int32)


def split_subset(fn: str, samples: list, labels, validation_split, subset: str | None,
                 directory: str, kind: str, formats: tuple, verbose: bool = True):
    """`(samples, labels)` of the "training" or "validation" subset: the last
    `int(validation_split * n)` samples are the validation ones. Raises
    ValueError when the subset would be empty."""
    if validation_split:
        cut = len(samples) - int(validation_split * len(samples))
        part = slice(None, cut) if subset == "training" else slice(cut, None)
        samples, labels = samples[part], None if labels is None else labels[part]
        if verbose:
            print_msg(f"Using {len(samples)} files for {subset}.")
    if not samples:
        which = f"{subset} " if validation_split else ""
        hint = (f" (validation_split={validation_split} of the files found leaves none for "
                f"{subset})" if validation_split else "")
        raise ValueError(
            f"{fn}: no {which}{kind} files found in directory {directory}{hint}. Allowed "
            f"formats: {', '.join(formats)}."
        )
    return samples, labels


def dataset_subsets(fn: str, directory, labels, label_mode, class_names, shuffle, seed,
                    validation_split, subset, follow_links, verbose, formats: tuple, kind: str):
    """Everything the `*_dataset_from_directory` functions share: checks the
    arguments, indexes the files and splits them. Returns `(class_names, parts)`:
    one part per dataset to build (two for subset="both": training, then
    validation), each `(file_paths, encoded labels or None, shuffle)`."""
    labels, label_mode = check_label_args(fn, labels, label_mode, class_names, kind)
    check_validation_split(fn, validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, label_array, class_names = index_directory(
        fn, directory, labels, formats, class_names=class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose, kind=kind)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            f'{fn}: label_mode="binary" needs exactly 2 classes; got class_names='
            f"{class_names}. Use label_mode='int' or 'categorical' for more classes."
        )
    if label_mode is not None:
        label_array = encode_labels(label_array, label_mode, len(class_names), fn)
    else:
        label_array = None
    wanted = ["training", "validation"] if subset == "both" else [subset]
    parts = []
    for name in wanted:
        part_paths, part_labels = split_subset(fn, paths, label_array, validation_split, name,
                                               os.fspath(directory), kind, formats, verbose)
        parts.append((part_paths, part_labels, shuffle and not (subset == "both"
                                                                and name == "validation")))
    return class_names, parts


def encode_labels(labels: np.ndarray, label_mode: str, num_classes: int, fn: str) -> np.ndarray:
    """Class indices as Keras yields them: "int" int32 (n,), "binary" float32
    (n, 1), "categorical" one-hot float32 (n, num_classes)."""
    if label_mode == "int":
        return labels.astype(np.int32)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"{fn}: label {int(labels.max())} is out of range for label_mode={label_mode!r} "
            f"with {num_classes} classes; labels must be class indices 0..{num_classes - 1}."
        )
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    return np.eye(num_classes, dtype=np.float32)[labels]
