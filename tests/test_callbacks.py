"""Callbacks: each one's effect on training (files, learning rate, stopping epoch,
restored weights, resumed epoch)."""

import csv
import glob
import os
import struct
import sys

import numpy as np
import pytest

import jkeras as keras
from jkeras import callbacks, layers, optimizers
from jkeras.engine.model import Model


@pytest.fixture
def reg(rng):
    x = rng.normal(size=(12, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    return x, y


def model(lr=0.05, opt="sgd"):
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(1)(layers.Dense(4)(inp)))
    optimizer = optimizers.SGD(learning_rate=lr) if opt == "sgd" else optimizers.Adam(lr)
    m.compile(optimizer, "mse", metrics=["mae"])
    return m


def lr_of(m):
    return float(np.asarray(m.optimizer.learning_rate))


class Scores(callbacks.Callback):
    """Writes a scripted value into the epoch logs (placed before the callback
    under test) and records the weights after each epoch."""

    def __init__(self, values, key="score"):
        super().__init__()
        self.values, self.key = values, key
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


# ------------------------------------------------------------------------------ base
def test_hooks_order_and_lambda_callback(reg):
    x, y = reg
    m = model()
    calls = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda e, logs: calls.append(f"epoch_begin{e}"),
        on_batch_end=lambda b, logs: calls.append(f"batch{b}:{'loss' in logs}"),
        on_epoch_end=lambda e, logs: calls.append(f"epoch_end{e}:{sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    m.fit(x, y, batch_size=6, epochs=2, verbose=0, callbacks=[cb], validation_data=(x, y))
    assert calls == [
        "train_begin", "epoch_begin0", "batch0:True", "batch1:True",
        "epoch_end0:['loss', 'mae', 'val_loss', 'val_mae']", "epoch_begin1", "batch0:True",
        "batch1:True", "epoch_end1:['loss', 'mae', 'val_loss', 'val_mae']", "train_end"]


def test_callbacks_see_current_weights_and_params(reg):
    x, y = reg
    m = model()
    seen = {}

    class Look(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.setdefault("batch", []).append(self.model.get_weights()[0].copy())

        def on_epoch_end(self, epoch, logs=None):
            seen["params"] = dict(self.params)

    first = m.get_weights()[0]
    m.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[Look()])
    b = seen["batch"]
    assert len(b) == 3 and not np.allclose(b[0], first) and not np.allclose(b[0], b[1])
    np.testing.assert_array_equal(b[-1], m.get_weights()[0])
    assert seen["params"]["epochs"] == 1 and seen["params"]["steps"] == 3


def test_stop_training_from_a_batch_hook(reg):
    x, y = reg
    m = model()

    class StopAt(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    h = m.fit(x, y, batch_size=2, epochs=5, verbose=0, callbacks=[StopAt()])
    assert h.epoch == [0]
    assert int(np.asarray(m.optimizer.iterations)) == 2


# ------------------------------------------------------------------------------ EarlyStopping
def test_early_stopping_patience_and_restore_best_weights(reg):
    x, y = reg
    m = model()
    scores = Scores([3.0, 1.0, 2.0, 2.5, 0.5, 0.1])
    es = callbacks.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=6, verbose=0, callbacks=[scores, es])
    assert h.epoch == [0, 1, 2, 3]
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    for a, b in zip(m.get_weights(), scores.weights[1]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_min_delta_baseline_start_from_epoch(reg):
    x, y = reg
    m = model()  # the scripted scores, not the model, drive these runs
    es = callbacks.EarlyStopping(monitor="score", patience=1, min_delta=0.5)
    h = m.fit(x, y, epochs=5, verbose=0, callbacks=[Scores([3.0, 2.8, 2.7, 1.0, 0.0]), es])
    assert h.epoch == [0, 1]  # 2.8 is not 0.5 better than 3.0
    accs = [0.95, 0.93, 0.92, 0.91, 0.99]  # mode 'max' (an accuracy)
    es = callbacks.EarlyStopping(monitor="val_acc", patience=2)
    h = m.fit(x, y, epochs=5, verbose=0, callbacks=[Scores(accs, key="val_acc"), es])
    assert h.epoch == [0, 1, 2]
    es = callbacks.EarlyStopping(monitor="val_acc", patience=2, baseline=0.96)
    h = m.fit(x, y, epochs=5, verbose=0, callbacks=[Scores(accs, key="val_acc"), es])
    assert h.epoch == [0, 1]  # the first epoch did not beat the baseline
    es = callbacks.EarlyStopping(monitor="score", patience=0, start_from_epoch=2)
    h = m.fit(x, y, epochs=5, verbose=0, callbacks=[Scores([5.0, 6.0, 7.0, 8.0, 9.0]), es])
    assert h.epoch == [0, 1, 2, 3]


# ------------------------------------------------------------------------------ learning rate
def test_learning_rate_scheduler_both_signatures(reg):
    x, y = reg
    m = model(lr=0.1)
    h = m.fit(x, y, epochs=3, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(lambda e: 0.1 / (e + 1))])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    np.testing.assert_allclose(lr_of(m), 0.1 / 3, rtol=1e-6)
    h = m.fit(x, y, epochs=2, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5)])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1 / 6, 0.1 / 12], rtol=1e-5)
    assert m._trainer.trace_counts["train"] == 1  # changing the rate does not retrace


