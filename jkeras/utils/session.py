"""`keras.utils.clear_session` (the same function as `keras.backend.clear_session`)."""

from jkeras.backend import clear_session  # noqa: F401
