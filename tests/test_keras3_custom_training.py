"""Keras 3's JAX custom-training API, written as Keras's own guides write it:
"customizing what happens in fit" (a `train_step` / `test_step` override on a
subclass built as `CustomModel(inputs, outputs)`) and "writing a training loop
from scratch" (`stateless_call` + `optimizer.stateless_apply` + stateless
metrics under `jax.jit`), which ends with the same weights as `fit`."""

import jax
import numpy as np
import pytest

import jkeras as keras
from jkeras import layers

N, D = 64, 8


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype("float32")
    y = (x @ rng.normal(size=(D, 1)) + 0.1).astype("float32")
    return x, y


def _dense_model(cls=keras.Model, seed=1):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(D,))
    h = layers.Dense(16, activation="relu")(inputs)
    return cls(inputs, layers.Dense(1)(h))


class GuideModel(keras.Model):
    """The first model of Keras's JAX "customizing fit" guide, verbatim in spirit."""

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                 training=False):
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=training)
        loss = self.compute_loss(x, y, y_pred)
        return loss, (y_pred, non_trainable_variables)

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = \
            state
        x, y = data
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, x, y, training=True)
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        new_metrics_vars, logs = [], {}
        for metric in self.metrics:
            start = len(new_metrics_vars)
            this = metrics_variables[start:start + len(metric.variables)]
            if metric.name == "loss":
                this = metric.stateless_update_state(this, loss)
            else:
                this = metric.stateless_update_state(this, y, y_pred)
            logs[metric.name] = metric.stateless_result(this)
            new_metrics_vars += this
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables,
                      new_metrics_vars)


def test_subclass_built_from_inputs_and_outputs_trains_through_its_train_step(data):
    x, y = data
    model = _dense_model(GuideModel)
    assert isinstance(model, GuideModel) and type(model).__name__ == "GuideModel"
    assert model.count_params() == D * 16 + 16 + 17
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    # one compile for the whole fit: every batch has the same signature
    assert model._trainer.trace_counts["train"] == 1
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert model._trainer.trace_counts["train"] == 1  # cached across fits
    # the weights the steps produced are in the model: evaluate agrees with numpy
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(logs["loss"], np.mean((pred - y) ** 2), rtol=1e-4)
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(pred - y)), rtol=1e-4)


class OwnMetricsModel(keras.Model):
    """The guide's second model: its own loss and metrics, compile() with no loss."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                 training=False):
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=training)
        return self.loss_fn(y, y_pred), (y_pred, non_trainable_variables)

    def train_step(self, state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = \
            state
        x, y = data
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, x, y, training=True)
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        n = len(self.loss_tracker.variables)
        loss_vars = self.loss_tracker.stateless_update_state(metrics_variables[:n], loss)
        mae_vars = self.mae_metric.stateless_update_state(metrics_variables[n:], y, y_pred)
        logs = {"loss": self.loss_tracker.stateless_result(loss_vars),
                "mae": self.mae_metric.stateless_result(mae_vars)}
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables,
                      loss_vars + mae_vars)

    def test_step(self, state, data):
        x, y = data
        trainable_variables, non_trainable_variables, metrics_variables = state
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=False)
        loss = self.loss_fn(y, y_pred)
        n = len(self.loss_tracker.variables)
        loss_vars = self.loss_tracker.stateless_update_state(metrics_variables[:n], loss)
        mae_vars = self.mae_metric.stateless_update_state(metrics_variables[n:], y, y_pred)
        logs = {"loss": self.loss_tracker.stateless_result(loss_vars),
                "mae": self.mae_metric.stateless_result(mae_vars)}
        return logs, (trainable_variables, non_trainable_variables, loss_vars + mae_vars)

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def test_own_metrics_and_test_step(data):
    x, y = data
    model = _dense_model(OwnMetricsModel)
    model.compile(optimizer="adam")
    assert model.metrics_variables == (model.loss_tracker.variables
                                       + model.mae_metric.variables)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x, y))
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(logs["loss"], np.mean((pred - y) ** 2), rtol=1e-4)
    np.testing.assert_allclose(history.history["val_loss"][-1], logs["loss"], rtol=1e-5)


def test_hand_written_jax_loop_equals_fit(data):
    x, y = data
    bs = 16

    # the loop of Keras's "writing a training loop from scratch" (JAX) guide
    model = _dense_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    loss_fn = keras.losses.MeanSquaredError()
    metric = keras.metrics.MeanAbsoluteError()

    def compute_loss_and_updates(trainable_variables, non_trainable_variables, xb, yb):
        y_pred, non_trainable_variables = model.stateless_call(
            trainable_variables, non_trainable_variables, xb, training=True)
        return loss_fn(yb, y_pred), (y_pred, non_trainable_variables)

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    @jax.jit
    def train_step(state, batch):
        trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = \
            state
        xb, yb = batch
        (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, xb, yb)
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        metric_variables = metric.stateless_update_state(metric_variables, yb, y_pred)
        return loss, (trainable_variables, non_trainable_variables, optimizer_variables,
                      metric_variables)

    optimizer.build(model.trainable_variables)
    # Variables go into jax.jit as they are (they are pytrees of their values)
    state = (model.trainable_variables, model.non_trainable_variables, optimizer.variables,
             metric.variables)
    for step in range(N // bs):
        loss, state = train_step(state, (x[step * bs:(step + 1) * bs],
                                         y[step * bs:(step + 1) * bs]))
    trainable_values, _, optimizer_values, metric_values = state
    for variable, value in zip(model.trainable_variables, trainable_values):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, optimizer_values):
        variable.assign(value)  # bound to the optimizer's state
    assert optimizer.iterations == N // bs
    mae = float(metric.stateless_result(metric_values))
    assert mae > 0

    reference = _dense_model()
    reference.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="mse")
    reference.fit(x, y, batch_size=bs, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert reference.optimizer.iterations == optimizer.iterations


class ComputeLossModel(keras.Model):
    """Only compute_loss overridden: fit goes through the default train_step."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return keras.ops.mean(keras.ops.abs(y - y_pred)) * 2.0