def test_learning_rate_actually_used(reg):
    x, y = reg
    m = model(lr=0.1)
    before = m.get_weights()
    m.fit(x, y, epochs=2, verbose=0,
          callbacks=[callbacks.LearningRateScheduler(lambda e: 0.0)])
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_reduce_lr_on_plateau(reg):
    x, y = reg
    m = model(lr=0.1)
    cb = callbacks.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, cooldown=1,
                                     min_lr=0.02)
    h = m.fit(x, y, epochs=8, verbose=0,
              callbacks=[Scores([1.0] * 8), cb])
    # logs hold the rate the epoch ran with; no improvement after epoch 0: reduced at
    # the end of epochs 2, 4 (one cooldown epoch, then patience counts again) and 6
    # (floored at min_lr)
    np.testing.assert_allclose(
        h.history["learning_rate"], [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02],
        rtol=1e-6)
    np.testing.assert_allclose(lr_of(m), 0.02, rtol=1e-6)


def test_terminate_on_nan(reg):
    x, y = reg
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(1)(inp))
    m.compile(optimizers.SGD(learning_rate=0.1), lambda yt, yp: (yp - yt)[:, 0] * np.nan)
    h = m.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert h.epoch == [0] and np.isnan(h.history["loss"][0])
    assert int(np.asarray(m.optimizer.iterations)) == 1


# ------------------------------------------------------------------------------ files
def test_csv_logger_and_append(reg, tmp_path):
    x, y = reg
    path = tmp_path / "log.csv"
    m = model()
    m.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
          callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    h = m.fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
              callbacks=[callbacks.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert len(rows) == 4 and rows[3][0] == "0"
    assert float(rows[3][1]) == pytest.approx(h.history["loss"][0])


def test_model_checkpoint_without_saving_support_raises_clearly(monkeypatch):
    monkeypatch.delattr(Model, "save_weights", raising=False)
    monkeypatch.delattr(Model, "save", raising=False)
    with pytest.raises(NotImplementedError, match="Model.save_weights"):
        callbacks.ModelCheckpoint("w.weights.h5", save_weights_only=True)
    with pytest.raises(NotImplementedError, match="Model.save\\b"):
        callbacks.ModelCheckpoint("m.keras")


def test_model_checkpoint_templates_best_only_atomic(reg, tmp_path, monkeypatch):
    x, y = reg
    written = []

    def fake_save_weights(self, filepath, overwrite=True):
        written.append(os.path.basename(filepath))
        with open(filepath, "wb") as f:
            np.save(f, self.get_weights()[0])

    monkeypatch.setattr(Model, "save_weights", fake_save_weights, raising=False)
    m = model()
    tpl = str(tmp_path / "ckpt-{epoch:02d}-{score:.2f}.weights.h5")
    cb = callbacks.ModelCheckpoint(tpl, monitor="score", save_best_only=True,
                                   save_weights_only=True)
    scores = Scores([3.0, 1.0, 2.0, 0.5])
    m.fit(x, y, epochs=4, verbose=0, callbacks=[scores, cb])
    files = sorted(os.listdir(tmp_path))
    assert files == ["ckpt-01-3.00.weights.h5", "ckpt-02-1.00.weights.h5",
                     "ckpt-04-0.50.weights.h5"]
    # saved straight to its name (save_weights itself writes atomically): no intermediate
    # copy that a crash could leave behind
    assert written == files
    saved = np.load(tmp_path / "ckpt-04-0.50.weights.h5")
    np.testing.assert_array_equal(saved, scores.weights[3][0])
    every = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.weights.h5"),
                                      save_weights_only=True)
    m.fit(x, y, epochs=2, verbose=0, callbacks=[every])
    assert (tmp_path / "e1.weights.h5").exists() and (tmp_path / "e2.weights.h5").exists()
    bad = callbacks.ModelCheckpoint(str(tmp_path / "{nope}.weights.h5"),
                                    save_weights_only=True)
    with pytest.raises(KeyError, match="nope"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[bad])


class Interrupt(callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        # (a crash inside on_epoch_end would come before that epoch's backup, which is
        # taken once every callback's on_epoch_end has run)
        if epoch == self.at + 1:
            raise KeyboardInterrupt("simulated crash")


def test_backup_and_restore_resumes_with_optimizer_state(reg, tmp_path):
    x, y = reg
    keras.utils.set_random_seed(3)
    ref = model(lr=0.05, opt="adam")
    init = ref.get_weights()
    ref.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0)

    keras.utils.set_random_seed(3)
    m = model(lr=0.05, opt="adam")
    m.set_weights(init)
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        m.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0,
              callbacks=[backup, Interrupt(2)])
    assert os.path.exists(tmp_path / "backup" / "checkpoint.json")
    # a fresh process would rebuild the model: scramble the weights and optimizer state
    m2 = model(lr=0.05, opt="adam")
    h = m2.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0,
               callbacks=[callbacks.BackupAndRestore(tmp_path / "backup")])
    assert h.epoch == [3, 4]
    for a, b in zip(ref.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert int(np.asarray(m2.optimizer.iterations)) == 15
    leftovers = [p for p in os.listdir(tmp_path / "backup") if not p.startswith(".")]
    assert leftovers == []  # deleted after a completed fit


# ------------------------------------------------------------------------------ TensorBoard
def test_tensorboard_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"tensorboardX.*pip install.*TensorFlow is not"):
        callbacks.TensorBoard(log_dir="logs")


def _read_scalars(directory):
    from tensorboardX.proto import event_pb2

    out = {}
    for path in glob.glob(os.path.join(directory, "events.out.tfevents.*")):
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def test_tensorboard_event_files(reg, tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = reg
    m = model(lr=0.05)
    h = m.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=1)])
    train = _read_scalars(tmp_path / "train")
    val = _read_scalars(tmp_path / "validation")
    assert [s for s, _ in train["epoch_loss"]] == [0, 1]
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], h.history["loss"],
                               rtol=1e-6)
    np.testing.assert_allclose([v for _, v in val["epoch_loss"]], h.history["val_loss"],
                               rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.05, 0.05],
                               rtol=1e-6)
    assert "epoch_mae" in train and "epoch_mae" in val
