"""Atomic file writes: a killed process leaves the previous file whole.

The data goes to a temporary file in the same folder, is flushed and fsynced,
then renamed over the target with `os.replace` (atomic on POSIX and Windows
within one filesystem), and the folder is fsynced so the rename survives a
power cut.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile


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
def atomic_write(filepath, mode: str = "wb"):
    """Yields a file object; on normal exit its content replaces `filepath`
    atomically. On any error (or if the process dies) `filepath` is unchanged and
    the temporary file is removed (when the process survives).

    In a multi-process run (jkeras.distribution.initialize) every process calls
    this; process 0 writes the file, the others' writes are thrown away, and all
    wait until the file is in place."""
    from jkeras.distribution import runtime

    if runtime.is_multiprocess():
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
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(filepath)}.", suffix=".tmp",
                               dir=folder)
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
