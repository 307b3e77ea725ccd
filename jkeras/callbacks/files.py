"""Callbacks that write files: ModelCheckpoint, CSVLogger, BackupAndRestore."""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
import warnings

import jax
import numpy as np

from jkeras.callbacks.callback import Callback, monitor_mode
from jkeras.distribution import runtime


def _atomic_path(path: str) -> str:
    """A temporary path next to `path` with the same file name ending."""
    d, base = os.path.split(os.path.abspath(path))
    return os.path.join(d, f".tmp-{uuid.uuid4().hex[:8]}-{base}")


def _replace(tmp: str, final: str) -> None:
    if os.path.isdir(final) and not os.path.islink(final):
        shutil.rmtree(final)
    os.replace(tmp, final)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)


class ModelCheckpoint(Callback):
    """Saves the model (`model.save`) or its weights (`model.save_weights`) every
    epoch (`save_freq='epoch'`) or every `save_freq` batches, to `filepath`
    formatted with `epoch` (1-based), `batch` and the logs, e.g.
    `'ckpt-{epoch:02d}-{val_loss:.2f}.weights.h5'`. With `save_best_only` it saves
    only when `monitor` improves (on `initial_value_threshold` too, if given).
    Each file is written to a temporary name and renamed, so a crash never leaves
    a half-written checkpoint."""

    _sync_on_batch = None

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq="epoch", initial_value_threshold=None,
                 **kwargs):
        super().__init__()
        if "period" in kwargs:
            warnings.warn("ModelCheckpoint(period=) is the Keras 1/2 name; use save_freq "
                          "(an epoch count is period, a batch count is save_freq=int).",
                          DeprecationWarning, stacklevel=2)
            self._period = int(kwargs.pop("period"))
        else:
            self._period = 1
        if kwargs:
            raise TypeError(f"ModelCheckpoint got unexpected argument(s) {sorted(kwargs)}.")
        from jkeras.engine.model import Model

        needed = "save_weights" if save_weights_only else "save"
        if not callable(getattr(Model, needed, None)):
            raise NotImplementedError(
                f"ModelCheckpoint(save_weights_only={save_weights_only}) needs Model.{needed}, "
                f"which this version of jkeras does not have yet (model saving formats are "
                f"not implemented). Use BackupAndRestore(backup_dir) to checkpoint training "
                f"state meanwhile."
            )
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive number of batches, "
                f"got {save_freq!r}."
            )
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = monitor_mode(monitor, mode, "ModelCheckpoint")
        self.save_freq = save_freq
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -np.inf if self.mode == "max" else np.inf
        self._batches_seen = 0
        self._epoch = 0
        self._sync_on_batch = save_freq != "epoch"
        self._no_batch_hooks = save_freq == "epoch"

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch" and (epoch + 1) % self._period == 0:
            self._save(epoch, None, logs)

    def _format(self, epoch, batch, logs) -> str:
        values = {k: (float(v) if np.ndim(v) == 0 else v) for k, v in (logs or {}).items()}
        try:
            if batch is None:
                return self.filepath.format(epoch=epoch + 1, **values)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **values)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: filepath '{self.filepath}' uses {{{e.args[0]}}}, which is "
                f"not in the logs. Available keys: ['epoch'"
                f"{', ' + repr('batch') if batch is not None else ''}] + {sorted(values)}."
            ) from e

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        path = self._format(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint: can save the best model only with '{self.monitor}' in "
                    f"the logs (available: {sorted(logs)}); skipping.",
                    RuntimeWarning, stacklevel=3,
                )
                return
            current = float(current)
            better = current > self.best if self.mode == "max" else current < self.best
            if not better:
                if self.verbose > 0 and runtime.is_process_zero():
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0 and runtime.is_process_zero():
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0 and runtime.is_process_zero():
            print(f"Epoch {epoch + 1}: saving model to {path}")
        # multi-process: every process saves (gathering what it must), process 0 writes
        writer = runtime.is_process_zero()
        if writer:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = _atomic_path(path)
        try:
            if self.save_weights_only:
                self.model.save_weights(tmp, overwrite=True)
            else:
                self.model.save(tmp, overwrite=True)
            if writer:
                _replace(tmp, path)
        finally:
            if writer and os.path.exists(tmp):
                _remove(tmp)
            runtime.barrier("jkeras_checkpoint")


class CSVLogger(Callback):
    """Writes each epoch's logs as a CSV row (`epoch` first, then the metric names
    in sorted order). `append=True` continues an existing file without
    repeating the header."""

    _sync_on_batch = False

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        if not runtime.is_process_zero():  # one file per run, written by process 0
            return
        has_content = (self.append and os.path.exists(self.filename)
                       and os.path.getsize(self.filename) > 0)
        self._append_header = not has_content
        self.keys = None
        if has_content:
            with open(self.filename, newline="") as f:
                first = f.readline().strip()
            if first:
                self.keys = first.split(self.sep)[1:]
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self._file is None:
            return
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self.keys],
                                          delimiter=self.sep, extrasaction="ignore")
            if self._append_header:
                self._writer.writeheader()

        def fmt(v):
            if v is None:
                return "NA"
            if np.ndim(v) == 0:
                return repr(float(v)) if not isinstance(v, str) else v
            return "[" + ", ".join(str(x) for x in np.asarray(v).ravel()) + "]"

        row = {"epoch": epoch}
        for k in self.keys:
            row[k] = fmt(logs.get(k))
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


