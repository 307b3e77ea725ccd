"""The seed guide's models train as the guide calls them, in the Keras 1 spelling
(`Model(input=, output=)`, `merge(mode='concat')`, `fit(..., nb_epoch=...)`),
at small sizes where the guide's sizes would be slow."""

import warnings

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers
from jkeras.layers import Dense, Input


@pytest.fixture(autouse=True)
def _quiet_deprecations():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def changed(before, model):
    return any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_first_model_trains_with_nb_epoch(rng, capsys):
    inputs = Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    x = Dense(64, activation="relu")(x)
    predictions = Dense(10, activation="softmax")(x)
    model = keras.Model(input=inputs, output=predictions)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    data = rng.random((64, 784)).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, 10, size=64), 10)
    before = model.get_weights()
    history = model.fit(data, labels, nb_epoch=2)  # batch_size 32, verbose 1 by default
    assert history.epoch == [0, 1]
    assert list(history.history) == ["loss", "accuracy"]
    assert np.isfinite(history.history["loss"]).all()
    assert changed(before, model)
    assert "Epoch 2/2" in capsys.readouterr().out


def test_shared_lstm_trains_with_nb_epoch(rng):
    tweet_a = Input(shape=(10, 16))
    tweet_b = Input(shape=(10, 16))
    shared_lstm = layers.LSTM(8)
    encoded_a = shared_lstm(tweet_a)
    encoded_b = shared_lstm(tweet_b)
    merged_vector = layers.merge([encoded_a, encoded_b], mode="concat", concat_axis=-1)
    predictions = Dense(1, activation="sigmoid")(merged_vector)
    model = keras.Model(input=[tweet_a, tweet_b], output=predictions)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    a = rng.random((40, 10, 16)).astype("float32")
    b = rng.random((40, 10, 16)).astype("float32")
    labels = rng.integers(0, 2, size=(40, 1)).astype("float32")
    before = shared_lstm.get_weights()
    history = model.fit([a, b], labels, nb_epoch=2, verbose=0)
    assert history.epoch == [0, 1] and list(history.history) == ["loss", "accuracy"]
    assert any(not np.array_equal(u, v) for u, v in zip(before, shared_lstm.get_weights()))


def test_multi_input_multi_output_one_loss_string(rng):
    main_input = Input(shape=(10,), dtype="int32", name="main_input")
    x = layers.Embedding(output_dim=8, input_dim=50, input_length=10)(main_input)
    lstm_out = layers.LSTM(4)(x)
    auxiliary_output = Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = Input(shape=(5,), name="aux_input")
    x = layers.merge([lstm_out, auxiliary_input], mode="concat")
    x = Dense(8, activation="relu")(x)
    main_output = Dense(1, activation="sigmoid", name="main_output")(x)
    model = keras.Model(input=[main_input, auxiliary_input],
                        output=[main_output, auxiliary_output])
    headlines = rng.integers(1, 50, size=(36, 10)).astype("int32")
    extra = rng.random((36, 5)).astype("float32")
    labels = rng.integers(0, 2, size=(36, 1)).astype("float32")
    # one loss string for both outputs, as the guide does
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", loss_weights=[1., 0.2])
    history = model.fit([headlines, extra], [labels, labels], nb_epoch=2, batch_size=32,
                        verbose=0)
    assert list(history.history) == ["loss", "main_output_loss", "aux_output_loss"]
    h = history.history
    # the total is the weighted sum (running means over the same batches)
    np.testing.assert_allclose(h["loss"], np.add(h["main_output_loss"],
                                                 np.multiply(0.2, h["aux_output_loss"])),
                               rtol=1e-4)
    assert model._trainer.trace_counts["train"] == 1  # the short last batch is padded
    # the guide's dict form of the data, keyed by layer names
    by_list = model.evaluate([headlines, extra], [labels, labels], verbose=0)
    by_name = model.evaluate({"main_input": headlines, "aux_input": extra},
                             {"main_output": labels, "aux_output": labels}, verbose=0)
    np.testing.assert_allclose(by_name, by_list, rtol=1e-6)
    np.testing.assert_allclose(by_list[0], by_list[1] + 0.2 * by_list[2], rtol=1e-5)
