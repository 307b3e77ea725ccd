"""Progbar: the Keras-style progress line for fit/evaluate/predict.

On a terminal (stdout is a TTY) the bar is redrawn in place with rich, at most
every `interval` seconds; elsewhere (CI logs, notebooks, files) it prints plain
lines without control codes: the final line of each epoch, and a progress line
every `plain_interval` seconds for long epochs. `verbose=2` prints only the
final line. Values are shown as given (fit passes running means). With
interactive logging disabled (`jkeras.utils.disable_interactive_logging`) the
plain lines go to the ``jkeras`` logger instead of stdout.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from jkeras.backend.interactive_logging import is_interactive_logging_enabled, print_msg


def format_value(v) -> str:
    """A metric value the way Keras prints it."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f) or math.isinf(f):
        return str(f)
    if f != 0 and abs(f) < 1e-3:
        return f"{f:.4e}"
    return f"{f:.4f}"


def format_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def format_per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progbar:
    """Displays progress towards `target` steps (None when unknown)."""

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics=None, unit_name: str = "step",
                 plain_interval: float = 30.0):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.plain_interval = plain_interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._last_plain = self._start
        self._seen = 0
        self._values: dict[str, object] = {}
        self._sums: dict[str, list] = {}
        self._dynamic = _is_tty(sys.stdout)
        self._drawn = False
        self._finished = False

    def _in_place(self) -> bool:
        """Whether the bar is redrawn in place (a terminal, interactive logging)."""
        return self._dynamic and is_interactive_logging_enabled()

    def should_draw(self, current: int, finalize: bool | None = None) -> bool:
        """Whether an `update(current, ...)` now would draw (so callers can skip
        fetching values otherwise)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0 or self._finished:
            return False
        if finalize:
            return True
        if self.verbose != 1:
            return False
        now = time.perf_counter()
        if self._in_place():
            return now - self._last_draw >= self.interval
        return now - self._last_plain >= self.plain_interval

    def update(self, current: int, values=None, finalize: bool | None = None) -> None:
        """Records progress `current` with `(name, value)` pairs (or a dict) and draws
        when due. Names in `stateful_metrics` (or all, for a dict) are shown as
        given; others are averaged over the steps seen."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        draw = self.should_draw(current, finalize)
        if values is not None:
            items = values.items() if hasattr(values, "items") else values
            is_dict = hasattr(values, "items")
            steps = max(current - self._seen, 1)
            for k, v in items:
                if is_dict or k in self.stateful_metrics:
                    self._values[k] = v
                else:
                    s = self._sums.setdefault(k, [0.0, 0])
                    s[0] += float(v) * steps
                    s[1] += steps
                    self._values[k] = s[0] / s[1]
        self._seen = current
        if not draw:
            return
        now = time.perf_counter()
        self._last_draw = now
        self._last_plain = now
        if finalize:
            self._finished = True
        if self.verbose == 1 and self._in_place():
            self._draw_rich(current, finalize, now)
        else:
            print_msg(self._plain_line(current, finalize, now))

    def add(self, n: int, values=None) -> None:
        self.update(self._seen + n, values)

    # rendering --------------------------------------------------------------------
    def _timing(self, current: int, finalize: bool, now: float) -> str:
        elapsed = now - self._start
        per = elapsed / current if current else 0.0
        if finalize or (self.target is None):
            return f"{format_time(elapsed)} {format_per_unit(per, self.unit_name)}"
        eta = per * (self.target - current)
        return f"ETA: {format_time(eta)}"

    def _metrics_text(self) -> str:
        parts = []
        for k, v in self._values.items():
            if np.ndim(v) == 0:
                parts.append(f"{k}: {format_value(v)}")
            else:
                parts.append(f"{k}: {np.array2string(np.asarray(v), precision=4)}")
        return " - ".join(parts)

    def _count(self, current: int) -> str:
        if self.target is None:
            return f"{current}/Unknown"
        digits = len(str(self.target))
        return f"{current:>{digits}}/{self.target}"

    def _plain_line(self, current: int, finalize: bool, now: float) -> str:
        parts = [self._count(current), self._timing(current, finalize, now)]
        metrics = self._metrics_text()
        if metrics:
            parts.append(metrics)
        return " - ".join(parts)

    def _draw_rich(self, current: int, finalize: bool, now: float) -> None:
        from rich.console import Console
        from rich.text import Text

        console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
        text = Text(self._count(current) + " ")
        if self.target:
            done = int(self.width * min(current, self.target) / self.target)
            text.append("━" * done, style="green" if finalize else "magenta")
            text.append("━" * (self.width - done), style="grey23")
            text.append(" ")
        text.append(self._timing(current, finalize, now))
        metrics = self._metrics_text()
        if metrics:
            text.append(" - " + metrics)
        if not finalize:
            text.truncate(max(console.width - 1, 20))
        sys.stdout.write("\r\x1b[2K" if self._drawn else "")
        console.print(text, end="\n" if finalize else "")
        sys.stdout.flush()
        self._drawn = True
