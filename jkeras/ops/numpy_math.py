"""Element-wise numpy-style ops: unary math, binary arithmetic, comparisons,
logical and bitwise ops, with Keras 3's argument names and result dtypes."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras.backend import config
from jkeras.ops.numpy_base import (
    binary_op,
    floating,
    floating_pair,
    is_inexact,
    keras_op,
    tensor,
    unary_op,
)

# Transcendental functions: integer and bool inputs are computed in floatx.
_FLOAT_UNARY = {
    "arccos": jnp.arccos, "arccosh": jnp.arccosh, "arcsin": jnp.arcsin,
    "arcsinh": jnp.arcsinh, "arctan": jnp.arctan, "arctanh": jnp.arctanh,
    "cos": jnp.cos, "cosh": jnp.cosh, "sin": jnp.sin, "sinh": jnp.sinh, "tan": jnp.tan,
    "tanh": jnp.tanh, "sinc": jnp.sinc, "ceil": jnp.ceil, "floor": jnp.floor,
    "exp": jnp.exp, "exp2": jnp.exp2, "expm1": jnp.expm1, "angle": jnp.angle,
}
# Functions whose jax.numpy dtype behaviour is Keras's.
_PLAIN_UNARY = {
    "absolute": jnp.absolute, "cbrt": jnp.cbrt, "conjugate": jnp.conjugate,
    "deg2rad": jnp.deg2rad, "rad2deg": jnp.rad2deg, "imag": jnp.imag,
    "real": jnp.real, "isfinite": jnp.isfinite, "isinf": jnp.isinf, "isnan": jnp.isnan,
    "isneginf": jnp.isneginf, "isposinf": jnp.isposinf, "isreal": jnp.isreal,
    "log": jnp.log, "log10": jnp.log10, "log1p": jnp.log1p, "log2": jnp.log2,
    "negative": jnp.negative, "reciprocal": jnp.reciprocal, "sign": jnp.sign,
    "signbit": jnp.signbit, "square": jnp.square, "sqrt": jnp.sqrt,
    "logical_not": jnp.logical_not, "bitwise_invert": jnp.invert,
    # Keras aliases, separate ops (own graph-node class names) as in Keras.
    "abs": jnp.absolute, "conj": jnp.conjugate, "bitwise_not": jnp.invert,
}
_g = globals()
for _name, _fn in _FLOAT_UNARY.items():
    _g[_name] = unary_op(_name, _fn, floating, f"Element-wise `{_name}`; integer and bool "
                                                 f"inputs are computed in floatx.")
for _name, _fn in _PLAIN_UNARY.items():
    _g[_name] = unary_op(_name, _fn)


@keras_op
def positive(x):
    """`+x` (a copy of `x`)."""
    return jnp.positive(tensor(x))


@keras_op
def fabs(x):
    """Element-wise absolute value as a float; complex inputs are a TypeError."""
    x = tensor(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"ops.fabs does not accept complex inputs; received dtype {x.dtype}. "
                        f"Use ops.abs for the complex modulus.")
    return jnp.fabs(x)


@keras_op
def i0(x):
    """Modified Bessel function of the first kind, order 0. float16/bfloat16 inputs
    keep their dtype; everything else is computed in floatx."""
    x = tensor(x)
    if x.dtype not in (jnp.float16, jnp.bfloat16):
        x = x.astype(config.floatx())
    return jnp.i0(x)


@keras_op
def trunc(x):
    """Rounds towards zero; integer and bool inputs are returned unchanged."""
    x = tensor(x)
    return jnp.trunc(x) if is_inexact(x.dtype) else x


@keras_op
def round(x, decimals=0):  # noqa: A001 - Keras's name
    """Rounds half to even to `decimals` digits (negative: to tens, hundreds, ...);
    integer inputs keep their dtype."""
    x = tensor(x)
    if decimals < 0 and not is_inexact(x.dtype):
        factor = jnp.asarray(10.0**decimals, config.floatx())
        scaled = jnp.round(x.astype(config.floatx()) * factor)
        return (scaled / factor).astype(x.dtype)
    return jnp.round(x, decimals=decimals)


around = round


@keras_op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN by `nan` and infinities by `posinf`/`neginf` (default: the
    dtype's largest/smallest finite values)."""
    return jnp.nan_to_num(tensor(x), nan=nan, posinf=posinf, neginf=neginf)


