"""ConvLSTM1D/2D/3D: the recurrence against a numpy convolution LSTM, masks, dropout
masks, states, Keras 3's weights/parameter counts/config and errors (the fit is in
test_layers_wrappers_jax.py)."""

import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers as L


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _conv1d(x, w, stride=1, padding="valid"):
    """numpy conv of (B, L, C) with (K, C, O), Keras padding rules."""
    k = w.shape[0]
    if padding == "same":
        out_len = -(-x.shape[1] // stride)
        total = max((out_len - 1) * stride + k - x.shape[1], 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    out_len = (x.shape[1] - k) // stride + 1
    return np.stack([np.einsum("bkc,kco->bo", x[:, i * stride:i * stride + k], w)
                     for i in range(out_len)], axis=1)


def _conv_lstm_reference(x, kernel, rec, bias, mask=None, stride=1, padding="valid",
                         dp=None, rdp=None):
    """(outputs per step, h, c) of a 1D ConvLSTM over x (B, T, L, C), gates i, f, c, o;
    `dp`/`rdp`: per-gate dropout masks of the input/state (4, B, ...) or None."""
    batch, steps = x.shape[:2]
    f = rec.shape[-1] // 4
    out_len = _conv1d(x[:, 0], kernel, stride, padding).shape[1]
    h = np.zeros((batch, out_len, f))
    c = np.zeros_like(h)
    outs = []
    ones_x, ones_h = np.ones((4, *x[:, 0].shape)), np.ones((4, *h.shape))
    dp = ones_x if dp is None else dp
    rdp = ones_h if rdp is None else rdp
    for t in range(steps):
        zi, zf, zc, zo = (
            _conv1d(x[:, t] * dp[g], kernel[..., g * f:(g + 1) * f], stride, padding)
            + bias[g * f:(g + 1) * f] + _conv1d(h * rdp[g], rec[..., g * f:(g + 1) * f], 1,
                                                "same")
            for g in range(4))
        c_new = _sigmoid(zf) * c + _sigmoid(zi) * np.tanh(zc)
        h_new = _sigmoid(zo) * np.tanh(c_new)
        if mask is not None:
            keep = mask[:, t][:, None, None]
            out = np.where(keep, h_new, outs[-1] if outs else h)
            h, c = np.where(keep, h_new, h), np.where(keep, c_new, c)
        else:
            h, c, out = h_new, c_new, h_new
        outs.append(out)
    return np.stack(outs, 1), h, c


@pytest.fixture(scope="module")
def conv_lstm_1d():
    rng = np.random.default_rng(0)
    layer = L.ConvLSTM1D(3, 3, strides=2, return_sequences=True, return_state=True)
    layer.build((None, 4, 9, 2))
    layer.set_weights([rng.normal(scale=0.4, size=w.shape).astype("float32")
                       for w in layer.get_weights()])
    return layer, rng.normal(size=(2, 4, 9, 2)).astype("float32")


def test_conv_lstm_1d_against_numpy_recurrence(conv_lstm_1d):
    layer, x = conv_lstm_1d
    kernel, rec, bias = (np.asarray(w, "float64") for w in layer.get_weights())
    seq, h, c = (np.asarray(o) for o in layer(x))
    ref_seq, ref_h, ref_c = _conv_lstm_reference(x.astype("float64"), kernel, rec, bias,
                                                 stride=2)
    assert seq.shape == (2, 4, 4, 3) and h.shape == c.shape == (2, 4, 3)
    np.testing.assert_allclose(seq, ref_seq, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h, ref_h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c, ref_c, rtol=1e-4, atol=1e-5)
    # masked steps keep the states and repeat the previous output
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)
    seq_m, h_m, c_m = (np.asarray(o) for o in layer(x, mask=mask))
    ref_seq, ref_h, ref_c = _conv_lstm_reference(x.astype("float64"), kernel, rec, bias,
                                                 mask=mask, stride=2)
    np.testing.assert_allclose(seq_m, ref_seq, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h_m, ref_h, rtol=1e-4, atol=1e-5)


def test_conv_lstm_1d_single_step_cell_and_initial_state(conv_lstm_1d):
    layer, x = conv_lstm_1d
    kernel, rec, bias = (np.asarray(w, "float64") for w in layer.get_weights())
    h0 = np.random.default_rng(3).normal(size=(2, 4, 3)).astype("float32")
    c0 = np.zeros_like(h0)
    h, [h2, c] = jax.jit(lambda a, b, c: layer.cell.call(a, [b, c]))(x[:, 0], h0, c0)
    z = _conv1d(x[:, 0].astype("float64"), kernel, 2) + bias + _conv1d(h0, rec, 1, "same")
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    expected_c = _sigmoid(zi) * np.tanh(zc)
    np.testing.assert_allclose(c, expected_c, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h, _sigmoid(zo) * np.tanh(expected_c), rtol=1e-4, atol=1e-5)
    seq, _, _ = layer(x[:, :1], initial_state=[h0, c0])
    np.testing.assert_allclose(seq[:, 0], h, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"initial_state must be \[h, c\]"):
        layer(x, initial_state=[h0])


def test_conv_lstm_2d_weights_config_and_shapes():
    x = jkeras.Input((3, 8, 8, 2))
    layer = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True)
    y = layer(x)
    assert y.shape == (None, 3, 8, 8, 4)
    # Keras 3: kernel (3, 3, 2, 16), recurrent_kernel (3, 3, 4, 16), bias (16,): 880
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("kernel", (3, 3, 2, 16)), ("recurrent_kernel", (3, 3, 4, 16)), ("bias", (16,))]
    assert layer.count_params() == 880
    bias = np.asarray(layer.cell.bias.value)
    np.testing.assert_array_equal(bias, [0] * 4 + [1] * 4 + [0] * 8)  # unit_forget_bias
    config = layer.get_config()
    assert "cell" not in config and "rank" not in config
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "recurrent_activation", "unit_forget_bias", "return_sequences", "stateful",
                "go_backwards", "dropout", "recurrent_dropout", "seed", "unroll"):
        assert key in config
    clone = L.ConvLSTM2D.from_config(config)
    assert clone(x).shape == y.shape and clone.filters == 4 and clone.kernel_size == (3, 3)
    states = L.ConvLSTM2D(2, 3, strides=2, data_format="channels_first", return_state=True)(
        jkeras.Input((3, 2, 9, 7)))
    assert [s.shape for s in states] == [(None, 2, 4, 3)] * 3
    out3 = L.ConvLSTM3D(2, 2, return_sequences=True)(jkeras.Input((2, 4, 4, 3, 1)))
    assert out3.shape == (None, 2, 3, 3, 2, 2)


