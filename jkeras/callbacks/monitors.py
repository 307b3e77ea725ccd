"""Callbacks that watch a metric: EarlyStopping, ReduceLROnPlateau; and the
learning-rate callbacks LearningRateScheduler and TerminateOnNaN."""

from __future__ import annotations

import math
import warnings

import numpy as np

from jkeras.callbacks.callback import Callback, monitor_mode


def _better(mode: str, current: float, reference: float, min_delta: float = 0.0) -> bool:
    if mode == "max":
        return current - min_delta > reference
    return current + min_delta < reference


def _missing_monitor(owner: str, monitor: str, logs: dict) -> None:
    warnings.warn(
        f"{owner} is monitoring '{monitor}', which is not in the logs (available: "
        f"{sorted(logs)}). For a 'val_' metric pass validation data to fit.",
        RuntimeWarning, stacklevel=3,
    )


def get_learning_rate(model, owner: str) -> float:
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise ValueError(f"{owner} needs a compiled model with an optimizer.")
    lr = opt.learning_rate
    try:
        return float(np.asarray(getattr(lr, "value", lr)))
    except TypeError as e:
        raise TypeError(
            f"{owner}: the optimizer's learning_rate is a schedule ({type(lr).__name__}); "
            f"{owner} needs a constant learning rate it can change."
        ) from e


def set_learning_rate(model, value: float) -> None:
    model.optimizer.learning_rate = float(value)


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved by more than `min_delta` for
    `patience` epochs (counted from `start_from_epoch`). With `baseline`, training
    stops unless the metric beats it within `patience` epochs. With
    `restore_best_weights`, the weights of the best epoch are restored at the
    end of training. `stopped_epoch` holds the (0-based) epoch it stopped at."""

    _sync_on_batch = False
    # kept in a BackupAndRestore backup (training/resume.py)
    _resume_attrs = ("wait", "stopped_epoch", "best", "best_weights", "best_epoch")

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = monitor_mode(monitor, mode, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            _missing_monitor("EarlyStopping", self.monitor, logs)
            return
        if epoch < self.start_from_epoch:
            return
        current = float(current)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if _better(self.mode, current, self.best, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _better(self.mode, current, float(self.baseline),
                                                self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        return (logs or {}).get(self.monitor)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` has not improved by
    more than `min_delta` for `patience` epochs, then waits `cooldown` epochs;
    never below `min_lr`. Adds `learning_rate` to the epoch logs."""

    _sync_on_batch = False
    # kept in a BackupAndRestore backup (training/resume.py)
    _resume_attrs = ("best", "wait", "cooldown_counter")

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:
            warnings.warn("ReduceLROnPlateau(epsilon=) is the Keras 1 name; use min_delta=.",
                          DeprecationWarning, stacklevel=2)
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected argument(s) {sorted(kwargs)}.")
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau: factor must be < 1 (the learning rate is multiplied by it), "
                f"got {factor}."
            )
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = monitor_mode(monitor, mode, "ReduceLROnPlateau")
        self.min_delta = abs(float(min_delta))
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self):
        self.best = -math.inf if self.mode == "max" else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        lr = get_learning_rate(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = lr
        current = logs.get(self.monitor)
        if current is None:
            _missing_monitor("ReduceLROnPlateau", self.monitor, logs)
            return
        current = float(current)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _better(self.mode, current, self.best, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new_lr = max(lr * self.factor, self.min_lr)
                set_learning_rate(self.model, new_lr)
                if self.verbose > 0:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{new_lr}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to `schedule(epoch, lr)`
    (or `schedule(epoch)`, the Keras 1 form); `epoch` is 0-based. Adds
    `learning_rate` to the epoch logs."""

    _sync_on_batch = False

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = get_learning_rate(self.model, "LearningRateScheduler")
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError:
            new_lr = self.schedule(epoch)
        try:
            new_lr = float(np.asarray(new_lr))
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"LearningRateScheduler: schedule({epoch}) must return a number, got "
                f"{new_lr!r}."
            ) from e
        if not math.isfinite(new_lr):
            raise ValueError(
                f"LearningRateScheduler: schedule({epoch}) returned {new_lr}, which is not a "
                f"finite learning rate."
            )
        set_learning_rate(self.model, new_lr)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_learning_rate(self.model, "LearningRateScheduler")


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite (this fetches
    the loss after every batch)."""

    _sync_on_batch = False

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(np.asarray(loss))
        if math.isnan(loss) or math.isinf(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
