"""TimeDistributed and Bidirectional: shapes, numerics against numpy, masks,
weights order, configs."""

import numpy as np
import pytest

import jkeras as keras
from jkeras.engine.input_layer import Input
from jkeras.layers.core import Dense, Embedding, Flatten
from jkeras.layers.recurrent import GRU, LSTM, SimpleRNN
from jkeras.layers.wrappers import Bidirectional, TimeDistributed

TOL = dict(rtol=1e-5, atol=1e-5)


def _np_simple_rnn(x, k, rk, b, mask=None, backwards=False, zero_output=False):
    h = np.zeros((x.shape[0], k.shape[1]), "float32")
    outs = []
    steps = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
    for t in steps:
        new = np.tanh(x[:, t] @ k + b + h @ rk)
        if mask is not None:
            m = mask[:, t][:, None]
            out = np.where(m, new, 0.0 if zero_output else h)
            h = np.where(m, new, h)
        else:
            out = h = new
        outs.append(out)
    return np.stack(outs, 1), h


# --- TimeDistributed -------------------------------------------------------------------
def test_time_distributed_model_seed_section_2():
    inputs = Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    x = Dense(64, activation="relu")(x)
    model = keras.Model(inputs, Dense(10, activation="softmax")(x))
    sequences = Input(shape=(20, 784))
    td = TimeDistributed(model)
    out = td(sequences)
    assert out.shape == (None, 20, 10)
    assert td.count_params() == 55_050
    # the wrapped model's weights are shared, not copied
    assert [id(w) for w in td.weights] == [id(w) for w in model.weights]


def test_time_distributed_matches_per_step_loop(rng):
    inner_in = Input(shape=(3,))
    inner = keras.Model(inner_in, Dense(2, activation="tanh")(Dense(4)(inner_in)))
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    seq_in = Input(shape=(5, 3))
    model = keras.Model(seq_in, TimeDistributed(inner)(seq_in))
    k1, b1, k2, b2 = inner.get_weights()
    ref = np.stack([np.tanh((x[:, t] @ k1 + b1) @ k2 + b2) for t in range(5)], axis=1)
    np.testing.assert_allclose(model.predict(x), ref, **TOL)
    dense = TimeDistributed(Dense(3))
    y = np.asarray(dense(x))
    k, b = dense.get_weights()
    np.testing.assert_allclose(y, np.stack([x[:, t] @ k + b for t in range(5)], 1), **TOL)


def test_time_distributed_higher_rank_and_unbuilt_sequential(rng):
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    td = TimeDistributed(Flatten())
    assert td(Input(shape=(3, 4, 2))).shape == (None, 3, 8)
    np.testing.assert_allclose(np.asarray(td(x)), x.reshape(2, 3, 8))
    seq = keras.Sequential([Dense(5), Dense(2)])
    td = TimeDistributed(seq)
    assert td(Input(shape=(7, 4))).shape == (None, 7, 2)
    assert td.count_params() == 4 * 5 + 5 + 5 * 2 + 2


def test_time_distributed_rank_error():
    with pytest.raises(ValueError, match=r"time_distributed.*rank >= 3.*\(None, 4\)"):
        TimeDistributed(Dense(2))(Input(shape=(4,)))


def test_time_distributed_passes_mask_to_lstm():
    emb, td, lstm = Embedding(9, 3, mask_zero=True), TimeDistributed(Dense(4)), LSTM(2)

    def build(n):
        ids = Input(shape=(n,), dtype="int32")
        h = td(emb(ids))
        assert h._keras_mask is not None and h._keras_mask.shape == (None, n)
        return keras.Model(ids, lstm(h))

    padded = np.array([[4, 1, 7, 0, 0]], "int32")
    np.testing.assert_allclose(build(5).predict(padded), build(3).predict(padded[:, :3]),
                               rtol=1e-5, atol=1e-6)


def test_time_distributed_config_round_trip(rng):
    td = TimeDistributed(Dense(3, activation="relu"), name="td")
    x = rng.normal(size=(1, 2, 4)).astype("float32")
    y = np.asarray(td(x))
    config = td.get_config()
    assert config["layer"]["class_name"] == "Dense"
    clone = TimeDistributed.from_config(config)
    assert clone.name == "td" and clone.layer.units == 3
    clone(x)
    clone.set_weights(td.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), y)


# --- Bidirectional ---------------------------------------------------------------------
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes_match_numpy(merge_mode, rng):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    bi = Bidirectional(SimpleRNN(5, return_sequences=True), merge_mode=merge_mode)
    out = bi(Input(shape=(4, 3)))
    bi.set_weights([rng.normal(scale=0.5, size=w.shape) for w in bi.get_weights()])
    kf, rkf, bf, kb, rkb, bb = bi.get_weights()
    fwd, _ = _np_simple_rnn(x, kf, rkf, bf)
    bwd, _ = _np_simple_rnn(x, kb, rkb, bb, backwards=True)
    bwd = bwd[:, ::-1]  # aligned back in time
    y = bi(x)
    if merge_mode is None:
        assert [o.shape for o in out] == [(None, 4, 5), (None, 4, 5)]
        np.testing.assert_allclose(np.asarray(y[0]), fwd, **TOL)
        np.testing.assert_allclose(np.asarray(y[1]), bwd, **TOL)
        return
    expected = {"concat": np.concatenate([fwd, bwd], -1), "sum": fwd + bwd,
                "mul": fwd * bwd, "ave": (fwd + bwd) / 2}[merge_mode]
    assert out.shape == (None, 4, 10 if merge_mode == "concat" else 5)
    np.testing.assert_allclose(np.asarray(y), expected, **TOL)


