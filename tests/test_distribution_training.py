"""Distributed training on CPU, in subprocesses (JAX fixes its devices at start):

- one process with 4 forced CPU devices: DataParallel and ModelParallel (2x2 mesh)
  give the weights of a single-device run after two epochs, with the batch and
  the named weights really split (checked through the arrays' shardings), and
  bad layouts/batch sizes fail before training;
- two processes on 127.0.0.1 joined by `initialize`, each fed its own shard,
  give the weights of one process fed the same global batches; process 0 alone
  writes the checkpoints and every process loads them.

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


def make_model(keras):
    keras.utils.set_random_seed(3)
    inp = keras.Input((8,))
    h = keras.layers.Dense(16, activation="tanh", name="dense_a")(inp)
    out = keras.layers.Dense(4, name="dense_b")(h)
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def spec_of(array):
    """An array's PartitionSpec as a list without trailing Nones (JSON-friendly)."""
    axes = [a if a is None or isinstance(a, str) else list(a) for a in array.sharding.spec]
    while axes and axes[-1] is None:
        axes.pop()
    return axes


def weights_of(model):
    return [np.asarray(w).tolist() for w in model.get_weights()]


def process_shard(x, y, pid, nproc):
    """Process `pid`'s rows: its slice of every global batch, in order."""
    local = BATCH // nproc
    idx = np.concatenate([np.arange(k * BATCH + pid * local, k * BATCH + (pid + 1) * local)
                          for k in range(N // BATCH)])
    return x[idx], y[idx]


# ------------------------------------------------------------------------------ workers
def worker_single(out_path):
    """4 devices, one process: reference, DataParallel, ModelParallel, errors."""
    import jax

    import jkeras as keras
    from jkeras import distribution as D
    from jkeras.distribution import runtime

    res = {"devices": D.list_devices()}
    x, y = make_data()

    # reference: no distribution, one device
    ref = make_model(keras)
    h = ref.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    res["ref"] = {"weights": weights_of(ref), "loss": h.history["loss"],
                  "eval": ref.evaluate(x, y, batch_size=BATCH, verbose=0),
                  "pred": np.asarray(ref.predict(x, batch_size=BATCH, verbose=0)).tolist()}

    seen = []

    def hook(batch):  # sees every placed batch; records those holding x (8 features)
        xs = [a for a in jax.tree_util.tree_leaves(batch) if a.ndim == 2 and a.shape[1] == 8]
        if not xs:
            return
        a = xs[0]
        seen.append({"spec": spec_of(a), "shape": list(a.shape),
                     "shards": sorted({tuple(s.data.shape) for s in a.addressable_shards}),
                     "ndev": len(a.sharding.device_set)})

    runtime.batch_hook = hook

    # DataParallel over 4 devices, set after the model is built
    dp_model = make_model(keras)
    dp_model.predict(x[:4], verbose=0)
    D.set_distribution(D.DataParallel())
    h = dp_model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    res["dp"] = {"weights": weights_of(dp_model), "loss": h.history["loss"],
                 "batches": seen[:], "n_batches": len(seen),
                 "var_specs": [spec_of(v.value) for v in dp_model.weights],
                 "var_ndev": [len(v.value.sharding.device_set) for v in dp_model.weights],
                 "eval": dp_model.evaluate(x, y, batch_size=BATCH, verbose=0),
                 "pred": np.asarray(dp_model.predict(x, batch_size=BATCH, verbose=0)).tolist(),
                 "compiles": _compiles(dp_model)}
    # a batch size the 4 devices do not divide fails before any step
    seen.clear()
    try:
        dp_model.fit(x, y, batch_size=6, epochs=1, verbose=0)
        res["dp"]["bad_batch"] = None
    except ValueError as e:
        res["dp"]["bad_batch"] = str(e)
    res["dp"]["bad_batch_steps"] = len(seen)
    # a model that cannot pad (BatchNormalization) with a short last batch of 2 rows
    inp = keras.Input((8,))
    bn = keras.Model(inp, keras.layers.BatchNormalization()(keras.layers.Dense(4)(inp)))
    bn.compile("sgd", "mse")
    seen.clear()
    try:
        bn.fit(x[:34], np.zeros((34, 4), "float32"), batch_size=8, epochs=1, verbose=0)
        res["dp"]["short"] = None
    except ValueError as e:
        res["dp"]["short"] = str(e)
    res["dp"]["short_steps"] = len(seen)
    D.set_distribution(None)

    # ModelParallel on a 2x2 mesh
    mesh = D.DeviceMesh((2, 2), ("batch", "model"))
    lm = D.LayoutMap(mesh)
    lm["dense_a/kernel"] = (None, "model")
    lm["dense_a/bias"] = ("model",)
    lm["dense_b/kernel"] = ("model", None)
    seen.clear()
    with D.ModelParallel(layout_map=lm, batch_dim_name="batch").scope():
        mp_model = make_model(keras)
        h = mp_model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
        opt_specs = [spec_of(a) for a in jax.tree_util.tree_leaves(mp_model.optimizer.state)
                     if getattr(a, "ndim", 0) >= 1]
        res["mp"] = {
            "weights": weights_of(mp_model), "loss": h.history["loss"], "batches": seen[:2],
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
        seen.clear()
        try:
            with D.ModelParallel(layout_map=bad).scope():
                m.fit(x, y % 3, batch_size=BATCH, epochs=1, verbose=0)
            res[name] = None
        except ValueError as e:
            res[name] = str(e)
        res[name + "_steps"] = len(seen)
    runtime.batch_hook = None

    # initialize() after JAX has started says what to do
    try:
        D.initialize("127.0.0.1:1", 2, 0)
        res["late_init"] = None
    except RuntimeError as e:
        res["late_init"] = str(e)
    with open(out_path, "w") as f:
        json.dump(res, f)


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
    x, y = make_data()
    xl, yl = process_shard(x, y, pid, nproc)
    D.set_distribution(D.DataParallel())
    model = make_model(keras)
    ckpt = os.path.join(outdir, "ckpt-{epoch}.weights.h5")
    backup = os.path.join(outdir, "backup")
    h = model.fit(xl, yl, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=2,
                  callbacks=[keras.callbacks.ModelCheckpoint(ckpt, save_weights_only=True),
                             keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    backups = sorted(n for n in os.listdir(backup) if not n.startswith("."))
    res = {"pid": pid, "process_count": jax.process_count(),
           "n_devices": len(jax.devices()), "weights": weights_of(model),
           "loss": h.history["loss"], "acc": h.history["accuracy"],
           "eval": model.evaluate(xl, yl, batch_size=BATCH, verbose=0),
           "pred": np.asarray(model.predict(xl, batch_size=BATCH, verbose=0)).tolist()}
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
    res["loaded_fit_loss"] = loaded.fit(xl, yl, batch_size=BATCH, epochs=1, shuffle=False,
                                        verbose=0).history["loss"]
    # a rerun with BackupAndRestore resumes after the last backup (epoch 2 of 2) in every
    # process: nothing left to train, weights as restored; process 0 deletes the backup
    before = weights_of(model)
    h2 = model.fit(xl, yl, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
                   callbacks=[keras.callbacks.BackupAndRestore(backup)])
    res["resumed_epochs"] = len(h2.history.get("loss", []))
    res["resumed_same"] = weights_of(model) == before
    res["backups"] = backups
    res["backup_left"] = sorted(os.listdir(backup))
    res["replaced"] = replaced
    # ModelParallel across the processes: 'batch' runs over them, 'model' within each
    mesh = D.DeviceMesh((2, 2), ("batch", "model"))
    lm = D.LayoutMap(mesh)
    lm["dense_a/kernel"] = (None, "model")
    lm["dense_b/kernel"] = ("model", None)
    D.set_distribution(D.ModelParallel(layout_map=lm))
    mp = make_model(keras)
    hm = mp.fit(xl, yl, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    k = mp.get_layer("dense_a").kernel.value
    res["mp"] = {"weights": weights_of(mp), "loss": hm.history["loss"], "spec": spec_of(k),
                 "shards": sorted({tuple(s.data.shape) for s in k.addressable_shards}),
                 "devices": len(k.sharding.device_set)}
    with open(os.path.join(outdir, f"result-{pid}.json"), "w") as f:
        json.dump(res, f)


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
def test_data_parallel_matches_one_device_with_the_batch_split(runs):
    r = _need(runs, "single")
    assert len(r["devices"]) == 4
    ref, dp = r["ref"], r["dp"]
    _close(dp["weights"], ref["weights"])
    np.testing.assert_allclose(dp["loss"], ref["loss"], atol=1e-5)
    np.testing.assert_allclose(dp["eval"], ref["eval"], atol=1e-5)
    np.testing.assert_allclose(dp["pred"], ref["pred"], atol=1e-5)
    # every batch fed to the step was split in 4 blocks of 4 rows, one per device
    assert dp["n_batches"] >= EPOCHS * N // BATCH
    for b in dp["batches"][:EPOCHS * N // BATCH]:
        assert b == {"spec": ["batch"], "shape": [BATCH, 8],
                     "shards": [[BATCH // 4, 8]], "ndev": 4}
    # the variables were moved to (replicated on) all 4 devices at fit start
    assert dp["var_specs"] == [[]] * 4 and set(dp["var_ndev"]) == {4}
    if dp["compiles"] is not None:
        assert dp["compiles"] == 1


def test_data_parallel_rejects_a_batch_the_mesh_does_not_divide(runs):
    r = _need(runs, "single")["dp"]
    assert "batch_size 6 does not divide evenly over the 4 devices" in r["bad_batch"]
    assert r["bad_batch_steps"] == 0
    assert "the last batch of `x` has 2 rows" in r["short"] and r["short_steps"] == 0


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
    # batches split over 'batch' only: 2 blocks of 8 rows, each on 2 devices
    assert mp["batches"][0]["spec"] == ["batch"]
    assert mp["batches"][0]["shards"] == [[BATCH // 2, 8]]
    if mp["compiles"] is not None:
        assert mp["compiles"] == 1


def test_bad_layouts_fail_before_training(runs):
    r = _need(runs, "single")
    assert "LayoutMap key 'dense_c/kernel' matches no variable" in r["typo"]
    assert "dense_b/kernel" in r["typo"]  # lists the real paths
    assert r["typo_steps"] == 0
    assert "'dense_b/bias' of shape (3,) cannot be split over mesh axis 'model'" in r["odd"]
    assert r["odd_steps"] == 0
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
    # predict returns each process its own rows
    x, y = make_data()
    for pid, p in enumerate((p0, p1)):
        rows = process_shard(np.asarray(ref["pred"]), y, pid, 2)[0]
        np.testing.assert_allclose(p["pred"], rows, atol=1e-5)


def test_two_processes_model_parallel(runs):
    p0, p1 = _need(runs, "procs")
    ref = _need(runs, "single")["ref"]
    for p in (p0, p1):
        mp = p["mp"]
        assert mp["spec"] == [None, "model"] and mp["shards"] == [[8, 8]]
        assert mp["devices"] == 4
        _close(mp["weights"], ref["weights"])
    assert p0["mp"]["weights"] == p1["mp"]["weights"] and p0["mp"]["loss"] == p1["mp"]["loss"]


def test_two_processes_save_once_and_both_load(runs):
    p0, p1 = _need(runs, "procs")
    names = sorted(os.listdir(runs["outdir"]))
    assert [n for n in names if not n.startswith("result-")] == [
        "backup", "ckpt-1.weights.h5", "ckpt-2.weights.h5", "model.keras"]
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
