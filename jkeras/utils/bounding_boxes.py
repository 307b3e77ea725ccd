"""`keras.utils.bounding_boxes`: box format conversion, clipping, cropping, padding,
affine motion, anchor deltas and IoU (implemented beside the image layers that use
them, in `jkeras.layers.bounding_boxes`)."""

from jkeras.layers.bounding_boxes import *  # noqa: F401,F403
from jkeras.layers.bounding_boxes import __all__  # noqa: F401
