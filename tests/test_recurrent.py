"""Recurrent layers (SimpleRNN, LSTM, GRU, RNN with cells) against numpy step
equations, plus masks, initial states, dropout, Keras 1 names and configs."""

import warnings

import numpy as np
import pytest

import jkeras as keras
from jkeras.engine.input_layer import Input
from jkeras.layers.core import Dense, Dropout, Embedding
from jkeras.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
)

B, T, F, U = 2, 4, 3, 5
TOL = dict(rtol=1e-5, atol=1e-5)


# --- numpy references ---------------------------------------------------------------
def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _lstm_step(w):
    k, rk, b = w

    def step(x, states):
        h, c = states
        z = x @ k + h @ rk + b
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        return h, [h, c]

    return step


def _gru_step(w, reset_after):
    k, rk, b = w
    u = rk.shape[0]

    def step(x, states):
        (h,) = states
        if reset_after:
            xz, xr, xh = np.split(x @ k + b[0], 3, axis=-1)
            rz, rr, rh = np.split(h @ rk + b[1], 3, axis=-1)
            z, r = _sig(xz + rz), _sig(xr + rr)
            hh = np.tanh(xh + r * rh)
        else:
            xz, xr, xh = np.split(x @ k + b, 3, axis=-1)
            z = _sig(xz + h @ rk[:, :u])
            r = _sig(xr + h @ rk[:, u:2 * u])
            hh = np.tanh(xh + (r * h) @ rk[:, 2 * u:])
        h = z * h + (1 - z) * hh
        return h, [h]

    return step


def _simple_step(w):
    k, rk, b = w

    def step(x, states):
        h = np.tanh(x @ k + b + states[0] @ rk)
        return h, [h]

    return step


def _np_rnn(step, x, states, mask=None, go_backwards=False, zero_output=False):
    """Keras semantics: masked steps keep the states and repeat the previous output."""
    order = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    outs, prev = [], states[0]
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            m = mask[:, t][:, None]
            new = [np.where(m, n, s) for n, s in zip(new, states)]
            out = np.where(m, out, 0.0 if zero_output else prev)
        states, prev = new, out
        outs.append(out)
    return np.stack(outs, 1), states


def _set_random_weights(layer, rng, scale=0.5):
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32")
                       for w in layer.get_weights()])
    return layer.get_weights()


def _make(kind):
    if kind == "lstm":
        return LSTM(U, return_sequences=True, return_state=True), _lstm_step
    if kind == "gru":
        return GRU(U, return_sequences=True, return_state=True), lambda w: _gru_step(w, True)
    if kind == "gru_v1":
        return (GRU(U, reset_after=False, return_sequences=True, return_state=True),
                lambda w: _gru_step(w, False))
    return SimpleRNN(U, return_sequences=True, return_state=True), _simple_step


def _zeros_states(kind):
    return [np.zeros((B, U), "float32")] * (2 if kind == "lstm" else 1)


# --- numerics ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_v1", "simple"])
def test_matches_numpy_step_equations(kind, rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    layer, make_step = _make(kind)
    layer(x)
    w = _set_random_weights(layer, rng)
    out = layer(x)
    seq, *states = [np.asarray(o) for o in out]
    ref_seq, ref_states = _np_rnn(make_step(w), x, _zeros_states(kind))
    np.testing.assert_allclose(seq, ref_seq, **TOL)
    assert len(states) == len(ref_states)
    for s, r in zip(states, ref_states):
        np.testing.assert_allclose(s, r, **TOL)


def test_weight_names_shapes_and_order():
    x = np.zeros((1, T, F), "float32")
    lstm, gru, gru1, rnn = LSTM(U), GRU(U), GRU(U, reset_after=False), SimpleRNN(U)
    for layer in (lstm, gru, gru1, rnn):
        layer(x)
    assert [w.name for w in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in lstm.weights] == [(F, 4 * U), (U, 4 * U), (4 * U,)]
    assert lstm.weights[0].path == "lstm/lstm_cell/kernel"
    assert [w.shape for w in gru.weights] == [(F, 3 * U), (U, 3 * U), (2, 3 * U)]
    assert [w.shape for w in gru1.weights] == [(F, 3 * U), (U, 3 * U), (3 * U,)]
    assert [w.shape for w in rnn.weights] == [(F, U), (U, U), (U,)]
    # unit_forget_bias: forget-gate block of the bias starts at one
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias[U:2 * U], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[U:2 * U]), 0.0)
    # recurrent kernel is orthogonal by default
    rk = rnn.get_weights()[1]
    np.testing.assert_allclose(rk @ rk.T, np.eye(U), atol=1e-5)
    no_bias = LSTM(U, unit_forget_bias=False, use_bias=False)
    no_bias(x)
    assert [w.name for w in no_bias.weights] == ["kernel", "recurrent_kernel"]
    assert lstm.units == U and lstm.cell.units == U and gru.reset_after is True


