"""jkeras.distribution API in this process (one CPU device): meshes, layouts,
LayoutMap lookups, distribution objects, scopes, the checks run before training
and the runtime helpers' single-process behaviour. Multi-device and
multi-process training runs are in test_distribution_training.py."""

import jax
import numpy as np
import pytest

import jkeras as keras
from jkeras import distribution as D
from jkeras.distribution import runtime


@pytest.fixture(autouse=True)
def _no_distribution():
    D.set_distribution(None)
    yield
    D.set_distribution(None)


def mesh1(names=("batch",)):
    return D.DeviceMesh((1,) * len(names), names)


def small_model():
    inp = keras.Input((4,))
    h = keras.layers.Dense(6, name="dense_a")(inp)
    out = keras.layers.Dense(2, name="dense_b")(h)
    return keras.Model(inp, out)


# ------------------------------------------------------------------------------ devices
def test_list_devices_names_and_unknown_type():
    names = D.list_devices()
    assert names == [f"{d.platform}:{d.id}" for d in jax.devices()]
    assert D.list_devices("CPU") == [f"cpu:{d.id}" for d in jax.devices("cpu")]
    with pytest.raises(ValueError, match="no 'tpu' devices"):
        D.list_devices("tpu")


def test_device_mesh_shape_and_errors():
    m = D.DeviceMesh((1,), ["batch"], devices=D.list_devices())
    assert m.shape == (1,) and m.axis_names == ("batch",)
    assert m.jax_mesh.shape == {"batch": 1} and m.axis_size("batch") == 1
    with pytest.raises(ValueError, match="needs 2 devices, but 1"):
        D.DeviceMesh((2,), ("batch",))
    with pytest.raises(ValueError, match="same length"):
        D.DeviceMesh((1,), ("batch", "model"))
    with pytest.raises(ValueError, match="distinct"):
        D.DeviceMesh((1, 1), ("a", "a"))
    with pytest.raises(ValueError, match="Unknown device 'gpu:7'"):
        D.DeviceMesh((1,), ("batch",), devices=["gpu:7"])


def test_tensor_layout_checks_mesh_axes():
    mesh = mesh1(("batch", "model"))
    lay = D.TensorLayout((None, "model"), mesh)
    assert lay.sharding().spec == jax.sharding.PartitionSpec(None, "model")
    # trailing unsplit axes are dropped (the form XLA gives back: no recompiles)
    assert D.TensorLayout(("model", None), mesh).sharding().spec == \
        jax.sharding.PartitionSpec("model")
    with pytest.raises(ValueError, match="'rows' is not an axis of the mesh"):
        D.TensorLayout(("rows", None), mesh)
    with pytest.raises(ValueError, match="only one tensor axis"):
        D.TensorLayout(("model", "model"), mesh)
    with pytest.raises(TypeError, match="mesh axis name or None"):
        D.TensorLayout((0, None))


# ------------------------------------------------------------------------------ LayoutMap
def test_layout_map_regex_lookup_exact_first_and_ambiguity():
    lm = D.LayoutMap(mesh1(("batch", "model")))
    lm["dense.*/kernel"] = (None, "model")
    lm["embedding/embeddings"] = D.TensorLayout(("model", None))
    assert lm["dense_a/kernel"].axes == (None, "model")
    assert lm["embedding/embeddings"].device_mesh is lm.device_mesh
    assert lm["dense_a/bias"] is None
    assert len(lm) == 2 and list(lm) == ["dense.*/kernel", "embedding/embeddings"]
    lm["dense_b/kernel"] = ("model", None)  # an exact key wins over the pattern
    assert lm["dense_b/kernel"].axes == ("model", None)
    lm["kernel"] = (None, None)
    with pytest.raises(ValueError, match="matches several keys"):
        _ = lm["dense_a/kernel"]
    del lm["kernel"]
    assert "kernel" not in lm
    with pytest.raises(ValueError, match="already set"):
        lm["dense.*/kernel"] = ("model", None)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        lm["dense(["] = (None,)
    with pytest.raises(ValueError, match="'nope' is not an axis"):
        lm["x"] = ("nope",)


