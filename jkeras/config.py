"""`keras.config`: global settings (float type, epsilon, image data format, dtype
policy, logging, attention kernels, traceback filtering, debugging caps)."""

from jkeras.backend.config import (  # noqa: F401
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from jkeras.backend.dtype_policy import global_policy as dtype_policy  # noqa: F401
from jkeras.backend.dtype_policy import set_global_policy as set_dtype_policy  # noqa: F401
from jkeras.backend.global_flags import (  # noqa: F401
    disable_flash_attention,
    disable_traceback_filtering,
    enable_flash_attention,
    enable_traceback_filtering,
    is_flash_attention_enabled,
    is_traceback_filtering_enabled,
    max_epochs,
    max_steps_per_epoch,
    set_max_epochs,
    set_max_steps_per_epoch,
)
from jkeras.backend.interactive_logging import (  # noqa: F401
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from jkeras.backend.random import set_random_seed  # noqa: F401
from jkeras.ops.conv_kernels import conv_implementation, set_conv_implementation  # noqa: F401
from jkeras.saving.serialization import enable_unsafe_deserialization  # noqa: F401


def backend() -> str:
    """The compute backend: always 'jax'."""
    return "jax"


def set_backend(backend: str) -> None:
    """Keras 3 switches between backends; jkeras runs on JAX only, so 'jax' is
    accepted and anything else is refused."""
    if str(backend).lower() != "jax":
        raise ValueError(
            f"set_backend({backend!r}): jkeras computes with JAX only. Use 'jax' (the "
            f"default), or run this code with Keras 3 for the {backend!r} backend."
        )


def is_nnx_enabled() -> bool:
    """Keras's Flax NNX integration: not used by jkeras (always False)."""
    return False
