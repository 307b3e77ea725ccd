"""Fused training (several steps per compiled call), device windows, padding,
mixed precision and loss scaling, the persistent compilation cache."""

import numpy as np
import pytest

import jkeras as keras
from jkeras import callbacks, layers, mixed_precision, optimizers
from jkeras.training import compilation_cache, loops
from jkeras.training.loss_scale import LossScaleOptimizer


def mlp(seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6,))
    h = layers.Dense(8, activation="relu")(inp)
    out = layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, out)


@pytest.fixture
def data(rng):
    x = rng.normal(size=(37, 6)).astype("float32")  # 37 = 4 batches of 8 + 5
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 37)]
    return x, y


def train(x, y, spe, epochs=2, seed=0, **fit_kw):
    m = mlp()
    m.compile(optimizers.RMSprop(0.01), "categorical_crossentropy", metrics=["acc"],
              steps_per_execution=spe)
    keras.utils.set_random_seed(seed)  # the same shuffling for every run
    h = m.fit(x, y, batch_size=8, epochs=epochs, verbose=0, **fit_kw)
    return m, h


def test_fused_and_unfused_training_give_the_same_weights(data):
    x, y = data
    runs = {spe: train(x, y, spe) for spe in (1, 4, "auto")}
    w1 = runs[1][0].get_weights()
    for spe in (4, "auto"):
        for a, b in zip(w1, runs[spe][0].get_weights()):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
        for key in ("loss", "acc"):
            np.testing.assert_allclose(runs[1][1].history[key], runs[spe][1].history[key],
                                       rtol=2e-5)
    assert runs[4][0]._trainer.trace_counts["train"] == 1
    assert runs[4][0].optimizer.iterations == 10  # 5 batches x 2 epochs


def test_streaming_windows_match_resident_data(data, monkeypatch):
    x, y = data
    m1, _ = train(x, y, 4, shuffle=False)
    monkeypatch.setenv("JKERAS_DATA_BUDGET_MB", str(3 * 8 * 40 / 2**20))  # 3 batches per window
    m2, h2 = train(x, y, 4, shuffle=False)
    assert m1._trainer.data_resident and not m2._trainer.data_resident
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_second_fit_and_evaluate_do_not_retrace(data):
    x, y = data
    m, _ = train(x, y, "auto")
    m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    m.fit(x[:30], y[:30], batch_size=8, epochs=1, verbose=0)  # same window size bucket
    m.evaluate(x, y, batch_size=8, verbose=0)
    m.evaluate(x[:20], y[:20], batch_size=8, verbose=0)
    assert m._trainer.trace_counts == {"train": 1, "eval": 1}
    h = m.fit(np.tile(x, (3, 1)), np.tile(y, (3, 1)), batch_size=8, verbose=0)  # larger bucket
    assert m._trainer.trace_counts["train"] == 2 and np.isfinite(h.history["loss"][0])


def test_padding_keeps_loss_and_metrics_exact(data):
    x, y = data
    inp = keras.Input((6,))
    dense = layers.Dense(3)
    m = keras.Model(inp, dense(inp))
    m.compile(optimizers.SGD(0.0), "mse", metrics=["mae"], steps_per_execution=3)
    k, b = (np.asarray(w) for w in dense.get_weights())
    pred = x @ k + b
    h = m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle="batch")
    np.testing.assert_allclose(h.history["loss"], [np.mean((pred - y) ** 2)] * 2, rtol=1e-5)
    np.testing.assert_allclose(h.history["mae"], [np.mean(np.abs(pred - y))] * 2, rtol=1e-5)
    sw = np.linspace(0.1, 1.0, 37).astype("float32")
    loss = m.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0)[0]
    np.testing.assert_allclose(loss, np.sum(sw * np.mean((pred - y) ** 2, axis=1)) / 37,
                               rtol=1e-5)


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.begin, self.end = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.begin.append(batch)

    def on_train_batch_end(self, batch, logs=None):
        self.end.append((batch, float(logs["loss"])))


def test_callbacks_see_every_block(data):
    x, y = data
    rec = Recorder()
    m = mlp()
    m.compile("sgd", "categorical_crossentropy", steps_per_execution=2)
    h = m.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[rec], shuffle=False)
    assert rec.begin == [0, 2, 4]  # the first batch of each call of 2 steps
    assert [b for b, _ in rec.end] == [1, 3, 4]  # the last batch of each call
    assert rec.end[-1][1] == pytest.approx(h.history["loss"][0], rel=1e-6)
    # 'auto' keeps Keras's per-batch calls for a user callback with batch hooks
    rec = Recorder()
    m.compile("sgd", "categorical_crossentropy")
    m.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[rec])
    assert rec.begin == [0, 1, 2, 3, 4] and [b for b, _ in rec.end] == [0, 1, 2, 3, 4]


def test_auto_block_size_grows_and_conv_models_run_one_step_per_call(data):
    auto = loops.AutoSize()
    seen = []
    for seconds in (None, 0.001, 0.001, 0.5, 0.001):
        k, timed = auto.next(10_000)
        seen.append(k)
        auto.record(k, seconds if timed else None)
    assert seen == [1, 4, 16, 64, 64] and auto.done
    inp = keras.Input((5, 5, 1))
    out = layers.Dense(1)(layers.Flatten()(layers.Conv2D(2, 3)(inp)))
    m = keras.Model(inp, out)
    m.compile("sgd", "mse")
    plan = m._trainer._plan("train", 8)
    assert (plan.kind, plan.k, plan.auto) == ("window_step", 1, None)
    m.compile("sgd", "mse", steps_per_execution=4)  # an explicit size is honoured
    assert m._trainer._plan("train", 8).kind == "window_block"


