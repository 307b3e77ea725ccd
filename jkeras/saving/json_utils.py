"""JSON encoding and decoding of configs, with clean errors and size limits."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

# config.json and model_config attributes larger than this are refused.
MAX_CONFIG_BYTES = 64 * 1024 * 1024


def _default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    dtype = getattr(obj, "dtype", None)
    if dtype is not None and hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(
        f"Cannot save a config value of type {type(obj).__name__} ({obj!r:.80}) as JSON. "
        f"get_config() must return plain Python values (numbers, strings, lists, dicts) or "
        f"objects that have get_config()."
    )


def dumps(config: Any, **kwargs) -> str:
    """`config` as JSON text (tuples become lists, numpy scalars numbers)."""
    try:
        return json.dumps(config, default=_default, **kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"The model config cannot be written as JSON: {e}") from None
    except RecursionError:
        raise ValueError("The model config is nested too deeply to be written as JSON.") from None


def loads(data: bytes | str, source: str) -> Any:
    """Parses JSON `data` read from `source` (a description used in errors);
    raises ValueError naming the source on any problem."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(
            f"{source} is {len(data)} bytes, more than the {MAX_CONFIG_BYTES} bytes a model "
            f"config may take; the file is damaged or not a model file."
        )
    try:
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data)
    except RecursionError:
        raise ValueError(f"{source}: the JSON is nested too deeply.") from None
    except (ValueError, TypeError) as e:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"{source} is not valid JSON ({type(e).__name__}: {e}).") from None


def is_finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
