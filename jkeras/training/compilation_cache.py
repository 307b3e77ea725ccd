"""JAX's persistent compilation cache, on by default for jkeras training.

A compiled train step is written to disk and reused by the next process with
the same model, shapes, jax version and XLA flags, so a second run's first
epoch skips XLA compilation. `enable()` (called by compile/fit/predict) turns
it on unless:

- `JKERAS_COMPILATION_CACHE` is `0`/`false`/`off` (off), or a directory path
  (used instead of the default);
- the user already chose a cache directory (`JAX_COMPILATION_CACHE_DIR` or
  `jax.config.update("jax_compilation_cache_dir", ...)`): theirs is kept.

Default directory: `$JKERAS_HOME/xla_cache` when `JKERAS_HOME` is set, else
`$XDG_CACHE_HOME/jkeras/xla` (`~/.cache/jkeras/xla`). Programs that take at
least 0.2 s to compile are cached (JAX's default is 1 s, which would skip most
train steps), unless `JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS` is set. The
cache is capped at 1 GiB (when the `filelock` package, which JAX needs for the
cap, is installed) unless `JAX_COMPILATION_CACHE_MAX_SIZE` is set.
"""

from __future__ import annotations

import os

import jax

_OFF = ("0", "false", "off", "no")
_MIN_COMPILE_SECS = 0.2
_MAX_BYTES = 1 << 30
_state: dict = {"dir": None, "checked": False}


def default_dir() -> str:
    """The cache directory jkeras uses when nothing else is configured."""
    home = os.environ.get("JKERAS_HOME")
    if home:
        return os.path.join(os.path.expanduser(home), "xla_cache")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jkeras", "xla")


def enable() -> str | None:
    """Turns the persistent cache on as described in the module doc (once per
    process; cheap afterwards). Returns the directory in use, or None when off."""
    if _state["checked"]:
        return _state["dir"]
    _state["checked"] = True
    setting = os.environ.get("JKERAS_COMPILATION_CACHE", "").strip()
    if setting.lower() in _OFF:
        return None
    current = jax.config.jax_compilation_cache_dir
    if current:
        _state["dir"] = current
        return current
    path = setting if setting and setting.lower() not in ("1", "true", "on", "yes") else \
        default_dir()
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    configure(path)
    return path


def _have_filelock() -> bool:
    """JAX needs the optional `filelock` package to enforce a size limit."""
    import importlib.util

    return importlib.util.find_spec("filelock") is not None


def configure(path: str | None) -> None:
    """Points JAX's persistent cache at `path` now (None: off), also after
    programs were compiled (the cache is re-initialised)."""
    from jax.experimental.compilation_cache import compilation_cache as cc

    jax.config.update("jax_compilation_cache_dir", path)
    if path is not None:
        if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
            jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_COMPILE_SECS)
        if "JAX_COMPILATION_CACHE_MAX_SIZE" not in os.environ and _have_filelock():
            jax.config.update("jax_compilation_cache_max_size", _MAX_BYTES)
    cc.reset_cache()
    _state["dir"] = path
    _state["checked"] = True
