"""TensorBoard: event files that TensorBoard reads, written with tensorboardX."""

from __future__ import annotations

import os

import numpy as np

from jkeras.callbacks.callback import Callback
from jkeras.distribution import runtime

_MISSING = (
    "The TensorBoard callback writes event files with the optional package tensorboardX, "
    "which is not installed. Install it with `pip install 'jkeras[tensorboard]'` (or "
    "`pip install tensorboardX`); TensorFlow is not needed."
)


def _summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError(_MISSING) from e
    return SummaryWriter


class TensorBoard(Callback):
    """Logs per-epoch scalars (`epoch_loss`, `epoch_<metric>`, `epoch_learning_rate`)
    under `log_dir/train` and the validation ones under `log_dir/validation`, as
    Keras does. `update_freq=N` also logs `batch_<metric>` every N batches;
    `histogram_freq=N` logs weight histograms every N epochs."""

    _sync_on_batch = False

    def __init__(self, log_dir="logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq="epoch", profile_batch=0, embeddings_freq: int = 0,
                 embeddings_metadata=None, **kwargs):
        super().__init__()
        self._writer_cls = _summary_writer()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(
                f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive number of "
                f"batches, got {update_freq!r}."
            )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.update_freq = update_freq
        self.write_steps_per_second = write_steps_per_second
        self._writers: dict = {}
        self._global_batch = 0
        # no batch-level hook unless asked: keeps training free of per-batch host syncs
        self._no_batch_hooks = update_freq == "epoch"

    def _writer(self, which: str):
        w = self._writers.get(which)
        if w is None:
            w = self._writer_cls(logdir=os.path.join(self.log_dir, which))
            self._writers[which] = w
        return w

    def on_train_begin(self, logs=None):
        self._global_batch = 0

    def on_train_batch_end(self, batch, logs=None):
        self._global_batch += 1
        if self.update_freq == "epoch" or self._global_batch % self.update_freq:
            return
        if not runtime.is_process_zero():  # multi-process: process 0 writes the logs
            return
        w = self._writer("train")
        for k, v in (logs or {}).items():
            if np.ndim(v) == 0:
                w.add_scalar(f"batch_{k}", float(v), self._global_batch)

    def on_epoch_end(self, epoch, logs=None):
        if not runtime.is_process_zero():  # multi-process: process 0 writes the logs
            return
        logs = dict(logs or {})
        train = self._writer("train")
        val = None
        for k, v in logs.items():
            if np.ndim(v) != 0:
                continue
            if k.startswith("val_"):
                val = val or self._writer("validation")
                val.add_scalar(f"epoch_{k[4:]}", float(v), epoch)
            else:
                train.add_scalar(f"epoch_{k}", float(v), epoch)
        if "learning_rate" not in logs:
            lr = self._learning_rate()
            if lr is not None:
                train.add_scalar("epoch_learning_rate", lr, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for var in self.model.weights:
                train.add_histogram(var.path, np.asarray(var.value), epoch)
        for w in self._writers.values():
            w.flush()

    def _learning_rate(self):
        opt = getattr(self.model, "optimizer", None)
        if opt is None:
            return None
        try:
            lr = opt.learning_rate
            return float(np.asarray(getattr(lr, "value", lr)))
        except (TypeError, ValueError, AttributeError):
            return None

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()
        self._writers = {}
