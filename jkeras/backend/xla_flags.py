"""XLA:CPU tuning applied when jkeras is imported, before JAX starts its backend.

XLA:CPU runs a convolution several times faster when its YNNPACK fusions
("ynn fusion") absorb the elementwise and reduce ops around it (see
shared notes: a conv-tower gradient went from 258 ms to 64-68 ms). The flag
is experimental, so it is only added when the installed jaxlib knows it (an
unknown flag aborts XLA), never overrides a value the user set, and can be
turned off with ``JKERAS_XLA_TUNING=0``.
"""

from __future__ import annotations

import glob
import json
import mmap
import os

YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
YNN_VALUE = "reduce,eltwise"


def _jaxlib_libraries() -> list[str]:
    import importlib.util

    spec = importlib.util.find_spec("jaxlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = list(spec.submodule_search_locations)[0]
    return sorted(glob.glob(os.path.join(root, "*.so")) + glob.glob(os.path.join(root, "*.pyd")))


def _contains(path: str, needle: bytes) -> bool:
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(needle) != -1
    except (OSError, ValueError):
        return False


def jaxlib_supports(flag: str) -> bool:
    """True if the installed jaxlib's binaries define this XLA flag (cached per
    jaxlib build in $JKERAS_HOME/xla_flags.json)."""
    from jkeras.backend.config import jkeras_home

    libs = _jaxlib_libraries()
    if not libs:
        return False
    key = ";".join(f"{p}:{os.path.getsize(p)}:{int(os.path.getmtime(p))}" for p in libs)
    key = f"{flag}|{key}"
    cache_path = os.path.join(jkeras_home(), "xla_flags.json")
    cache: dict = {}
    try:
        with open(cache_path, encoding="utf-8") as f:
            cache = json.load(f)
        if key in cache:
            return bool(cache[key])
    except (OSError, ValueError):
        cache = {}
    needle = flag.lstrip("-").encode()
    found = any(_contains(p, needle) for p in libs)
    try:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        cache = {k: v for k, v in cache.items() if k.split("|", 1)[0] != flag}
        cache[key] = found
        tmp = f"{cache_path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cache, f)
        os.replace(tmp, cache_path)
    except OSError:
        pass
    return found


def apply_cpu_tuning() -> bool:
    """Adds the YNN fusion flag to XLA_FLAGS when it is safe; returns whether it did."""
    if os.environ.get("JKERAS_XLA_TUNING", "1").lower() in ("0", "false", "off", "no"):
        return False
    current = os.environ.get("XLA_FLAGS", "")
    if YNN_FLAG in current:
        return False
    if not jaxlib_supports(YNN_FLAG):
        return False
    os.environ["XLA_FLAGS"] = f"{current} {YNN_FLAG}={YNN_VALUE}".strip()
    return True
