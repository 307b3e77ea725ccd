"""`image_dataset_from_directory`: a dataset of images read from class folders."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jkeras.backend.config import standardize_data_format
from jkeras.utils.batch_dataset import FileDataset, default_workers
from jkeras.utils.directory_index import check_batch_size, check_format, dataset_subsets
from jkeras.utils.image_resize import (
    aspect_crop_box,
    check_interpolation,
    check_size,
    resize_image,
    resize_with_pad,
)
from jkeras.utils.image_utils import check_color_mode, open_image

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_FN = "image_dataset_from_directory"
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


class ImageDataset(FileDataset):
    """Images (float32, (height, width, channels) or channels first) and their
    labels, decoded from `file_paths` when a batch is asked for."""

    def __init__(self, file_paths, labels, image_size, num_channels: int, interpolation: str,
                 data_format: str, crop_to_aspect_ratio: bool, pad_to_aspect_ratio: bool,
                 batch_size, shuffle: bool, seed, class_names):
        super().__init__(file_paths, labels, batch_size, shuffle, seed, class_names)
        self.image_size = image_size
        self.num_channels = num_channels
        self.interpolation = interpolation
        self.data_format = data_format
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio

    def read(self, path: str) -> np.ndarray:
        """One image file as float32 (height, width, channels) at `image_size`."""
        img = open_image(path, _FN)
        mode = _PIL_MODES[self.num_channels]
        if img.mode != mode:
            img = img.convert(mode)
        x = np.asarray(img, dtype=np.uint8)
        if x.ndim == 2:
            x = x[:, :, None]
        size = self.image_size
        if size is None:
            return x.astype(np.float32)
        if self.crop_to_aspect_ratio:
            top, left, h, w = aspect_crop_box(x.shape[0], x.shape[1], *size)
            return resize_image(x[top:top + h, left:left + w], size, self.interpolation)
        if self.pad_to_aspect_ratio:
            return resize_with_pad(x, size, self.interpolation)
        return resize_image(x, size, self.interpolation)

    def load(self, indices: np.ndarray):
        paths = [self.file_paths[i] for i in indices]
        images = [self.read(p) for p in paths]
        for path, im in zip(paths, images):  # differ only with image_size=None
            if im.shape != images[0].shape:
                raise _mixed_sizes(paths[0], images[0].shape[:2], path, im.shape[:2])
        x = np.stack(images)
        if self.data_format == "channels_first":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return self.with_labels(x, indices)


def _mixed_sizes(path_a: str, hw_a, path_b: str, hw_b) -> ValueError:
    return ValueError(
        f"{_FN}: image_size=None keeps the images' own size, so they must all have the same "
        f"size to be batched, but {path_a} is {hw_a[0]}x{hw_a[1]} and {path_b} is "
        f"{hw_b[0]}x{hw_b[1]} (height x width). Pass image_size=(height, width) to resize "
        f"them, or batch_size=None."
    )


def _check_same_size(paths: list[str]) -> None:
    """With image_size=None and batching: every image must have the same size.
    Reads only the headers, in threads; names two files that differ."""
    from PIL import Image

    def size_of(path):
        try:
            with Image.open(path) as img:
                return img.size
        except (OSError, SyntaxError) as e:
            raise ValueError(f"{_FN}: cannot read {path} as an image ({type(e).__name__}: "
                             f"{e}).") from e

    with ThreadPoolExecutor(max_workers=default_workers()) as pool:
        sizes = list(pool.map(size_of, paths))
    for path, (width, height) in zip(paths, sizes):
        if (width, height) != sizes[0]:
            raise _mixed_sizes(paths[0], sizes[0][::-1], path, (height, width))


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size=(256, 256),
                                 shuffle: bool = True, seed=None, validation_split=None,
                                 subset=None, interpolation: str = "bilinear",
                                 follow_links: bool = False,
                                 crop_to_aspect_ratio: bool = False,
                                 pad_to_aspect_ratio: bool = False, data_format=None,
                                 format: str = "tf", verbose: bool = True):
    """A dataset of the images (.bmp, .gif, .jpeg, .jpg, .png; the first frame of
    an animated GIF) under `directory`, with Keras's arguments.

    With labels="inferred" each sub-folder is a class (`class_names` sorted, or
    in the given order); a list gives one integer label per file in sorted path
    order; None gives images only. Batches are `(images, labels)` (or images):
    images float32 `(batch, height, width, channels)` ("channels_first":
    channels before height), with 1, 3 or 4 channels for `color_mode`
    "grayscale", "rgb", "rgba"; labels int32 `(batch,)` for label_mode "int",
    float32 `(batch, 1)` for "binary", one-hot float32 `(batch, num_classes)` for
    "categorical". Images are resized to `image_size` with `interpolation`
    (after cropping the centred window of the target aspect ratio with
    `crop_to_aspect_ratio`, or fitting them and padding with zeros with
    `pad_to_aspect_ratio`); image_size=None keeps their size (then they must all
    have the same size, unless batch_size=None).

    `validation_split` with `subset` "training" / "validation" selects one part
    (the same files as Keras for the same `seed`), "both" returns the list
    `[training, validation]`. The result is a `jkeras` dataset (see
    `jkeras.utils.batch_dataset`), with `class_names` and `file_paths`;
    `format` ("tf" or "grain") is accepted for Keras code and ignored.
    """
    check_format(_FN, format)
    num_channels = check_color_mode(_FN, color_mode)
    batch_size = check_batch_size(_FN, batch_size)
    image_size = check_size(_FN, "image_size", image_size, allow_none=True)
    interpolation = check_interpolation(_FN, interpolation)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{_FN}: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` "
                         f"can be True.")
    if image_size is None and (crop_to_aspect_ratio or pad_to_aspect_ratio):
        raise ValueError(f"{_FN}: crop_to_aspect_ratio / pad_to_aspect_ratio need an "
                         f"`image_size` to fit the images to; got image_size=None.")
    data_format = standardize_data_format(data_format)
    class_names, parts = dataset_subsets(
        _FN, directory, labels, label_mode, class_names, shuffle, seed, validation_split,
        subset, follow_links, verbose, IMAGE_FORMATS, "image")
    datasets = []
    for paths, part_labels, part_shuffle in parts:
        if image_size is None and batch_size is not None:
            _check_same_size(paths)
        datasets.append(ImageDataset(
            paths, part_labels, image_size, num_channels, interpolation, data_format,
            bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio), batch_size, part_shuffle,
            seed, class_names))
    return datasets if subset == "both" else datasets[0]
