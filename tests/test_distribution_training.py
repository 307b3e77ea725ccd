"""Distributed training on CPU, in subprocesses (JAX fixes its devices at start):

- one process with 4 forced CPU devices: DataParallel and ModelParallel (2x2 mesh)
  give the weights of a single-device run after two epochs through the fused path
  (data windows laid out on the mesh, several steps per compiled call: counted),
  with the data and the named weights really split (checked through the arrays'
  shardings), and bad layouts/batch sizes fail before training;
- two processes on 127.0.0.1 joined by `initialize`, each fed its own shard with
  `batch_size` = its share of the global batch (the per-process batch), give the
  weights of one process fed the global batches, for DataParallel, ModelParallel and
  datasets (read whole by every process, or already sharded); a variable split
  across the processes is saved (gathered) and the file loads in one process;
  process 0 alone writes the checkpoints and every process loads them.

This file is also the worker script: `python test_distribution_training.py
single OUT` or `... proc PID PORT NPROC OUTDIR`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

N, BATCH, EPOCHS = 48, 16, 2  # 3 global batches of 16 per epoch
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIMEOUT = 240  # seconds per worker (a loaded 2-core machine compiles slowly)


# ------------------------------------------------------------------------------ shared
def make_data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N, 8)).astype("float32")
    y = rng.integers(0, 4, size=(N,)).astype("int32")
    return x, y


def make_model(keras, steps_per_execution="auto"):
    keras.utils.set_random_seed(3)
    inp = keras.Input((8,))
    h = keras.layers.Dense(16, activation="tanh", name="dense_a")(inp)
    out = keras.layers.Dense(4, name="dense_b")(h)
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def spec_of(array):
    """An array's PartitionSpec as a list without trailing Nones (JSON-friendly)."""
    axes = [a if a is None or isinstance(a, str) else list(a) for a in array.sharding.spec]
    while axes and axes[-1] is None:
        axes.pop()
    return axes


def weights_of(model):
    from jkeras.distribution import runtime

    return [runtime.to_host(v.value).tolist() for v in model.weights]


