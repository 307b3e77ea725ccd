"""Temporary files of crashed writes: the next write to the same target removes them
(only that target's, only stale ones), ModelCheckpoint writes no intermediate copy,
and BackupAndRestore's next backup removes what crashed backups left."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import jkeras as keras
from jkeras.saving import atomic

OLD = time.time() - 2 * atomic.STALE_AGE_SECONDS


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _touch(path, mtime=None, content=b"partial"):
    with open(path, "wb") as f:
        f.write(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return os.path.basename(path)


@pytest.fixture(scope="module")
def small_model():
    inp = keras.Input((3,))
    return keras.Model(inp, keras.layers.Dense(2)(inp))


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pids are POSIX")
def test_next_write_removes_the_temp_file_a_killed_writer_left(tmp_path):
    target = tmp_path / "m.keras"
    target.write_bytes(b"old")
    # a writer killed in the middle of its write (it loads only the atomic module)
    code = (
        "import importlib.util, os, signal, sys\n"
        f"spec = importlib.util.spec_from_file_location('atomic', {atomic.__file__!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"with m._atomic_write({str(target)!r}) as f:\n"
        "    f.write(b'half a model'); f.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    left = [n for n in os.listdir(tmp_path) if n != "m.keras"]
    assert len(left) == 1 and left[0].startswith(".m.keras.") and left[0].endswith(".tmp")
    assert target.read_bytes() == b"old"  # the crash left the previous file whole
    with atomic.atomic_write(target) as f:
        f.write(b"new")
    assert os.listdir(tmp_path) == ["m.keras"] and target.read_bytes() == b"new"


def test_cleanup_removes_only_stale_temp_files_of_the_same_target(tmp_path):
    tag, dead, live = atomic._machine_tag(), _dead_pid(), os.getpid()
    other_tag = "0" * 8 if tag != "0" * 8 else "1" * 8
    removed = {
        _touch(tmp_path / f".m.keras.{tag}-{dead}.ab12cd34.tmp"),  # its writer is gone
        _touch(tmp_path / f".m.keras.{other_tag}-{dead}.ab12cd34.tmp", OLD),  # elsewhere, old
        _touch(tmp_path / ".m.keras.k3j4h5g6.tmp", OLD),  # an older jkeras's name, old
        _touch(tmp_path / ".tmp-0123abcd-m.keras", OLD),  # older ModelCheckpoint copies
        _touch(tmp_path / "..tmp-0123abcd-m.keras.x1y2z3w4.tmp", OLD),
    }
    kept = {
        _touch(tmp_path / f".m.keras.{tag}-{live}.ab12cd34.tmp", OLD),  # a live writer's
        _touch(tmp_path / f".m.keras.{other_tag}-{dead}.ab12cd35.tmp"),  # elsewhere, recent
        _touch(tmp_path / ".m.keras.k3j4h5g7.tmp"),  # no owner, recent
        _touch(tmp_path / f".n.keras.{tag}-{dead}.ab12cd34.tmp", OLD),  # another target's
        _touch(tmp_path / ".mm.keras.k3j4h5g6.tmp", OLD),
        _touch(tmp_path / ".m.keras.bak", OLD),  # not a temporary name
        _touch(tmp_path / "m.keras.k3j4h5g6.tmp", OLD),
    }
    (tmp_path / f".m.keras.{tag}-{dead}.zz12cd34.tmp").mkdir()  # not a plain file
    kept.add(f".m.keras.{tag}-{dead}.zz12cd34.tmp")
    with atomic.atomic_write(tmp_path / "m.keras") as f:
        f.write(b"model")
    assert set(os.listdir(tmp_path)) == kept | {"m.keras"}
    assert not removed & set(os.listdir(tmp_path))


@pytest.mark.parametrize("name,weights_only", [("ck.keras", False),
                                               ("ck.weights.h5", True)])
def test_model_checkpoint_writes_no_intermediate_copy(small_model, tmp_path, monkeypatch,
                                                      name, weights_only):
    stale = {_touch(tmp_path / f".tmp-0123abcd-{name}", OLD),  # what older versions left
             _touch(tmp_path / f"..tmp-0123abcd-{name}.x1y2z3w4.tmp", OLD)}
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((os.path.basename(src), os.path.basename(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / name), save_weights_only=weights_only)
    cb.set_model(small_model)
    cb.on_epoch_end(0, {})
    cb.on_epoch_end(1, {})
    # each save: one temporary file renamed onto the checkpoint, nothing else
    assert [dst for _, dst in renames] == [name, name]
    assert all(src.startswith(f".{name}.") and src.endswith(".tmp") for src, _ in renames)
    assert os.listdir(tmp_path) == [name] and not stale & set(os.listdir(tmp_path))
    loaded = keras.Model(small_model.inputs, small_model.outputs)
    loaded.load_weights(str(tmp_path / name))
    for a, b in zip(loaded.get_weights(), small_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_backup_removes_what_crashed_backups_left(small_model, tmp_path):
    backup = tmp_path / "backup"
    (backup / ".tmp-backup-00001-000000-deadbeef").mkdir(parents=True)  # a crashed write
    _touch(backup / ".tmp-backup-00001-000000-deadbeef" / "arrays.npz")
    (backup / "backup-00000-000000-0badc0de").mkdir()  # replaced, but not yet removed
    _touch(backup / "checkpoint.json.tmp-1234abcd")  # an older jkeras's pointer temp
    _touch(backup / "notes.txt")  # not the callback's
    cb = keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)
    cb.set_model(small_model)
    cb.on_epoch_end(0, {})
    names = sorted(os.listdir(backup))
    assert names[0].startswith("backup-00001-") and names[1:] == ["checkpoint.json",
                                                                   "notes.txt"]
    # the backup restores into a fresh model (weights, and the epoch to resume at)
    fresh = keras.Model(small_model.inputs, keras.layers.Dense(2)(small_model.inputs[0]))
    before = small_model.get_weights()
    restore = keras.callbacks.BackupAndRestore(backup)
    restore.set_model(fresh)
    restore.on_train_begin()
    assert fresh._initial_epoch == 1
    for a, b in zip(fresh.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_double_checkpoint_keeps_two_backups_and_falls_back(small_model, tmp_path):
    backup = tmp_path / "backup"
    cb = keras.callbacks.BackupAndRestore(backup, double_checkpoint=True,
                                          delete_checkpoint=False)
    cb.set_model(small_model)
    for epoch in range(3):
        cb.on_epoch_end(epoch, {})
    dirs = sorted(n for n in os.listdir(backup) if n.startswith("backup-"))
    assert [d[:12] for d in dirs] == ["backup-00002", "backup-00003"]
    # the latest cannot be read: the previous one is restored
    _touch(backup / dirs[1] / "arrays.npz", content=b"not a zip")
    restore = keras.callbacks.BackupAndRestore(backup, double_checkpoint=True)
    restore.set_model(small_model)
    restore.on_train_begin()
    assert small_model._initial_epoch == 2
    # without double_checkpoint a damaged backup is an error naming it
    single = keras.callbacks.BackupAndRestore(backup)
    single.set_model(small_model)
    with pytest.raises(ValueError, match="cannot read the backup .*backup-00003"):
        single.on_train_begin()


def test_model_checkpoint_template_cleans_every_name_it_makes(small_model, tmp_path):
    tag, dead = atomic._machine_tag(), _dead_pid()
    stale = _touch(tmp_path / f".ck-7-0.50.weights.h5.{tag}-{dead}.ab12cd34.tmp")
    kept = {_touch(tmp_path / f".other-7.weights.h5.{tag}-{dead}.ab12cd34.tmp"),
            _touch(tmp_path / f".ck-7-0.50.weights.h5.{tag}-{os.getpid()}.ab12cd34.tmp")}
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}-{loss:.2f}.weights.h5"),
                                         save_weights_only=True)
    cb.set_model(small_model)
    cb.on_epoch_end(0, {"loss": 0.25})
    assert set(os.listdir(tmp_path)) == kept | {"ck-1-0.25.weights.h5"}
    assert stale not in os.listdir(tmp_path)
