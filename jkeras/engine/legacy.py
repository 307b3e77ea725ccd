"""Keras 1 argument names, accepted with a DeprecationWarning naming the modern one."""

from __future__ import annotations

import functools
import os
import sys
import warnings

from jkeras.backend.config import standardize_data_format

_JKERAS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_stacklevel() -> int:
    """The `stacklevel` for `warnings.warn`, called from the function that warns,
    that points at the first frame outside the jkeras package (the user's line)."""
    frame = sys._getframe(2)
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _JKERAS_DIR + os.sep
    ):
        frame = frame.f_back
        level += 1
    return level


def warn_keras1(message: str) -> None:
    """Emits a DeprecationWarning attributed to the user's code."""
    warnings.warn(message, DeprecationWarning, stacklevel=user_stacklevel())


def _dim_ordering(value):
    return standardize_data_format(value, "dim_ordering")


def _not(value):
    return not value


def _as_pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


# Names shared by many Keras 1 layers: old -> (new, converter)
COMMON = {
    "init": ("kernel_initializer", None),
    "W_regularizer": ("kernel_regularizer", None),
    "b_regularizer": ("bias_regularizer", None),
    "W_constraint": ("kernel_constraint", None),
    "b_constraint": ("bias_constraint", None),
    "bias": ("use_bias", None),
    "border_mode": ("padding", None),
    "subsample": ("strides", _as_pair),
    "dim_ordering": ("data_format", _dim_ordering),
}


def legacy_args(mapping: dict | None = None, include_common: bool = True):
    """Decorates a layer's `__init__` so Keras 1 keyword names are renamed
    (with a DeprecationWarning) before the modern signature sees them.

    `mapping` maps old -> new name, or old -> (new, converter).
    """
    table = dict(COMMON) if include_common else {}
    for old, spec in (mapping or {}).items():
        table[old] = spec if isinstance(spec, tuple) else (spec, None)

    def decorator(init):
        @functools.wraps(init)
        def wrapper(self, *args, **kwargs):
            for old in [k for k in kwargs if k in table]:
                new, convert = table[old]
                value = kwargs.pop(old)
                warn_keras1(
                    f"{type(self).__name__}: argument '{old}' is the Keras 1 name; "
                    f"use '{new}' instead."
                )
                if new in kwargs:
                    raise TypeError(
                        f"{type(self).__name__} got both '{old}' (Keras 1) and '{new}'; "
                        f"pass only '{new}'."
                    )
                kwargs[new] = convert(value) if convert else value
            return init(self, *args, **kwargs)

        return wrapper

    return decorator


def warn_renamed(owner: str, old: str, new: str) -> None:
    warn_keras1(f"{owner}: '{old}' is the Keras 1 name; use '{new}' instead.")
