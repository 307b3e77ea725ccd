"""plot_image_gallery, plot_bounding_box_gallery, plot_segmentation_mask_gallery:
grids of images drawn with matplotlib (an optional extra, imported when called).

With `path` the figure is drawn off screen (no GUI backend needed) and saved;
otherwise it is a pyplot figure, shown when `show` (the default without `path`)
and left open for the caller when `show=False`.

Where Keras 3.15 does not do what it documents, these do:
- Default grids hold every image (Keras's column count rounds down, dropping
  images) and cells beyond the last image stay blank (Keras raises IndexError).
- Boxes and masks are drawn after the images are scaled from `value_range` to
  [0, 255], so galleries of [0, 1] images look right (Keras scales them twice).
- Single-channel images are shown in grey.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

from jkeras.visualization.drawing import (
    batched_images,
    draw_bounding_boxes,
    draw_segmentation_masks,
)


def _require_matplotlib(fn: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"{fn} draws with matplotlib, which is not installed. Install it with "
            f"`pip install matplotlib`."
        ) from e


def _to_0_255(fn: str, images: np.ndarray, value_range) -> np.ndarray:
    """`images` mapped linearly from `value_range` to [0, 255], clipped, as uint8."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: `value_range` must be (low, high), got {value_range!r}.") \
            from None
    if not high > low:
        raise ValueError(f"{fn}: `value_range` must have low < high, got {value_range!r}.")
    scaled = (images.astype("float32") - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _grid(n: int, rows: int | None, cols: int | None) -> tuple[int, int]:
    if rows is None and cols is None:
        rows = max(1, math.ceil(math.sqrt(n)))
    if cols is None:
        cols = max(1, math.ceil(n / rows))
    if rows is None:
        rows = max(1, math.ceil(n / cols))
    return int(rows), int(cols)


def _title(index: int, y_true, y_pred, label_map) -> str:
    parts = []
    for name, labels in (("Label", y_true), ("Pred", y_pred)):
        if labels is not None and index < len(labels):
            parts.append(f"{name}: {label_map.get(labels[index].item(), 'Unknown')}")
    return "  ".join(parts)


def plot_image_gallery(images, y_true=None, y_pred=None, label_map: Mapping | None = None,
                       rows: int | None = None, cols: int | None = None,
                       value_range: Sequence[float] = (0, 255), scale: float = 2,
                       path: str | os.PathLike | None = None, show: bool | None = None,
                       transparent: bool = True, dpi: int = 60,
                       legend_handles: list | None = None,
                       data_format: str | None = None) -> None:
    """Plots `images` (a batch) in a `rows` x `cols` grid, titled with the class
    names (`label_map[label]`) of `y_true` / `y_pred` when given.

    `value_range`: the range of the pixel values. `scale`: inches per image. `path`:
    save the figure there (at `dpi`, with a `transparent` background) instead of
    showing it; `show` defaults to True without `path`. `legend_handles`:
    matplotlib patches for a legend under the grid.
    """
    fn = "plot_image_gallery"
    _require_matplotlib(fn)
    if path is not None and show:
        raise ValueError(f"{fn}: give either `path` (save the figure) or `show=True` "
                         f"(display it), not both.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError(f"{fn}: `y_true`/`y_pred` need a `label_map` {{class: name}} to "
                         f"title the images.")
    images, _ = batched_images(fn, images, data_format)
    pixels = _to_0_255(fn, images, value_range)
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    y_true = None if y_true is None else np.asarray(y_true).reshape(-1)
    y_pred = None if y_pred is None else np.asarray(y_pred).reshape(-1)
    rows, cols = _grid(len(pixels), rows, cols)
    show = path is None if show is None else bool(show)
    figsize = (cols * scale, rows * scale)
    if path is not None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, frameon=False, layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
    else:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(rows, cols, figsize=figsize, frameon=False,
                                 layout="constrained", squeeze=False)
    if legend_handles is not None:
        # under the grid, not over the images as in Keras
        fig.legend(handles=legend_handles, loc="outside lower center")
    for index, ax in enumerate(axes.reshape(-1)):
        ax.axis("off")
        if index >= len(pixels):
            continue
        ax.imshow(pixels[index], cmap="gray" if pixels.ndim == 3 else None, vmin=0, vmax=255)
        ax.margins(x=0, y=0)
        title = _title(index, y_true, y_pred, label_map)
        if title:
            ax.set_title(title, fontsize=8)
    if path is not None:
        fig.savefig(path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
    elif show:
        import matplotlib.pyplot as plt

        plt.show()
        plt.close(fig)


def plot_bounding_box_gallery(images, bounding_box_format: str, y_true: Mapping | None = None,
                              y_pred: Mapping | None = None,
                              value_range: Sequence[float] = (0, 255),
                              true_color: Sequence[int] = (0, 188, 212),
                              pred_color: Sequence[int] = (255, 235, 59),
                              line_thickness: int = 2, font_scale: float = 1.0,
                              text_thickness: int | None = None,
                              class_mapping: Mapping | None = None,
                              ground_truth_mapping: Mapping | None = None,
                              prediction_mapping: Mapping | None = None, legend: bool = False,
                              legend_handles: list | None = None, rows: int | None = None,
                              cols: int | None = None, data_format: str | None = None,
                              **kwargs) -> None:
    """`plot_image_gallery` of `images` with the boxes of `y_true` (in `true_color`)
    and `y_pred` (in `pred_color`) drawn by `draw_bounding_boxes`, labelled with
    `ground_truth_mapping` / `prediction_mapping` (both default to
    `class_mapping`). `legend=True` adds a legend of the two colours;
    `legend_handles` gives your own instead. Other keyword arguments go to
    `plot_image_gallery` (`path`, `show`, `scale`, ...).
    """
    fn = "plot_bounding_box_gallery"
    _require_matplotlib(fn)
    if legend and legend_handles:
        raise ValueError(f"{fn}: pass either `legend=True` or `legend_handles`, not both.")
    images, _ = batched_images(fn, images, data_format)
    pixels = _to_0_255(fn, images, value_range)
    drawing = {"bounding_box_format": bounding_box_format, "line_thickness": line_thickness,
               "text_thickness": text_thickness, "font_scale": font_scale,
               "data_format": "channels_last"}
    if y_true is not None:
        pixels = draw_bounding_boxes(pixels, y_true, color=true_color,
                                     class_mapping=ground_truth_mapping or class_mapping,
                                     **drawing)
    if y_pred is not None:
        pixels = draw_bounding_boxes(pixels, y_pred, color=pred_color,
                                     class_mapping=prediction_mapping or class_mapping,
                                     **drawing)
    if legend:
        from matplotlib.patches import Patch

        legend_handles = [Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(pixels, value_range=(0, 255), legend_handles=legend_handles,
                              rows=rows, cols=cols, data_format="channels_last", **kwargs)


def plot_segmentation_mask_gallery(images, num_classes: int,
                                   value_range: Sequence[float] = (0, 255), y_true=None,
                                   y_pred=None, color_mapping: Mapping | None = None,
                                   blend: bool = True, alpha: float = 0.8,
                                   ignore_index: int = -1, data_format: str | None = None,
                                   **kwargs) -> None:
    """`plot_image_gallery` with one row per image: the image, then the image with
    its `y_true` masks, then with its `y_pred` masks (each when given), drawn by
    `draw_segmentation_masks` with classes 1..`num_classes`. Other keyword
    arguments go to `plot_image_gallery` (`path`, `show`, `scale`, ...).
    """
    fn = "plot_segmentation_mask_gallery"
    _require_matplotlib(fn)
    images, channels_first = batched_images(fn, images, data_format)
    pixels = _to_0_255(fn, images, value_range)
    if pixels.shape[-1] == 1:  # masks are coloured: show grey images as RGB
        pixels = np.repeat(pixels, 3, axis=-1)
    drawing = {"num_classes": num_classes, "color_mapping": color_mapping, "alpha": alpha,
               "blend": blend, "ignore_index": ignore_index, "data_format": "channels_last"}
    columns = [pixels]
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = np.asarray(masks).astype("int32")  # as Keras: any numeric classes
            if channels_first and masks.ndim == 4:
                masks = np.transpose(masks, (0, 2, 3, 1))
            columns.append(draw_segmentation_masks(pixels, masks, **drawing))
    gallery = np.stack(columns, axis=1).reshape(-1, *pixels.shape[1:])
    return plot_image_gallery(gallery, value_range=(0, 255), rows=len(pixels),
                              cols=len(columns), data_format="channels_last", **kwargs)
