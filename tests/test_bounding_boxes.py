"""keras.utils.bounding_boxes: format conversions, clipping, crop/pad, affine motion,
anchor deltas and IoU against hand-computed values."""

import numpy as np
import pytest

import jkeras
from jkeras.utils import bounding_boxes as bb

XYXY = np.array([[1.0, 2.0, 5.0, 8.0], [0.0, 0.0, 4.0, 4.0]], "float32")  # on a 10x20 image
EXPECTED = {
    "xyxy": XYXY,
    "yxyx": [[2, 1, 8, 5], [0, 0, 4, 4]],
    "xywh": [[1, 2, 4, 6], [0, 0, 4, 4]],
    "center_xywh": [[3, 5, 4, 6], [2, 2, 4, 4]],
    "center_yxhw": [[5, 3, 6, 4], [2, 2, 4, 4]],
    "rel_xyxy": [[0.05, 0.2, 0.25, 0.8], [0, 0, 0.2, 0.4]],
    "rel_yxyx": [[0.2, 0.05, 0.8, 0.25], [0, 0, 0.4, 0.2]],
    "rel_xywh": [[0.05, 0.2, 0.2, 0.6], [0, 0, 0.2, 0.4]],
    "rel_center_xywh": [[0.15, 0.5, 0.2, 0.6], [0.1, 0.2, 0.2, 0.4]],
}


def test_public_names():
    assert sorted(bb.__all__) == sorted(
        "affine_transform clip_to_image_size compute_ciou compute_iou convert_format crop "
        "decode_deltas_to_boxes encode_box_to_deltas pad".split())
    assert jkeras.utils.bounding_boxes is bb


def test_convert_format_every_format_both_ways():
    for fmt, expected in EXPECTED.items():
        out = bb.convert_format(XYXY, "xyxy", fmt, height=10, width=20)
        np.testing.assert_allclose(out, expected, atol=1e-6, err_msg=fmt)
        back = bb.convert_format(np.asarray(expected, "float32"), fmt, "xyxy", height=10,
                                 width=20)
        np.testing.assert_allclose(back, XYXY, atol=1e-5, err_msg=fmt)
    # relative to relative needs no image size; dicts convert their 'boxes'
    np.testing.assert_allclose(bb.convert_format(EXPECTED["rel_xyxy"], "rel_xyxy", "rel_yxyx"),
                               EXPECTED["rel_yxyx"], atol=1e-6)
    d = bb.convert_format({"boxes": XYXY, "labels": np.array([3, 4])}, "xyxy", "xywh")
    np.testing.assert_array_equal(d["labels"], [3, 4])
    with pytest.raises(ValueError, match="height"):
        bb.convert_format(XYXY, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="source"):
        bb.convert_format(XYXY, "xxyy", "xyxy")
    with pytest.raises(ValueError, match="last axis of 4"):
        bb.convert_format(XYXY[:, :3], "xyxy", "yxyx")


def test_clip_crop_and_pad():
    boxes = {"boxes": np.array([[[-2, 1, 12, 5], [21, 9, 25, 12]]], "float32"),
             "labels": np.array([[1, 2]], "int32")}
    clipped = bb.clip_to_image_size(boxes, height=10, width=20)
    np.testing.assert_allclose(clipped["boxes"], [[[0, 1, 12, 5], [20, 9, 20, 10]]])
    np.testing.assert_array_equal(clipped["labels"], [[1, -1]])  # no area left: label -1
    rel = bb.clip_to_image_size({"boxes": np.array([[-0.1, 0.5, 0.5, 1.5]], "float32")},
                                bounding_box_format="rel_xyxy")
    np.testing.assert_allclose(rel["boxes"], [[0, 0.5, 0.5, 1.0]], atol=1e-6)
    cropped = bb.crop(XYXY, top=1, left=2, height=5, width=2)
    np.testing.assert_allclose(cropped, [[0, 1, 2, 5], [0, 0, 2, 3]])
    np.testing.assert_allclose(bb.pad(XYXY, top=3, left=1), XYXY + [1, 3, 1, 3])
    with pytest.raises(ValueError, match="only bounding_box_format='xyxy'"):
        bb.pad(XYXY, 1, 1, bounding_box_format="yxyx")


