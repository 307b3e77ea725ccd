"""Keras 3's image preprocessing and augmentation layers, gathered from their family
modules (affine/perspective warps, other geometric, colour, pixel, mixing, histogram,
composite policies)."""

from jkeras.layers import (
    augmentation_affine,
    augmentation_color,
    augmentation_composite,
    augmentation_geometric,
    augmentation_histogram,
    augmentation_mixing,
    augmentation_pixel,
)
from jkeras.layers.augmentation_affine import *  # noqa: F403
from jkeras.layers.augmentation_base import BaseImagePreprocessingLayer  # noqa: F401
from jkeras.layers.augmentation_color import *  # noqa: F403
from jkeras.layers.augmentation_composite import *  # noqa: F403
from jkeras.layers.augmentation_geometric import *  # noqa: F403
from jkeras.layers.augmentation_histogram import *  # noqa: F403
from jkeras.layers.augmentation_mixing import *  # noqa: F403
from jkeras.layers.augmentation_pixel import *  # noqa: F403

__all__ = []
for _module in (augmentation_affine, augmentation_color, augmentation_composite,
                augmentation_geometric, augmentation_histogram, augmentation_mixing,
                augmentation_pixel):
    __all__ += _module.__all__
del _module
