"""draw_bounding_boxes and draw_segmentation_masks: annotate a batch of images
(numpy/Pillow, on the host), returning uint8 numpy arrays.

Where Keras 3.15 does not do what it documents, these do:
- channels_first images are drawn on correctly and come back channels_first
  (Keras draws boxes across the wrong axes, and returns masked images
  channels_last).
- Masks may be (batch, height, width), as documented (Keras needs a trailing 1).
- Mask classes are 1..num_classes, class 0 the background (left undrawn unless
  `color_mapping` gives it a colour), as documented; Keras paints class 0 black
  and leaves the largest class undrawn when `num_classes` is inferred.
Boxes and text are drawn with Pillow instead of OpenCV: the box outline lies
inside the box (`line_thickness` pixels from its edges inwards) and labels use
Pillow's default font.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from jkeras.backend.config import standardize_data_format


def batched_images(fn: str, images, data_format: str | None) -> tuple[np.ndarray, bool]:
    """`images` as a channels_last numpy batch, and whether they were channels_first."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"{fn}: `images` must be a batch of images, a 4D array (batch, height, width, "
            f"channels); got shape {images.shape}. For one image use images[None]."
        )
    channels_first = standardize_data_format(data_format) == "channels_first"
    if channels_first:
        images = np.transpose(images, (0, 2, 3, 1))
    return images, channels_first


def restore_layout(images: np.ndarray, channels_first: bool) -> np.ndarray:
    return np.transpose(images, (0, 3, 1, 2)) if channels_first else images


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Keras's conversion for drawing: floats in [0, 1] (the largest value at most 1)
    are scaled to [0, 255]; other values are clipped to [0, 255]."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.copy()
    if images.dtype.kind == "f" and images.size and images.max() <= 1.0:
        images = np.clip(images, 0.0, 1.0) * 255.0
    return np.clip(images, 0, 255).astype(np.uint8)


def _rgb(fn: str, color, name: str = "color") -> tuple[int, int, int]:
    values = tuple(int(c) for c in np.asarray(color).reshape(-1))
    if len(values) != 3:
        raise ValueError(f"{fn}: `{name}` must be an (R, G, B) triple, got {color!r}.")
    return values


def _label_font(font_scale: float):
    from PIL import ImageFont

    size = max(1, round(12 * font_scale))
    try:
        return ImageFont.load_default(size), True
    except TypeError:  # Pillow < 10.1: a fixed-size bitmap font, no anchors
        return ImageFont.load_default(), False


def _label_origin(x: int, y: int, font_scale: float, text_thickness: int) -> tuple[int, int]:
    """Where the label's baseline starts: just above the box's top-left corner when
    there is room for it, else just inside the box below its top edge."""
    text_height = int(12 * font_scale)
    if y - 8 - 2 * text_height > 0:
        return x, y - 8
    return x + 3, y + 2 * text_height + text_thickness + 3


def draw_bounding_boxes(images, bounding_boxes: Mapping, bounding_box_format: str,
                        class_mapping: Mapping | None = None,
                        color: Sequence[int] = (128, 128, 128), line_thickness: int = 2,
                        text_thickness: int | None = 1, font_scale: float = 1.0,
                        data_format: str | None = None) -> np.ndarray:
    """Draws each image's boxes (and, for classes in `class_mapping`, their label and
    confidence) and returns the annotated batch as uint8, shaped like `images`.

    `bounding_boxes`: a dict with `"boxes"` (batch, num_boxes, 4) in
    `bounding_box_format` (any format of `jkeras.utils.bounding_boxes.convert_format`),
    `"labels"` (batch, num_boxes) integer classes (-1 marks padding, not drawn) and
    optionally `"confidences"` (batch, num_boxes). Float images whose largest value
    is at most 1 are taken as [0, 1] and scaled to [0, 255].
    """
    from PIL import Image, ImageDraw

    from jkeras.utils.bounding_boxes import convert_format

    fn = "draw_bounding_boxes"
    images, channels_first = batched_images(fn, images, data_format)
    if not isinstance(bounding_boxes, Mapping):
        raise TypeError(f"{fn}: `bounding_boxes` must be a dict with 'boxes' and 'labels', "
                        f"got {type(bounding_boxes).__name__}.")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(f"{fn}: `bounding_boxes` must have 'boxes' and 'labels' keys, got "
                         f"keys {sorted(bounding_boxes)}.")
    batch, height, width, channels = images.shape
    if channels not in (1, 3, 4):
        raise ValueError(f"{fn}: images must have 1, 3 or 4 channels, got {channels}.")
    boxes = np.asarray(convert_format(np.asarray(bounding_boxes["boxes"], "float32"),
                                      bounding_box_format, "xyxy", height, width))
    labels = np.asarray(bounding_boxes["labels"])
    confidences = bounding_boxes.get("confidences")
    confidences = None if confidences is None else np.asarray(confidences)
    if boxes.ndim != 3 or boxes.shape[0] != batch or labels.shape != boxes.shape[:2]:
        raise ValueError(
            f"{fn}: expected boxes of shape (batch={batch}, num_boxes, 4) and labels of "
            f"shape (batch, num_boxes); got boxes {np.shape(bounding_boxes['boxes'])} and "
            f"labels {labels.shape}."
        )
    rgb = _rgb(fn, color)
    ink = {1: round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]), 3: rgb,
           4: (*rgb, 255)}[channels]
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    font, anchors = _label_font(font_scale)
    out = to_uint8(images)
    for i in range(batch):
        canvas = Image.fromarray(out[i, ..., 0] if channels == 1 else out[i])
        draw = ImageDraw.Draw(canvas)
        draw.fontmode = "1"  # solid text in the box colour, as OpenCV draws it
        for j in range(boxes.shape[1]):
            label = int(labels[i, j])
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in boxes[i, j])
            draw.rectangle([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)],
                           outline=ink, width=int(line_thickness))
            if label in class_mapping:
                text = str(class_mapping[label])
                if confidences is not None:
                    text = f"{text} | {float(confidences[i, j]):.2f}"
                x, y = _label_origin(x1, y1, font_scale, text_thickness)
                if anchors:
                    draw.text((x, y), text, fill=ink, font=font, anchor="ls",
                              stroke_width=max(0, int(text_thickness) - 1), stroke_fill=ink)
                else:
                    draw.text((x, y - 11), text, fill=ink, font=font)
        drawn = np.asarray(canvas)
        out[i] = drawn[..., None] if channels == 1 else drawn
    return restore_layout(out, channels_first)