def test_conv_lstm_errors():
    with pytest.raises(ValueError, match="rank 5"):
        L.ConvLSTM2D(2, 3)(jkeras.Input((3, 8, 2)))
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        L.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="padding must be one of"):
        L.ConvLSTM1D(2, 3, padding="causal")
    with pytest.raises(NotImplementedError, match="stateful"):
        L.ConvLSTM1D(2, 3, stateful=True)
    with pytest.raises(ValueError, match="spatial sizes are known"):
        L.ConvLSTM1D(2, 3)(jkeras.Input((3, None, 2)))


def test_conv_lstm_dropout_masks_apply_per_gate(conv_lstm_1d):
    # the compiled loop given one (input, recurrent) dropout mask per gate, against numpy
    from jkeras.layers.conv_lstm import _conv_lstm_loop

    layer, x = conv_lstm_1d
    rng = np.random.default_rng(5)
    dp = (rng.random((4, *x[:, 0].shape)) > 0.5) * 2.0
    rdp = (rng.random((4, 2, 4, 3)) > 0.5) * 2.0
    weights = layer.cell._weights_values()
    xs = np.swapaxes(x, 0, 1)
    states = [np.zeros((2, 4, 3), "float32")] * 2
    out, (h, c) = _conv_lstm_loop(weights, xs, states, None, dp.astype("float32"),
                                  rdp.astype("float32"), spec=layer.cell._spec,
                                  flags=(True, False, False))
    kernel, rec, bias = (np.asarray(w, "float64") for w in layer.get_weights())
    ref_seq, ref_h, _ = _conv_lstm_reference(x.astype("float64"), kernel, rec, bias, stride=2,
                                             dp=dp, rdp=rdp)
    np.testing.assert_allclose(out, ref_seq, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h, ref_h, rtol=1e-4, atol=1e-5)