def test_last_output_and_go_backwards(rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    fwd = LSTM(U)
    fwd(x)
    w = _set_random_weights(fwd, rng)
    ref_seq, ref_states = _np_rnn(_lstm_step(w), x, _zeros_states("lstm"))
    np.testing.assert_allclose(np.asarray(fwd(x)), ref_seq[:, -1], **TOL)

    bwd = LSTM(U, go_backwards=True, return_sequences=True)
    bwd(x)
    bwd.set_weights(w)
    ref_seq, _ = _np_rnn(_lstm_step(w), x, _zeros_states("lstm"), go_backwards=True)
    # Keras: the output sequence of a go_backwards RNN is in reversed time order
    np.testing.assert_allclose(np.asarray(bwd(x)), ref_seq, **TOL)


def test_initial_state_eager_and_symbolic(rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    h0 = rng.normal(size=(B, U)).astype("float32")
    c0 = rng.normal(size=(B, U)).astype("float32")
    layer = LSTM(U, return_sequences=True)
    layer(x)
    w = _set_random_weights(layer, rng)
    ref, _ = _np_rnn(_lstm_step(w), x, [h0, c0])
    np.testing.assert_allclose(np.asarray(layer(x, initial_state=[h0, c0])), ref, **TOL)
    # Keras 2 list form [sequences, *states]
    np.testing.assert_allclose(np.asarray(layer([x, h0, c0])), ref, **TOL)

    # symbolic initial states in a functional model (encoder-decoder style)
    seq_in, h_in, c_in = Input(shape=(T, F)), Input(shape=(U,)), Input(shape=(U,))
    out = layer(seq_in, initial_state=[h_in, c_in])
    assert out.shape == (None, T, U)
    model = keras.Model([seq_in, h_in, c_in], out)
    np.testing.assert_allclose(model.predict([x, h0, c0]), ref, **TOL)

    with pytest.raises(ValueError, match=r"2 state\(s\).*initial_state has 1"):
        layer(x, initial_state=[h0])


def test_return_state_symbolic_shapes():
    inp = Input(shape=(7, F))
    out, h, c = LSTM(U, return_state=True)(inp)
    assert (out.shape, h.shape, c.shape) == ((None, U), (None, U), (None, U))
    seq, h = GRU(U, return_sequences=True, return_state=True)(inp)
    assert (seq.shape, h.shape) == ((None, 7, U), (None, U))
    free = Input(shape=(None, F))
    assert SimpleRNN(U, return_sequences=True)(free).shape == (None, None, U)


# --- masks ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lstm", "gru", "simple"])
def test_mask_carries_states_and_repeats_outputs(kind, rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    layer, make_step = _make(kind)
    layer(x)
    w = _set_random_weights(layer, rng)
    seq, *states = [np.asarray(o) for o in layer(x, mask=mask)]
    ref_seq, ref_states = _np_rnn(make_step(w), x, _zeros_states(kind), mask=mask)
    np.testing.assert_allclose(seq, ref_seq, **TOL)
    for s, r in zip(states, ref_states):
        np.testing.assert_allclose(s, r, **TOL)
    # masked step repeats the previous output; a leading masked step outputs the zero state
    np.testing.assert_allclose(seq[0, 1], seq[0, 0])
    np.testing.assert_allclose(seq[1, 0], 0.0)

    backwards = type(layer).from_config({**layer.get_config(), "go_backwards": True})
    backwards(x)
    backwards.set_weights(w)
    ref_b, _ = _np_rnn(make_step(w), x, _zeros_states(kind), mask=mask, go_backwards=True)
    np.testing.assert_allclose(np.asarray(backwards(x, mask=mask)[0]), ref_b, **TOL)

    zero = type(layer).from_config({**layer.get_config(), "zero_output_for_mask": True})
    zero(x)
    zero.set_weights(w)
    ref_z, _ = _np_rnn(make_step(w), x, _zeros_states(kind), mask=mask, zero_output=True)
    np.testing.assert_allclose(np.asarray(zero(x, mask=mask)[0]), ref_z, **TOL)


def test_embedding_mask_zero_padded_equals_unpadded():
    emb, drop = Embedding(12, 4, mask_zero=True), Dropout(0.5)
    lstm, gru = LSTM(3, return_sequences=True), GRU(3)

    def build(length):
        ids = Input(shape=(length,), dtype="int32")
        x = drop(emb(ids))
        assert x._keras_mask is not None  # Dropout passes the mask on
        seq = lstm(x)
        assert seq._keras_mask is not None and seq._keras_mask.shape == (None, length)
        last = gru(seq)
        assert last._keras_mask is None
        return keras.Model(ids, [seq, last])

    model = build(5)
    padded = np.array([[3, 7, 1, 0, 0], [5, 2, 9, 4, 0]], "int32")
    seq_p, last_p = model.predict(padded)
    for row, n in ((0, 3), (1, 4)):
        seq_s, last_s = build(n).predict(padded[row:row + 1, :n])
        np.testing.assert_allclose(last_p[row:row + 1], last_s, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(seq_p[row:row + 1, :n], seq_s, rtol=1e-5, atol=1e-6)
        # padded steps repeat the last real output
        np.testing.assert_allclose(seq_p[row, n:], np.repeat(seq_p[row, n - 1:n], 5 - n, 0))


# --- parameter counts (seed guide) -------------------------------------------------------
def test_parameter_counts():
    main = Input(shape=(100,), dtype="int32")
    x = Embedding(output_dim=512, input_dim=10000)(main)
    lstm = LSTM(32)
    lstm(x)
    assert lstm.count_params() == 69_760
    shared = LSTM(64)
    a, b = Input(shape=(140, 256)), Input(shape=(140, 256))
    shared(a), shared(b)
    assert shared.count_params() == 82_176
    big = LSTM(256)
    big(Input(shape=(100, 256)))
    assert big.count_params() == 525_312
    gru = GRU(4)
    gru(Input(shape=(3, 2)))
    assert gru.count_params() == 3 * (2 * 4 + 4 * 4 + 2 * 4)
    rnn = SimpleRNN(4)
    rnn(Input(shape=(3, 2)))
    assert rnn.count_params() == 2 * 4 + 4 * 4 + 4


# --- validation ------------------------------------------------------------------------------
def test_2d_input_error_names_layer_and_shapes():
    with pytest.raises(ValueError) as e:
        LSTM(4, name="encoder")(Input(shape=(16,)))
    msg = str(e.value)
    assert "encoder" in msg and "(batch, timesteps, features)" in msg and "(None, 16)" in msg
    with pytest.raises(ValueError, match=r"(batch, timesteps, features).*\(2, 3\)"):
        GRU(4)(np.zeros((2, 3), "float32"))
    layer = SimpleRNN(2)
    layer(np.zeros((1, 3, 4), "float32"))
    with pytest.raises(ValueError, match="built for inputs with 4 features"):
        layer(Input(shape=(3, 5)))
    with pytest.raises(ValueError, match="units must be a positive integer"):
        LSTM(0)


def test_stateful_not_implemented():
    with pytest.raises(NotImplementedError, match="stateful=True.*initial_state"):
        LSTM(4, stateful=True)


# --- dropout ---------------------------------------------------------------------------------
def test_dropout_only_in_training_and_once_per_sequence(rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    layer = LSTM(U, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    a = np.asarray(layer(x))
    np.testing.assert_array_equal(a, np.asarray(layer(x)))  # inference is deterministic
    np.testing.assert_array_equal(a, np.asarray(layer(x, training=False)))
    t1, t2 = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert not np.allclose(t1, a) and not np.allclose(t1, t2)

    # h_t = x_t * input_mask when kernel = I, recurrent_kernel = 0, linear activation:
    # a constant sequence gives the same output at every step iff the mask is per sequence.
    probe = SimpleRNN(6, activation=None, dropout=0.5, return_sequences=True)
    ones = np.ones((8, T, 6), "float32")
    probe(ones)
    probe.set_weights([np.eye(6), np.zeros((6, 6)), np.zeros(6)])
    out = np.asarray(probe(ones, training=True))
    np.testing.assert_allclose(out, np.repeat(out[:, :1], T, axis=1))
    assert set(np.unique(np.round(out, 5))) == {0.0, 2.0}


def test_dropout_in_compiled_training_path(rng):
    """Inside a stateless scope (as compiled training uses) the masks come from the
    scope's traced key."""
    import jax

    from jkeras.engine.stateless import stateless_call

    x = rng.normal(size=(B, T, F)).astype("float32")
    layer = GRU(U, dropout=0.3, recurrent_dropout=0.3)
    layer(x)
    variables = layer.weights

    @jax.jit
    def run(values, key):
        out, _, _ = stateless_call(layer, variables, values, x, training=True, rng=key)
        return out

    values = [v.value for v in variables]
    a = np.asarray(run(values, jax.random.key(1)))
    b = np.asarray(run(values, jax.random.key(2)))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, np.asarray(run(values, jax.random.key(1))))


# --- Keras 1 names, configs --------------------------------------------------------------------
def test_keras1_argument_names():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = LSTM(output_dim=4, init="glorot_normal", inner_init="orthogonal",
                     inner_activation="hard_sigmoid", forget_bias_init="one",
                     W_regularizer=keras.regularizers.l2(0.01), U_regularizer="l2",
                     b_regularizer="l1", dropout_W=0.1, dropout_U=0.2, consume_less="gpu",
                     input_dim=3, input_length=6, return_sequences=True)
    deprecations = [str(w.message) for w in caught if w.category is DeprecationWarning]
    for old, new in (("output_dim", "units"), ("inner_init", "recurrent_initializer"),
                     ("inner_activation", "recurrent_activation"), ("dropout_U",
                                                                    "recurrent_dropout")):
        assert any(old in m and new in m for m in deprecations), (old, deprecations)
    assert any("consume_less" in m for m in deprecations)
    assert any("input_dim" in m for m in deprecations)
    assert layer.units == 4 and layer.unit_forget_bias is True
    assert (layer.dropout, layer.recurrent_dropout) == (0.1, 0.2)
    assert type(layer.kernel_initializer).__name__ == "GlorotNormal"
    assert layer.recurrent_activation is keras.activations.hard_sigmoid
    model = keras.Sequential([layer, Dense(2)])
    assert model.input_shape == (None, 6, 3)
    assert model.output_shape == (None, 6, 2)
    assert len(layer.losses) == 3  # kernel, recurrent and bias regularizers
    with pytest.warns(DeprecationWarning, match="'output_dim'.*'units'"):
        gru = GRU(output_dim=2, input_dim=5)
    assert gru._batch_input_shape == (None, None, 5)
    with pytest.warns(DeprecationWarning):
        assert LSTM(2, forget_bias_init="zero").unit_forget_bias is False


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_config_round_trip(cls, rng):
    layer = cls(3, return_sequences=True, go_backwards=True, dropout=0.1,
                kernel_regularizer="l2", name="rec")
    x = rng.normal(size=(1, 4, 2)).astype("float32")
    y = np.asarray(layer(x))
    config = layer.get_config()
    assert config["units"] == 3 and config["name"] == "rec" and config["go_backwards"]
    assert "cell" not in config
    clone = cls.from_config(config)
    assert clone.get_config() == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), y, rtol=1e-6)


# --- RNN base class with cells ------------------------------------------------------------------
def test_rnn_with_builtin_cells_matches_layers(rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    for cell, layer in ((LSTMCell(U), LSTM(U)), (GRUCell(U), GRU(U)),
                        (SimpleRNNCell(U), SimpleRNN(U))):
        rnn = RNN(cell)
        rnn(x)
        layer(x)
        layer.set_weights(rnn.get_weights())
        np.testing.assert_allclose(np.asarray(rnn(x)), np.asarray(layer(x)), **TOL)
    # a cell computes one step on its own
    cell = LSTMCell(U)
    cell.build((None, F))
    w = _set_random_weights(cell, rng)
    h0, c0 = np.zeros((B, U), "float32"), np.zeros((B, U), "float32")
    out, (h, c) = cell.call(x[:, 0], [h0, c0])
    ref_out, (ref_h, ref_c) = _lstm_step(w)(x[:, 0], [h0, c0])
    np.testing.assert_allclose(np.asarray(out), ref_out, **TOL)
    np.testing.assert_allclose(np.asarray(c), ref_c, **TOL)
    rnn = RNN(LSTMCell(U), return_state=True)
    assert RNN.from_config(rnn.get_config()).cell.units == U


class _MinimalCell(keras.Layer):
    """A user cell: running sum of inputs times a weight."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1], self.units), "ones")

    def call(self, inputs, states):
        h = states + inputs @ self.w.value
        return h, h


def test_rnn_with_custom_cell(rng):
    x = rng.normal(size=(B, T, F)).astype("float32")
    rnn = RNN(_MinimalCell(2), return_sequences=True)
    out = np.asarray(rnn(x))
    ref = np.cumsum(x.sum(-1, keepdims=True), axis=1) * np.ones((1, 1, 2))
    np.testing.assert_allclose(out, ref, **TOL)
    inp = Input(shape=(T, F))
    model = keras.Model(inp, rnn(inp))
    np.testing.assert_allclose(model.predict(x), ref, **TOL)


def test_compiled_predict_matches_eager(rng):
    x = rng.normal(size=(3, T, F)).astype("float32")
    inp = Input(shape=(T, F))
    layer = LSTM(U, return_sequences=True)
    model = keras.Model(inp, layer(inp))
    np.testing.assert_allclose(model.predict(x, batch_size=2), np.asarray(layer(x)), **TOL)
