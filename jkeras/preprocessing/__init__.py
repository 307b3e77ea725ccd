"""`keras.preprocessing`: the image/text/timeseries dataset utilities, and the
Keras 1/2 `image` and `sequence` modules."""

from jkeras.preprocessing import image, sequence
from jkeras.utils.image_dataset import image_dataset_from_directory
from jkeras.utils.text_dataset import text_dataset_from_directory
from jkeras.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