class BackupAndRestore(Callback):
    """Backs up the training state (weights, optimizer state, epoch) to
    `backup_dir` at the end of every epoch (or every `save_freq` batches), so a
    fit that was interrupted resumes, when run again with this callback, at the
    epoch after the last backup, with the same weights and optimizer state. The
    backup is deleted when fit finishes (unless `delete_checkpoint=False`).

    Storage: one directory per backup holding `.npy` arrays and `meta.json`,
    published by atomically replacing the pointer file `checkpoint.json`."""

    _sync_on_batch = False

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint: bool = True,
                 double_checkpoint: bool = False):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir (a directory path).")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch' or a positive number of batches, "
                f"got {save_freq!r}."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.double_checkpoint = double_checkpoint
        self._sync_on_batch = save_freq != "epoch"
        self._no_batch_hooks = save_freq == "epoch"
        self._batches_seen = 0
        self._epoch = 0
        self._pointer = os.path.join(self.backup_dir, "checkpoint.json")

    # storage ----------------------------------------------------------------------------
    def _latest(self) -> str | None:
        if not os.path.exists(self._pointer):
            return None
        with open(self._pointer) as f:
            name = json.load(f)["latest"]
        path = os.path.join(self.backup_dir, name)
        return path if os.path.isdir(path) else None

    def _write(self, epoch: int, batch: int | None) -> None:
        # multi-process: process 0 writes, the others wait until the backup is in place
        with runtime.write_on_process_zero("jkeras_backup") as writer:
            if writer:
                self._write_files(epoch, batch)

    def _write_files(self, epoch: int, batch: int | None) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"backup-{epoch:05d}-{uuid.uuid4().hex[:8]}"
        tmp = os.path.join(self.backup_dir, ".tmp-" + name)
        os.makedirs(tmp)
        weights = self.model.get_weights()
        for i, w in enumerate(weights):
            np.save(os.path.join(tmp, f"weight_{i:05d}.npy"), np.asarray(w), allow_pickle=False)
        opt = getattr(self.model, "optimizer", None)
        leaves = []
        if opt is not None and getattr(opt, "state", None) is not None:
            leaves = jax.tree_util.tree_leaves(opt.state)
        for i, leaf in enumerate(leaves):
            np.save(os.path.join(tmp, f"optimizer_{i:05d}.npy"), np.asarray(leaf),
                    allow_pickle=False)
        meta = {"epoch": epoch, "batch": batch, "num_weights": len(weights),
                "num_optimizer": len(leaves)}
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump(meta, f)
        final = os.path.join(self.backup_dir, name)
        os.replace(tmp, final)
        old = self._latest()
        ptr_tmp = self._pointer + f".tmp-{uuid.uuid4().hex[:8]}"
        with open(ptr_tmp, "w") as f:
            json.dump({"latest": name}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(ptr_tmp, self._pointer)
        if old is not None and not self.double_checkpoint:
            shutil.rmtree(old, ignore_errors=True)

    def _restore(self, path: str) -> int:
        with open(os.path.join(path, "meta.json")) as f:
            meta = json.load(f)
        weights = [np.load(os.path.join(path, f"weight_{i:05d}.npy"), allow_pickle=False)
                   for i in range(meta["num_weights"])]
        if len(weights) != len(self.model.weights):
            raise ValueError(
                f"BackupAndRestore: the backup in '{path}' holds {len(weights)} weights, but the "
                f"model has {len(self.model.weights)}. It belongs to another model: delete "
                f"'{self.backup_dir}' or use another backup_dir."
            )
        self.model.set_weights(weights)
        opt = getattr(self.model, "optimizer", None)
        if meta["num_optimizer"] and opt is not None and getattr(opt, "state", None) is not None:
            leaves, treedef = jax.tree_util.tree_flatten(opt.state)
            if len(leaves) != meta["num_optimizer"]:
                raise ValueError(
                    f"BackupAndRestore: the optimizer state in '{path}' has "
                    f"{meta['num_optimizer']} arrays, but the model's optimizer has "
                    f"{len(leaves)}. Use the same optimizer as the interrupted run."
                )
            new = []
            for i, old in enumerate(leaves):
                a = np.load(os.path.join(path, f"optimizer_{i:05d}.npy"), allow_pickle=False)
                new.append(jax.numpy.asarray(a, dtype=getattr(old, "dtype", None)))
            opt.state = jax.tree_util.tree_unflatten(treedef, new)
        return int(meta["epoch"])

    # hooks --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        path = self._latest()
        if path is not None:
            epoch = self._restore(path)
            self.model._initial_epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            # mid-epoch backups resume at the start of this epoch
            self._write(self._epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._write(epoch + 1, None)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        with runtime.write_on_process_zero("jkeras_backup_delete") as writer:
            if writer and os.path.isdir(self.backup_dir):
                for name in os.listdir(self.backup_dir):
                    if name.startswith(("backup-", ".tmp-", "checkpoint.json")):
                        _remove(os.path.join(self.backup_dir, name))
