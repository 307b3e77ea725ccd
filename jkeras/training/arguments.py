"""Checks of fit/evaluate/compile arguments, with errors that say what to pass."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from jkeras.training import data_adapter as da


def check_int(v, name: str, minimum: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise TypeError(f"{name} must be an integer, got {v!r}.")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}.")
    return int(v)


def check_batch_size(v, name: str) -> int:
    if v is None:
        return 32
    return check_int(v, name, minimum=1)


def check_verbose(v) -> int:
    if isinstance(v, str) and v == "auto":
        return 1
    if isinstance(v, (numbers.Integral, np.integer)) and int(v) in (0, 1, 2):
        return int(v)
    raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {v!r}.")


def check_validation_freq(freq):
    if isinstance(freq, (numbers.Integral, np.integer)) and not isinstance(freq, bool):
        if freq < 1:
            raise ValueError(f"validation_freq must be >= 1, got {freq}.")
        f = int(freq)
        return lambda epoch: (epoch + 1) % f == 0
    if isinstance(freq, (list, tuple, set, range)):
        epochs = {int(e) for e in freq}
        return lambda epoch: (epoch + 1) in epochs
    raise TypeError(
        f"validation_freq must be an integer (validate every N epochs) or a list of epochs "
        f"(1-based), got {freq!r}."
    )


def unpack_validation(data):
    if da.is_dataset(data):
        return data, None, None
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        return tuple(data) if len(data) == 3 else (data[0], data[1], None)
    raise ValueError(
        "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), "
        f"or a dataset/generator; got {type(data).__name__}"
        f"{' of length ' + str(len(data)) if hasattr(data, '__len__') else ''}."
    )


def legacy(kwargs: dict, old: str, new: str, where: str):
    if old not in kwargs:
        return None
    warnings.warn(f"{where}({old}=...) is the Keras 1 spelling; use {new}=... instead.",
                  DeprecationWarning, stacklevel=4)
    return kwargs.pop(old)


def all_numbers(v) -> bool:
    if isinstance(v, dict):
        vals = list(v.values())
    elif isinstance(v, (list, tuple)):
        vals = list(v)
    else:
        return False
    return bool(vals) and all(isinstance(a, numbers.Number) and not isinstance(a, bool)
                              for a in vals)


def check_steps_per_execution(value) -> int | str:
    """'auto' or a positive integer (Keras 3's `steps_per_execution`)."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        if value.lower() == "auto":
            return "auto"
    elif not isinstance(value, bool) and isinstance(value, (numbers.Integral, np.integer)) \
            and value >= 1:
        return int(value)
    raise ValueError(
        f"compile(): steps_per_execution must be 'auto' (the default: jkeras measures how "
        f"many steps to fuse per compiled call) or an integer >= 1, got {value!r}."
    )


def debugging_caps(epochs, steps):
    """`epochs` and `steps` (per epoch) capped by keras.config.set_max_epochs /
    set_max_steps_per_epoch (or $KERAS_MAX_EPOCHS / $KERAS_MAX_STEPS_PER_EPOCH),
    with a warning when a cap applies, as Keras does."""
    import warnings

    from jkeras.backend import global_flags

    cap = global_flags.max_epochs()
    if cap and epochs is not None and cap < epochs:
        warnings.warn(f"Limiting epochs to {cap} (keras.config.max_epochs()).", stacklevel=4)
        epochs = cap
    cap = global_flags.max_steps_per_epoch()
    if cap and (steps is None or cap < steps):
        warnings.warn(f"Limiting steps per epoch to {cap} (keras.config.max_steps_per_epoch()).",
                      stacklevel=4)
        steps = cap
    return epochs, steps
