"""Atomic file writes: a killed process leaves the previous file whole.

The data goes to a temporary file in the same folder, is flushed and fsynced,
then renamed over the target with `os.replace` (atomic on POSIX and Windows
within one filesystem), and the folder is fsynced so the rename survives a
power cut.

A killed writer leaves its temporary file behind. The temporary name says whose
it is: `.<target name>.<machine tag>-<pid>.<random>.tmp` (the tag hashes the
host name and, on Linux, the process-id namespace). Each write first removes
the stale temporary files of earlier writes to the *same target*
(`remove_stale_temps`): those of a process of this machine that is gone, and
any older than `STALE_AGE_SECONDS` (a writer elsewhere, or a name from an older
jkeras), so a concurrent writer's file in progress is left alone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import socket
import stat
import tempfile
import time
import zlib

# Temporary files of a writer whose process cannot be checked are removed once
# they are this old (writers touch their file as they write).
STALE_AGE_SECONDS = 600.0
_RAND = r"[a-z0-9_]{8}"  # tempfile's random part


def _default_mode() -> int:
    """0o666 minus the process umask, read without changing it where possible."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def check_overwrite(filepath, overwrite: bool) -> None:
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(
            f"'{os.fspath(filepath)}' already exists and overwrite=False; pass overwrite=True "
            f"to replace it."
        )


@contextlib.contextmanager
def atomic_write(filepath, mode: str = "wb", collective: bool = True):
    """Yields a file object; on normal exit its content replaces `filepath`
    atomically. On any error (or if the process dies) `filepath` is unchanged and
    the temporary file is removed (when the process survives).

    In a multi-process run (jkeras.distribution.initialize) every process calls
    this; process 0 writes the file, the others' writes are thrown away, and all
    wait until the file is in place. `collective=False`: only this process calls
    it (e.g. process 0 alone, already synchronised), and it writes."""
    from jkeras.distribution import runtime

    if collective and runtime.is_multiprocess():
        with runtime.write_on_process_zero("jkeras_save") as writer:
            if writer:
                with _atomic_write(filepath, mode) as f:
                    yield f
            else:
                with runtime.discard_sink(mode) as f:
                    yield f
        return
    with _atomic_write(filepath, mode) as f:
        yield f


@contextlib.contextmanager
def _atomic_write(filepath, mode: str = "wb"):
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to '{filepath}': folder '{folder}' does not exist.")
    remove_stale_temps(filepath)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(filepath)}.{_owner()}.",
                               suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            perm = stat.S_IMODE(os.stat(filepath).st_mode)
        except OSError:
            perm = _default_mode()
        os.chmod(tmp, perm)
        os.replace(tmp, filepath)
        tmp = None
        _fsync_dir(folder)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _fsync_dir(folder: str) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=1)
def _machine_tag() -> str:
    """8 hex digits naming this host and process-id namespace (a pid means the
    same process only where both match)."""
    ident = socket.gethostname()
    with contextlib.suppress(OSError):
        ident += ":" + os.readlink("/proc/self/ns/pid")
    return f"{zlib.crc32(ident.encode()):08x}"


def _owner() -> str:
    return f"{_machine_tag()}-{os.getpid()}"


def _process_alive(pid: int) -> bool | None:
    """Whether process `pid` of this machine runs (None: cannot tell here)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def stale_temp_patterns(name_pattern: str) -> list[re.Pattern]:
    """Names of the temporary files that writes to a file whose name matches the
    regular expression `name_pattern` make: this module's (with owner; older
    jkeras: without), and the intermediate copies older jkeras ModelCheckpoints
    wrote (`.tmp-<hex>-<name>` and its temporary file). Groups `tag` and `pid`
    are the owner where the name has one."""
    n = name_pattern
    return [re.compile(rf"\.{n}\.(?P<tag>[0-9a-f]{{8}})-(?P<pid>\d+)\.{_RAND}\.tmp"),
            re.compile(rf"\.{n}\.{_RAND}\.tmp"),
            re.compile(rf"\.tmp-[0-9a-f]{{8}}-{n}"),
            re.compile(rf"\.\.tmp-[0-9a-f]{{8}}-{n}\.{_RAND}\.tmp")]


def remove_stale_temps(filepath, max_age: float = STALE_AGE_SECONDS,
                       name_pattern: str | None = None) -> list[str]:
    """Removes the temporary files that crashed writes to `filepath` left in its
    folder: only names of `stale_temp_patterns` for its name (or for the names
    the regular expression `name_pattern` matches, e.g. those a ModelCheckpoint
    template makes), only plain files, and only those whose writer was a process
    of this machine that is gone, or, when the writer cannot be checked (another
    machine, no owner in the name), that are older than `max_age` seconds.
    Returns the paths removed; never raises."""
    folder, name = os.path.split(os.path.abspath(os.fspath(filepath)))
    patterns = stale_temp_patterns(re.escape(name) if name_pattern is None else name_pattern)
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = next((m for m in (p.fullmatch(entry) for p in patterns) if m), None)
        if match is None:
            continue
        path = os.path.join(folder, entry)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                continue
            alive = None
            if "tag" in match.re.groupindex and match["tag"] == _machine_tag():
                alive = _process_alive(int(match["pid"]))
            if alive or (alive is None and now - st.st_mtime <= max_age):
                continue
            os.unlink(path)
            removed.append(path)
        except (OSError, ValueError):
            continue
    return removed


def remove_path(path: str) -> None:
    """Removes a file or a folder tree if it exists."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with contextlib.suppress(OSError):
            os.remove(path)