# ------------------------------------------------------------------------------ distributions
def test_data_parallel_layouts():
    dp = D.DataParallel()
    assert dp.device_mesh.axis_names == ("batch",) and dp.batch_dim_name == "batch"
    assert dp.device_mesh.shape == (len(jax.devices()),)
    assert dp.get_data_layout((8, 3)).spec == jax.sharding.PartitionSpec("batch")
    assert dp.get_data_layout(()).spec == jax.sharding.PartitionSpec()
    v = keras.Variable(np.zeros((3, 2), "float32"), name="k")
    assert dp.get_variable_layout(v).spec == jax.sharding.PartitionSpec()
    dp2 = D.DataParallel(devices=D.list_devices())
    assert dp2.device_mesh == dp.device_mesh
    with pytest.raises(ValueError, match="not both"):
        D.DataParallel(device_mesh=dp.device_mesh, devices=D.list_devices())


def test_model_parallel_forms_and_errors():
    mesh = mesh1(("batch", "model"))
    lm = D.LayoutMap(mesh)
    lm["dense_a/kernel"] = (None, "model")
    mp = D.ModelParallel(layout_map=lm, batch_dim_name="batch")
    assert mp.device_mesh is mesh and mp.batch_dim_name == "batch"
    old = D.ModelParallel(mesh, lm, "batch")  # Keras 3.0 positional form
    assert old.layout_map is lm
    assert D.ModelParallel(layout_map=lm).batch_dim_name == "batch"  # first axis
    with pytest.raises(ValueError, match="needs layout_map"):
        D.ModelParallel()
    with pytest.raises(ValueError, match="batch_dim_name 'rows' is not an axis"):
        D.ModelParallel(layout_map=lm, batch_dim_name="rows")
    m = small_model()
    k = m.get_layer("dense_a").kernel
    assert mp.get_variable_layout(k).spec == jax.sharding.PartitionSpec(None, "model")
    assert mp.get_variable_layout(m.get_layer("dense_b").kernel).spec == \
        jax.sharding.PartitionSpec()
    lm2 = D.LayoutMap(mesh)
    lm2["dense_a/bias"] = (None, "model")
    with pytest.raises(ValueError, match=r"'dense_a/bias' has 2 axes .* shape \(6,\)"):
        D.ModelParallel(layout_map=lm2).get_variable_layout(m.get_layer("dense_a").bias)


def test_scope_nests_and_restores_and_set_distribution_checks_type():
    a, b = D.DataParallel(), D.DataParallel()
    assert D.distribution() is None
    D.set_distribution(a)
    assert D.distribution() is a
    with b.scope() as active:
        assert active is b and D.distribution() is b
        with a.scope():
            assert D.distribution() is a
        assert D.distribution() is b
    assert D.distribution() is a
    with pytest.raises(TypeError, match="expects a Distribution"):
        D.set_distribution("data_parallel")


def test_distribute_tensor_places_and_constrains():
    dp = D.DataParallel()
    x = np.arange(6, dtype="float32").reshape(3, 2)
    placed = D.distribute_tensor(x, D.TensorLayout((None, None), dp.device_mesh))
    assert isinstance(placed.sharding, jax.sharding.NamedSharding)
    np.testing.assert_array_equal(np.asarray(placed), x)
    sh = dp.get_data_layout((3, 2))
    out = jax.jit(lambda t: D.distribute_tensor(t * 2, sh))(x)
    np.testing.assert_array_equal(np.asarray(out), x * 2)
    with pytest.raises(ValueError, match="no device mesh and no distribution"):
        D.distribute_tensor(x, D.TensorLayout((None, None)))


# ------------------------------------------------------------------------------ checks
def test_check_before_training_names_the_bad_layout_map_key():
    lm = D.LayoutMap(mesh1(("batch", "model")))
    lm["dense_a/kernel"] = (None, "model")
    lm["dense_c/kernel"] = (None, "model")  # a typo: no such layer
    m = small_model()
    with pytest.raises(ValueError, match=r"key 'dense_c/kernel' matches no variable.*"
                                         r"dense_a/kernel"):
        runtime.check_before_training(D.ModelParallel(layout_map=lm), m.weights, 4)
    runtime.check_before_training(None, m.weights, 3)  # no distribution: nothing to check


