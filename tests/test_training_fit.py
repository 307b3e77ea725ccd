"""compile / fit / evaluate / train_on_batch: values against numpy formulas,
history keys, weighting, compilation count, training mode, reproducibility."""

import io
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import jkeras as keras
from jkeras import layers, optimizers, regularizers
from jkeras.engine.layer import Layer


# ------------------------------------------------------------------------------ helpers
def linear_model(in_dim=3, units=1, name=None):
    inp = keras.Input((in_dim,))
    out = layers.Dense(units, name=name)(inp)
    return keras.Model(inp, out)


def set_linear(model, w, b):
    model.layers[-1].set_weights([np.asarray(w, "float32"), np.asarray(b, "float32")])


def frozen_sgd():
    return optimizers.SGD(learning_rate=0.0)


def bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.fixture
def regression(rng):
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    w = rng.normal(size=(3, 1)).astype("float32")
    b = np.array([0.3], "float32")
    return x, y, w, b


# ------------------------------------------------------------------------------ exactness
def test_evaluate_partial_last_batch_matches_numpy(regression):
    x, y, w, b = regression
    m = linear_model()
    set_linear(m, w, b)
    m.compile(frozen_sgd(), "mse", metrics=["mae"])
    pred = x @ w + b
    loss, mae = m.evaluate(x, y, batch_size=4, verbose=0)  # batches of 4, 4, 2
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred - y)), rtol=1e-5)
    assert m.metrics_names == ["loss", "mae"]


def test_fit_epoch_loss_with_partial_batch_is_exact_and_traced_once(regression):
    x, y, w, b = regression
    m = linear_model()
    set_linear(m, w, b)
    m.compile(frozen_sgd(), "mse", metrics=["mae"])
    expected = np.mean((x @ w + b - y) ** 2)
    h = m.fit(x, y, batch_size=4, epochs=2, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [expected] * 2, rtol=1e-5)
    # a second fit, with another number of samples, compiles nothing new
    m.fit(x[:7], y[:7], batch_size=4, epochs=1, verbose=0)
    assert m._trainer.trace_counts["train"] == 1


def test_sample_weight_formula(regression):
    x, y, w, b = regression
    m = linear_model()
    set_linear(m, w, b)
    m.compile(frozen_sgd(), "mse", weighted_metrics=["mse"], metrics=["mae"])
    sw = np.linspace(0.0, 2.0, 10).astype("float32")
    err = ((x @ w + b - y) ** 2)[:, 0]
    res = m.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0, return_dict=True)
    # Keras: weighted sum divided by the number of samples
    np.testing.assert_allclose(res["loss"], np.sum(sw * err) / 10, rtol=1e-5)
    # weighted metrics: weighted mean; plain metrics ignore sample weights
    np.testing.assert_allclose(res["mse"], np.sum(sw * err) / np.sum(sw), rtol=1e-5)
    np.testing.assert_allclose(res["mae"], np.mean(np.abs(x @ w + b - y)), rtol=1e-5)


def test_class_weight_and_sample_weight_multiply(rng):
    x = rng.normal(size=(12, 2)).astype("float32")
    y = (rng.uniform(size=(12,)) > 0.5).astype("float32")
    w = np.array([[0.5], [-0.4]], "float32")
    inp = keras.Input((2,))
    m = keras.Model(inp, layers.Dense(1, activation="sigmoid")(inp))
    m.layers[-1].set_weights([w, np.zeros(1, "float32")])
    m.compile(frozen_sgd(), "binary_crossentropy")
    p = 1 / (1 + np.exp(-(x @ w)[:, 0]))
    per = bce(y, p)
    cw = {0: 1.0, 1: 3.0}
    sw = np.arange(12, dtype="float32") / 6
    h = m.fit(x, y, batch_size=5, class_weight=cw, sample_weight=sw, shuffle=False, verbose=0)
    cwv = np.where(y == 1, 3.0, 1.0)
    np.testing.assert_allclose(h.history["loss"][0], np.sum(per * cwv * sw) / 12, rtol=1e-4)


def test_temporal_sample_weights(rng):
    x = rng.normal(size=(6, 5, 2)).astype("float32")
    y = rng.normal(size=(6, 5, 1)).astype("float32")
    inp = keras.Input((5, 2))
    m = keras.Model(inp, layers.Dense(1)(inp))
    w, b = rng.normal(size=(2, 1)).astype("float32"), np.zeros(1, "float32")
    m.layers[-1].set_weights([w, b])
    m.compile(frozen_sgd(), "mse", sample_weight_mode="temporal")
    sw = rng.uniform(size=(6, 5)).astype("float32")
    err = ((x @ w - y) ** 2)[..., 0]
    loss = m.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0)
    np.testing.assert_allclose(loss, np.sum(sw * err) / 30, rtol=1e-5)


