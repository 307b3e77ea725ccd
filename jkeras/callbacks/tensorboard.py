"""TensorBoard: event files that TensorBoard reads, written with what is installed.

The event files are written by the first of these that imports: tensorboardX,
the `tensorboard` package's own event writer (no TensorFlow needed), or
TensorFlow's `tf.summary`.
"""

from __future__ import annotations

import os
import time

import numpy as np

from jkeras.callbacks.callback import Callback
from jkeras.distribution import runtime

MISSING_WRITER_MESSAGE = (
    "TensorBoard: no package that writes TensorBoard event files is installed. Install one "
    "of: tensorboardX (`pip install tensorboardX`, or `pip install 'jkeras[tensorboard]'`), "
    "the tensorboard package (`pip install tensorboard`: its own event writer is used), or "
    "TensorFlow (`pip install tensorflow`: tf.summary is used). TensorFlow is not needed for "
    "the first two."
)


class _EventFileWriter:
    """Scalars and histograms as `Event` protos, through the `tensorboard` package's
    `EventFileWriter` (which works without TensorFlow)."""

    def __init__(self, logdir: str):
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._event_pb2, self._summary_pb2 = event_pb2, summary_pb2
        self._writer = EventFileWriter(logdir)

    def _add(self, value, step: int) -> None:
        summary = self._summary_pb2.Summary(value=[value])
        self._writer.add_event(self._event_pb2.Event(wall_time=time.time(), step=int(step),
                                                     summary=summary))

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self._add(self._summary_pb2.Summary.Value(tag=tag, simple_value=float(value)), step)

    def add_histogram(self, tag: str, values, step: int) -> None:
        from tensorboard.compat.proto import histogram_pb2

        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0:
            return
        counts, edges = np.histogram(values, bins=min(30, max(1, values.size)))
        histo = histogram_pb2.HistogramProto(
            min=float(values.min()), max=float(values.max()), num=float(values.size),
            sum=float(values.sum()), sum_squares=float(np.dot(values, values)),
            bucket_limit=[float(e) for e in edges[1:]], bucket=[float(c) for c in counts])
        self._add(self._summary_pb2.Summary.Value(tag=tag, histo=histo), step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class _TfSummaryWriter:
    """Scalars and histograms through TensorFlow's `tf.summary`."""

    def __init__(self, logdir: str):
        import tensorflow as tf

        self._tf = tf
        self._writer = tf.summary.create_file_writer(logdir)

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        with self._writer.as_default():
            self._tf.summary.scalar(tag, float(value), step=int(step))

    def add_histogram(self, tag: str, values, step: int) -> None:
        with self._writer.as_default():
            self._tf.summary.histogram(tag, np.asarray(values), step=int(step))

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _tensorboardx_writer(logdir: str):
    from tensorboardX import SummaryWriter

    return SummaryWriter(logdir=logdir)


def _probe_tensorboardx():
    import tensorboardX  # noqa: F401

    return _tensorboardx_writer


def _probe_tensorboard():
    import tensorboard.compat.proto.event_pb2  # noqa: F401
    import tensorboard.summary.writer.event_file_writer  # noqa: F401

    return _EventFileWriter


def _probe_tensorflow():
    import tensorflow as tf

    tf.summary.create_file_writer  # noqa: B018 - an old or stub TensorFlow lacks it
    return _TfSummaryWriter


#: (name, probe): each probe imports its package and returns a writer factory
WRITERS = (("tensorboardX", _probe_tensorboardx), ("tensorboard", _probe_tensorboard),
           ("tensorflow", _probe_tensorflow))


def summary_writer_factory():
    """`(name, factory)` for the first installed event-file writer of `WRITERS`;
    `factory(logdir)` makes a writer with `add_scalar`, `add_histogram`, `flush`
    and `close`. Raises ImportError naming all three packages when none is."""
    for name, probe in WRITERS:
        try:
            return name, probe()
        except (ImportError, AttributeError):
            continue
    raise ImportError(MISSING_WRITER_MESSAGE)


class TensorBoard(Callback):
    """Logs per-epoch scalars (`epoch_loss`, `epoch_<metric>`, `epoch_learning_rate`)
    under `log_dir/train` and the validation ones under `log_dir/validation`, as
    Keras does. `update_freq=N` also logs `batch_<metric>` every N batches;
    `histogram_freq=N` logs weight histograms every N epochs.

    The files are written with tensorboardX, else the `tensorboard` package, else
    TensorFlow's `tf.summary` (`writer_name` says which); ImportError naming all
    three when none is installed."""

    _sync_on_batch = False

    def __init__(self, log_dir="logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq="epoch", profile_batch=0, embeddings_freq: int = 0,
                 embeddings_metadata=None, **kwargs):
        super().__init__()
        self.writer_name, self._make_writer = summary_writer_factory()
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
            w = self._make_writer(os.path.join(self.log_dir, which))
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
