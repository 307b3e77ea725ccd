"""XLA:CPU tuning applied when jkeras is imported, before JAX starts its backend.

XLA:CPU runs a convolution several times faster when its YNNPACK fusions
("ynn fusion") absorb the elementwise and reduce ops around it (see
shared notes: a conv-tower gradient went from 258 ms to 64-68 ms). The flag
is experimental, so it is only added when the installed jaxlib knows it (an
unknown flag aborts XLA), never overrides a value the user set, and can be
turned off with ``JKERAS_XLA_TUNING=0``.

It also keeps glibc's malloc from handing large blocks back to the kernel
(`tune_host_allocator`): XLA:CPU allocates an executable's temporary buffers
on every run, and blocks above glibc's mmap threshold were mapped and unmapped
each time, so every training step page-faulted its whole working set again
(~10,000 faults and ~21 ms of kernel time per 64 ms step of the seed's shared
vision model; its 40 MB of temporaries exceed the largest mmap threshold glibc
allows, 32 MB). ``JKERAS_MALLOC_TUNING=0`` turns that off.
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


_OFF = ("0", "false", "off", "no")
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


_ACCELERATOR_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin",
                        "jax_rocm7_plugin", "libtpu", "jax_plugins")


def cpu_only_install() -> bool:
    """Whether JAX will compute on the CPU: `JAX_PLATFORMS` names only cpu, or no
    accelerator plugin is installed (checked without importing anything)."""
    import importlib.util

    platforms = [p.strip() for p in os.environ.get("JAX_PLATFORMS", "").split(",") if p.strip()]
    if platforms:
        return platforms == ["cpu"]
    return not any(importlib.util.find_spec(name) is not None for name in _ACCELERATOR_PLUGINS)


def tune_host_allocator() -> bool:
    """On Linux with glibc, makes malloc serve large blocks from its heaps and keep
    freed memory (mallopt M_MMAP_MAX=0, M_TRIM_THRESHOLD=2 GiB - 1) so that the
    buffers XLA:CPU allocates on every run reuse pages instead of faulting fresh ones
    in. (Limiting malloc to one arena removed the remaining faults of XLA's worker
    threads but serialised their allocations: the seed's first model trained ~40%
    slower and compiled slower, so arenas are left as they are.) The process keeps
    its peak heap size. Only where JAX computes on the CPU (`cpu_only_install`); off
    with ``JKERAS_MALLOC_TUNING=0``; returns whether it applied."""
    import platform
    import sys

    if os.environ.get("JKERAS_MALLOC_TUNING", "1").lower() in _OFF:
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    if not cpu_only_install():
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        results = [libc.mallopt(_M_MMAP_MAX, 0), libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)]
        return all(r == 1 for r in results)
    except (OSError, AttributeError):
        return False


def apply_cpu_tuning() -> bool:
    """Adds the YNN fusion flag to XLA_FLAGS when it is safe; returns whether it did.
    Also applies `tune_host_allocator` (independently of the flag)."""
    tune_host_allocator()
    if os.environ.get("JKERAS_XLA_TUNING", "1").lower() in _OFF:
        return False
    current = os.environ.get("XLA_FLAGS", "")
    if YNN_FLAG in current:
        return False
    if not jaxlib_supports(YNN_FLAG):
        return False
    os.environ["XLA_FLAGS"] = f"{current} {YNN_FLAG}={YNN_VALUE}".strip()
    return True
