"""Overlap measures of bounding boxes: pairwise IoU and elementwise complete IoU."""

from __future__ import annotations

import math

import jax.numpy as jnp

from jkeras.backend.config import epsilon
from jkeras.layers.bounding_boxes.converters import check_format, convert_format
from jkeras.ops.image_sampling import jit_op


def _as_xyxy(fn: str, boxes, fmt: str, image_shape):
    fmt = check_format(fn, fmt)
    if fmt.startswith("rel_") and image_shape is None:
        raise ValueError(f"{fn}: relative formats such as {fmt!r} need `image_shape` "
                         f"(height, width, channels).")
    height, width = (None, None) if image_shape is None else image_shape[:2]
    return convert_format(boxes, fmt, "xyxy", height, width)


def compute_iou(boxes1, boxes2, bounding_box_format: str, use_masking: bool = False,
                mask_val=-1, image_shape=None):
    """Intersection over union of every box of `boxes1` (N, 4) with every box of
    `boxes2` (M, 4): shape (N, M), or (batch, N, M) when either is batched. With
    `use_masking`, pairs involving a padding box (all coordinates negative) get
    `mask_val`."""
    b1 = _as_xyxy("compute_iou", boxes1, bounding_box_format, image_shape)
    b2 = _as_xyxy("compute_iou", boxes2, bounding_box_format, image_shape)
    for name, b in (("boxes1", b1), ("boxes2", b2)):
        if b.ndim not in (2, 3):
            raise ValueError(f"compute_iou: `{name}` must have shape (boxes, 4) or (batch, "
                             f"boxes, 4), got {b.shape}.")
    p, q = b1[..., :, None, :], b2[..., None, :, :]
    inter_w = jnp.maximum(jnp.minimum(p[..., 2], q[..., 2]) - jnp.maximum(p[..., 0], q[..., 0]),
                          0)
    inter_h = jnp.maximum(jnp.minimum(p[..., 3], q[..., 3]) - jnp.maximum(p[..., 1], q[..., 1]),
                          0)
    inter = inter_w * inter_h
    area1 = (p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1])
    area2 = (q[..., 2] - q[..., 0]) * (q[..., 3] - q[..., 1])
    iou = inter / (area1 + area2 - inter + epsilon())
    if not use_masking:
        return iou
    padding = (jnp.max(b1, axis=-1) < 0)[..., :, None] | (jnp.max(b2, axis=-1) < 0)[..., None, :]
    return jnp.where(padding, jnp.asarray(mask_val, iou.dtype), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format: str, image_shape=None):
    """Complete IoU of matching boxes (same shape (..., 4)): IoU minus the squared
    centre distance over the squared diagonal of the enclosing box, minus the aspect
    ratio consistency term `alpha * v`. Shape: the boxes' leading axes."""
    b1 = _as_xyxy("compute_ciou", boxes1, bounding_box_format, image_shape)
    b2 = _as_xyxy("compute_ciou", boxes2, bounding_box_format, image_shape)
    eps = epsilon()
    x1a, y1a, x2a, y2a = (b1[..., i] for i in range(4))
    x1b, y1b, x2b, y2b = (b2[..., i] for i in range(4))
    wa, ha = x2a - x1a, y2a - y1a + eps
    wb, hb = x2b - x1b, y2b - y1b + eps
    inter = (jnp.maximum(jnp.minimum(x2a, x2b) - jnp.maximum(x1a, x1b), 0)
             * jnp.maximum(jnp.minimum(y2a, y2b) - jnp.maximum(y1a, y1b), 0))
    union = wa * ha + wb * hb - inter + eps
    iou = inter / (union + eps)
    diagonal = ((jnp.maximum(x2a, x2b) - jnp.minimum(x1a, x1b)) ** 2
                + (jnp.maximum(y2a, y2b) - jnp.minimum(y1a, y1b)) ** 2 + eps)
    centres = ((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + ((y1a + y2a) / 2 - (y1b + y2b) / 2) ** 2
    v = 4 / math.pi ** 2 * (jnp.arctan(wb / hb) - jnp.arctan(wa / ha)) ** 2
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres / diagonal + v * alpha)


compute_iou = jit_op(compute_iou, "bounding_box_format", "use_masking", "image_shape")
compute_ciou = jit_op(compute_ciou, "bounding_box_format", "image_shape")
