"""Global configuration: float type, epsilon and image data format.

The image data format is resolved, in order, from `set_image_data_format`,
the environment variable ``JKERAS_IMAGE_DATA_FORMAT``, the config file
``$JKERAS_HOME/jkeras.json`` (default ``~/.jkeras/jkeras.json``), and finally
``"channels_last"``.
"""

from __future__ import annotations

import json
import os
import warnings

_VALID_FORMATS = ("channels_last", "channels_first")
_DIM_ORDERING = {"th": "channels_first", "tf": "channels_last"}

_floatx = "float32"
_epsilon = 1e-7
_image_data_format: str | None = None


def jkeras_home() -> str:
    """The folder that holds jkeras's config file and caches."""
    return os.path.expanduser(os.environ.get("JKERAS_HOME", os.path.join("~", ".jkeras")))


def _read_config_file() -> dict:
    path = os.path.join(jkeras_home(), "jkeras.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        warnings.warn(f"Ignoring unreadable jkeras config file {path}: {e}", stacklevel=2)
        return {}
    return data if isinstance(data, dict) else {}


def standardize_data_format(value: str | None, argument: str = "data_format") -> str:
    """Returns 'channels_last' or 'channels_first' for a data format, Keras 1
    ordering ('tf'/'th') or None (the global default)."""
    if value is None:
        return image_data_format()
    v = str(value).lower()
    v = _DIM_ORDERING.get(v, v)
    if v not in _VALID_FORMATS:
        raise ValueError(
            f"Invalid {argument}={value!r}: expected 'channels_last' or 'channels_first' "
            f"(or the Keras 1 'tf'/'th')."
        )
    return v


def image_data_format() -> str:
    """The default image data format: 'channels_last' or 'channels_first'."""
    if _image_data_format is not None:
        return _image_data_format
    env = os.environ.get("JKERAS_IMAGE_DATA_FORMAT")
    if env:
        return standardize_data_format(env, "JKERAS_IMAGE_DATA_FORMAT")
    cfg = _read_config_file().get("image_data_format")
    if cfg:
        return standardize_data_format(cfg, "image_data_format in jkeras.json")
    return "channels_last"


def set_image_data_format(data_format: str | None) -> None:
    """Sets the default image data format ('channels_last' or 'channels_first');
    None returns to the environment/config-file default."""
    global _image_data_format
    _image_data_format = None if data_format is None else standardize_data_format(data_format)


def set_image_dim_ordering(dim_ordering: str) -> None:
    """Keras 1 spelling of `set_image_data_format`: 'th' or 'tf'."""
    if dim_ordering not in _DIM_ORDERING:
        raise ValueError(f"Invalid dim_ordering={dim_ordering!r}: expected 'th' or 'tf'.")
    warnings.warn(
        "set_image_dim_ordering is deprecated; use set_image_data_format('channels_first'|"
        "'channels_last').",
        DeprecationWarning,
        stacklevel=2,
    )
    set_image_data_format(_DIM_ORDERING[dim_ordering])


def image_dim_ordering() -> str:
    """Keras 1 spelling: 'th' for channels_first, 'tf' for channels_last."""
    return "th" if image_data_format() == "channels_first" else "tf"


def floatx() -> str:
    """The default float dtype name."""
    return _floatx


def set_floatx(value: str) -> None:
    """Sets the default float dtype ('float16', 'bfloat16', 'float32', 'float64')."""
    global _floatx
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(
            f"Invalid floatx {value!r}: expected float16, bfloat16, float32 or float64."
        )
    _floatx = value


def epsilon() -> float:
    """The fuzz factor used in numeric expressions."""
    return _epsilon


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor used in numeric expressions."""
    global _epsilon
    _epsilon = float(value)
