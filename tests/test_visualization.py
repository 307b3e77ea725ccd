"""jkeras.visualization: boxes and masks drawn on small arrays (exact pixels), and
galleries rendered to PNG files with matplotlib's Agg backend."""

import sys

import matplotlib
import numpy as np
import pytest
from PIL import Image

import jkeras
from jkeras.visualization import (
    draw_bounding_boxes,
    draw_segmentation_masks,
    plot_bounding_box_gallery,
    plot_image_gallery,
    plot_segmentation_mask_gallery,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RED = (255, 0, 0)


def box_outline(height, width, x1, y1, x2, y2, thickness):
    """Pixels of a rectangle outline `thickness` wide, inside the box x1..x2, y1..y2."""
    yy, xx = np.mgrid[:height, :width]
    inside = (xx >= x1) & (xx <= x2) & (yy >= y1) & (yy <= y2)
    core = (xx >= x1 + thickness) & (xx <= x2 - thickness) & \
        (yy >= y1 + thickness) & (yy <= y2 - thickness)
    return inside & ~core


# ---------------------------------------------------------------------------
# draw_bounding_boxes
# ---------------------------------------------------------------------------
def test_box_edges_are_drawn_where_the_box_is():
    images = np.full((2, 10, 12, 3), 40, np.uint8)
    boxes = {"boxes": np.array([[[2, 3, 8, 7]], [[0, 0, 11, 9]]], "float32"),
             "labels": np.array([[0], [-1]])}  # -1: padding, not drawn
    out = draw_bounding_boxes(images, boxes, "xyxy", color=RED, line_thickness=1)
    assert out.shape == images.shape and out.dtype == np.uint8
    edge = box_outline(10, 12, 2, 3, 8, 7, 1)
    np.testing.assert_array_equal(out[0][edge], np.tile(RED, (edge.sum(), 1)))
    np.testing.assert_array_equal(out[0][~edge], 40)
    np.testing.assert_array_equal(out[1], images[1])
    assert np.all(images == 40)  # the input is not drawn on
    thick = draw_bounding_boxes(images[:1], {k: v[:1] for k, v in boxes.items()}, "xyxy",
                                color=RED, line_thickness=2)
    edge2 = box_outline(10, 12, 2, 3, 8, 7, 2)
    assert np.all(thick[0][edge2] == RED) and np.all(thick[0][~edge2] == 40)


def test_box_formats_and_channels_first_give_the_same_pixels():
    images = np.zeros((1, 10, 12, 3), np.uint8)
    xyxy = draw_bounding_boxes(images, {"boxes": [[[2, 3, 8, 7]]], "labels": [[1]]}, "xyxy",
                               color=RED, line_thickness=1)
    # the same box as relative (y1, x1, y2, x2) and as (center x, center y, w, h)
    rel_yxyx = [[[3 / 10, 2 / 12, 7 / 10, 8 / 12]]]
    first = draw_bounding_boxes(np.transpose(images, (0, 3, 1, 2)),
                                {"boxes": rel_yxyx, "labels": [[1]]}, "rel_yxyx",
                                color=RED, line_thickness=1, data_format="channels_first")
    assert first.shape == (1, 3, 10, 12)
    np.testing.assert_array_equal(np.transpose(first, (0, 2, 3, 1)), xyxy)
    center = draw_bounding_boxes(images, {"boxes": [[[5, 5, 6, 4]]], "labels": [[1]]},
                                 "center_xywh", color=RED, line_thickness=1)
    np.testing.assert_array_equal(center, xyxy)


def test_float_images_in_0_1_are_scaled_and_labels_are_written():
    images = np.full((1, 60, 60, 3), 0.5, "float32")
    boxes = {"boxes": [[[4, 40, 56, 58]]], "labels": [[7]]}
    plain = draw_bounding_boxes(images, boxes, "xyxy", color=RED)
    np.testing.assert_array_equal(plain[0, 10, 10], [127, 127, 127])  # 0.5 * 255, truncated
    labelled = draw_bounding_boxes(images, boxes, "xyxy", color=RED, class_mapping={7: "cat"})
    text = (labelled[0] != plain[0]).any(-1)
    rows, cols = np.nonzero(text)
    # solid text in the box colour, just above the box's top-left corner
    assert len(rows) > 20 and np.all(labelled[0][text] == RED)
    assert rows.max() < 40 and rows.min() > 20 and cols.min() >= 4
    scored = draw_bounding_boxes(images, {**boxes, "confidences": [[0.9]]}, "xyxy", color=RED,
                                 class_mapping={7: "cat"})
    longer = (scored[0] != plain[0]).any(-1)
    assert np.nonzero(longer)[1].max() > cols.max()  # "cat | 0.90" is wider than "cat"


def test_draw_bounding_boxes_errors():
    images = np.zeros((1, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="draw_bounding_boxes: `images` must be a batch"):
        draw_bounding_boxes(images[0], {"boxes": [[[0, 0, 1, 1]]], "labels": [[0]]}, "xyxy")
    with pytest.raises(TypeError, match="must be a dict"):
        draw_bounding_boxes(images, [[[0, 0, 1, 1]]], "xyxy")
    with pytest.raises(ValueError, match="'boxes' and 'labels' keys"):
        draw_bounding_boxes(images, {"boxes": [[[0, 0, 1, 1]]]}, "xyxy")
    with pytest.raises(ValueError, match=r"labels of shape \(batch, num_boxes\)"):
        draw_bounding_boxes(images, {"boxes": [[[0, 0, 1, 1]]], "labels": [[0, 1]]}, "xyxy")
    with pytest.raises(ValueError, match="R, G, B"):
        draw_bounding_boxes(images, {"boxes": [[[0, 0, 1, 1]]], "labels": [[0]]}, "xyxy",
                            color=(1, 2))


# ---------------------------------------------------------------------------
# draw_segmentation_masks
# ---------------------------------------------------------------------------
MASK_ROW = [0, 1, 2, 2, -1]  # background, class 1, class 2, class 2, ignored


def test_masks_are_blended_with_alpha():
    images = np.full((1, 2, 5, 3), 100, np.uint8)
    masks = np.array([[MASK_ROW, MASK_ROW]])
    colors = {1: (255, 0, 0), 2: (0, 0, 255)}
    out = draw_segmentation_masks(images, masks, num_classes=2, color_mapping=colors,
                                  alpha=0.25)
    assert out.shape == images.shape and out.dtype == np.uint8
    expected_1 = np.trunc(100 * 0.75 + np.array(colors[1]) * 0.25)
    expected_2 = np.trunc(100 * 0.75 + np.array(colors[2]) * 0.25)
    np.testing.assert_array_equal(out[0, :, 1], [expected_1] * 2)
    np.testing.assert_array_equal(out[0, :, 2:4], [[expected_2] * 2] * 2)
    np.testing.assert_array_equal(out[0, :, [0, 4]], 100)  # background and ignore_index
    solid = draw_segmentation_masks(images, masks[..., None], num_classes=2,
                                    color_mapping=colors, blend=False)
    np.testing.assert_array_equal(solid[0, 0, 1:4], [colors[1], colors[2], colors[2]])


def test_default_palette_inferred_classes_and_channels_first():
    images = np.full((1, 1, 5, 3), 100, np.uint8)
    masks = np.array([[MASK_ROW]], "int32")
    out = draw_segmentation_masks(images, masks, blend=False)  # num_classes inferred: 2
    # Keras 3's default colours for classes 1 and 2
    np.testing.assert_array_equal(out[0, 0, 1:4], [[1, 127, 31], [2, 254, 62], [2, 254, 62]])
    first = draw_segmentation_masks(np.transpose(images, (0, 3, 1, 2)), masks[:, None],
                                    blend=False, data_format="channels_first")
    np.testing.assert_array_equal(np.transpose(first, (0, 2, 3, 1)), out)


def test_draw_segmentation_masks_errors():
    images = np.zeros((1, 2, 2, 3), np.uint8)
    with pytest.raises(TypeError, match="must hold integer classes, got dtype float32"):
        draw_segmentation_masks(images, np.zeros((1, 2, 2), "float32"))
    with pytest.raises(ValueError, match="hold class 3, but num_classes=2"):
        draw_segmentation_masks(images, np.full((1, 2, 2), 3), num_classes=2)
    with pytest.raises(ValueError, match="no colour for classes \\[2\\]"):
        draw_segmentation_masks(images, np.ones((1, 2, 2), int), num_classes=2,
                                color_mapping={1: (1, 2, 3)})
    with pytest.raises(ValueError, match="`alpha` must be in"):
        draw_segmentation_masks(images, np.ones((1, 2, 2), int), alpha=2.0)
    with pytest.raises(ValueError, match=r"must be \(batch, height, width\)"):
        draw_segmentation_masks(images, np.ones((1, 3, 2), int))


# ---------------------------------------------------------------------------
# Galleries
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pictures():
    """Six 24x24 RGB pictures in [0, 1]: coloured squares on a gradient."""
    yy, xx = np.mgrid[:24, :24] / 23.0
    images = np.zeros((6, 24, 24, 3), "float32")
    for i in range(6):
        images[i] = np.stack([xx, yy, np.full_like(xx, i / 5)], -1) * 0.6
        images[i, 6 + i:16 + i, 4:14, i % 3] = 1.0
    return images


def test_image_gallery_grid_titles_and_file(pictures, tmp_path):
    plot_image_gallery(pictures[:5], y_true=[0, 1, 2, 0, 1], y_pred=[0, 2, 2, 0, 1],
                       label_map={0: "red", 1: "green"}, value_range=(0, 1), show=False)
    fig = plt.gcf()
    try:
        axes = fig.axes
        assert len(axes) == 6  # 5 images: 3 rows x 2 columns, the last cell blank
        assert [len(ax.images) for ax in axes] == [1, 1, 1, 1, 1, 0]
        assert axes[1].get_title() == "Label: green  Pred: Unknown"
        np.testing.assert_array_equal(axes[0].images[0].get_array()[6, 4],
                                      (np.clip(pictures[0, 6, 4], 0, 1) * 255).astype("uint8"))
    finally:
        plt.close(fig)
    path = tmp_path / "gallery.png"
    plot_image_gallery(pictures[:, :, :, :1], value_range=(0, 1), path=str(path))  # grey
    assert Image.open(path).format == "PNG"


def test_box_and_mask_galleries_render(pictures, tmp_path):
    boxes = {"boxes": np.array([[[0.2, 0.1, 0.6, 0.5]]] * 4, "float32"),
             "labels": np.array([[0]] * 4)}
    pred = {"boxes": boxes["boxes"] + 0.1, "labels": boxes["labels"]}
    box_path = tmp_path / "boxes.png"
    plot_bounding_box_gallery(pictures[:4], "rel_xyxy", y_true=boxes, y_pred=pred,
                              value_range=(0, 1), class_mapping={0: "square"}, legend=True,
                              font_scale=0.5, line_thickness=1, path=str(box_path), scale=2)
    assert Image.open(box_path).size[0] > 100
    masks = np.zeros((3, 24, 24), "int32")
    for i in range(3):
        masks[i, 6 + i:16 + i, 4:14] = 1 + i % 2
    mask_path = tmp_path / "masks.png"
    plot_segmentation_mask_gallery(pictures[:3], num_classes=2, value_range=(0, 1),
                                   y_true=masks, y_pred=np.roll(masks, 2, axis=2),
                                   path=str(mask_path), dpi=40)
    assert Image.open(mask_path).format == "PNG"
    plot_segmentation_mask_gallery(pictures[:2], num_classes=2, value_range=(0, 1),
                                   y_true=masks[:2], show=False)
    fig = plt.gcf()
    try:
        assert len(fig.axes) == 4  # one row per image: the image, then with its masks
    finally:
        plt.close(fig)


def test_gallery_errors(pictures, monkeypatch):
    with pytest.raises(ValueError, match="either `path`.*or `show=True`"):
        plot_image_gallery(pictures, path="x.png", show=True)
    with pytest.raises(ValueError, match="need a `label_map`"):
        plot_image_gallery(pictures, y_true=[0] * 6)
    with pytest.raises(ValueError, match="plot_image_gallery: `images` must be a batch"):
        plot_image_gallery(pictures[0])
    with pytest.raises(ValueError, match="low < high"):
        plot_image_gallery(pictures, value_range=(1, 0))
    with pytest.raises(ValueError, match="either `legend=True` or `legend_handles`"):
        plot_bounding_box_gallery(pictures, "xyxy", legend=True, legend_handles=[object()])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_image_gallery(pictures)


def test_exported_names_match_keras():
    assert sorted(jkeras.visualization.__all__) == [
        "draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery",
        "plot_image_gallery", "plot_segmentation_mask_gallery"]
