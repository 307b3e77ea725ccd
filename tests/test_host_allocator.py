"""glibc malloc tuning at import: large freed blocks are reused without page faults."""

import os
import platform
import subprocess
import sys

import pytest

from jkeras.backend import xla_flags

# Mallocs, fills and frees a 64 MB block (as XLA:CPU does with an executable's
# temporaries on every run), then does it again and prints how many page faults the
# second round cost.
PROBE = """
import ctypes, resource, jkeras
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 64 * 2**20
def round_trip():
    p = libc.malloc(size)
    ctypes.memset(p, 1, size)
    libc.free(p)
round_trip()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
round_trip()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

glibc_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the tuning applies to glibc's malloc only")


def _faults(env_extra):
    env = dict(os.environ)
    env.pop("JKERAS_MALLOC_TUNING", None)
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True)
    return int(out.stdout.split()[-1])


@glibc_linux
def test_large_blocks_are_reused_and_opt_out_restores_default():
    # 64 MB is 16,384 pages of 4 KiB: glibc's default maps and unmaps such a block,
    # so touching it again faults every page in; tuned, the heap keeps it.
    assert _faults({}) < 1000
    assert _faults({"JKERAS_MALLOC_TUNING": "0"}) > 8000


def test_opt_out_returns_false(monkeypatch):
    monkeypatch.setenv("JKERAS_MALLOC_TUNING", "0")
    assert xla_flags.tune_host_allocator() is False


def test_applies_only_where_jax_computes_on_the_cpu(monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cuda,cpu")
    assert xla_flags.cpu_only_install() is False
    assert xla_flags.tune_host_allocator() is False  # an accelerator run is left alone
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    assert xla_flags.cpu_only_install() is True