def test_fit_raises_before_training_for_a_layout_map_naming_no_variable():
    lm = D.LayoutMap(mesh1(("batch", "model")))
    lm["encoder/kernel"] = (None, "model")
    m = small_model()
    m.compile("sgd", "mse")
    before = [w.copy() for w in m.get_weights()]
    x = np.ones((4, 4), "float32")
    y = np.ones((4, 2), "float32")
    with D.ModelParallel(layout_map=lm).scope(), \
            pytest.raises(ValueError, match="'encoder/kernel' matches no variable"):
        m.fit(x, y, batch_size=2, epochs=1, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ runtime
def test_runtime_single_process_helpers():
    assert runtime.process_count() == 1 and runtime.process_index() == 0
    assert runtime.is_process_zero() and not runtime.is_multiprocess()
    assert runtime.global_batch_size(8) == 8
    assert runtime.global_batch_size(8, D.DataParallel()) == 8  # one process: one shard
    runtime.barrier("x")
    runtime.assert_same_across_processes(3, "steps")
    tree = {"a": np.float32(1.5), "b": [np.arange(3)]}
    out = runtime.broadcast_from_process_zero(tree)
    assert out["a"] == 1.5 and out["b"][0].tolist() == [0, 1, 2]
    with runtime.write_on_process_zero() as writer:
        assert writer is True
    batch = ([np.ones((4, 2), "float32")], np.ones((4,), "float32"))
    assert runtime.place_batch(None, batch) is batch
    st = {"tv": [np.ones(2)]}
    assert runtime.place_state(None, st, [], []) is st


def test_runtime_places_state_and_batches_on_the_mesh():
    dp = D.DataParallel()
    m = small_model()
    m.compile("adam", "mse")
    tv = list(m.trainable_weights)
    import optax

    state = {"tv": [v.value for v in tv], "ntv": [], "opt": optax.adam(0.1).init(
        [v.value for v in tv]), "mv": [np.zeros(())], "rng": jax.random.PRNGKey(0)}
    placed = runtime.place_state(dp, state, tv, [])
    for leaf in jax.tree_util.tree_leaves(placed):
        assert leaf.sharding.mesh == dp.device_mesh.jax_mesh
    again = runtime.place_state(dp, placed, tv, [])
    assert all(a is b for a, b in zip(jax.tree_util.tree_leaves(again),
                                      jax.tree_util.tree_leaves(placed)))
    seen = []
    runtime.batch_hook = seen.append
    try:
        b = runtime.place_batch(dp, ([np.ones((4, 4), "float32")], np.ones((4,), "float32")))
    finally:
        runtime.batch_hook = None
    assert seen and seen[0] is b
    assert b[0][0].sharding.spec == jax.sharding.PartitionSpec("batch")
    np.testing.assert_array_equal(runtime.local_rows(b[1]), np.ones(4))
    np.testing.assert_array_equal(runtime.to_host(b[0][0]), np.ones((4, 4)))
    runtime.place_variables(dp, m.weights)
    assert all(v.value.sharding.mesh == dp.device_mesh.jax_mesh for v in m.weights)


# ------------------------------------------------------------------------------ batching
def test_data_layout_of_one_process_states_the_rule():
    from jkeras.distribution import batching

    dp = D.DataParallel()
    layout = batching.layout_of(dp)
    assert batching.layout_of(dp) is layout and batching.layout_of(None) is None
    n = len(jax.devices())
    assert layout.groups == list(range(n)) and layout.shards == 1 and layout.shard_index == 0
    assert layout.global_batch(8) == 8 and dp.num_model_replicas == n and dp.data_shard_id == 0
    assert dp.num_processes == 1 and dp.auto_shard_dataset is True
    assert layout.rule(8) == (f"batch_size is the global batch (8 rows), split over the {n} "
                              f"devices of mesh axis 'batch'")
    assert not D.DataParallel(auto_shard_dataset=False).auto_shard_dataset
    assert runtime.dataset_shard(dp) is None  # one process: datasets are never re-sharded


def test_window_order_puts_each_groups_rows_together_and_back():
    from jkeras.distribution import batching

    layout = batching.layout_of(D.DataParallel())
    layout2 = object.__new__(batching.DataLayout)
    layout2.groups = [0, 1]  # as a process feeding 2 devices of the batch axis sees it
    positions = np.arange(16)  # 2 batches of 8: group 0 takes rows 0-3 of each, group 1 4-7
    order = layout2.window_order(positions, 8)
    np.testing.assert_array_equal(order, [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15])
    rows = np.arange(32).reshape(16, 2)
    np.testing.assert_array_equal(layout2.window_unorder(rows[order], 8), rows)
    if layout.local_groups == 1:  # one device: the order is unchanged
        np.testing.assert_array_equal(layout.window_order(positions, 8), positions)


@pytest.mark.parametrize("budget", [None, 1])
def test_array_handler_under_a_distribution_serves_the_same_batches(budget):
    from jkeras.training.data_adapter import ArrayHandler

    x = np.arange(44, dtype="float32").reshape(22, 2)
    y = np.arange(22, dtype="int32")

    def batches(start_step):
        h = ArrayHandler([x], [y], [], batch_size=4, shuffle=True, budget_bytes=budget)
        h.shuffle_seed = 5
        return h, [(np.asarray(b[0][0]), np.asarray(b[1][0]), np.asarray(b[3]))
                   for b in h.epoch(1, start_step)]

    plain, want = batches(2)
    with D.DataParallel().scope():
        placed, got = batches(2)
    assert placed.layout is not None and plain.layout is None
    assert placed.resident is plain.resident is (budget is None)
    assert len(got) == len(want) == 4  # 6 batches, resumed at batch 2
    for (gx, gy, gv), (wx, wy, wv) in zip(got, want):
        np.testing.assert_array_equal(gv, wv)
        real = wv > 0  # padded rows hold some real row: compare the real ones
        np.testing.assert_array_equal(gx[real], wx[real])
        np.testing.assert_array_equal(gy[real], wy[real])
    assert got[-1][2].tolist() == [1, 1, 0, 0]  # 22 rows: the last batch has 2


def test_iterable_handler_keeps_its_share_of_every_global_batch():
    from jkeras.training.data_adapter import IterableHandler

    x = np.arange(13, dtype="float32").reshape(13, 1)
    source = [(x[:8], x[:8, 0]), (x[8:], x[8:, 0])]  # a global batch of 8, then of 5

    def std(item, first):
        return [np.asarray(item[0])], [np.asarray(item[1])], []

    h = IterableHandler(source, std, shard=(1, 2))
    assert h.batch_size == 8  # the global batch
    got = [(np.asarray(b[0][0])[:, 0].tolist(), np.asarray(b[3]).tolist()) for b in h.epoch(0)]
    # process 1 of 2 keeps rows 4-7 of each batch; the short one is padded to 8 first
    assert got == [([4.0, 5.0, 6.0, 7.0], [1, 1, 1, 1]), ([12.0, 0.0, 0.0, 0.0], [1, 0, 0, 0])]
    odd = IterableHandler(source, std, shard=(0, 3))
    with pytest.raises(ValueError, match=r"batch of 8 rows .* does not split into 3 equal "
                                         r"parts: with auto_shard_dataset=True"):
        next(iter(odd.epoch(0)))


# ------------------------------------------------------------------------------ benchmark
def test_distribution_benchmark_interleaves_modes_and_takes_per_round_ratios():
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    import distribution as bench

    assert bench.round_orders(["none", "dp1", "dpN"], 3) == [
        ["none", "dp1", "dpN"], ["dpN", "dp1", "none"], ["none", "dp1", "dpN"]]
    env = bench.cell_env("dpN", 4)
    assert "--xla_force_host_platform_device_count=4" in env["XLA_FLAGS"].split()
    assert "xla_force_host" not in bench.cell_env("dp1", 4)["XLA_FLAGS"]

    def cell(mode, rnd, wall, cpu):  # 100 samples: epochs of wall / cpu seconds
        return {"model": "a", "mode": mode, "round": rnd, "n": 100, "samples_per_s": 100 / wall,
                "epoch_cpu_s": [cpu, cpu * 3, cpu]}

    cells = [cell("none", 0, 1.0, 1.0), cell("dp1", 0, 2.0, 1.25),   # round 0: dp1 at 0.5x
             cell("dp1", 1, 4.0, 1.0), cell("none", 1, 2.0, 1.0),    # round 1: 0.5x again
             cell("none", 2, 0.5, 0.5), cell("dp1", 2, 0.5, 0.5)]    # round 2: 1.0x
    row = bench.summarize(cells, ["none", "dp1"])["a"]["dp1"]
    assert row["runs"] == 3 and row["median"] == 50 and (row["min"], row["max"]) == (25, 200)
    assert (row["ratio_median"], row["ratio_min"], row["ratio_max"]) == (0.5, 0.5, 1.0)
    assert row["cpu_median"] == 100 and row["cpu_ratio_median"] == 1.0  # median of 3 epochs
    assert row["cpu_ratio_min"] == 0.8
    assert "| a (mlp) | DataParallel, 1 device | 50 (25–200) | 0.50x (0.50–1.00) |" in \
        bench.table(bench.summarize(cells, ["none", "dp1"]), ["none", "dp1"], 2)