def test_bidirectional_names_weights_order_and_last_output(rng):
    layer = LSTM(3, name="enc")
    bi = Bidirectional(layer)
    out = bi(Input(shape=(6, 2)))
    assert out.shape == (None, 6)
    assert bi.forward_layer.name == "forward_enc" and bi.backward_layer.name == "backward_enc"
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    assert [w.path.split("/")[0] for w in bi.weights] == ["forward_enc"] * 3 + ["backward_enc"] * 3
    assert [w.shape for w in bi.weights] == [(2, 12), (3, 12), (12,)] * 2
    assert bi.count_params() == 2 * 4 * (2 * 3 + 3 * 3 + 3)
    assert not layer.built  # the wrapped instance is only a template
    x = rng.normal(size=(2, 6, 2)).astype("float32")
    y = np.asarray(bi(x))
    np.testing.assert_allclose(y[:, :3], np.asarray(bi.forward_layer(x)), **TOL)
    np.testing.assert_allclose(y[:, 3:], np.asarray(bi.backward_layer(x)), **TOL)


def test_bidirectional_return_state_and_initial_state(rng):
    bi = Bidirectional(LSTM(3, return_state=True, return_sequences=True))
    outs = bi(Input(shape=(4, 2)))
    assert [o.shape for o in outs] == [(None, 4, 6)] + [(None, 3)] * 4
    x = rng.normal(size=(2, 4, 2)).astype("float32")
    states = [rng.normal(size=(2, 3)).astype("float32") for _ in range(4)]
    y, hf, cf, hb, cb = [np.asarray(o) for o in bi(x, initial_state=states)]
    ref_f = bi.forward_layer(x, initial_state=states[:2])
    ref_b = bi.backward_layer(x, initial_state=states[2:])
    np.testing.assert_allclose(hf, np.asarray(ref_f[1]), **TOL)
    np.testing.assert_allclose(cb, np.asarray(ref_b[2]), **TOL)
    np.testing.assert_allclose(y[:, :, 3:], np.asarray(ref_b[0])[:, ::-1], **TOL)
    none = Bidirectional(GRU(2, return_state=True), merge_mode=None)
    assert [o.shape for o in none(Input(shape=(4, 2)))] == [(None, 2)] * 4


def test_bidirectional_masks(rng):
    emb = Embedding(9, 3, mask_zero=True)
    bi_seq = Bidirectional(SimpleRNN(2, return_sequences=True))
    bi_last = Bidirectional(GRU(2))

    def build(n):
        ids = Input(shape=(n,), dtype="int32")
        seq = bi_seq(emb(ids))
        assert seq._keras_mask is not None and seq._keras_mask.shape == (None, n)
        last = bi_last(seq)
        assert last._keras_mask is None
        return keras.Model(ids, [seq, last])

    padded = np.array([[5, 2, 8, 0, 0]], "int32")
    seq_p, last_p = build(5).predict(padded)
    seq_s, last_s = build(3).predict(padded[:, :3])
    np.testing.assert_allclose(last_p, last_s, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seq_p[:, :3], seq_s, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seq_p[:, 3:], 0.0)  # Keras: masked steps output zeros

    # numerics with an explicit mask, against numpy
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, False], [True, False, True, True]])
    bi = Bidirectional(SimpleRNN(2, return_sequences=True))
    y = np.asarray(bi(x, mask=mask))
    kf, rkf, bf, kb, rkb, bb = bi.get_weights()
    fwd, _ = _np_simple_rnn(x, kf, rkf, bf, mask=mask, zero_output=True)
    bwd, _ = _np_simple_rnn(x, kb, rkb, bb, mask=mask, backwards=True, zero_output=True)
    np.testing.assert_allclose(y, np.concatenate([fwd, bwd[:, ::-1]], -1), **TOL)


def test_bidirectional_config_round_trip_and_weights_argument(rng):
    bi = Bidirectional(GRU(2, return_sequences=True), merge_mode="sum", name="bi")
    x = rng.normal(size=(1, 3, 4)).astype("float32")
    y = np.asarray(bi(x))
    config = bi.get_config()
    assert config["merge_mode"] == "sum"
    assert config["layer"]["config"]["name"] == "forward_gru"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = Bidirectional.from_config(config)
    assert clone.name == "bi" and clone.forward_layer.name == "forward_gru"
    clone(x)
    clone.set_weights(bi.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), y, **TOL)
    preset = Bidirectional(GRU(2, return_sequences=True), merge_mode="sum",
                           weights=bi.get_weights())
    np.testing.assert_allclose(np.asarray(preset(x)), y, **TOL)


def test_bidirectional_in_sequential_with_inner_input_shape():
    model = keras.Sequential([
        Bidirectional(LSTM(4, return_sequences=True), input_shape=(5, 3)),
        Bidirectional(LSTM(2)),
        Dense(1),
    ])
    assert model.output_shape == (None, 1)
    keras2 = keras.Sequential([Bidirectional(SimpleRNN(3, input_shape=(6, 2))), Dense(1)])
    assert keras2.input_shape == (None, 6, 2)
    assert keras2.layers[0].output_shape == (None, 6)


def test_bidirectional_errors():
    with pytest.raises(ValueError, match="merge_mode"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))
    with pytest.raises(ValueError, match="return_sequences"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2, go_backwards=True,
                                                   return_sequences=True))
    with pytest.raises(ValueError, match="go_backwards"):
        Bidirectional(Dense(2))
    with pytest.raises(ValueError, match=r"(batch, timesteps, features).*\(None, 4\)"):
        Bidirectional(LSTM(2))(Input(shape=(4,)))
    custom = Bidirectional(LSTM(2), backward_layer=SimpleRNN(2, go_backwards=True))
    assert custom.backward_layer.name.startswith("simple_rnn")
    assert custom(Input(shape=(3, 2))).shape == (None, 4)