def test_compute_loss_override_and_default_train_step(data):
    x, y = data
    model = _dense_model(ComputeLossModel)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=1, batch_size=N, verbose=0, shuffle=False)
    # the logged loss is the override's (2 * mae before the step), not the compiled mse
    np.testing.assert_allclose(history.history["loss"][0], 2.0 * history.history["mae"][0],
                               rtol=1e-5)


def test_metrics_and_optimizer_variables_api(data):
    x, y = data
    model = _dense_model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=1, batch_size=N, verbose=0)
    assert [m.name for m in model.metrics] == ["loss", "mae"]
    assert len(model.metrics_variables) == sum(len(m.variables) for m in model.metrics)
    opt_vars = model.optimizer.variables
    assert opt_vars[0].name == "iteration" and int(opt_vars[0].value) == 1
    opt_vars[0].assign(5)
    assert model.optimizer.iterations == 5
    # stateless metric API leaves the metric untouched
    metric = keras.metrics.Mean()
    values = metric.stateless_update_state(metric.variables, np.array([1.0, 3.0]))
    assert float(metric.stateless_result(values)) == 2.0
    assert float(metric.result()) == 0.0
    with pytest.raises(ValueError, match="stateless_apply: got 1 optimizer values"):
        model.optimizer.stateless_apply([1.0], [], [])
    with pytest.raises(ValueError, match=r"`trainable_variables` has 0 values, but the layer "
                                         r"has 4"):
        model.stateless_call([], model.non_trainable_variables, x)


def test_train_and_test_on_batch_use_the_overridden_steps(data):
    x, y = data
    model = _dense_model(GuideModel)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert sorted(logs) == ["loss", "mae"]
    np.testing.assert_allclose(logs["loss"], before, rtol=1e-5)  # the loss before the step
    assert model.optimizer.iterations == 1
    after = model.test_on_batch(x, y, return_dict=True)
    assert after["loss"] < before


def test_frozen_weights_add_no_regularization_penalty():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    frozen = layers.Dense(2, kernel_regularizer=keras.regularizers.L2(1.0), name="frozen")
    model = keras.Model(inputs, frozen(inputs))
    assert len(model.losses) == 1
    frozen.trainable = False
    assert model.losses == []  # as Keras: only trainable weights are regularized
    _, _, losses = model.stateless_call(model.trainable_variables,
                                        model.non_trainable_variables,
                                        np.ones((1, 3), "float32"), return_losses=True)
    assert losses == []
