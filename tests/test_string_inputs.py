"""Models with `Input(dtype="string")`: the text layers run on the host before the
compiled step, so fit/evaluate/predict take numpy arrays of strings (Keras 3 on
JAX cannot train such a model)."""

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers

TEXTS = np.array(["good great fine", "bad awful poor", "great good", "poor bad",
                  "fine good", "awful bad"] * 4)
LABELS = np.array([1, 0, 1, 0, 1, 0] * 4, "float32")


def _text_model():
    keras.utils.set_random_seed(3)
    text = keras.Input(shape=(), dtype="string", name="text")
    extra = keras.Input(shape=(2,), name="extra")
    vectorize = layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(TEXTS)
    h = layers.GlobalAveragePooling1D()(layers.Embedding(20, 8)(vectorize(text)))
    h = layers.concatenate([h, extra])
    out = layers.Dense(1, activation="sigmoid")(h)
    return keras.Model({"text": text, "extra": extra}, out), vectorize


def test_fit_evaluate_predict_and_save_with_string_inputs(tmp_path):
    model, vectorize = _text_model()
    assert model.inputs[1].dtype == "string" and model.input_names == ["extra", "text"]
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    x = {"text": TEXTS, "extra": np.zeros((len(TEXTS), 2), "float32")}
    history = model.fit(x, LABELS, epochs=6, batch_size=8, verbose=0,
                        validation_data=(x, LABELS))
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.05
    assert history.history["val_accuracy"][-1] == 1.0
    probe = {"text": np.array(["good fine", "awful poor"]), "extra": np.zeros((2, 2))}
    pred = model.predict(probe, verbose=0)
    assert pred.shape == (2, 1) and pred[0, 0] > 0.5 > pred[1, 0]
    # the same numbers as the model called eagerly on the strings
    np.testing.assert_allclose(np.asarray(model(probe)), pred, rtol=1e-5)
    logs = model.evaluate(x, LABELS, verbose=0, return_dict=True)
    assert logs["accuracy"] == 1.0
    path = tmp_path / "text.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(probe, verbose=0), pred, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(probe), pred, rtol=1e-6)


def test_strings_from_a_generator_and_train_on_batch():
    model, _ = _text_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy")

    def batches():
        for start in range(0, len(TEXTS), 8):
            yield ({"text": TEXTS[start:start + 8],
                    "extra": np.zeros((len(TEXTS[start:start + 8]), 2), "float32")},
                   LABELS[start:start + 8])

    history = model.fit(batches(), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    loss = model.train_on_batch({"text": TEXTS[:4], "extra": np.zeros((4, 2))}, LABELS[:4])
    assert np.isfinite(loss)


def test_string_input_errors():
    model, _ = _text_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(TypeError, match="Input 'text' is declared Input\\(dtype='string'\\), "
                                        "but got an array of dtype float"):
        model.predict({"text": np.zeros((2,)), "extra": np.zeros((2, 2))}, verbose=0)
    text = keras.Input(shape=(3,), dtype="string", name="words")
    with pytest.raises(ValueError, match="can only go into host preprocessing layers"):
        layers.Dense(2)(text)
