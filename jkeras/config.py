"""`keras.config`: global settings (float type, epsilon, image data format)."""

from jkeras.backend.config import (  # noqa: F401
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from jkeras.backend.random import set_random_seed  # noqa: F401
from jkeras.saving.serialization import enable_unsafe_deserialization  # noqa: F401


def backend() -> str:
    return "jax"
from jkeras.ops.conv_kernels import conv_implementation, set_conv_implementation  # noqa: E402,F401
