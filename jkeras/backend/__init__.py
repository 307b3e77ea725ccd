"""Backend: configuration, dtypes, random keys, stateless scope and KerasTensor."""

from jkeras.backend.config import (
    epsilon,
    floatx,
    image_data_format,
    image_dim_ordering,
    set_epsilon,
    set_floatx,
    set_image_data_format,
    set_image_dim_ordering,
    standardize_data_format,
)
from jkeras.backend.dtype_names import (
    is_float_dtype,
    is_int_dtype,
    result_type,
    standardize_dtype,
)
from jkeras.backend.naming import get_uid

# Names whose modules import JAX load on first use, so that importing this package (which
# `import jkeras` does, to tune XLA before JAX starts) stays free of JAX.
_LAZY = {"KerasTensor": "jkeras.backend.keras_tensor",
         "is_keras_tensor": "jkeras.backend.keras_tensor",
         "set_random_seed": "jkeras.backend.random"}


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    # Keras 1/2 `K.function` / `K.learning_phase` build models, so they live in the
    # engine (a layer above this package) and are imported when first asked for.
    if name in ("function", "learning_phase"):
        from jkeras.engine import backend_function

        return getattr(backend_function, name)
    raise AttributeError(f"module 'jkeras.backend' has no attribute '{name}'")


def backend() -> str:
    """The name of the compute backend: always 'jax'."""
    return "jax"


def clear_session(free_memory: bool = True) -> None:
    """Resets default layer names (dense, dense_1, ...) and `get_uid` counters;
    with `free_memory`, also runs Python's garbage collector."""
    from jkeras.backend import naming

    naming.reset()
    if free_memory:
        import gc

        gc.collect()


def int_shape(x):
    """Static shape of a tensor or KerasTensor as a tuple."""
    return tuple(x.shape)


def count_params(x) -> int:
    import numpy as np

    return int(np.prod(x.shape))


__all__ = [
    "KerasTensor",
    "get_uid",
    "is_float_dtype",
    "is_int_dtype",
    "result_type",
    "standardize_dtype",
    "backend",
    "clear_session",
    "count_params",
    "epsilon",
    "floatx",
    "function",
    "image_data_format",
    "image_dim_ordering",
    "int_shape",
    "is_keras_tensor",
    "learning_phase",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_image_dim_ordering",
    "set_random_seed",
    "standardize_data_format",
]
