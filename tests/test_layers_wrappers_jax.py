"""SpectralNormalization, StackedRNNCells, JaxLayer/FlaxLayer, and a `.keras` round
trip of a model made of the new Keras 3 layers."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import layers as L


# -- SpectralNormalization ----------------------------------------------------------------
def _power_iteration(w, u, iterations):
    """numpy: (u, W / sigma) after `iterations` power steps on W (m, n), u (1, n)."""
    for _ in range(iterations):
        v = u @ w.T
        v = v / np.linalg.norm(v)
        u = v @ w
        u = u / np.linalg.norm(u)
    sigma = (v @ w @ u.T).item()
    return u, w / sigma


def test_spectral_normalization_training_call_against_numpy():
    rng = np.random.default_rng(0)
    layer = L.SpectralNormalization(L.Dense(3), power_iterations=3)
    x = rng.normal(size=(2, 4)).astype("float32")
    y0 = layer(x)
    # Keras 3: the wrapped kernel, then vector_u (1, 3, not trainable), then the bias
    assert [(w.path, w.shape, w.trainable) for w in layer.weights] == [
        ("spectral_normalization/dense/kernel", (4, 3), True),
        ("spectral_normalization/vector_u", (1, 3), False),
        ("spectral_normalization/dense/bias", (3,), True)]
    kernel = np.asarray(layer.kernel.value, "float64")
    u0 = np.asarray(layer.vector_u.value, "float64")
    np.testing.assert_allclose(y0, x @ kernel, rtol=1e-5, atol=1e-6)  # inference: as is
    y = layer(x, training=True)
    u, normalized = _power_iteration(kernel, u0, 3)
    np.testing.assert_allclose(layer.kernel.value, normalized, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(layer.vector_u.value, u, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(y, x @ normalized, rtol=1e-4, atol=1e-5)
    assert abs(np.linalg.svd(normalized, compute_uv=False)[0] - 1.0) < 0.05
    assert layer.get_config()["power_iterations"] == 3
    with pytest.raises(ValueError, match="power_iterations must be a positive integer"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="neither a `kernel` nor an `embeddings`"):
        L.SpectralNormalization(L.Flatten())(x)


# -- StackedRNNCells ------------------------------------------------------------------------
def test_stacked_rnn_cells_run_as_one_cell():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    cells = [L.SimpleRNNCell(3), L.SimpleRNNCell(2)]
    stacked = L.StackedRNNCells(cells)
    layer = L.RNN(stacked, return_sequences=True, return_state=True)
    seq, h1, h2 = layer(x)
    assert stacked.state_size == [3, 2] and stacked.output_size == 2
    assert [v.path for v in layer.weights][:2] == [
        "rnn/stacked_rnn_cells/simple_rnn_cell/kernel",
        "rnn/stacked_rnn_cells/simple_rnn_cell/recurrent_kernel"]
    w = [np.asarray(v, "float64") for v in layer.get_weights()]
    a, b = np.zeros((2, 3)), np.zeros((2, 2))
    outs = []
    for t in range(3):
        a = np.tanh(x[:, t] @ w[0] + a @ w[1] + w[2])
        b = np.tanh(a @ w[3] + b @ w[4] + w[5])
        outs.append(b)
    np.testing.assert_allclose(seq, np.stack(outs, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h1, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2, b, rtol=1e-5, atol=1e-6)
    # a list of cells makes a StackedRNNCells; LSTM cells keep [h, c] per cell
    lstm = L.RNN([L.LSTMCell(3), L.GRUCell(2)], return_state=True)
    outs = lstm(jkeras.Input((3, 4)))
    assert isinstance(lstm.cell, L.StackedRNNCells)
    assert [o.shape for o in outs] == [(None, 2), (None, 3), (None, 3), (None, 2)]
    assert lstm.count_params() == 4 * (4 * 3 + 3 * 3 + 3) + 3 * (3 * 2 + 2 * 2) + 2 * 3 * 2
    config = lstm.get_config()
    assert [c["class_name"] for c in config["cell"]["config"]["cells"]] == [
        "LSTMCell", "GRUCell"]
    clone = L.RNN.from_config(config)
    assert clone.cell.state_size == [[3, 3], 2]
    with pytest.raises(ValueError, match="non-empty list of RNN cells"):
        L.StackedRNNCells([])
    with pytest.raises(ValueError, match="state_size"):
        L.StackedRNNCells([L.Dense(2)])


# -- JaxLayer / FlaxLayer ---------------------------------------------------------------------
def _init(rng, inputs):
    return {"w": jax.random.normal(rng, (inputs.shape[-1], 2)), "b": jnp.zeros((2,))}


def _call(params, inputs):
    return inputs @ params["w"] + params["b"]


def test_conv_lstm_spectral_norm_and_jax_layer_train_together_with_fit():
    # one model (one compilation) for the fit checks of three layers
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 2, 4, 4, 1)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    inp = jkeras.Input((2, 4, 4, 1))
    h = L.GlobalAveragePooling2D()(L.ConvLSTM2D(2, 2, padding="same")(inp))
    sn = L.SpectralNormalization(L.Dense(3))
    jax_layer = L.JaxLayer(_call, _init)
    model = jkeras.Model(inp, jax_layer(sn(h)))
    # leaves in tree order (b, w), float leaves trainable, in the layer's dtype
    assert [(v.name, v.shape, v.trainable) for v in jax_layer.weights] == [
        ("b", (2,), True), ("w", (3, 2), True)]
    model.compile(optimizer=jkeras.optimizers.Adam(0.05), loss="mse")
    before = model.get_weights()
    u0 = np.asarray(sn.vector_u.value)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights())
               if a.shape != (1, 3))
    u1 = np.asarray(sn.vector_u.value)  # the power iteration ran in the training steps
    assert not np.allclose(u0, u1)
    np.testing.assert_allclose(np.linalg.norm(u1), 1.0, rtol=1e-4)
    config = jax_layer.get_config()
    assert config["call_fn"]["config"] == "_call" and config["init_fn"]["config"] == "_init"


def test_jax_layer_state_rng_and_training():
    def call(params, state, rng, inputs, training):
        noise = jax.random.normal(rng, inputs.shape) if training else 0.0
        return inputs * params["scale"] + noise, {"count": state["count"] + 1}

    layer = L.JaxLayer(call, params={"scale": np.float32(2.0)},
                       state={"count": np.zeros((), "int32")})
    assert layer.built
    assert [(v.name, v.trainable) for v in layer.weights] == [("scale", True),
                                                               ("count", False)]
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(layer(x), 2 * x)
    assert int(layer.state["count"].value) == 1
    assert not np.allclose(layer(x, training=True), 2 * x)
    assert int(layer.state["count"].value) == 2


def test_jax_layer_argument_errors_and_flax_needs_flax(monkeypatch):
    with pytest.raises(ValueError, match="argument named 'inputs'"):
        L.JaxLayer(lambda params: params)
    with pytest.raises(ValueError, match="has argument 'p'"):
        L.JaxLayer(lambda p, inputs: inputs)
    with pytest.raises(ValueError, match="give init_fn, params or state"):
        L.JaxLayer(lambda params, inputs: inputs)
    monkeypatch.setitem(sys.modules, "flax", None)
    monkeypatch.setitem(sys.modules, "flax.linen", None)
    with pytest.raises(ImportError, match="pip install flax"):
        L.FlaxLayer(object())


# -- a .keras round trip of the new layers ------------------------------------------------------
def test_keras_file_round_trip_of_new_layers(tmp_path):
    rng = np.random.default_rng(5)
    ids = jkeras.Input((5,), dtype="int32")
    emb = L.ReversibleEmbedding(11, 6, mask_zero=True)
    h = emb(ids)
    h = L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1)(h, h)
    h = L.RNN([L.GRUCell(6), L.SimpleRNNCell(6)], return_sequences=True)(h)
    h = L.RMSNormalization()(h)
    h = L.EinsumDense("abc,cd->abd", (None, 6), bias_axes="d", lora_rank=2)(h)
    h = L.Identity()(L.SpectralNormalization(L.Dense(6))(h))
    pooled = L.AdaptiveMaxPooling1D(2)(h)
    model = jkeras.Model(ids, [emb(h, reverse=True), pooled])
    model.set_weights([w + rng.normal(scale=0.1, size=w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    tokens = np.array([[1, 5, 3, 0, 0], [2, 2, 7, 9, 10]], "int32")
    expected = model.predict(tokens, verbose=0)
    path = str(tmp_path / "new_layers.keras")
    model.save(path)
    loaded = jkeras.saving.load_model(path)
    for got, want in zip(loaded.predict(tokens, verbose=0), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert [type(la).__name__ for la in loaded.layers] == [
        type(la).__name__ for la in model.layers]
