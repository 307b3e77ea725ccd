"""Exact resume: a fit with BackupAndRestore that is SIGKILLed and run again ends with
the weights (and epoch logs) of an uninterrupted run, with epoch and batch save_freq.

The fits run in child processes (one small script, run several times) that kill
themselves at a chosen point: at an epoch start (just after an epoch-end backup) and
in the middle of an epoch (between two batch-frequency backups). The model has
Dropout (the fit's random key matters), the data is shuffled (the order matters),
several steps run per call (backups land on block ends), and ReduceLROnPlateau keeps
state across epochs."""

import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import jkeras

CHILD = r'''
import json, os, signal, sys
import numpy as np
import jkeras as keras

backup_dir, save_freq, spe, kill, out, log_path = sys.argv[1:7]
save_freq = save_freq if save_freq == "epoch" else int(save_freq)
spe = spe if spe == "auto" else int(spe)
kill_at = None if kill == "none" else tuple(int(v) for v in kill.split(","))

keras.utils.set_random_seed(7)
rs = np.random.RandomState(0)
x = rs.normal(size=(54, 5)).astype("float32")  # 7 batches of 8, the last one short
y = (x @ rs.normal(size=(5, 1))).astype("float32")
inp = keras.Input((5,))
h = keras.layers.Dropout(0.3)(keras.layers.Dense(16, activation="relu")(inp))
model = keras.Model(inp, keras.layers.Dense(1)(h))
model.compile(keras.optimizers.Adam(0.02), "mse", metrics=["mae"], steps_per_execution=spe)


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class Recorder(keras.callbacks.Callback):
    """Appends each epoch's logs to log_path; dies at the start of epoch kill_at[0]
    when kill_at[1] == -1."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if kill_at == (epoch, -1):
            die()

    def on_epoch_end(self, epoch, logs=None):
        with open(log_path, "a") as f:
            f.write(json.dumps([epoch, {k: float(v) for k, v in logs.items()}]) + "\n")


class KillMidEpoch(Recorder):
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == kill_at[0] and batch >= kill_at[1]:
            die()


last = KillMidEpoch() if kill_at is not None and kill_at[1] >= 0 else Recorder()
model.fit(x, y, batch_size=8, epochs=4, shuffle=True, verbose=0, callbacks=[
    keras.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq),
    keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=2, min_delta=10.0),
    last])
np.save(out, np.concatenate([w.ravel() for w in model.get_weights()]))
'''

# (save_freq, steps_per_execution, where the run kills itself: "epoch,batch" (batch
# -1: at the epoch's start) or "none", the epochs it completes) for the runs of each
# chain, in order
CHAINS = {
    # epoch-end backups; killed at the start of epoch 2 (right after the backup of
    # epoch 1), then in the middle of epoch 3 (which is trained again)
    "epoch": [("epoch", "auto", "2,-1", [0, 1]), ("epoch", "auto", "3,4", [2]),
              ("epoch", "auto", "none", [3])],
    # a backup every 2 batches, 3 steps per call: the kills come before the backup of
    # their block, so the runs resume at epoch 0 batch 3, then at epoch 0 batch 6
    # (only the short last batch left)
    "batch": [("2", "3", "0,5", []), ("2", "3", "1,2", [0]), ("2", "3", "none", [0, 1, 2, 3])],
}


def _run(script, tmp, env, save_freq, spe, kill, out, log_path, backup):
    return subprocess.run([sys.executable, script, backup, save_freq, spe, kill, out, log_path],
                          env=env, cwd=tmp, capture_output=True, text=True, timeout=300)