def default_mask_color(index: int) -> list[int]:
    """Keras's colour for mask class `index`."""
    return [int(v) for v in (index * np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])) % 255]


def _mask_colors(fn: str, num_classes: int, color_mapping) -> dict[int, tuple]:
    if color_mapping is None:
        return {c: tuple(default_mask_color(c)) for c in range(1, num_classes + 1)}
    if not isinstance(color_mapping, Mapping):
        raise TypeError(f"{fn}: `color_mapping` must be a dict {{class: (R, G, B)}}, got "
                        f"{type(color_mapping).__name__}.")
    missing = [c for c in range(1, num_classes + 1) if c not in color_mapping]
    if missing:
        raise ValueError(f"{fn}: `color_mapping` has no colour for classes {missing} "
                         f"(classes are 1..num_classes={num_classes}).")
    return {int(c): _rgb(fn, v, f"color_mapping[{c}]") for c, v in color_mapping.items()}


def draw_segmentation_masks(images, segmentation_masks, num_classes: int | None = None,
                            color_mapping: Mapping | None = None, alpha: float = 0.8,
                            blend: bool = True, ignore_index: int = -1,
                            data_format: str | None = None) -> np.ndarray:
    """Colours each image where its mask holds a class 1..`num_classes` and returns
    the batch as uint8, shaped like `images` (RGB, values in [0, 255]).

    `segmentation_masks`: integer classes, (batch, height, width) or with a channel
    axis of 1. Class 0 is the background and `ignore_index` marks pixels to leave
    alone; neither is drawn (unless `color_mapping` gives class 0 a colour).
    `num_classes` defaults to the largest class present. Colours come from
    `color_mapping` ({class: (R, G, B)}) or Keras's default palette. With `blend`, a
    drawn pixel becomes `image * (1 - alpha) + colour * alpha`, else the colour.
    """
    fn = "draw_segmentation_masks"
    images, channels_first = batched_images(fn, images, data_format)
    if images.shape[-1] != 3:
        raise ValueError(f"{fn}: images must be RGB (3 channels), got {images.shape[-1]}.")
    masks = np.asarray(segmentation_masks)
    if masks.dtype.kind not in "iu":
        raise TypeError(f"{fn}: `segmentation_masks` must hold integer classes, got dtype "
                        f"{masks.dtype}.")
    if masks.ndim == 4:
        axis = 1 if channels_first else 3
        if masks.shape[axis] != 1:
            raise ValueError(f"{fn}: 4D `segmentation_masks` must have one channel, got "
                             f"shape {masks.shape}.")
        masks = np.squeeze(masks, axis)
    if masks.shape != images.shape[:3]:
        raise ValueError(f"{fn}: `segmentation_masks` must be (batch, height, width) = "
                         f"{images.shape[:3]} (or with a channel axis of 1), got "
                         f"{np.shape(segmentation_masks)}.")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"{fn}: `alpha` must be in [0, 1], got {alpha}.")
    drawable = masks[masks != ignore_index]
    if num_classes is None:
        num_classes = int(drawable.max()) if drawable.size else 0
    too_big = drawable[drawable > num_classes]
    if too_big.size:
        raise ValueError(f"{fn}: the masks hold class {int(too_big.max())}, but "
                         f"num_classes={num_classes}; classes are 1..num_classes.")
    colors = _mask_colors(fn, int(num_classes), color_mapping)
    base = images.astype("float32")
    painted = base.copy()
    drawn = np.zeros(masks.shape, bool)
    for cls, rgb in colors.items():
        where = (masks == cls) & (masks != ignore_index)
        painted[where] = rgb
        drawn |= where
    if blend:
        painted = base * (1.0 - alpha) + painted * alpha
    out = np.where(drawn[..., None], painted, base)
    return restore_layout(np.clip(out, 0, 255).astype(np.uint8), channels_first)