def test_regularizer_and_add_loss_are_added(regression):
    x, y, w, b = regression

    class AddConstant(Layer):
        def call(self, inputs):
            self.add_loss(jnp.asarray(0.25))
            return inputs

    inp = keras.Input((3,))
    out = layers.Dense(1, kernel_regularizer=regularizers.L2(0.1))(AddConstant()(inp))
    m = keras.Model(inp, out)
    m.layers[-1].set_weights([w, b])
    m.compile(frozen_sgd(), "mse")
    loss = m.evaluate(x, y, batch_size=4, verbose=0)
    expected = np.mean((x @ w + b - y) ** 2) + 0.1 * np.sum(w**2) + 0.25
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


# ------------------------------------------------------------------------------ outputs
@pytest.fixture
def two_output_data(rng):
    x = rng.normal(size=(16, 4)).astype("float32")
    ya = (x[:, :1] > 0).astype("float32")
    yb = (x[:, 1:2] > 0).astype("float32")
    return x, ya, yb


def two_output_model(dict_outputs=False):
    inp = keras.Input((4,), name="inp")
    h = layers.Dense(4, activation="relu")(inp)
    a = layers.Dense(1, activation="sigmoid", name="main_output")(h)
    b = layers.Dense(1, activation="sigmoid", name="aux_output")(h)
    outs = {"a": a, "b": b} if dict_outputs else [a, b]
    return keras.Model(inp, outs)


def test_history_keys_list_outputs_one_loss_for_all(two_output_data):
    x, ya, yb = two_output_data
    m = two_output_model()
    m.compile("rmsprop", "binary_crossentropy", metrics=["accuracy"], loss_weights=[1.0, 0.2])
    h = m.fit(x, [ya, yb], batch_size=8, epochs=1, verbose=0, validation_data=(x, [ya, yb]))
    base = ["loss", "main_output_loss", "aux_output_loss", "main_output_accuracy",
            "aux_output_accuracy"]
    assert m.metrics_names == base
    assert list(h.history) == base + ["val_" + k for k in base]
    r = m.evaluate(x, [ya, yb], verbose=0, return_dict=True)
    np.testing.assert_allclose(r["loss"], r["main_output_loss"] + 0.2 * r["aux_output_loss"],
                               rtol=1e-5)


def test_history_keys_dict_outputs_and_per_output_metrics(two_output_data):
    x, ya, yb = two_output_data
    m = two_output_model(dict_outputs=True)
    m.compile("sgd", loss={"a": "binary_crossentropy", "b": "mse"},
              loss_weights={"a": 2.0}, metrics={"a": ["acc"], "b": ["mae", "mse"]})
    h = m.fit(x, {"a": ya, "b": yb}, batch_size=8, verbose=0)
    assert list(h.history) == ["loss", "a_loss", "b_loss", "a_acc", "b_mae", "b_mse"]
    r = m.evaluate({"inp": x}, {"b": yb, "a": ya}, verbose=0, return_dict=True)
    np.testing.assert_allclose(r["loss"], 2.0 * r["a_loss"] + r["b_loss"], rtol=1e-5)
    np.testing.assert_allclose(r["b_mse"], r["b_loss"], rtol=1e-5)


def test_metrics_list_of_lists_and_acc_naming(two_output_data):
    x, ya, yb = two_output_data
    m = two_output_model()
    m.compile("sgd", ["binary_crossentropy", "mse"], metrics=[["acc"], []])
    assert m.metrics_names == ["loss", "main_output_loss", "aux_output_loss",
                               "main_output_acc"]
    out = m.evaluate(x, [ya, yb], verbose=0)
    assert isinstance(out, list) and len(out) == 4


def test_evaluate_and_on_batch_return_forms(regression):
    x, y, w, b = regression
    m = linear_model()
    set_linear(m, w, b)
    m.compile(frozen_sgd(), "mse")
    loss = m.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    t = m.train_on_batch(x, y)
    np.testing.assert_allclose(t, loss, rtol=1e-5)
    np.testing.assert_allclose(m.test_on_batch(x, y), loss, rtol=1e-5)
    assert m.test_on_batch(x, y, return_dict=True).keys() == {"loss"}


