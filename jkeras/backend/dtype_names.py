"""Canonical dtype names (`standardize_dtype`), as Keras spells them."""

from __future__ import annotations

#: The dtype names Keras accepts.
ALLOWED_DTYPES = (
    "float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
    "int32", "int64", "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2",
    "complex64", "complex128",
)

# Python types (and "int") map to JAX's default widths, as Keras does on JAX.
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string",
                  complex: "complex64", "int": "int32"}


def standardize_dtype(dtype) -> str:
    """The Keras name of `dtype`: None gives `floatx()`; a name, a numpy/JAX
    dtype or scalar type, or a Python type (`int` is "int32", `float`
    "float32", `str` "string") gives its name. Raises ValueError for anything
    that is not one of `ALLOWED_DTYPES`."""
    if dtype is None:
        from jkeras.backend.config import floatx

        return floatx()
    try:
        name = _PYTHON_DTYPES.get(dtype, dtype)
    except TypeError:  # unhashable
        name = dtype
    if not isinstance(name, str):
        if hasattr(name, "name"):  # numpy / JAX dtypes
            name = name.name
        elif hasattr(name, "dtype") and hasattr(name.dtype, "name"):  # jnp.float32 and friends
            name = name.dtype.name
        elif hasattr(name, "__name__"):  # numpy scalar types
            name = name.__name__
        else:
            name = str(name).split(".")[-1]
    if name not in ALLOWED_DTYPES:
        raise ValueError(
            f"Invalid dtype: {name}. Expected one of {', '.join(ALLOWED_DTYPES)} (or a "
            f"numpy/JAX dtype or Python type naming one)."
        )
    return name