def _logs(path) -> list:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs the reference fit and both chains (concurrently: they are independent)."""
    tmp = tmp_path_factory.mktemp("resume")
    script = str(tmp / "child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(jkeras.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env["JKERAS_COMPILATION_CACHE"] = str(tmp / "xla")  # later runs skip compiling
    results: dict = {}

    def chain(name, steps):
        backup = str(tmp / f"backup-{name}")
        out = str(tmp / f"{name}.npy")
        procs, logs = [], []
        for i, (save_freq, spe, kill, _) in enumerate(steps):
            log_path = str(tmp / f"{name}-{i}.logs")
            procs.append(_run(script, tmp, env, save_freq, spe, kill, out, log_path, backup))
            logs.append(_logs(log_path))
        results[name] = {"procs": procs, "logs": logs, "out": out, "backup": backup}

    ref_steps = [("epoch", "auto", "none", [0, 1, 2, 3])]
    threads = [threading.Thread(target=chain, args=(name, steps))
               for name, steps in [("ref", ref_steps), *CHAINS.items()]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, r in results.items():
        codes = [p.returncode for p in r["procs"]]
        expected = [-signal.SIGKILL] * (len(codes) - 1) + [0]
        assert codes == expected, (name, codes, [p.stderr[-2000:] for p in r["procs"]])
        r["weights"] = np.load(r["out"])
    return results


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_killed_and_resumed_fit_ends_with_the_uninterrupted_weights(runs, chain):
    ref, run = runs["ref"], runs[chain]
    assert run["weights"].shape == ref["weights"].shape
    assert np.max(np.abs(run["weights"] - ref["weights"])) <= 1e-6
    # each run resumed where the last backup was taken, not at the start
    assert [[e for e, _ in logs] for logs in run["logs"]] == [s[3] for s in CHAINS[chain]]
    # every epoch's logs, including those of epochs resumed in the middle (the metric
    # state was restored) and the learning rate ReduceLROnPlateau set
    ref_logs = dict(ref["logs"][0])
    assert ref_logs[3]["learning_rate"] < ref_logs[0]["learning_rate"]
    for epoch, got in (item for run_logs in run["logs"] for item in run_logs):
        assert got.keys() == ref_logs[epoch].keys()
        for k, v in got.items():
            assert v == pytest.approx(ref_logs[epoch][k], rel=1e-6, abs=1e-7), (epoch, k)
    # the completed fit deleted its backups, and what the crashed ones left
    assert os.listdir(run["backup"]) == []


# --------------------------------------------------------------------------------------
# the data order: a function of (seed, epoch), and an epoch can start at any batch
# --------------------------------------------------------------------------------------
def _batch_rows(items) -> list:
    """The data rows of each batch the handler yields (x holds each row's index)."""
    from jkeras.training.data_adapter import Window

    out = []
    for item in items:
        if not isinstance(item, Window):  # a short batch at its real size
            out.append(np.asarray(item[0][0])[:, 0].astype(int).tolist())
            continue
        x, perm, bs = np.asarray(item.data[0][0])[:, 0], np.asarray(item.perm), 8
        for b in range(item.start, item.start + item.steps):
            pos = perm[b * bs:(b + 1) * bs]
            out.append(x[pos[pos >= 0]].astype(int).tolist())
    return out


@pytest.mark.parametrize("shuffle,pad,budget,steps", [
    (True, True, None, None),  # one resident window
    ("batch", True, None, 11),  # blocks shuffled; 11 batches: a pass and a part of the next
    (True, True, 8 * 3 * 8, None),  # streamed through windows of 8 rows
    (True, False, None, None),  # the short batch served at its real size
])
def test_an_epoch_resumes_at_any_batch_in_the_order_of_its_seed(shuffle, pad, budget, steps):
    from jkeras.training.data_adapter import ArrayHandler

    x = np.arange(54, dtype="float32")[:, None]

    def handler(seed):
        h = ArrayHandler([x], [], [], batch_size=8, shuffle=shuffle, steps=steps, pad=pad,
                         budget_bytes=budget)
        h.shuffle_seed = seed
        return h

    h = handler(5)
    full = [_batch_rows(h.windows(e)) for e in range(2)]
    assert len(full[0]) == h.steps and sorted(sum(full[0][:7], [])) == list(range(54))
    assert full[0] != full[1]  # each epoch its own order...
    assert [_batch_rows(handler(5).windows(e)) for e in range(2)] == full  # ...from the seed
    assert _batch_rows(handler(6).windows(0)) != full[0]
    for start in range(h.steps + 1):
        assert _batch_rows(h.windows(1, start)) == full[1][start:], start


def test_a_pydataset_epoch_resumes_without_loading_the_batches_done():
    from jkeras.training.data_adapter import IterableHandler
    from jkeras.utils import PyDataset

    class Rows(PyDataset):
        def __init__(self):
            super().__init__()
            self.loaded = []

        def __len__(self):
            return 6

        def __getitem__(self, i):
            self.loaded.append(i)
            return np.full((4, 1), i, "float32"), np.zeros((4, 1), "float32")

    def standardize(item, first):
        return [np.asarray(item[0])], [np.asarray(item[1])], []

    ds = Rows()
    h = IterableHandler(ds, standardize, shuffle=True)
    h.shuffle_seed = 3

    def order(epoch, start=0):
        return [int(np.asarray(b[0][0])[0, 0]) for b in h.epoch(epoch, start)]

    full = order(1)
    assert sorted(full) == list(range(6)) and order(1) == full and order(2) != full
    ds.loaded.clear()
    assert order(1, 4) == full[4:]
    assert ds.loaded == full[4:]  # the two batches done were not loaded again