def test_train_on_batch_updates_weights(regression):
    x, y, _, _ = regression
    m = linear_model()
    m.compile(optimizers.SGD(learning_rate=0.1), "mse")
    before = m.get_weights()
    l1 = m.train_on_batch(x, y)
    l2 = m.train_on_batch(x, y)
    assert l2 < l1
    assert not np.allclose(before[0], m.get_weights()[0])


# ------------------------------------------------------------------------------ fit options
def test_fit_options_epochs_validation_freq_steps(regression):
    x, y, _, _ = regression
    m = linear_model()
    opt = optimizers.SGD(learning_rate=0.01)
    m.compile(opt, "mse")
    h = m.fit(x, y, batch_size=4, epochs=4, validation_split=0.2, validation_freq=2,
              verbose=0)
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    assert m.history is h
    h = m.fit(x, y, batch_size=4, epochs=3, initial_epoch=1, verbose=0)
    assert h.epoch == [1, 2]
    it = int(np.asarray(opt.iterations))
    m.fit(x, y, batch_size=2, steps_per_epoch=3, epochs=1, verbose=0)
    assert int(np.asarray(opt.iterations)) == it + 3


def test_keras1_nb_epoch(regression):
    x, y, _, _ = regression
    m = linear_model()
    m.compile("sgd", "mse")
    with pytest.warns(DeprecationWarning, match="epochs"):
        h = m.fit(x, y, nb_epoch=2, batch_size=5, verbose=0)
    assert h.epoch == [0, 1]


def test_learnable_task_reaches_accuracy(rng):
    n = 400
    y = rng.integers(0, 2, size=n)
    x = rng.normal(size=(n, 4)).astype("float32") + (2.0 * y[:, None] - 1.0) * 1.5
    m = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)),
                          layers.Dense(2, activation="softmax")])
    m.compile(optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
    m.fit(x, y, batch_size=32, epochs=8, verbose=0)
    _, acc = m.evaluate(x, y, verbose=0)
    assert acc >= 0.95


def test_same_seed_gives_identical_weights(rng):
    x = rng.normal(size=(20, 3)).astype("float32")
    y = rng.normal(size=(20, 1)).astype("float32")

    def run(seed):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        inp = keras.Input((3,))
        h = layers.Dropout(0.3)(layers.Dense(8, activation="relu")(inp))
        m = keras.Model(inp, layers.Dense(1)(h))
        m.compile(optimizers.SGD(learning_rate=0.05), "mse")
        m.fit(x, y, batch_size=6, epochs=2, shuffle=True, verbose=0)
        return m.get_weights()

    a, b, c = run(7), run(7), run(8)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c))


# ------------------------------------------------------------------------------ training mode
class CountTrainingCalls(Layer):
    """Adds 1 to a non-trainable counter on every call in training mode."""

    def build(self, input_shape):
        self.count = self.add_weight("count", (), "zeros", trainable=False)

    def call(self, inputs, training=False):
        if training:
            self.count.assign(self.count.value + 1.0)
        return inputs


def test_training_mode_only_inside_fit_and_frozen_state(rng):
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    counter, frozen = CountTrainingCalls(), CountTrainingCalls(trainable=False)
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(1)(frozen(counter(inp))))
    m.compile("sgd", "mse")
    m.fit(x, y, batch_size=4, epochs=2, verbose=0)  # 3 steps per epoch
    assert float(counter.count.numpy()) == 6.0
    assert float(frozen.count.numpy()) == 0.0
    m.evaluate(x, y, verbose=0)
    m.predict(x, verbose=0)
    assert float(counter.count.numpy()) == 6.0


def test_dropout_active_in_fit_only(regression):
    x, y, _, _ = regression
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(1)(layers.Dropout(0.5)(layers.Dense(16)(inp))))
    m.compile(frozen_sgd(), "mse")
    e1 = m.evaluate(x, y, verbose=0)
    e2 = m.evaluate(x, y, verbose=0)
    assert e1 == e2
    h = m.fit(x, y, batch_size=10, epochs=1, verbose=0)
    assert abs(h.history["loss"][0] - e1) > 1e-6


def test_frozen_after_compile_does_not_change(regression):
    x, y, _, _ = regression
    inp = keras.Input((3,))
    first = layers.Dense(4)
    m = keras.Model(inp, layers.Dense(1)(first(inp)))
    m.compile(optimizers.SGD(learning_rate=0.1), "mse")
    m.fit(x, y, epochs=1, verbose=0)
    first.trainable = False
    before = first.get_weights()
    last_before = m.layers[-1].get_weights()
    m.fit(x, y, epochs=2, verbose=0)
    for u, v in zip(before, first.get_weights()):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(last_before[0], m.layers[-1].get_weights()[0])