def process_shard(x, y, pid, nproc):
    """Process `pid`'s rows: its slice of every global batch, in order."""
    local = BATCH // nproc
    idx = np.concatenate([np.arange(k * BATCH + pid * local, k * BATCH + (pid + 1) * local)
                          for k in range(N // BATCH)])
    return x[idx], y[idx]


def _error(fn):
    """The message of the ValueError `fn()` raises (None if it raises none)."""
    try:
        fn()
    except ValueError as e:
        return str(e)
    return None


class _Spy:
    """Counts the loop's compiled training calls and records the data windows placed
    on the mesh (global shape, spec, shard shapes, devices) while active."""

    def __init__(self):
        from jkeras.distribution import batching
        from jkeras.training import loops

        self.calls, self.windows = 0, []
        real_call, real_put = loops._train_call, batching.DataLayout.put_blocks

        def call(*args, **kwargs):
            self.calls += 1
            return real_call(*args, **kwargs)

        def put(layout, blocks):
            a = real_put(layout, blocks)
            self.windows.append({"shape": list(a.shape), "spec": spec_of(a),
                                 "shards": sorted({tuple(s.data.shape)
                                                   for s in a.addressable_shards}),
                                 "ndev": len(a.sharding.device_set)})
            return a

        loops._train_call = call
        batching.DataLayout.put_blocks = put

    def take(self):
        out = {"calls": self.calls, "windows": self.windows}
        self.calls, self.windows = 0, []
        return out


def _kinds(model):
    """The compiled training forms the model's trainer made ('batch', 'window_block', ...)."""
    kinds = set()
    for fns in getattr(model._trainer, "_fns", {}).values():
        for key in getattr(fns, "_jitted", {}):
            if key[0] == "train":
                kinds.add(key[1])
    return sorted(kinds)


def _compiles(model):
    """The most executables a train function of the model holds (1: it never
    recompiled, e.g. for a state whose sharding changed after the first step)."""
    sizes = []
    for fns in getattr(getattr(model, "_trainer", None), "_fns", {}).values():
        for key, f in getattr(fns, "_jitted", {}).items():
            f = getattr(f, "jitted", f)
            if key[0] == "train" and hasattr(f, "_cache_size"):
                sizes.append(f._cache_size())
    return max(sizes) if sizes else None


# ------------------------------------------------------------------------------ workers
def worker_single(out_path):
    """4 devices, one process: reference, DataParallel, ModelParallel, errors."""
    import jkeras as keras
    from jkeras import distribution as D

    res = {"devices": D.list_devices()}
    x, y = make_data()

    # reference: no distribution, one device
    ref = make_model(keras)
    h = ref.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    res["ref"] = {"weights": weights_of(ref), "loss": h.history["loss"],
                  "eval": ref.evaluate(x, y, batch_size=BATCH, verbose=0),
                  "pred": np.asarray(ref.predict(x, batch_size=BATCH, verbose=0)).tolist()}
    spy = _Spy()

    # DataParallel over 4 devices, set after the model is built; 'auto' steps per call
    dp_model = make_model(keras)
    dp_model.predict(x[:4], verbose=0)
    D.set_distribution(D.DataParallel())
    h = dp_model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    res["dp"] = {"weights": weights_of(dp_model), "loss": h.history["loss"], **spy.take(),
                 "kinds": _kinds(dp_model),
                 "var_specs": [spec_of(v.value) for v in dp_model.weights],
                 "var_ndev": [len(v.value.sharding.device_set) for v in dp_model.weights],
                 "eval": dp_model.evaluate(x, y, batch_size=BATCH, verbose=0),
                 "pred": np.asarray(dp_model.predict(x, batch_size=BATCH, verbose=0)).tolist(),
                 "compiles": _compiles(dp_model)}
    spy.take()
    # data larger than the device budget streams through windows of one batch
    os.environ["JKERAS_DATA_BUDGET_MB"] = "0.002"
    stream = make_model(keras)
    stream.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    del os.environ["JKERAS_DATA_BUDGET_MB"]
    res["dp"]["stream"] = {"weights": weights_of(stream), "resident": stream._trainer.data_resident,
                           **spy.take()}
    # a batch size the 4 devices do not divide fails before any step
    res["dp"]["bad_batch"] = _error(lambda: dp_model.fit(x, y, batch_size=6, verbose=0))
    res["dp"]["bad_batch_calls"] = spy.take()["calls"]
    # a model that cannot pad (BatchNormalization) with a short last batch of 2 rows
    inp = keras.Input((8,))
    bn = keras.Model(inp, keras.layers.BatchNormalization()(keras.layers.Dense(4)(inp)))
    bn.compile("sgd", "mse")
    res["dp"]["short"] = _error(lambda: bn.fit(x[:34], np.zeros((34, 4), "float32"),
                                               batch_size=8, verbose=0))
    res["dp"]["short_calls"] = spy.take()["calls"]
    # a model with its own train_step (Keras 3's guide): state on the mesh, batches split
    res["custom"] = {"dp": _custom_fit(keras, x, y)}
    # exact resume: a fit interrupted in the middle of an epoch resumes from its backup
    res["resume"] = _resumed_fit(keras, x, y, os.path.join(os.path.dirname(out_path), "bk"))
    D.set_distribution(None)
    res["custom"]["ref"] = _custom_fit(keras, x, y)
    res["resume"]["ref"] = _resumed_fit(keras, x, y, None)["dp"]
    spy.take()

    # ModelParallel on a 2x2 mesh, 3 steps per call (one call per epoch)
    mesh = D.DeviceMesh((2, 2), ("batch", "model"))
    lm = D.LayoutMap(mesh)
    lm["dense_a/kernel"] = (None, "model")
    lm["dense_a/bias"] = ("model",)
    lm["dense_b/kernel"] = ("model", None)
    with D.ModelParallel(layout_map=lm, batch_dim_name="batch").scope():
        mp_model = make_model(keras, steps_per_execution=3)
        h = mp_model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
        import jax

        opt_specs = [spec_of(a) for a in jax.tree_util.tree_leaves(mp_model.optimizer.state)
                     if getattr(a, "ndim", 0) >= 1]
        res["mp"] = {
            "weights": weights_of(mp_model), "loss": h.history["loss"], **spy.take(),
            "kinds": _kinds(mp_model),
            "vars": {v.path: {"spec": spec_of(v.value),
                              "shards": sorted({tuple(s.data.shape)
                                                for s in v.value.addressable_shards})}
                     for v in mp_model.weights},
            "opt_specs": opt_specs,
            "eval": mp_model.evaluate(x, y, batch_size=BATCH, verbose=0),
            "pred": np.asarray(mp_model.predict(x, batch_size=BATCH, verbose=0)).tolist(),
            "compiles": _compiles(mp_model)}
    # a LayoutMap key naming no variable, or a layout that does not divide, fails early
    for name, key, axes in (("typo", "dense_c/kernel", (None, "model")),
                            ("odd", "dense_b/bias", ("model",))):
        bad = D.LayoutMap(mesh)
        bad[key] = axes
        m = make_model(keras)
        if name == "odd":  # dense_b has 4 units: make it 3 so 'model' (2) does not divide
            inp = keras.Input((8,))
            m = keras.Model(inp, keras.layers.Dense(3, name="dense_b")(inp))
            m.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        with D.ModelParallel(layout_map=bad).scope():
            res[name] = _error(lambda m=m: m.fit(x, y % 3, batch_size=BATCH, verbose=0))
        res[name + "_calls"] = spy.take()["calls"]

    # initialize() after JAX has started says what to do
    try:
        D.initialize("127.0.0.1:1", 2, 0)
        res["late_init"] = None
    except RuntimeError as e:
        res["late_init"] = str(e)
    with open(out_path, "w") as f:
        json.dump(res, f)


def _custom_fit(keras, x, y):
    """Weights, losses and the spec of the first batch seen of a fit through a
    custom `train_step`."""
    import jax
    from test_keras3_custom_training import GuideModel

    from jkeras.distribution import runtime

    seen = []
    runtime.batch_hook = lambda b: seen.append(spec_of(jax.tree_util.tree_leaves(b)[0]))
    keras.utils.set_random_seed(3)
    inp = keras.Input((8,))
    model = GuideModel(inp, keras.layers.Dense(4)(keras.layers.Dense(16)(inp)))
    model.compile(optimizer="adam", loss="mse")
    h = model.fit(x, np.eye(4, dtype="float32")[y], batch_size=BATCH, epochs=EPOCHS,
                  shuffle=False, verbose=0)
    runtime.batch_hook = None
    return {"weights": weights_of(model), "loss": h.history["loss"], "batches": seen[:1],
            "n_batches": len(seen)}


def _resumed_fit(keras, x, y, backup):
    """The weights after 2 epochs of a fit with Dropout on shuffled data, 3 steps per
    call; with `backup`: backed up every 2 batches, interrupted at the end of epoch 1's
    second block (as if killed: that block's backup is not taken), then resumed from
    the backup of its first (epoch 1, batch 3)."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((8,))
    h = keras.layers.Dropout(0.3)(keras.layers.Dense(16, activation="relu")(inp))
    model = keras.Model(inp, keras.layers.Dense(4)(h))
    model.compile(keras.optimizers.Adam(0.02), "mse", steps_per_execution=3)
    targets = np.eye(4, dtype="float32")[y]

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch >= 5:
                raise KeyboardInterrupt

    out = {"interrupted": False, "resumed_at": None}
    if backup is None:
        model.fit(x, targets, batch_size=8, epochs=EPOCHS, verbose=0)
    else:
        try:
            model.fit(x, targets, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[
                keras.callbacks.BackupAndRestore(backup, save_freq=2), Interrupt()])
        except KeyboardInterrupt:
            out["interrupted"] = True
        seen = []

        class Where(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_begin(self, batch, logs=None):
                if not seen:
                    seen.extend([self.epoch, batch])

        model.fit(x, targets, batch_size=8, epochs=EPOCHS, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=2), Where()])
        out["resumed_at"] = seen
    out["dp"] = weights_of(model)
    return out


def _datasets(keras, x, y, xl, yl, nproc):
    """PyDatasets of the global batches (every process reads them whole) and of this
    process's own batches (already sharded)."""

    class Batches(keras.utils.PyDataset):
        def __init__(self, x, y, size):
            super().__init__()
            self.x, self.y, self.size = x, y, size

        def __len__(self):
            return len(self.x) // self.size

        def __getitem__(self, i):
            rows = slice(i * self.size, (i + 1) * self.size)
            return self.x[rows], self.y[rows]

    return Batches(x, y, BATCH), Batches(xl, yl, BATCH // nproc)


def worker_proc(pid, port, nproc, outdir):
    """One of `nproc` processes: DataParallel over every device of every process."""
    from jkeras import distribution as D

    D.initialize(f"127.0.0.1:{port}", nproc, pid, initialization_timeout=120)
    D.initialize(f"127.0.0.1:{port}", nproc, pid)  # a second call does nothing
    import jax

    import jkeras as keras

    replaced = []
    real_replace = os.replace

    def spy_replace(src, dst):
        replaced.append(os.path.basename(os.fspath(dst)))
        return real_replace(src, dst)

    os.replace = spy_replace
    spy = _Spy()
    x, y = make_data()
    xl, yl = process_shard(x, y, pid, nproc)
    local = BATCH // nproc  # the per-process batch
    D.set_distribution(D.DataParallel())
    model = make_model(keras)
    ckpt = os.path.join(outdir, "ckpt-{epoch}.weights.h5")
    backup = os.path.join(outdir, "backup")
    h = model.fit(xl, yl, batch_size=local, epochs=EPOCHS, shuffle=False, verbose=2,
                  callbacks=[keras.callbacks.ModelCheckpoint(ckpt, save_weights_only=True),
                             keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    backups = sorted(n for n in os.listdir(backup) if not n.startswith("."))
    res = {"pid": pid, "process_count": jax.process_count(),
           "n_devices": len(jax.devices()), "weights": weights_of(model),
           "loss": h.history["loss"], "acc": h.history["accuracy"], **spy.take(),
           "kinds": _kinds(model),
           "eval": model.evaluate(xl, yl, batch_size=local, verbose=0),
           "pred": np.asarray(model.predict(xl, batch_size=local, verbose=0)).tolist()}
    # the rule: batch_size is this process's batch, split over its 2 devices
    res["bad_batch"] = _error(lambda: model.fit(xl, yl, batch_size=3, verbose=0))
    path = os.path.join(outdir, "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    res["loaded"] = weights_of(loaded)
    fresh = make_model(keras)
    fresh.load_weights(os.path.join(outdir, f"ckpt-{EPOCHS}.weights.h5"))
    res["ckpt"] = weights_of(fresh)
    # the loaded model trains on as part of the run (its variables move to the mesh)
    loaded.compile(keras.optimizers.SGD(0.1),
                   keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    res["loaded_fit_loss"] = loaded.fit(xl, yl, batch_size=local, epochs=1, shuffle=False,
                                        verbose=0).history["loss"]
    # a rerun with BackupAndRestore resumes after the last backup (epoch 2 of 2) in every
    # process: nothing left to train, weights as restored; process 0 deletes the backup
    before = weights_of(model)
    h2 = model.fit(xl, yl, batch_size=local, epochs=EPOCHS, shuffle=False, verbose=0,
                   callbacks=[keras.callbacks.BackupAndRestore(backup)])
    res["resumed_epochs"] = len(h2.history.get("loss", []))
    res["resumed_same"] = weights_of(model) == before
    res["backups"] = backups
    res["backup_left"] = sorted(os.listdir(backup))
    res["replaced"] = replaced

    # datasets: read whole by every process (auto_shard_dataset=True, the default), or
    # already sharded (each process's own batches, auto_shard_dataset=False)
    whole, own = _datasets(keras, x, y, xl, yl, nproc)
    res["ds_whole"] = weights_of(_fit(make_model(keras), whole))
    res["ds_not_global"] = _error(lambda: make_model(keras).fit(own, verbose=0))
    D.set_distribution(D.DataParallel(auto_shard_dataset=False))
    res["ds_own"] = weights_of(_fit(make_model(keras), own))

    # ModelParallel across the processes: 'batch' runs over them, 'model' within each
    devices = jax.devices()
    D.set_distribution(_split_kernels(D, devices))
    mp = make_model(keras)
    hm = mp.fit(xl, yl, batch_size=local, epochs=EPOCHS, shuffle=False, verbose=0)
    k = mp.get_layer("dense_a").kernel.value
    res["mp"] = {"weights": weights_of(mp), "loss": hm.history["loss"], "spec": spec_of(k),
                 "shards": sorted({tuple(s.data.shape) for s in k.addressable_shards}),
                 "devices": len(k.sharding.device_set)}

    # ModelParallel with its 'model' axis across the processes: the kernels are split
    # between them, both processes feed the same (global) batches, and saving gathers
    D.set_distribution(_split_kernels(D, np.array(devices, dtype=object).reshape(2, 2).T))
    split = make_model(keras)
    hs = split.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    split.save_weights(os.path.join(outdir, "split.weights.h5"))
    split.save(os.path.join(outdir, "split.keras"))
    k = split.get_layer("dense_a").kernel.value
    res["split"] = {"loss": hs.history["loss"], "devices": len(k.sharding.device_set),
                    "shards": sorted({tuple(s.data.shape) for s in k.addressable_shards}),
                    "fully_addressable": k.is_fully_addressable}
    with open(os.path.join(outdir, f"result-{pid}.json"), "w") as f:
        json.dump(res, f)


def _split_kernels(D, devices):  # noqa: N803 - the distribution module
    """ModelParallel on a (2, 2) ('batch', 'model') mesh of `devices` (in mesh order)
    splitting both Dense kernels over 'model'."""
    lm = D.LayoutMap(D.DeviceMesh((2, 2), ("batch", "model"), devices))
    lm["dense_a/kernel"] = (None, "model")
    lm["dense_b/kernel"] = ("model", None)
    return D.ModelParallel(layout_map=lm)


def _fit(model, data):
    model.fit(data, epochs=EPOCHS, shuffle=False, verbose=0)
    return model


# ------------------------------------------------------------------------------ harness
def _env(devices: int) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["JAX_PLATFORMS"] = "cpu"
    for k in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        env.pop(k, None)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, devices, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed in _finish
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), *map(str, args)],
                         cwd=ROOT, env=_env(devices), stdout=log, stderr=subprocess.STDOUT)
    p._log = log  # type: ignore[attr-defined]
    p._log_path = log_path  # type: ignore[attr-defined]
    return p


def _finish(groups, deadline):
    """Waits for every process until `deadline`, then kills what is left. When a
    process of a group fails, the rest of its group is killed at once (they would
    wait for it in a collective). Returns the logs, in order."""
    procs = [p for g in groups for p in g]
    try:
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            for g in groups:
                if any(p.poll() not in (None, 0) for p in g):
                    for p in g:
                        if p.poll() is None:
                            p.kill()
            time.sleep(0.05)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p._log.close()
    logs = []
    for p in procs:
        with open(p._log_path) as f:
            logs.append(f.read())
    return logs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Starts the 4-device worker and the two processes together (they run in
    parallel), then collects their results."""
    d = tmp_path_factory.mktemp("dist")
    outdir = d / "shared"
    outdir.mkdir()
    single_out = d / "single.json"
    port = _free_port()
    single = [_start(["single", single_out], 4, d / "single.log")]
    pair = [_start(["proc", pid, port, 2, outdir], 2, d / f"proc{pid}.log") for pid in (0, 1)]
    procs = single + pair
    logs = _finish([single, pair], time.monotonic() + TIMEOUT)
    out = {"logs": logs, "codes": [p.returncode for p in procs], "outdir": outdir}
    out["single"] = json.loads(single_out.read_text()) if single_out.exists() else None
    out["procs"] = [json.loads((outdir / f"result-{i}.json").read_text())
                    if (outdir / f"result-{i}.json").exists() else None for i in (0, 1)]
    return out


def _need(runs, key):
    if key == "single":
        if runs["single"] is None:
            pytest.fail(f"4-device worker failed (exit {runs['codes'][0]}):\n"
                        f"{runs['logs'][0][-4000:]}")
        return runs["single"]
    if any(r is None for r in runs["procs"]):
        pytest.fail("multi-process workers failed (exit "
                    f"{runs['codes'][1:]}):\n--- process 0\n{runs['logs'][1][-3000:]}\n"
                    f"--- process 1\n{runs['logs'][2][-3000:]}")
    return runs["procs"]


def _close(a, b, atol=1e-5):
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=0)


# ------------------------------------------------------------------------------ tests
def test_data_parallel_matches_one_device_through_the_fused_path(runs):
    r = _need(runs, "single")
    assert len(r["devices"]) == 4
    ref, dp = r["ref"], r["dp"]
    _close(dp["weights"], ref["weights"])
    np.testing.assert_allclose(dp["loss"], ref["loss"], atol=1e-5)
    np.testing.assert_allclose(dp["eval"], ref["eval"], atol=1e-5)
    np.testing.assert_allclose(dp["pred"], ref["pred"], atol=1e-5)
    # fused: 6 steps in at most 4 compiled calls ('auto': 1 step, then blocks of >= 2)
    assert dp["kinds"] == ["window_block"] and 2 <= dp["calls"] <= 4
    # the data went to the devices once, as a window of 128 rows (8 batches of 16)
    # copied to each of the 4 devices, with its perm split 4 ways: x, y, sample
    # weights and perm, nothing placed per step
    x_win = [w for w in dp["windows"] if w["shape"][1:] == [8]]
    assert x_win == [{"shape": [4 * 128, 8], "spec": ["batch"], "shards": [[128, 8]],
                      "ndev": 4}]
    assert {"shape": [128], "spec": ["batch"], "shards": [[32]], "ndev": 4} in dp["windows"]
    assert len(dp["windows"]) == 4
    # the variables were moved to (replicated on) all 4 devices at fit start
    assert dp["var_specs"] == [[]] * 4 and set(dp["var_ndev"]) == {4}
    if dp["compiles"] is not None:
        assert dp["compiles"] == 1


def test_data_parallel_streams_windows_split_over_the_devices(runs):
    r = _need(runs, "single")
    st = r["dp"]["stream"]
    assert st["resident"] is False
    _close(st["weights"], r["ref"]["weights"])
    # one batch per window: each device gets its own 4 rows of the 16
    x_win = [w for w in st["windows"] if w["shape"][1:] == [8]]
    assert len(x_win) == EPOCHS * N // BATCH
    assert all(w == {"shape": [16, 8], "spec": ["batch"], "shards": [[4, 8]], "ndev": 4}
               for w in x_win)


def test_data_parallel_rejects_a_batch_the_mesh_does_not_divide(runs):
    r = _need(runs, "single")["dp"]
    assert ("DataParallel: batch_size=6 does not divide evenly over the 4 devices of mesh "
            "axis 'batch' (batch_size is the global batch (6 rows)") in r["bad_batch"]
    assert "Use a batch_size that is a multiple of 4" in r["bad_batch"]
    assert "the last batch of `x` has 2 rows, which does not divide over the 4 devices" in \
        r["short"]
    assert r["bad_batch_calls"] == 0 and r["short_calls"] == 0


def test_model_parallel_splits_named_weights_on_a_2x2_mesh(runs):
    r = _need(runs, "single")
    ref, mp = r["ref"], r["mp"]
    _close(mp["weights"], ref["weights"])
    np.testing.assert_allclose(mp["loss"], ref["loss"], atol=1e-5)
    np.testing.assert_allclose(mp["eval"], ref["eval"], atol=1e-5)
    np.testing.assert_allclose(mp["pred"], ref["pred"], atol=1e-5)
    v = mp["vars"]
    assert v["dense_a/kernel"] == {"spec": [None, "model"], "shards": [[8, 8]]}
    assert v["dense_a/bias"] == {"spec": ["model"], "shards": [[8]]}
    assert v["dense_b/kernel"] == {"spec": ["model"], "shards": [[8, 4]]}
    assert v["dense_b/bias"] == {"spec": [], "shards": [[4]]}
    # Adam's slots (m and v, in variable order) follow their variables
    layouts = [[None, "model"], ["model"], ["model"], []]
    assert mp["opt_specs"] == layouts + layouts
    # steps_per_execution=3: one compiled call per epoch; the window is split over
    # 'batch' only (2 copies of the 128 rows, each on the 2 devices of a 'model' row)
    assert mp["kinds"] == ["window_block"] and mp["calls"] == EPOCHS
    x_win = [w for w in mp["windows"] if w["shape"][1:] == [8]]
    assert x_win == [{"shape": [2 * 128, 8], "spec": ["batch"], "shards": [[128, 8]],
                      "ndev": 4}]
    if mp["compiles"] is not None:
        assert mp["compiles"] == 1


def test_custom_train_step_runs_on_the_mesh(runs):
    r = _need(runs, "single")["custom"]
    _close(r["dp"]["weights"], r["ref"]["weights"])
    np.testing.assert_allclose(r["dp"]["loss"], r["ref"]["loss"], atol=1e-5)
    assert r["dp"]["batches"] == [["batch"]] and r["dp"]["n_batches"] == EPOCHS * N // BATCH
    assert r["ref"]["n_batches"] == 0  # no distribution: nothing placed on a mesh


def test_exact_resume_under_data_parallel(runs):
    r = _need(runs, "single")["resume"]
    assert r["interrupted"] and r["resumed_at"] == [1, 3]
    _close(r["dp"], r["ref"])


def test_bad_layouts_fail_before_training(runs):
    r = _need(runs, "single")
    assert "LayoutMap key 'dense_c/kernel' matches no variable" in r["typo"]
    assert "dense_b/kernel" in r["typo"]  # lists the real paths
    assert r["typo_calls"] == 0
    assert "'dense_b/bias' of shape (3,) cannot be split over mesh axis 'model'" in r["odd"]
    assert r["odd_calls"] == 0
    assert "must run before any JAX computation" in r["late_init"]


def test_two_processes_match_one_process_fed_the_same_global_batches(runs):
    p0, p1 = _need(runs, "procs")
    ref = _need(runs, "single")["ref"]
    assert p0["process_count"] == p1["process_count"] == 2
    assert p0["n_devices"] == p1["n_devices"] == 4
    assert p0["weights"] == p1["weights"]  # identical in every process
    _close(p0["weights"], ref["weights"])
    # losses and metrics are global means, equal on every process
    assert p0["loss"] == p1["loss"] and p0["acc"] == p1["acc"] and p0["eval"] == p1["eval"]
    np.testing.assert_allclose(p0["loss"], ref["loss"], atol=1e-5)
    np.testing.assert_allclose(p0["eval"], ref["eval"], atol=1e-5)
    # the fused path; each process placed only its own rows: a window of 64 (8 batches
    # of its 8 rows) copied to each of its 2 devices
    for p in (p0, p1):
        assert p["kinds"] == ["window_block"] and p["calls"] <= 4
        x_win = [w for w in p["windows"] if w["shape"][1:] == [8]]
        assert x_win[0] == {"shape": [4 * 64, 8], "spec": ["batch"], "shards": [[64, 8]],
                            "ndev": 4}
    # predict returns each process its own rows
    x, y = make_data()
    for pid, p in enumerate((p0, p1)):
        rows = process_shard(np.asarray(ref["pred"]), y, pid, 2)[0]
        np.testing.assert_allclose(p["pred"], rows, atol=1e-5)


def test_two_processes_state_the_per_process_batch_rule(runs):
    for p in _need(runs, "procs"):
        msg = p["bad_batch"]
        assert "batch_size=3 does not divide evenly over the 2 devices of mesh axis 'batch' " \
               "in this process" in msg
        assert "in a multi-process run batch_size is the per-process batch: each process " \
               "feeds 3 of its own rows per step, the global batch is 3 x 2 data shard(s) = 6 " \
               "rows" in msg


def test_two_processes_datasets_read_whole_or_already_sharded(runs):
    ref = _need(runs, "single")["ref"]
    for p in _need(runs, "procs"):
        _close(p["ds_whole"], ref["weights"])
        _close(p["ds_own"], ref["weights"])
        assert "yields different first batches in different processes" in p["ds_not_global"]
        assert "auto_shard_dataset=False" in p["ds_not_global"]


def test_two_processes_model_parallel(runs):
    p0, p1 = _need(runs, "procs")
    ref = _need(runs, "single")["ref"]
    for p in (p0, p1):
        mp = p["mp"]
        assert mp["spec"] == [None, "model"] and mp["shards"] == [[8, 8]]
        assert mp["devices"] == 4
        _close(mp["weights"], ref["weights"])
    assert p0["mp"]["weights"] == p1["mp"]["weights"] and p0["mp"]["loss"] == p1["mp"]["loss"]


def test_a_variable_split_across_processes_saves_and_loads_in_one_process(runs):
    import jkeras as keras

    p0, p1 = _need(runs, "procs")
    ref = _need(runs, "single")["ref"]
    for p in (p0, p1):  # each process holds half of the kernel: (8, 8) of (8, 16)
        assert p["split"]["shards"] == [[8, 8]] and p["split"]["devices"] == 4
        assert p["split"]["fully_addressable"] is False
        np.testing.assert_allclose(p["split"]["loss"], ref["loss"], atol=1e-5)
    model = make_model(keras)
    model.load_weights(str(runs["outdir"] / "split.weights.h5"))
    _close(model.get_weights(), ref["weights"])
    loaded = keras.models.load_model(str(runs["outdir"] / "split.keras"))
    _close(loaded.get_weights(), ref["weights"])
    assert int(np.asarray(loaded.optimizer.iterations)) == EPOCHS * N // BATCH


def test_two_processes_save_once_and_both_load(runs):
    p0, p1 = _need(runs, "procs")
    names = sorted(os.listdir(runs["outdir"]))
    assert [n for n in names if not n.startswith("result-")] == [
        "backup", "ckpt-1.weights.h5", "ckpt-2.weights.h5", "model.keras", "split.keras",
        "split.weights.h5"]
    # only process 0 renamed files into place
    assert any(n == "model.keras" for n in p0["replaced"])
    assert any(n.startswith("ckpt-") for n in p0["replaced"])
    assert not [n for n in p1["replaced"] if n.endswith((".keras", ".h5"))
                or n.startswith(("backup-", "checkpoint.json"))]
    assert any(n == "checkpoint.json" for n in p0["replaced"])
    # BackupAndRestore: one backup (the last epoch's), restored by both, then deleted
    assert len(p0["backups"]) == 2 and "checkpoint.json" in p0["backups"]
    for p in (p0, p1):
        assert p["resumed_epochs"] == 0 and p["resumed_same"] and p["backup_left"] == []
    for p in (p0, p1):
        assert p["loaded"] == p0["weights"] and p["ckpt"] == p0["weights"]
    assert p0["loaded_fit_loss"] == p1["loaded_fit_loss"]
    # progress printed by process 0 only
    assert "Epoch 1/2" in runs["logs"][1] and "Epoch 1/2" not in runs["logs"][2]


if __name__ == "__main__":
    if sys.argv[1] == "single":
        worker_single(sys.argv[2])
    else:
        worker_proc(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
