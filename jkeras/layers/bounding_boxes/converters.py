"""Bounding box formats and geometric edits (`keras.utils.bounding_boxes`).

Boxes are arrays whose last axis holds 4 coordinates; formats ('xyxy' corners, 'yxyx',
'xywh' corner and size, 'center_xywh', 'center_yxhw', and the relative 'rel_xyxy',
'rel_yxyx', 'rel_xywh', 'rel_center_xywh', fractions of the image width and height)
are converted through 'xyxy'. Coordinates are pixel edges: a box `[0, 0, W, H]` covers
a whole `W x H` image. Every function works on numpy/jax arrays and under `jax.jit`.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from jkeras.backend.config import epsilon
from jkeras.ops.image_sampling import jit_op

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy",
                     "rel_yxyx", "rel_xywh", "rel_center_xywh")


def _split(boxes):
    return tuple(boxes[..., i:i + 1] for i in range(4))


def _join(*parts):
    return jnp.concatenate(parts, axis=-1)


def _to_xyxy(boxes, fmt: str):
    a, b, c, d = _split(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(b, a, d, c)
    if fmt == "xywh":
        return _join(a, b, a + c, b + d)
    if fmt == "center_xywh":
        return _join(a - c / 2, b - d / 2, a + c / 2, b + d / 2)
    # center_yxhw
    return _join(b - d / 2, a - c / 2, b + d / 2, a + c / 2)


def _from_xyxy(boxes, fmt: str):
    x1, y1, x2, y2 = _split(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(y1, x1, y2, x2)
    if fmt == "xywh":
        return _join(x1, y1, x2 - x1, y2 - y1)
    if fmt == "center_xywh":
        return _join((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return _join((y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1)


def check_format(fn: str, fmt, arg: str = "bounding_box_format") -> str:
    """`fmt` lower-cased, or a ValueError naming `fn` and the supported formats."""
    if not isinstance(fmt, str) or fmt.lower() not in SUPPORTED_FORMATS:
        raise ValueError(f"{fn}: `{arg}` must be one of {SUPPORTED_FORMATS}, got {fmt!r}.")
    return fmt.lower()


def _scale(height, width, dtype):
    """The multiplier (width, height, width, height) taking 'rel_xyxy' to 'xyxy'.
    `height` and `width` are numbers, or arrays (one size per image) that broadcast
    against the boxes' leading axes, with or without Keras's trailing axis of 1."""
    w, h = jnp.asarray(width, dtype), jnp.asarray(height, dtype)
    shape = jnp.broadcast_shapes(w.shape, h.shape)
    if shape and shape[-1] != 1:
        shape = shape + (1,)
    w, h = jnp.broadcast_to(w.reshape(w.shape + (1,) * (len(shape) - w.ndim)), shape), \
        jnp.broadcast_to(h.reshape(h.shape + (1,) * (len(shape) - h.ndim)), shape)
    return jnp.concatenate([w, h, w, h], axis=-1) if shape else jnp.stack([w, h, w, h])


def convert_format(boxes, source: str, target: str, height=None, width=None,
                   dtype="float32"):
    """`boxes` (an array, or a dict whose 'boxes' entry is converted; other entries are
    kept) from format `source` to `target`, as `dtype`. Relative formats need the image
    `height` and `width` unless both formats are relative."""
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height,
                                                 width, dtype)}
    source = check_format("convert_format", source, "source")
    target = check_format("convert_format", target, "target")
    boxes = jnp.asarray(boxes)
    if boxes.shape[-1:] != (4,):
        raise ValueError(f"convert_format: `boxes` must have a last axis of 4 coordinates, "
                         f"got shape {boxes.shape}.")
    boxes = boxes.astype(dtype)
    src_rel, dst_rel = source.startswith("rel_"), target.startswith("rel_")
    source, target = source.removeprefix("rel_"), target.removeprefix("rel_")
    if src_rel != dst_rel and (height is None or width is None):
        raise ValueError(
            f"convert_format: converting between relative and absolute formats "
            f"({'rel_' * src_rel}{source} -> {'rel_' * dst_rel}{target}) needs the image "
            f"`height` and `width`; got height={height}, width={width}."
        )
    xyxy = _to_xyxy(boxes, source)
    if src_rel and not dst_rel:
        xyxy = xyxy * _scale(height, width, boxes.dtype)
    elif dst_rel and not src_rel:
        xyxy = xyxy / _scale(height, width, boxes.dtype)
    return _from_xyxy(xyxy, target)


def _area(xyxy):
    return (xyxy[..., 2] - xyxy[..., 0]) * (xyxy[..., 3] - xyxy[..., 1])


def clip_to_image_size(bounding_boxes: dict, height=None, width=None,
                       bounding_box_format: str = "xyxy") -> dict:
    """A copy of `bounding_boxes` ({'boxes': ..., 'labels': ...}) with the boxes clipped
    to the image (`height` x `width`; [0, 1] for relative formats) and the labels of boxes
    left with no area set to -1."""
    fmt = check_format("clip_to_image_size", bounding_box_format)
    rel = fmt.startswith("rel_")
    if not rel and (height is None or width is None):
        raise ValueError(f"clip_to_image_size: `height` and `width` are needed for the "
                         f"absolute format {fmt!r}; got height={height}, width={width}.")
    boxes = jnp.asarray(bounding_boxes["boxes"])
    dtype = boxes.dtype if jnp.issubdtype(boxes.dtype, jnp.floating) else jnp.float32
    xyxy = convert_format(boxes, fmt, "rel_xyxy" if rel else "xyxy", dtype=dtype)
    upper = jnp.ones((4,), dtype) if rel else _scale(height, width, dtype)
    xyxy = jnp.clip(xyxy, 0, upper)
    out = dict(bounding_boxes)
    out["boxes"] = convert_format(xyxy, "rel_xyxy" if rel else "xyxy", fmt, dtype=dtype)
    if bounding_boxes.get("labels") is not None:
        labels = jnp.asarray(bounding_boxes["labels"])
        keep = _area(xyxy) > 0
        keep = keep.reshape(keep.shape + (1,) * (labels.ndim - keep.ndim))
        out["labels"] = jnp.where(keep, labels, jnp.asarray(-1, labels.dtype))
    return out


def _require_xyxy(fn: str, fmt) -> None:
    if check_format(fn, fmt) != "xyxy":
        raise ValueError(f"{fn}: only bounding_box_format='xyxy' is supported; convert the "
                         f"boxes with convert_format first (got {fmt!r}).")


def crop(boxes, top, left, height, width, bounding_box_format: str = "xyxy"):
    """'xyxy' boxes in the frame of the `height` x `width` window at (`top`, `left`):
    shifted by (-left, -top) and clipped to the window."""
    _require_xyxy("crop", bounding_box_format)
    boxes = jnp.asarray(boxes)
    shift = _join(*(jnp.asarray(v, boxes.dtype).reshape(jnp.shape(v) + (1,))
                    for v in (left, top, left, top)))
    return jnp.clip(boxes - shift, 0, _scale(height, width, boxes.dtype))


def pad(boxes, top, left, height=None, width=None, bounding_box_format: str = "xyxy"):
    """'xyxy' boxes of an image padded by `top` rows and `left` columns: shifted by
    (left, top). (`height`/`width`, the padded size, are accepted as Keras does.)"""
    _require_xyxy("pad", bounding_box_format)
    boxes = jnp.asarray(boxes)
    shift = _join(*(jnp.asarray(v, boxes.dtype).reshape(jnp.shape(v) + (1,))
                    for v in (left, top, left, top)))
    return boxes + shift


def _batch_vector(v, batch: int, dtype):
    return jnp.broadcast_to(jnp.asarray(v, dtype).reshape(-1), (batch,))


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                     width, center_x=None, center_y=None, bounding_box_format: str = "xyxy"):
    """'xyxy' boxes (batch, boxes, 4) after moving each image of the batch: rotation by
    `angle` degrees (clockwise on screen), `scale`, shears `shear_x`/`shear_y` (degrees),
    all about the centre (`center_x`, `center_y`, fractions of the size; default 0.5),
    then a translation by `translate_x`/`translate_y` fractions of the size. Each
    parameter is one value per image (batch,). Returns the boxes enclosing the moved
    corners (not clipped)."""
    _require_xyxy("affine_transform", bounding_box_format)
    boxes = jnp.asarray(boxes)
    dtype = boxes.dtype if jnp.issubdtype(boxes.dtype, jnp.floating) else jnp.float32
    boxes = boxes.astype(dtype)
    batch = boxes.shape[0]
    vec = lambda v: _batch_vector(v, batch, dtype)  # noqa: E731
    rad = math.pi / 180
    theta = vec(angle) * rad
    tan_x, tan_y = jnp.tan(vec(shear_x) * rad), jnp.tan(vec(shear_y) * rad)
    s = vec(scale)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    zero, one = jnp.zeros_like(s), jnp.ones_like(s)

    def mat(rows):
        return jnp.stack([jnp.stack(r, -1) for r in rows], -2)

    w1, h1 = jnp.asarray(width, dtype) - 1, jnp.asarray(height, dtype) - 1
    cx = (0.5 if center_x is None else vec(center_x)) * w1
    cy = (0.5 if center_y is None else vec(center_y)) * h1
    cx, cy = cx * one, cy * one
    # Rotation, then the shears (as Keras applies each of them), scaled; Keras 3 mixes
    # the terms of a rotation combined with a shear, which cannot be any motion.
    linear = (mat([[one, tan_x], [zero, one]]) @ mat([[one, zero], [tan_y, one]])
              @ mat([[cos, sin], [-sin, cos]])) * s[:, None, None]
    center = jnp.stack([cx, cy], -1)
    offset = center + jnp.stack([vec(translate_x) * w1, vec(translate_y) * h1], -1)
    corners = corner_points(boxes)  # (batch, boxes, 4, 2)
    moved = jnp.einsum("bij,bnkj->bnki", linear, corners - center[:, None, None]) \
        + offset[:, None, None]
    return envelope(moved)


def corner_points(boxes):
    """The 4 corners (x, y) of 'xyxy' boxes: shape boxes.shape[:-1] + (4, 2)."""
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    xs = jnp.stack([x1, x2, x1, x2], -1)
    ys = jnp.stack([y1, y1, y2, y2], -1)
    return jnp.stack([xs, ys], -1)


def envelope(points):
    """The 'xyxy' boxes enclosing points (..., k, 2)."""
    return jnp.concatenate([jnp.min(points, axis=-2), jnp.max(points, axis=-2)], axis=-1)


def _image_size(image_shape):
    if image_shape is None:
        return None, None
    height, width = image_shape[0], image_shape[1]
    return height, width


def _check_variance(fn: str, variance):
    if variance is None:
        return None
    variance = jnp.asarray(variance, jnp.float32)
    if variance.shape[-1:] != (4,):
        raise ValueError(f"{fn}: `variance` must hold 4 values, got shape {variance.shape}.")
    return variance


def _check_encoding(fn: str, arg: str, fmt) -> None:
    if fmt not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"{fn}: `{arg}` must be 'center_xywh' or 'center_yxhw', got {fmt!r}.")


def encode_box_to_deltas(anchors, boxes, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance=None,
                         image_shape=None):
    """Regression targets of `boxes` relative to `anchors` (same leading shape): centre
    offsets divided by the anchor size and log size ratios, in `encoding_format` order,
    divided by `variance` (4 values) when given. `image_shape` (height, width, ...) is
    needed for relative formats."""
    variance = _check_variance("encode_box_to_deltas", variance)
    _check_encoding("encode_box_to_deltas", "encoding_format", encoding_format)
    height, width = _image_size(image_shape)
    a = convert_format(anchors, anchor_format, encoding_format, height, width)
    b = convert_format(boxes, box_format, encoding_format, height, width)
    a_size = jnp.maximum(a[..., 2:], epsilon())
    b_size = jnp.maximum(b[..., 2:], epsilon())
    deltas = jnp.concatenate([(b[..., :2] - a[..., :2]) / a_size, jnp.log(b_size / a_size)],
                             axis=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance=None,
                           image_shape=None):
    """Inverse of `encode_box_to_deltas`: boxes in `box_format` from `anchors` and their
    deltas. `anchors` and `boxes_delta` may be dicts of feature levels (decoded each)."""
    variance = _check_variance("decode_deltas_to_boxes", variance)
    _check_encoding("decode_deltas_to_boxes", "encoded_format", encoded_format)
    height, width = _image_size(image_shape)

    def decode(anchor, delta):
        a = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = jnp.asarray(delta, a.dtype)
        if variance is not None:
            delta = delta * variance
        box = jnp.concatenate([delta[..., :2] * a[..., 2:] + a[..., :2],
                               jnp.exp(delta[..., 2:]) * a[..., 2:]], axis=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def warp_boxes(boxes, transform):
    """'xyxy' boxes (batch, boxes, 4) of images resampled by projective transforms
    (batch, 8) as `ops.image.affine_transform` takes them (output pixel -> input point):
    the boxes enclosing the corners moved by the inverse map. Pixel centres are at
    half-integer box coordinates, so a box covering whole pixels maps onto the pixels
    the warp moves them to."""
    boxes = jnp.asarray(boxes)
    t = jnp.asarray(transform, boxes.dtype).reshape(-1, 8)
    t = jnp.broadcast_to(t, (boxes.shape[0], 8))
    forward = jnp.linalg.inv(jnp.concatenate([t, jnp.ones_like(t[:, :1])], -1)
                             .reshape(-1, 3, 3))
    points = corner_points(boxes) - 0.5
    points = jnp.concatenate([points, jnp.ones_like(points[..., :1])], -1)
    moved = jnp.einsum("bij,bnkj->bnki", forward, points)
    return envelope(moved[..., :2] / moved[..., 2:] + 0.5)


# Each public function runs as one compiled program per signature and configuration.
convert_format = jit_op(convert_format, "source", "target", "dtype")
clip_to_image_size = jit_op(clip_to_image_size, "bounding_box_format")
crop = jit_op(crop, "bounding_box_format")
pad = jit_op(pad, "bounding_box_format")
affine_transform = jit_op(affine_transform, "bounding_box_format")
encode_box_to_deltas = jit_op(encode_box_to_deltas, "anchor_format", "box_format",
                              "encoding_format", "image_shape")
decode_deltas_to_boxes = jit_op(decode_deltas_to_boxes, "anchor_format", "box_format",
                                "encoded_format", "image_shape")