def test_batchnorm_statistics_update_exactly_in_fit(rng):
    x = rng.normal(loc=2.0, size=(10, 2)).astype("float32")
    y = rng.normal(size=(10, 2)).astype("float32")
    inp = keras.Input((2,))
    bn = layers.BatchNormalization(momentum=0.5)
    m = keras.Model(inp, bn(inp))
    m.compile(frozen_sgd(), "mse")
    m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 4, 4, 2 rows
    mm = np.zeros(2)
    for s in (slice(0, 4), slice(4, 8), slice(8, 10)):
        mm = 0.5 * mm + 0.5 * x[s].mean(axis=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mm, rtol=1e-5)
    m.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mm, rtol=1e-5)


def test_constraint_applied_after_update(regression):
    x, y, _, _ = regression
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(4, kernel_constraint="non_neg")(inp))
    m.compile(optimizers.SGD(learning_rate=0.5), "mse")
    m.fit(x, np.repeat(-y, 4, axis=1), epochs=2, verbose=0)
    assert (m.layers[-1].kernel.numpy() >= 0).all()


# ------------------------------------------------------------------------------ progress output
def test_verbose_output_plain_when_not_a_tty(regression, capsys):
    x, y, _, _ = regression
    m = linear_model()
    m.compile("sgd", "mse", metrics=["mae"])
    m.fit(x, y, batch_size=4, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "3/3" in out and "loss:" in out and "mae:" in out and "/step" in out
    assert "\r" not in out and "\x1b" not in out
    m.fit(x, y, batch_size=4, epochs=2, verbose=2)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln]
    assert len(lines) == 4
    m.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_bar_redraws_on_a_tty(monkeypatch):
    from jkeras.training.progbar import Progbar

    class TTY(io.StringIO):
        def isatty(self):
            return True

    buf = TTY()
    monkeypatch.setattr(sys, "stdout", buf)
    bar = Progbar(target=4, interval=0.0)
    for i in range(1, 5):
        bar.update(i, {"loss": 1.0 / i})
    text = buf.getvalue()
    assert "━" in text and "\r" in text and "4/4" in text and "loss: 0.2500" in text


def test_output_mask_excludes_padded_timesteps(rng):
    tokens = np.array([[3, 4, 0, 0], [5, 0, 0, 0], [1, 2, 3, 4]], "int32")
    y = rng.normal(size=(3, 4, 1)).astype("float32")
    inp = keras.Input((4,), dtype="int32")
    out = layers.Dense(1)(layers.Embedding(6, 2, mask_zero=True)(inp))
    m = keras.Model(inp, out)
    m.compile(frozen_sgd(), "mse", metrics=["mae"])
    pred = m.predict(tokens, verbose=0)
    mask = (tokens != 0)[..., None]
    loss, mae = m.evaluate(tokens, y, verbose=0)
    np.testing.assert_allclose(loss, np.sum((pred - y) ** 2 * mask) / mask.sum(), rtol=1e-5)
    np.testing.assert_allclose(mae, np.sum(np.abs(pred - y) * mask) / mask.sum(), rtol=1e-5)


def test_per_output_class_weights_and_validation_sample_weights(two_output_data):
    x, ya, yb = two_output_data
    m = two_output_model()
    m.compile(frozen_sgd(), "binary_crossentropy")
    pa, pb = m.predict(x, verbose=0)
    h = m.fit(x, [ya, yb], batch_size=16, verbose=0,
              class_weight={"aux_output": {0: 1.0, 1: 4.0}},
              validation_data=(x, [ya, yb], [np.zeros(16), np.ones(16)]))
    la = bce(ya, pa).mean()
    lb = (bce(yb, pb) * np.where(yb == 1, 4.0, 1.0)).mean()
    np.testing.assert_allclose(h.history["main_output_loss"][0], la, rtol=1e-4)
    np.testing.assert_allclose(h.history["aux_output_loss"][0], lb, rtol=1e-4)
    np.testing.assert_allclose(h.history["val_main_output_loss"][0], 0.0, atol=1e-7)
    np.testing.assert_allclose(h.history["val_aux_output_loss"][0], bce(yb, pb).mean(),
                               rtol=1e-4)