@keras_op
def clip(x, x_min, x_max):
    """Limits values to [x_min, x_max]; bool inputs are clipped as int32."""
    x = tensor(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, x_min, x_max)


_PLAIN_BINARY = {
    "add": jnp.add, "subtract": jnp.subtract, "multiply": jnp.multiply,
    "divide": jnp.divide, "true_divide": jnp.divide, "floor_divide": jnp.floor_divide,
    "mod": jnp.mod, "fmod": jnp.fmod,
    "power": jnp.power, "maximum": jnp.maximum, "minimum": jnp.minimum, "fmax": jnp.fmax,
    "fmin": jnp.fmin, "hypot": jnp.hypot, "heaviside": jnp.heaviside,
    "nextafter": jnp.nextafter, "equal": jnp.equal, "not_equal": jnp.not_equal,
    "less": jnp.less, "less_equal": jnp.less_equal, "greater": jnp.greater,
    "greater_equal": jnp.greater_equal, "logical_and": jnp.logical_and,
    "logical_or": jnp.logical_or, "logical_xor": jnp.logical_xor, "gcd": jnp.gcd,
    "lcm": jnp.lcm,
}
# Integer and bool inputs are computed in floatx.
_FLOAT_BINARY = {"arctan2": jnp.arctan2, "logaddexp": jnp.logaddexp,
                 "logaddexp2": jnp.logaddexp2}
_BITWISE = {"bitwise_and": jnp.bitwise_and, "bitwise_or": jnp.bitwise_or,
            "bitwise_xor": jnp.bitwise_xor}
_SHIFTS = {"bitwise_left_shift": jnp.left_shift, "left_shift": jnp.left_shift,
           "bitwise_right_shift": jnp.right_shift, "right_shift": jnp.right_shift}


def _shift_operands(x, y):
    # A Python int shift stays weakly typed, so uint8 << 2 stays uint8.
    return tensor(x), (y if isinstance(y, int) else tensor(y))


for _name, _fn in _PLAIN_BINARY.items():
    _g[_name] = binary_op(_name, _fn)
for _name, _fn in _FLOAT_BINARY.items():
    _g[_name] = binary_op(_name, _fn, floating_pair, f"Element-wise `{_name}`; integer and "
                                                       f"bool inputs are computed in floatx.")
for _name, _fn in _BITWISE.items():
    _g[_name] = binary_op(_name, _fn, arg_names=("x", "y"))
for _name, _fn in _SHIFTS.items():
    _g[_name] = binary_op(_name, _fn, _shift_operands, arg_names=("x", "y"))
del _g, _name, _fn


@keras_op
def divide_no_nan(x1, x2):
    """`x1 / x2`, with 0 wherever `x2 == 0` (also a zero gradient there)."""
    x1, x2 = tensor(x1), tensor(x2)
    zero = x2 == 0
    return jnp.where(zero, 0, jnp.divide(x1, jnp.where(zero, 1, x2)))


@keras_op
def ldexp(x1, x2):
    """`x1 * 2**x2`; `x2` must be of an integer dtype."""
    x1, x2 = tensor(x1), tensor(x2)
    if not jnp.issubdtype(x2.dtype, jnp.integer):
        raise TypeError(f"ops.ldexp: the exponent `x2` must have an integer dtype; received "
                        f"{x2.dtype}. Cast it with ops.cast(x2, 'int32').")
    return jnp.ldexp(x1, x2)


@keras_op
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Element-wise `|x1 - x2| <= atol + rtol * |x2|`."""
    return jnp.isclose(tensor(x1), tensor(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


@keras_op
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """True (a scalar bool tensor) if all elements are close, as in `isclose`."""
    return jnp.allclose(tensor(x1), tensor(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


__all__ = [
    *_FLOAT_UNARY, *_PLAIN_UNARY, *_PLAIN_BINARY, *_FLOAT_BINARY, *_BITWISE, *_SHIFTS,
    "positive", "fabs", "i0", "trunc", "round", "around",
    "nan_to_num", "clip", "divide_no_nan", "ldexp", "isclose", "allclose",
]
