"""Callbacks that write files: ModelCheckpoint, CSVLogger, BackupAndRestore."""

from __future__ import annotations

import csv
import os
import re
import string
import warnings

import numpy as np

from jkeras.callbacks.backup import BackupAndRestore, new_batches
from jkeras.callbacks.callback import Callback, monitor_mode
from jkeras.distribution import runtime
from jkeras.saving import atomic

__all__ = ["BackupAndRestore", "CSVLogger", "ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Saves the model (`model.save`) or its weights (`model.save_weights`) every
    epoch (`save_freq='epoch'`) or every `save_freq` batches, to `filepath`
    formatted with `epoch` (1-based), `batch` and the logs, e.g.
    `'ckpt-{epoch:02d}-{val_loss:.2f}.weights.h5'`. With `save_best_only` it saves
    only when `monitor` improves (on `initial_value_threshold` too, if given).
    Each file is written to a temporary name and renamed (`saving/atomic.py`), so
    a crash never leaves a half-written checkpoint; the next save to the same
    name removes the temporary file a crash left.

    With `save_freq` in batches and several steps per call (`steps_per_execution`),
    batch hooks come once per call: batches are counted from their indices
    (Keras 3 does the same, but its count after an epoch end is one short)."""

    _sync_on_batch = None
    # kept in a BackupAndRestore backup (training/resume.py)
    _resume_attrs = ("best", "_since_save", "_last_batch")

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
        self._since_save = 0  # batches run since the last batch-frequency save
        self._last_batch = -1  # the last batch index seen this epoch
        self._epoch = 0
        self._sync_on_batch = save_freq != "epoch"
        self._no_batch_hooks = save_freq == "epoch"

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._since_save += new_batches(batch, self._last_batch)
        self._last_batch = batch
        if self._since_save >= self.save_freq:
            self._since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch = -1
        if self.save_freq == "epoch" and (epoch + 1) % self._period == 0:
            self._save(epoch, None, logs)

    def _name_pattern(self) -> str:
        """A regular expression for the file names `filepath` formats to."""
        parts = [re.escape(literal) + (".+" if field is not None else "")
                 for literal, field, _, _ in string.Formatter().parse(
                     os.path.basename(self.filepath))]
        return "".join(parts)

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
        if runtime.is_process_zero():
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            # what crashed saves to any name of the template left (each save removes
            # its own name's)
            atomic.remove_stale_temps(path, name_pattern=self._name_pattern())
        try:
            # atomic by itself (saving/atomic.py): no intermediate copy
            if self.save_weights_only:
                self.model.save_weights(path, overwrite=True)
            else:
                self.model.save(path, overwrite=True)
        finally:
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