def test_affine_transform_rotation_translation_scale_shear():
    boxes = np.array([[[1.0, 2.0, 4.0, 6.0]]], "float32")  # image 8 high, 10 wide

    def move(**kw):
        args = dict(angle=0.0, translate_x=0.0, translate_y=0.0, scale=1.0, shear_x=0.0,
                    shear_y=0.0)
        args.update(kw)
        args = {k: np.array([v], "float32") for k, v in args.items()}
        return np.asarray(bb.affine_transform(boxes, height=8, width=10, **args))[0, 0]

    # about the centre (4.5, 3.5): 90 degrees maps (x, y) to (cx + (y - cy), cy - (x - cx))
    np.testing.assert_allclose(move(angle=90.0), [3, 4, 7, 7], atol=1e-5)
    np.testing.assert_allclose(move(translate_x=0.5), [5.5, 2, 8.5, 6], atol=1e-6)
    np.testing.assert_allclose(move(scale=2.0), [-2.5, 0.5, 3.5, 8.5], atol=1e-6)
    t = np.tan(np.radians(10))  # x moves by tan(shear) * (y - cy)
    np.testing.assert_allclose(move(shear_x=10.0), [1 - 1.5 * t, 2, 4 + 2.5 * t, 6], atol=1e-5)


def test_compute_iou_and_ciou():
    a = np.array([[0, 0, 4, 4], [2, 2, 6, 8]], "float32")
    b = np.array([[1, 1, 5, 5], [0, 0, 2, 2], [10, 10, 12, 12]], "float32")
    iou = np.asarray(bb.compute_iou(a, b, "xyxy"))
    np.testing.assert_allclose(iou, [[9 / 23, 4 / 16, 0], [9 / 31, 0, 0]], rtol=1e-5)
    batched = bb.compute_iou(a[None], b[None], "xyxy")
    assert batched.shape == (1, 2, 3)
    masked = bb.compute_iou(a, np.concatenate([b, -np.ones((1, 4), "float32")]), "xyxy",
                            use_masking=True, mask_val=-7)
    np.testing.assert_allclose(np.asarray(masked)[:, 3], [-7, -7])
    yxyx = bb.convert_format(a, "xyxy", "yxyx")
    np.testing.assert_allclose(bb.compute_iou(yxyx, yxyx, "yxyx").diagonal(), [1, 1], atol=1e-6)
    ciou = np.asarray(bb.compute_ciou(a, a, "xyxy"))
    np.testing.assert_allclose(ciou, [1, 1], atol=1e-5)
    far = np.asarray(bb.compute_ciou(a[:1], b[2:], "xyxy"))
    assert far.shape == (1,) and far[0] < 0  # no overlap and distant centres
    with pytest.raises(ValueError, match="image_shape"):
        bb.compute_iou(a, b, "rel_xyxy")


def test_box_deltas_round_trip():
    anchors = np.array([[0, 0, 4, 4], [2, 2, 6, 8]], "float32")
    boxes = np.array([[1, 1, 5, 5], [0, 0, 2, 2]], "float32")
    deltas = np.asarray(bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy"))
    # center_yxhw: (dy / h, dx / w, log(h / ha), log(w / wa)); the first box is a shift
    np.testing.assert_allclose(deltas[0], [0.25, 0.25, 0, 0], atol=1e-6)
    scaled = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy",
                                     variance=[0.1, 0.1, 0.2, 0.2])
    np.testing.assert_allclose(scaled, deltas / [0.1, 0.1, 0.2, 0.2], rtol=1e-5)
    back = bb.decode_deltas_to_boxes(anchors, scaled, "xyxy", "xyxy",
                                     variance=[0.1, 0.1, 0.2, 0.2])
    np.testing.assert_allclose(back, boxes, atol=1e-5)
    levels = bb.decode_deltas_to_boxes({"p3": anchors}, {"p3": deltas}, "xyxy", "xyxy")
    np.testing.assert_allclose(levels["p3"], boxes, atol=1e-5)
    with pytest.raises(ValueError, match="variance"):
        bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", variance=[1, 1])
    with pytest.raises(ValueError, match="encoding_format"):
        bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", encoding_format="xyxy")
