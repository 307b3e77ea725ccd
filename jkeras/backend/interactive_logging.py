"""Interactive logging: where progress bars and status messages go.

Enabled (the default), messages are written to stdout, and progress bars are
redrawn in place on a terminal. Disabled (for jobs on servers, whose output
goes to log files), every message becomes one plain line sent at INFO level to
the ``jkeras`` logger of the standard `logging` module (Keras sends them to
``absl.logging``, itself a standard logger), and progress bars never use
control codes. Configure that logger (e.g. ``logging.basicConfig(level=INFO)``)
to see them.

The switch is process-wide. (Keras keeps it per thread, so a worker thread that
draws the progress bar does not see it; here every thread does.)
"""

from __future__ import annotations

import logging
import sys

_state = {"interactive": True}
_LOGGER = logging.getLogger("jkeras")


def enable_interactive_logging() -> None:
    """Sends messages and progress bars to stdout (the default)."""
    _state["interactive"] = True


def disable_interactive_logging() -> None:
    """Sends messages and progress bars, as plain lines, to the ``jkeras``
    logger (`logging` module, INFO level) instead of stdout."""
    _state["interactive"] = False


def is_interactive_logging_enabled() -> bool:
    """True when messages go to stdout, False when they go to the logger."""
    return _state["interactive"]


def print_msg(message, line_break: bool = True) -> None:
    """Writes `message` to stdout (followed by a newline when `line_break`), or,
    when interactive logging is disabled, logs it at INFO level."""
    message = str(message)
    if not _state["interactive"]:
        _LOGGER.info(message.strip("\r\n"))
        return
    if line_break:
        message += "\n"
    stream = sys.stdout
    try:
        stream.write(message)
    except UnicodeEncodeError:
        # a stream whose encoding lacks the bar's characters: ASCII bars instead
        encoding = getattr(stream, "encoding", None) or "utf-8"
        message = message.replace("━", "=").encode(encoding, "ignore").decode(encoding)
        stream.write(message)
    stream.flush()
