"""Global configuration: float type, epsilon and image data format.

Each setting is resolved, in order, from the value set in this process
(`set_floatx`, `set_epsilon`, `set_image_data_format`), the environment
(``JKERAS_IMAGE_DATA_FORMAT``), jkeras's config file
``$JKERAS_HOME/jkeras.json`` (default ``~/.jkeras/jkeras.json``), a Keras
user's config file ``$KERAS_HOME/keras.json`` (default ``~/.keras/keras.json``;
Keras 1's ``image_dim_ordering: "th"|"tf"`` included), and finally the
defaults (``float32``, ``1e-7``, ``channels_last``). jkeras reads Keras's file
and never writes it.
"""

from __future__ import annotations

import json
import os
import warnings

_VALID_FORMATS = ("channels_last", "channels_first")
_DIM_ORDERING = {"th": "channels_first", "tf": "channels_last"}
_FLOATX = ("float16", "bfloat16", "float32", "float64")

_floatx: str | None = None
_epsilon: float | None = None
_image_data_format: str | None = None


def jkeras_home() -> str:
    """The folder that holds jkeras's config file and caches."""
    return os.path.expanduser(os.environ.get("JKERAS_HOME", os.path.join("~", ".jkeras")))


def keras_home() -> str:
    """The folder of a Keras user's `keras.json` (`$KERAS_HOME`, default ~/.keras)."""
    return os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))


_file_cache: dict = {}  # path -> (mtime, size, settings)


def _read_json(path: str) -> dict:
    """The settings of a config file (cached while it is unchanged); {} when it
    is missing or unreadable (with a warning naming it)."""
    try:
        st = os.stat(path)
    except OSError:
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _file_cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        warnings.warn(f"Ignoring unreadable config file {path}: {e}", stacklevel=3)
        data = {}
    if not isinstance(data, dict):
        warnings.warn(f"Ignoring config file {path}: it is not a JSON object.", stacklevel=3)
        data = {}
    _file_cache[path] = (stamp, data)
    return data


def _read_config_file() -> dict:
    return _read_json(os.path.join(jkeras_home(), "jkeras.json"))


def _file_setting(key: str):
    """(value, where) of `key` from jkeras.json, else keras.json (Keras 1's
    `image_dim_ordering` counts as `image_data_format`); (None, None) if unset."""
    for path in (os.path.join(jkeras_home(), "jkeras.json"),
                 os.path.join(keras_home(), "keras.json")):
        data = _read_json(path)
        if data.get(key) is not None:
            return data[key], f"{key} in {path}"
        if key == "image_data_format" and data.get("image_dim_ordering") is not None:
            return data["image_dim_ordering"], f"image_dim_ordering in {path}"
    return None, None


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
    value, where = _file_setting("image_data_format")
    if value is not None:
        try:
            return standardize_data_format(value, where)
        except ValueError as e:
            warnings.warn(f"Ignoring {e}", stacklevel=2)
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
    if _floatx is not None:
        return _floatx
    value, where = _file_setting("floatx")
    if value is not None:
        if value in _FLOATX:
            return value
        warnings.warn(f"Ignoring {where}: {value!r} is not one of {_FLOATX}.", stacklevel=2)
    return "float32"


def set_floatx(value: str) -> None:
    """Sets the default float dtype ('float16', 'bfloat16', 'float32', 'float64')."""
    global _floatx
    if value not in _FLOATX:
        raise ValueError(
            f"Invalid floatx {value!r}: expected float16, bfloat16, float32 or float64."
        )
    _floatx = value


def epsilon() -> float:
    """The fuzz factor used in numeric expressions."""
    if _epsilon is not None:
        return _epsilon
    value, where = _file_setting("epsilon")
    if value is not None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
        warnings.warn(f"Ignoring {where}: {value!r} is not a non-negative number.",
                      stacklevel=2)
    return 1e-7


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor used in numeric expressions."""
    global _epsilon
    _epsilon = float(value)


def reset_settings() -> None:
    """Forgets the values set in this process: the config files and defaults apply."""
    global _floatx, _epsilon, _image_data_format
    _floatx = _epsilon = _image_data_format = None
