"""MelSpectrogram, STFTSpectrogram, the STFT initializer and Pipeline, against direct
numpy computations (windowed frames and numpy's FFT, the mel filter formula)."""

import jax
import numpy as np
import pytest

import jkeras
from jkeras import initializers, layers

RNG = np.random.default_rng(0)


def _hann(length, periodic):
    n = np.arange(length)
    denom = length if periodic else length - 1
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / denom)


def _frames(x, length, step):
    count = (x.shape[-1] - length) // step + 1
    return np.stack([x[..., i * step:i * step + length] for i in range(count)], axis=-2)


def _mel(hz):
    return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)


def _filterbank(num_mel, num_bins, rate, low, high):
    """Triangular filters written out bin by bin."""
    freqs = np.linspace(0, rate / 2, num_bins)
    edges = np.linspace(_mel(low), _mel(high), num_mel + 2)
    out = np.zeros((num_bins, num_mel))
    for b in range(1, num_bins):
        m = _mel(freqs[b])
        for j in range(num_mel):
            lo, mid, hi = edges[j], edges[j + 1], edges[j + 2]
            out[b, j] = max(0.0, min((m - lo) / (mid - lo), (hi - m) / (hi - mid)))
    return out


def test_mel_filterbank_matches_formula():
    from jkeras.layers.preprocessing_audio import mel_filterbank

    np.testing.assert_allclose(mel_filterbank(8, 33, 8000, 20.0, 4000.0),
                               _filterbank(8, 33, 8000, 20.0, 4000.0), atol=1e-6)


def test_mel_spectrogram_matches_numpy_reference():
    signal = RNG.normal(size=(2, 300)).astype("float32")
    layer = layers.MelSpectrogram(fft_length=64, sequence_stride=20, sequence_length=48,
                                  num_mel_bins=10, sampling_rate=8000, min_freq=50.0,
                                  top_db=30.0, ref_power=2.0)
    out = np.asarray(jax.jit(layer)(signal))
    padded = np.pad(signal, [(0, 0), (32, 32)], mode="reflect")
    window = np.pad(_hann(48, periodic=True), (8, 8))
    spec = np.abs(np.fft.rfft(_frames(padded, 64, 20) * window, axis=-1)) ** 2
    mel = spec @ _filterbank(10, 33, 8000, 50.0, 4000.0)
    db = 10 * np.log10(np.maximum(mel, 1e-10)) - 10 * np.log10(2.0)
    db = np.maximum(db, db.max() - 30.0)
    np.testing.assert_allclose(out, np.swapaxes(db, -1, -2), atol=2e-3)
    assert out.shape == layer.compute_output_shape((2, 300)) == (2, 10, 16)
    linear = layers.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=4,
                                   power_to_db=False, mag_exp=1.0, window=None)
    padded = np.pad(signal, [(0, 0), (16, 16)], mode="reflect")
    mag = np.abs(np.fft.rfft(_frames(padded, 32, 8), axis=-1))
    expected = mag @ _filterbank(4, 17, 16000, 20.0, 8000.0)
    np.testing.assert_allclose(jax.jit(linear)(signal), np.swapaxes(expected, -1, -2), rtol=2e-4,
                               atol=1e-4)
    cfg = layer.get_config()
    assert cfg["max_freq"] == 4000 and cfg["sequence_length"] == 48
    with pytest.raises(ValueError, match="fft_length"):
        layers.MelSpectrogram(fft_length=32, sequence_length=64)


def test_stft_initializer_and_spectrogram_modes_match_numpy_fft():
    init = initializers.get("STFTInitializer")
    assert isinstance(init, initializers.STFT) and initializers.stft is initializers.STFT
    kernel = np.asarray(initializers.STFT("imag", "hann", "spectrum", True)((16, 1, 17)))
    win = _hann(16, periodic=True)
    t, k = np.arange(16)[:, None], np.arange(17)[None, :]
    np.testing.assert_allclose(kernel[:, 0, :], np.sin(-2 * np.pi * t * k / 32) * win[:, None]
                               / win.sum(), atol=1e-6)
    x = RNG.normal(size=(2, 100, 3)).astype("float32")
    spec = layers.STFTSpectrogram(mode="stft", frame_length=16, frame_step=4, fft_length=32)
    out = np.asarray(jax.jit(spec)(x))
    win = _hann(16, periodic=False)
    frames = _frames(np.swapaxes(x, 1, 2), 16, 4) * win / np.sqrt(np.sum(win ** 2))
    ref = np.fft.rfft(frames, n=32, axis=-1)  # (batch, channels, frames, bins)
    ref = np.concatenate([ref.real, ref.imag], axis=-1)  # real, then imaginary parts
    ref = np.transpose(ref, (0, 2, 1, 3)).reshape(2, ref.shape[2], -1)
    np.testing.assert_allclose(out, ref, atol=1e-4)
    assert [w.name for w in spec.weights] == ["real_kernel", "imag_kernel"]
    assert all(w.shape == (16, 1, 17) and w.trainable for w in spec.weights)
    log = layers.STFTSpectrogram(mode="log", frame_length=16, frame_step=4, fft_length=32,
                                 expand_dims=True, data_format="channels_first")
    xf = np.swapaxes(x, 1, 2)
    fft = np.fft.rfft(frames, n=32, axis=-1)
    np.testing.assert_allclose(jax.jit(log)(xf), np.log(np.abs(fft)), rtol=1e-3, atol=1e-3)
    psd = layers.STFTSpectrogram(mode="psd", frame_length=16, frame_step=4, fft_length=32,
                                 expand_dims=True, data_format="channels_first")
    power = np.abs(fft) ** 2
    power[..., 1:-1] *= 2  # one-sided power: non-edge bins doubled
    np.testing.assert_allclose(jax.jit(psd)(xf), power, rtol=1e-3, atol=1e-3)
    same = layers.STFTSpectrogram(mode="real", frame_length=10, padding="same")
    assert jax.eval_shape(same, x).shape == same.compute_output_shape(x.shape) == (2, 20, 27)
    with pytest.raises(ValueError, match="mode"):
        layers.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match="frame_step"):
        layers.STFTSpectrogram(frame_length=8, frame_step=9)


def test_audio_layers_keras_file_round_trip(tmp_path):
    inp = jkeras.Input(shape=(200, 2))
    spec = layers.STFTSpectrogram(frame_length=32, frame_step=8, window="hamming")(inp)
    model = jkeras.Model(inp, spec)
    path = tmp_path / "stft.keras"
    model.save(path)
    loaded = jkeras.models.load_model(path)
    original, restored = model.layers[-1], loaded.layers[-1]
    assert restored.get_config() == original.get_config()
    for a, b in zip(restored.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_pipeline_applies_layers_in_order_and_round_trips(tmp_path):
    pipe = layers.Pipeline([layers.Rescaling(2.0), layers.Dense(3, use_bias=False)])
    x = np.ones((2, 4), "float32")
    out = pipe(x)
    kernel = pipe.layers[1].kernel.value
    np.testing.assert_allclose(out, (2 * x) @ np.asarray(kernel), rtol=1e-6)
    assert len(pipe.weights) == 1
    cfg = pipe.get_config()
    assert [c["class_name"] for c in cfg["layers"]] == ["Rescaling", "Dense"]
    inp = jkeras.Input(shape=(4,))
    model = jkeras.Model(inp, pipe(inp))
    path = tmp_path / "pipe.keras"
    model.save(path)
    loaded = jkeras.models.load_model(path)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)
    with pytest.raises(TypeError, match="Layer"):
        layers.Pipeline([layers.Dense(2), "relu"])
