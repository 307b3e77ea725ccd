"""BackupAndRestore: back up a running fit, and resume it exactly after a crash."""

from __future__ import annotations

import json
import os
import uuid
import warnings
import zipfile

import jax
import numpy as np

from jkeras.callbacks.callback import Callback
from jkeras.distribution import runtime
from jkeras.saving import atomic

_FORMAT = 2  # 1: weight_/optimizer_ .npy files, resumed at epoch starts (jkeras < 0.x)
_POINTER = "checkpoint.json"


def new_batches(batch: int, last: int) -> int:
    """Batches run since a batch hook saw index `last` (-1: none yet this epoch),
    now that it sees index `batch` (hooks come once per call of fused steps)."""
    return batch + 1 if batch <= last else batch - last


class BackupAndRestore(Callback):
    """Backs up the state of a running fit to `backup_dir` at the end of every
    epoch (`save_freq='epoch'`) or every `save_freq` batches, and restores it
    when fit is run again with this callback after an interruption (a crash, a
    kill, a preemption), so the fit goes on where the last backup was taken. The
    backup is deleted when fit completes (unless `delete_checkpoint=False`);
    `double_checkpoint=True` keeps the previous backup too, used when the last
    one cannot be read. `save_freq=False` writes no backup (restore only).

    A backup holds everything the rest of the run depends on: the weights, the
    optimizer state (learning rate, step count, loss scale), the position (epoch
    and batch), the fit's random key (dropout), the seed of its shuffle order,
    the metric values of the epoch so far, and the state of callbacks that keep
    state across epochs (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint).
    So a fit on arrays or a PyDataset that is killed at any point and run again
    ends with the weights of an uninterrupted run (same code, seed and data).
    Keras restores only the weights and the epoch, and restarts an interrupted
    epoch from its start. With several steps per call (`steps_per_execution`), a
    batch-frequency backup is taken at the first call end after every
    `save_freq` batches.

    `backup_dir` belongs to one fit: it holds `checkpoint.json` (which backup is
    current) and one folder per backup (`meta.json`, `arrays.npz`), each written
    under a temporary name and renamed; a later backup removes what earlier
    crashed ones left there."""

    _sync_on_batch = False
    # kept in the backup itself (training/resume.py)
    _resume_attrs = ("_since_save", "_last_batch")

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir (a directory path).")
        if save_freq not in ("epoch", False) and not (
                isinstance(save_freq, int) and not isinstance(save_freq, bool)
                and save_freq > 0):
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch', a positive number of batches "
                f"or False (no backups), got {save_freq!r}."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        by_batch = save_freq not in ("epoch", False)
        self._sync_on_batch = by_batch
        self._no_batch_hooks = not by_batch
        self._since_save = 0  # batches run since the last batch-frequency backup
        self._last_batch = -1  # the last batch index seen this epoch
        self._epoch = 0
        self._pointer = os.path.join(self.backup_dir, _POINTER)

    def _progress(self):
        """The running fit's FitProgress (training/resume.py), if this callback is
        one of its callbacks (a fit with an overridden train_step has none)."""
        progress = getattr(getattr(self.model, "_trainer", None), "fit_progress", None)
        if progress is None or not any(cb is self for cb in progress.callbacks):
            return None
        return progress

    # hooks --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        loaded = self._load()
        if loaded is None:
            return
        meta, snapshot, apply_model, source = loaded
        apply_model()
        self.model._initial_epoch = int(meta["epoch"])
        progress = self._progress()
        if progress is not None:
            progress.restore(snapshot, int(meta.get("step", 0)), apply_model, source)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._no_batch_hooks:
            return
        self._since_save += new_batches(batch, self._last_batch)
        self._last_batch = batch
        if self._since_save >= self.save_freq:
            self._since_save = 0
            self._backup(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch = -1
        if self.save_freq == "epoch":
            self._backup(epoch + 1, 0)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        with runtime.write_on_process_zero("jkeras_backup_delete") as writer:
            if writer and os.path.isdir(self.backup_dir):
                for name in os.listdir(self.backup_dir):
                    if name.startswith(("backup-", ".tmp-", _POINTER, f".{_POINTER}.")):
                        atomic.remove_path(os.path.join(self.backup_dir, name))

    # writing ------------------------------------------------------------------------------
    def _backup(self, epoch: int, step: int) -> None:
        """A backup resuming at batch `step` of epoch `epoch`, taken once every
        callback has run the current hook (their state then is the state to keep)."""
        progress = self._progress()
        if progress is None:
            self._write(epoch, step, None)
        else:
            progress.defer(lambda: self._write(epoch, step, progress.snapshot()))

    def _write(self, epoch: int, step: int, snapshot: dict | None) -> None:
        weights = self.model.get_weights()
        opt = getattr(self.model, "optimizer", None)
        opt_leaves = []
        if opt is not None and getattr(opt, "state", None) is not None:
            opt_leaves = [np.asarray(a) for a in jax.tree_util.tree_leaves(opt.state)]
        # multi-process: process 0 writes, the others wait until the backup is in place
        with runtime.write_on_process_zero("jkeras_backup") as writer:
            if writer:
                self._write_files(epoch, step, weights, opt_leaves, snapshot or {})

    def _write_files(self, epoch, step, weights, opt_leaves, snapshot: dict) -> None:
        arrays = {f"weight_{i:05d}": np.asarray(w) for i, w in enumerate(weights)}
        arrays.update({f"optimizer_{i:05d}": a for i, a in enumerate(opt_leaves)})
        metrics = snapshot.get("metrics") or []
        arrays.update({f"metric_{i:05d}": a for i, a in enumerate(metrics)})
        if snapshot.get("rng") is not None:
            arrays["rng"] = snapshot["rng"]
        meta = {"format": _FORMAT, "epoch": epoch, "step": step,
                "num_weights": len(weights), "num_optimizer": len(opt_leaves),
                "num_metrics": len(metrics), "has_rng": "rng" in arrays,
                "shuffle_seed": snapshot.get("shuffle_seed"),
                "callbacks": _encode_states(snapshot.get("callbacks") or {}, arrays)}
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"backup-{epoch:05d}-{step:06d}-{uuid.uuid4().hex[:8]}"
        tmp = os.path.join(self.backup_dir, ".tmp-" + name)
        os.makedirs(tmp)
        with open(os.path.join(tmp, "arrays.npz"), "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump(meta, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.backup_dir, name))
        keep = [name]
        if self.double_checkpoint:
            keep += self._pointed()[:1]
        with atomic.atomic_write(self._pointer, "w", collective=False) as f:
            json.dump({"latest": keep[0], "previous": keep[1] if len(keep) > 1 else None}, f)
        # what crashed backups left: unreferenced backups, temporary folders and files
        for entry in os.listdir(self.backup_dir):
            if entry.startswith(("backup-", ".tmp-backup-", _POINTER + ".tmp-")) and \
                    entry not in keep:
                atomic.remove_path(os.path.join(self.backup_dir, entry))

    # reading ------------------------------------------------------------------------------
    def _pointed(self) -> list[str]:
        """The backup folder names checkpoint.json points at: latest, then previous."""
        try:
            with open(self._pointer) as f:
                pointer = json.load(f)
        except (OSError, ValueError):
            return []
        names = [pointer.get("latest"), pointer.get("previous")]
        return [n for n in names if isinstance(n, str) and n.startswith("backup-")]

    def _load(self):
        """(meta, progress snapshot, apply_model, source) of the newest readable
        backup, or None when there is none."""
        errors = []
        for name in self._pointed():
            path = os.path.join(self.backup_dir, name)
            if not os.path.isdir(path):
                continue
            try:
                return self._read(path)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
                errors.append((path, e))
                if not self.double_checkpoint:
                    break
        if errors:
            path, e = errors[0]
            if isinstance(e, ValueError) and str(e).startswith("BackupAndRestore"):
                raise e
            raise ValueError(
                f"BackupAndRestore: cannot read the backup '{path}' ({type(e).__name__}: {e}). "
                f"Delete '{self.backup_dir}' to start the fit afresh."
            ) from e
        return None

    def _read(self, path: str):
        source = f"the backup '{path}'"
        try:
            with open(os.path.join(path, "meta.json")) as f:
                meta = json.load(f)
        except ValueError as e:
            raise ValueError(f"BackupAndRestore: {source} is damaged ({e}).") from e
        if meta.get("format", 1) >= 2:
            with np.load(os.path.join(path, "arrays.npz"), allow_pickle=False) as npz:
                return self._read_arrays(meta, source, npz.__getitem__)

        def array(key: str) -> np.ndarray:  # format 1: one .npy file per array
            return np.load(os.path.join(path, key + ".npy"), allow_pickle=False)

        return self._read_arrays(meta, source, array)

    def _read_arrays(self, meta: dict, source: str, array):

        weights = [array(f"weight_{i:05d}") for i in range(meta["num_weights"])]
        model_weights = self.model.weights
        shapes = [tuple(w.shape) for w in weights]
        expected = [tuple(v.shape) for v in model_weights]
        if shapes != expected:
            raise ValueError(
                f"BackupAndRestore: {source} holds {len(weights)} weights of shapes "
                f"{shapes[:6]}{'...' if len(shapes) > 6 else ''}, but the model has "
                f"{len(expected)} of shapes {expected[:6]}{'...' if len(expected) > 6 else ''}. "
                f"It belongs to another model: delete '{self.backup_dir}' or use another "
                f"backup_dir."
            )
        opt = getattr(self.model, "optimizer", None)
        opt_arrays = [array(f"optimizer_{i:05d}") for i in range(meta["num_optimizer"])]
        opt_tree = None
        if opt_arrays and opt is not None and getattr(opt, "state", None) is not None:
            leaves, treedef = jax.tree_util.tree_flatten(opt.state)
            if [np.shape(a) for a in leaves] != [a.shape for a in opt_arrays]:
                raise ValueError(
                    f"BackupAndRestore: the optimizer state in {source} has "
                    f"{len(opt_arrays)} arrays, which do not match the {len(leaves)} of the "
                    f"model's optimizer. Use the optimizer of the interrupted run."
                )
            dtypes = [getattr(a, "dtype", None) for a in leaves]
            opt_tree = (treedef, dtypes)

        def apply_model():
            self.model.set_weights(weights)
            if opt_tree is not None:
                treedef, dtypes = opt_tree
                opt.state = jax.tree_util.tree_unflatten(
                    treedef, [jax.numpy.asarray(a, dtype=d) for a, d in zip(opt_arrays, dtypes)])

        metrics = [array(f"metric_{i:05d}") for i in range(meta.get("num_metrics", 0))]
        snapshot = {"rng": array("rng") if meta.get("has_rng") else None,
                    "metrics": metrics,
                    "shuffle_seed": meta.get("shuffle_seed"),
                    "callbacks": _decode_states(meta.get("callbacks") or {}, array)}
        return meta, snapshot, apply_model, source


def _encode_states(states: dict, arrays: dict) -> dict:
    """Callbacks' states as JSON: lists of arrays go to `arrays` (replaced by a
    reference)."""
    out = {}
    lists = 0
    for key, attrs in states.items():
        enc = {}
        for name, value in attrs.items():
            if isinstance(value, list) and value and all(isinstance(a, np.ndarray) for a in value):
                ref = f"cbarrays_{lists:05d}"
                lists += 1
                for j, a in enumerate(value):
                    arrays[f"{ref}_{j:05d}"] = a
                enc[name] = {"__arrays__": ref, "count": len(value)}
                continue
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                warnings.warn(f"BackupAndRestore: the state '{name}' of callback {key} is not "
                              f"JSON-serializable; it is not backed up.",
                              RuntimeWarning, stacklevel=4)
                continue
            enc[name] = value
        out[key] = enc
    return out


def _decode_states(states: dict, array) -> dict:
    out = {}
    for key, attrs in states.items():
        out[key] = {
            name: ([array(f"{v['__arrays__']}_{j:05d}") for j in range(v["count"])]
                   if isinstance(v, dict) and "__arrays__" in v else v)
            for name, v in attrs.items()}
    return out
