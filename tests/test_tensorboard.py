"""The TensorBoard callback writes event files with whichever writer the user has:
tensorboardX, else the `tensorboard` package's own event writer, else TensorFlow's
`tf.summary`; with none of them, the error names all three."""

import contextlib
import glob
import os
import struct
import sys
import types

import numpy as np
import pytest

from jkeras import callbacks

WRITER_MODULES = ("tensorboardX", "tensorboard", "tensorflow")


def hide(monkeypatch, *names):
    """Makes `import name` (and its submodules) fail as if the package were absent."""
    for name in list(sys.modules):
        if name.split(".")[0] in names:
            monkeypatch.delitem(sys.modules, name)
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def read_events(directory, event_pb2):
    """{tag: [(step, Summary.Value)]} from the event files in `directory`."""
    out = {}
    paths = glob.glob(os.path.join(directory, "events.out.tfevents.*"))
    assert paths, f"no event file in {directory}"
    for path in paths:
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v))
    return out


def log_two_epochs(log_dir):
    """Drives the callback's hooks as `fit` does, for two epochs with validation."""
    weights = [types.SimpleNamespace(path="dense/kernel", value=np.arange(12.0) - 3.0)]
    cb = callbacks.TensorBoard(log_dir=log_dir, histogram_freq=1)
    cb.set_model(types.SimpleNamespace(weights=weights, optimizer=None))
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 0.75, "accuracy": 0.5, "val_loss": 0.875})
    cb.on_epoch_end(1, {"loss": 0.5, "accuracy": 0.625, "val_loss": 0.625})
    cb.on_train_end()
    return cb


def check_files(log_dir, event_pb2):
    train = read_events(log_dir / "train", event_pb2)
    val = read_events(log_dir / "validation", event_pb2)
    assert [(s, v.simple_value) for s, v in train["epoch_loss"]] == [(0, 0.75), (1, 0.5)]
    assert [(s, v.simple_value) for s, v in train["epoch_accuracy"]] == [(0, 0.5), (1, 0.625)]
    assert [(s, v.simple_value) for s, v in val["epoch_loss"]] == [(0, 0.875), (1, 0.625)]
    (_, first), (_, second) = train["dense/kernel"]
    for histo in (first.histo, second.histo):
        assert histo.num == 12 and histo.min == -3 and histo.max == 8
        assert histo.sum == pytest.approx(np.sum(np.arange(12.0) - 3.0))
        assert sum(histo.bucket) == 12


def test_error_names_all_three_writers(monkeypatch):
    hide(monkeypatch, *WRITER_MODULES)
    with pytest.raises(ImportError) as e:
        callbacks.TensorBoard(log_dir="logs")
    message = str(e.value)
    for install in ("pip install tensorboardX", "pip install 'jkeras[tensorboard]'",
                    "pip install tensorboard`", "pip install tensorflow"):
        assert install in message
    assert "tf.summary" in message and "TensorFlow is not needed" in message


def test_tensorboardx_is_preferred(tmp_path):
    pytest.importorskip("tensorboardX")
    from tensorboardX.proto import event_pb2

    cb = log_two_epochs(tmp_path)
    assert cb.writer_name == "tensorboardX"
    check_files(tmp_path, event_pb2)


def test_tensorboard_package_without_tensorboardx(monkeypatch, tmp_path):
    """Runs where the `tensorboard` package is installed (it is not a test extra)."""
    pytest.importorskip("tensorboard.summary.writer.event_file_writer")
    from tensorboard.compat.proto import event_pb2

    hide(monkeypatch, "tensorboardX")
    cb = log_two_epochs(tmp_path)
    assert cb.writer_name == "tensorboard"
    check_files(tmp_path, event_pb2)


def fake_tensorflow(calls: list):
    """A stand-in for TensorFlow's `tf.summary` that records what it is asked to write."""
    class Writer:
        def __init__(self, logdir):
            self.logdir = logdir

        @contextlib.contextmanager
        def as_default(self):
            calls.append(("default", os.path.basename(self.logdir)))
            yield

        def flush(self):
            calls.append(("flush", os.path.basename(self.logdir)))

        def close(self):
            calls.append(("close", os.path.basename(self.logdir)))

    summary = types.SimpleNamespace(
        create_file_writer=Writer,
        scalar=lambda tag, value, step: calls.append(("scalar", tag, value, step)),
        histogram=lambda tag, values, step: calls.append(("histogram", tag, values.size, step)))
    return types.SimpleNamespace(summary=summary)


def test_tf_summary_when_only_tensorflow(monkeypatch, tmp_path):
    calls = []
    hide(monkeypatch, *WRITER_MODULES)
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow(calls))
    cb = log_two_epochs(tmp_path)
    assert cb.writer_name == "tensorflow"
    scalars = [c[1:] for c in calls if c[0] == "scalar"]
    assert ("epoch_loss", 0.75, 0) in scalars and ("epoch_loss", 0.5, 1) in scalars
    assert ("dense/kernel", 12, 1) in [c[1:] for c in calls if c[0] == "histogram"]
    assert ("default", "validation") in calls
    assert {c[1] for c in calls if c[0] == "close"} == {"train", "validation"}
