"""Process-wide switches of `keras.config`: flash attention, traceback
filtering, and the debugging caps on epochs and steps (also set by the
environment variables ``KERAS_MAX_EPOCHS`` / ``KERAS_MAX_STEPS_PER_EPOCH``, as
Keras reads them)."""

from __future__ import annotations

import functools
import os
import types

_state: dict = {"flash_attention": None, "traceback_filtering": True,
                "max_epochs": None, "max_steps_per_epoch": None}


def _env_int(name: str):
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Environment variable {name}={value!r} must be an integer.") from None


# flash attention ---------------------------------------------------------------------
def enable_flash_attention() -> None:
    """Asks attention layers to use a flash-attention kernel where the device has
    one (an error is raised when it cannot be used)."""
    _state["flash_attention"] = True


def disable_flash_attention() -> None:
    """Attention layers compute attention without flash-attention kernels."""
    _state["flash_attention"] = False


def is_flash_attention_enabled():
    """True/False as set by enable/disable_flash_attention, None (the default:
    flash attention is used when available)."""
    return _state["flash_attention"]


# traceback filtering -------------------------------------------------------------------
def enable_traceback_filtering() -> None:
    """Errors raised from jkeras's entry points (layer calls, model building,
    compile/fit/evaluate/predict) hide jkeras's internal frames (the default)."""
    _state["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Errors keep every frame of their traceback (for debugging jkeras itself)."""
    _state["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    return bool(_state["traceback_filtering"])


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _filtered(tb):
    """The traceback without the frames of jkeras's own files (the last frame
    is kept when every frame is jkeras's)."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    kept = [f for f in frames if not f.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR)]
    if not kept:
        kept = frames[-1:]
    new = None
    for f in reversed(kept):
        new = types.TracebackType(new, f.tb_frame, f.tb_lasti, f.tb_lineno)
    return new


def filter_traceback(fn):
    """Decorates a public entry point: an exception leaving it drops jkeras's
    frames from its traceback while traceback filtering is enabled."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _state["traceback_filtering"]:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised with a shorter traceback
            raise e.with_traceback(_filtered(e.__traceback__))  # noqa: B904

    return wrapper


# debugging caps ------------------------------------------------------------------------
def set_max_epochs(max_epochs) -> None:
    """Caps the epochs of every `fit` (None: no cap), for quick debugging runs."""
    _state["max_epochs"] = None if max_epochs is None else int(max_epochs)


def max_epochs():
    """The cap on `fit`'s epochs (set_max_epochs, else $KERAS_MAX_EPOCHS), or None."""
    if _state["max_epochs"] is not None:
        return _state["max_epochs"]
    return _env_int("KERAS_MAX_EPOCHS")


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Caps the steps of one epoch of fit/evaluate/predict (None: no cap)."""
    _state["max_steps_per_epoch"] = (None if max_steps_per_epoch is None
                                     else int(max_steps_per_epoch))


def max_steps_per_epoch():
    """The cap on steps per epoch (set_max_steps_per_epoch, else
    $KERAS_MAX_STEPS_PER_EPOCH), or None."""
    if _state["max_steps_per_epoch"] is not None:
        return _state["max_steps_per_epoch"]
    return _env_int("KERAS_MAX_STEPS_PER_EPOCH")
