"""Dicts pair by key everywhere (Keras 3): inputs, outputs, losses, metrics,
loss_weights, y, sample_weight and class_weight, with keys inserted in
reverse-sorted order; a list for dict outputs follows the sorted keys; predict
returns a dict."""

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers

N = 16


def _model():
    # keys inserted in reverse-sorted order, and outputs of different shapes, so any
    # pairing by position instead of by key fails loudly
    title = keras.Input((3,), name="title")
    body = keras.Input((2,), name="body")
    h = layers.concatenate([title, body])
    priority = layers.Dense(4, activation="softmax", name="prio")(h)
    department = layers.Dense(1, activation="sigmoid", name="dept")(h)
    return keras.Model(inputs={"title": title, "body": body},
                       outputs={"priority": priority, "department": department})


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = {"title": rng.random((N, 3)).astype("float32"),
         "body": rng.random((N, 2)).astype("float32")}
    y = {"priority": np.eye(4, dtype="float32")[rng.integers(0, 4, N)],
         "department": rng.integers(0, 2, (N, 1)).astype("float32")}
    return x, y


def test_names_follow_sorted_keys_and_predict_pairs_by_key(data):
    x, _ = data
    model = _model()
    assert model.output_names == ["department", "priority"]
    assert model.input_names == ["body", "title"]
    assert [t.shape for t in model.outputs] == [(None, 1), (None, 4)]
    out = model.predict(x, verbose=0)
    assert isinstance(out, dict) and list(out) == ["priority", "department"]
    h = np.concatenate([x["title"], x["body"]], axis=1)
    kernel, bias = model.get_layer("dept").get_weights()
    expected = 1.0 / (1.0 + np.exp(-(h @ kernel + bias)))
    np.testing.assert_allclose(out["department"], expected, rtol=1e-5, atol=1e-6)
    assert out["priority"].shape == (N, 4)
    # inputs given as a list follow the sorted keys too
    out_list = model.predict([x["body"], x["title"]], verbose=0)
    np.testing.assert_allclose(out_list["department"], out["department"], rtol=1e-6)


def test_fit_with_dicts_of_everything(data):
    x, y = data
    model = _model()
    model.compile(optimizer="sgd",
                  loss={"priority": "categorical_crossentropy",
                        "department": "binary_crossentropy"},
                  loss_weights={"priority": 1.0, "department": 0.0},
                  metrics={"priority": ["accuracy"], "department": ["mae"]})
    history = model.fit(x, y, epochs=1, batch_size=N, verbose=0,
                        sample_weight={"priority": np.ones(N), "department": np.ones(N)},
                        class_weight={"priority": {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0},
                                      "department": {0: 1.0, 1: 1.0}})
    assert sorted(history.history) == ["department_loss", "department_mae", "loss",
                                       "priority_accuracy", "priority_loss"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    # loss_weights by key: the department loss has weight 0
    np.testing.assert_allclose(logs["loss"], logs["priority_loss"], rtol=1e-5)
    pred = model.predict(x, verbose=0)
    p = np.clip(pred["priority"], 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(logs["priority_loss"],
                               np.mean(-np.sum(y["priority"] * np.log(p), axis=1)), rtol=1e-4)
    np.testing.assert_allclose(logs["department_mae"],
                               np.mean(np.abs(y["department"] - pred["department"])), rtol=1e-4)


def test_a_list_for_dict_outputs_follows_sorted_keys(data):
    x, y = data
    model = _model()
    # sorted keys: department first
    model.compile(optimizer="sgd", loss=["binary_crossentropy", "categorical_crossentropy"],
                  loss_weights=[0.0, 1.0])
    logs = model.evaluate(x, [y["department"], y["priority"]], verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], logs["priority_loss"], rtol=1e-5)
    with pytest.raises(ValueError, match=r"Output 'department' has shape \(None, 1\)"):
        model.fit(x, [y["priority"], y["department"]], verbose=0)  # wrong order: shapes clash


def test_dict_model_round_trips_through_a_keras_file(tmp_path, data):
    x, _ = data
    model = _model()
    path = tmp_path / "dicts.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.output_names == ["department", "priority"]
    a, b = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    assert list(b) == ["priority", "department"]
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6)


def test_subclassed_model_returning_a_dict_pairs_by_key(data):
    x, y = data

    class TwoHeads(keras.Model):
        def __init__(self):
            super().__init__()
            self.prio = layers.Dense(4, activation="softmax")
            self.dept = layers.Dense(1, activation="sigmoid")

        def call(self, inputs):
            h = keras.ops.concatenate([inputs["title"], inputs["body"]], axis=1)
            return {"priority": self.prio(h), "department": self.dept(h)}

    model = TwoHeads()
    model.compile(optimizer="sgd", loss={"priority": "categorical_crossentropy",
                                         "department": "binary_crossentropy"})
    history = model.fit(x, y, epochs=1, batch_size=N, verbose=0)
    assert sorted(history.history) == ["department_loss", "loss", "priority_loss"]
    out = model.predict(x, verbose=0)
    assert out["department"].shape == (N, 1) and out["priority"].shape == (N, 4)
