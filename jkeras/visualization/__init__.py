"""Drawing boxes and masks on images, and image galleries (Keras 3's
`keras.visualization`). Drawing needs only numpy and Pillow; the galleries need
matplotlib, imported when one is plotted."""

from jkeras.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks
from jkeras.visualization.galleries import (
    plot_bounding_box_gallery,
    plot_image_gallery,
    plot_segmentation_mask_gallery,
)

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery",
           "plot_image_gallery", "plot_segmentation_mask_gallery"]