def test_steps_per_execution_is_checked():
    m = mlp()
    with pytest.raises(ValueError, match="steps_per_execution must be 'auto'"):
        m.compile("sgd", "mse", steps_per_execution=0)


@pytest.fixture
def policy():
    yield mixed_precision.set_global_policy
    mixed_precision.set_global_policy(None)


def _learnable(rng, n=256):
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 1.5], dtype="float32") > 0).astype("float32")
    return x, y[:, None]


@pytest.mark.parametrize("name", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains(policy, rng, name):
    policy(name)
    x, y = _learnable(rng)
    inp = keras.Input((4,))
    h = layers.Dense(16, activation="relu")(inp)
    out = layers.Dense(1, activation="sigmoid")(h)
    m = keras.Model(inp, out)
    m.compile(optimizers.Adam(0.01), "binary_crossentropy", metrics=["acc"])
    if name == "mixed_float16":
        assert isinstance(m.optimizer, LossScaleOptimizer)
        assert m.get_compile_config()["optimizer"] is m.optimizer.inner_optimizer
    h = m.fit(x, y, batch_size=32, epochs=4, verbose=0)
    loss = h.history["loss"]
    assert all(np.isfinite(loss)) and loss[-1] < 0.7 * loss[0]
    assert m.layers[1].kernel.value.dtype == np.float32
    if name == "mixed_float16":
        assert m.optimizer.iterations == 32
        assert m.optimizer.dynamic_scale == 2.0 ** 15  # no overflow, no growth yet


def test_loss_scale_optimizer_skips_non_finite_steps_and_adapts_the_scale():
    import jax.numpy as jnp

    opt = LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0, dynamic_growth_steps=2)
    p = [jnp.ones(2)]
    st = opt.init(p)
    p1, st = opt.update([jnp.array([8.0, 16.0])], st, p)  # scaled by 8: grads 1, 2
    np.testing.assert_allclose(p1[0], [0.9, 0.8], rtol=1e-6)
    assert float(st.scale) == 8.0 and int(st.good_steps) == 1
    p2, st = opt.update([jnp.array([jnp.inf, 1.0])], st, p1)  # skipped, scale halves
    np.testing.assert_allclose(p2[0], p1[0])
    assert float(st.scale) == 4.0 and int(st.good_steps) == 0
    assert int(st.inner.iterations) == 1
    for _ in range(2):
        p2, st = opt.update([jnp.zeros(2)], st, p2)
    assert float(st.scale) == 8.0  # doubled after 2 finite steps
    cfg = opt.get_config()
    again = LossScaleOptimizer.from_config(cfg)
    assert again.dynamic_growth_steps == 2 and isinstance(again.inner_optimizer, optimizers.SGD)
    # Keras 3 spells it keras.optimizers.LossScaleOptimizer; configs round-trip by name
    assert optimizers.LossScaleOptimizer is LossScaleOptimizer
    assert mixed_precision.LossScaleOptimizer is LossScaleOptimizer
    loaded = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(loaded, LossScaleOptimizer) and loaded.initial_scale == 8.0
    with pytest.raises(AttributeError, match="no attribute 'LossScale'"):
        optimizers.LossScale  # noqa: B018


def test_compilation_cache_setting(monkeypatch, tmp_path):
    import jax

    before = jax.config.jax_compilation_cache_dir
    saved = dict(compilation_cache._state)
    try:
        monkeypatch.setattr(compilation_cache, "_state", {"dir": None, "checked": False})
        monkeypatch.setenv("JKERAS_COMPILATION_CACHE", "0")
        assert compilation_cache.enable() is None
        monkeypatch.setattr(compilation_cache, "_state", {"dir": None, "checked": False})
        monkeypatch.setenv("JKERAS_COMPILATION_CACHE", str(tmp_path / "xla"))
        jax.config.update("jax_compilation_cache_dir", None)
        assert compilation_cache.enable() == str(tmp_path / "xla")
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla")
        monkeypatch.setenv("JKERAS_HOME", str(tmp_path / "home"))
        assert compilation_cache.default_dir() == str(tmp_path / "home" / "xla_cache")
    finally:
        compilation_cache.configure(before)
        compilation_cache._state.update(saved)


def test_large_predict_batches_of_conv_models_run_in_bounded_calls(monkeypatch, rng):
    """A convolutional model predicts a large batch in calls whose activations fit
    the budget: same outputs as small batches, and the compiled call takes fewer rows."""
    from jkeras.training import inference

    inp = keras.Input((6, 6, 1))
    h = layers.Conv2D(4, 3, activation="relu")(inp)
    out = layers.Dense(2)(layers.Flatten()(h))
    model = keras.Model(inp, out)
    per_row = inference.activation_bytes_per_row(model)
    # layer outputs per sample: conv 4*4*4 + flatten 64 + dense 2 floats
    assert per_row == (64 + 64 + 2) * 4
    x = rng.normal(size=(40, 6, 6, 1)).astype("float32")
    small = model.predict(x, batch_size=8, verbose=0)
    monkeypatch.setattr(inference, "ACTIVATION_BUDGET_BYTES", per_row * 20)
    assert inference.rows_per_call(model, 40, fused=False) == 16
    assert inference.rows_per_call(model, 40, fused=True) == 40  # loops keep their batch
    big = model.predict(x, batch_size=40, verbose=0)
    np.testing.assert_allclose(big, small, rtol=1e-5, atol=1e-6)
    assert ("window", 16, False) in model._predict_cache._fns
    assert ("window", 40, False) not in model._predict_cache._fns
