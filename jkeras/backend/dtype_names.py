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


def is_float_dtype(dtype) -> bool:
    """Whether `dtype` (any spelling `standardize_dtype` accepts) is a float type."""
    name = standardize_dtype(dtype)
    return name.startswith("float") or name == "bfloat16"


def is_int_dtype(dtype) -> bool:
    """Whether `dtype` is a signed or unsigned integer type."""
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


_TO_32 = {"int64": "int32", "uint64": "uint32", "float64": "float32",
          "complex128": "complex64"}


def result_type(*dtypes) -> str:
    """The dtype of an operation on values of these dtypes, with Keras 3's rules
    on JAX: JAX's promotion, Python scalars (`int`, `float`, `bool`, `complex`)
    weakly typed, 64-bit types given as their 32-bit forms (JAX computes in 32
    bits unless x64 is enabled); no dtypes gives `floatx()`."""
    import jax.numpy as jnp

    from jkeras.backend.config import floatx

    if not dtypes:
        return floatx()
    weak = [d for d in dtypes if d in (bool, int, float, complex)]
    strong = [standardize_dtype(d) for d in dtypes if d not in (bool, int, float, complex)]
    strong = [d for d in strong if d != "string"]
    if strong:
        out = strong[0]
        for d in strong[1:]:
            out = jnp.promote_types(out, d).name
    else:
        out = {bool: "bool", int: "int32", float: floatx(), complex: "complex64"}[
            max(weak, key=[bool, int, float, complex].index)]
        weak = []
    kind = jnp.dtype(out).kind
    for w in weak:
        if w is complex and kind != "c":
            out = "complex64"
        elif w is float and kind in "biu":
            out = floatx()
        elif w is int and kind == "b":
            out = "int32"
        kind = jnp.dtype(out).kind
    return _TO_32.get(out, out)
