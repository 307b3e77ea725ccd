"""keras.ops math ops: segment reductions, top_k / in_top_k, FFTs, STFT, and the
elementwise / reduction extras, against numpy references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras import ops
from jkeras.backend.keras_tensor import KerasTensor


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype("float32")


def test_segment_reductions_match_numpy_loops(rng):
    data = _f32(rng, 7, 3)
    ids = np.array([0, 0, 2, 2, 2, 4, 0])
    got = jax.jit(lambda d: {
        name: getattr(ops, f"segment_{name}")(d, ids, num_segments=5)
        for name in ("sum", "max", "min", "prod")})(data)
    identity = {"sum": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}
    reduce = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}
    for name, value in got.items():
        expected = np.stack([reduce[name](data[ids == s], axis=0) if np.any(ids == s)
                             else np.full(3, identity[name]) for s in range(5)])
        np.testing.assert_allclose(np.asarray(value).astype(float), expected, rtol=1e-5,
                                   err_msg=name)
    # num_segments defaults to max(id) + 1 outside jit
    assert ops.segment_sum(data, ids).shape == (5, 3)
    sorted_ids = np.sort(ids)
    np.testing.assert_allclose(ops.segment_max(data, sorted_ids, 5, sorted=True)[4],
                               data[sorted_ids == 4][0])
    with pytest.raises(ValueError, match="num_segments"):
        jax.jit(lambda d, i: ops.segment_sum(d, i))(data, ids)
    with pytest.raises(ValueError, match="one id per row"):
        ops.segment_sum(data, ids[:5], 5)
    assert ops.segment_sum(KerasTensor((None, 3)), KerasTensor((None,), "int32"),
                           num_segments=4).shape == (4, 3)


def test_top_k_in_top_k_logsumexp(rng):
    x = _f32(rng, 4, 7)
    targets = np.array([0, 3, 6, 2])
    (values, indices), hit, lse, lse_all = jax.jit(lambda x: (
        ops.top_k(x, 3), ops.in_top_k(targets, x, 2),
        ops.logsumexp(x, axis=1), ops.logsumexp(x, keepdims=True)))(x)
    order = np.argsort(-x, axis=1)[:, :3]
    np.testing.assert_array_equal(indices, order)
    assert indices.dtype == np.int32
    np.testing.assert_allclose(values, np.take_along_axis(x, order, 1))
    rank = (x > x[np.arange(4), targets][:, None]).sum(1)
    np.testing.assert_array_equal(hit, rank < 2)
    np.testing.assert_allclose(lse, np.log(np.exp(x).sum(1)), rtol=1e-5)
    np.testing.assert_allclose(lse_all, np.log(np.exp(x).sum()).reshape(1, 1), rtol=1e-5)
    # ties count for the target; a NaN target never is in the top k
    preds = np.array([[1.0, 1.0, 1.0], [np.nan, 0.0, 1.0]], "float32")
    np.testing.assert_array_equal(ops.in_top_k(np.array([2, 0]), preds, 1), [True, False])
    values, indices = ops.top_k(KerasTensor((None, 7)), 2)
    assert values.shape == indices.shape == (None, 2) and indices.dtype == "int32"


def test_ffts_match_numpy(rng):
    re, im = _f32(rng, 3, 4, 6), _f32(rng, 3, 4, 6)
    z = re + 1j * im
    got = jax.jit(lambda re, im: dict(
        fft=ops.fft((re, im)), fft2=ops.fft2((re, im)), ifft2=ops.ifft2((re, im)),
        rfft=ops.rfft(re), rfft8=ops.rfft(re, fft_length=8),
        irfft=ops.irfft((re, im)), irfft5=ops.irfft((re, im), fft_length=5),
    ))(re, im)
    expected = {"fft": np.fft.fft(z), "fft2": np.fft.fft2(z), "ifft2": np.fft.ifft2(z),
                "rfft": np.fft.rfft(re), "rfft8": np.fft.rfft(re, n=8)}
    for name, value in expected.items():
        np.testing.assert_allclose(got[name][0], value.real, rtol=1e-4, atol=1e-4, err_msg=name)
        np.testing.assert_allclose(got[name][1], value.imag, rtol=1e-4, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(got["irfft"], np.fft.irfft(z), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got["irfft5"], np.fft.irfft(z, n=5), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        ops.fft((re, im[..., :3]))
    with pytest.raises(ValueError, match="pair"):
        ops.fft(re)
    real, imag = ops.rfft(KerasTensor((None, 20)))
    assert real.shape == imag.shape == (None, 11)


def _periodic_hann(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def test_stft_frames_window_and_istft_inverts(rng):
    signal = _f32(rng, 2, 64)
    length, stride, fft_length = 12, 4, 16
    got = jax.jit(lambda s: (
        ops.stft(s, length, stride, fft_length),
        ops.stft(s, length, stride, fft_length, window=None, center=False),
        ops.extract_sequences(s, 10, 3),
    ))(signal)
    (real, imag), (box_real, _), frames = got
    # centred: the signal reflected by fft_length // 2 at each end, framed every `stride`,
    # the periodic Hann window of `length` centred in fft_length samples
    padded = np.pad(signal, ((0, 0), (8, 8)), mode="reflect")
    window = np.pad(_periodic_hann(length), 2)
    starts = range(0, padded.shape[1] - fft_length + 1, stride)
    expected = np.fft.rfft(np.stack([padded[:, s:s + fft_length] * window for s in starts], 1))
    np.testing.assert_allclose(real, expected.real, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(imag, expected.imag, rtol=1e-4, atol=1e-4)
    box = np.fft.rfft(np.stack([signal[:, s:s + fft_length]
                                for s in range(0, 64 - fft_length + 1, stride)], 1))
    np.testing.assert_allclose(box_real, box.real, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(frames, np.stack([signal[:, s:s + 10]
                                                    for s in range(0, 55, 3)], 1))
    # the windows overlap enough for istft to give the signal back
    restored = ops.istft((real, imag), length, stride, fft_length, length=64)
    np.testing.assert_allclose(restored, signal, rtol=1e-4, atol=1e-4)
    assert ops.istft((real, imag), length, stride, fft_length).shape == (2, 64)
    assert ops.stft(KerasTensor((None, 64)), length, stride, fft_length)[0].shape == (
        None, 17, 9)
    with pytest.raises(ValueError, match="window"):
        ops.stft(signal, length, stride, fft_length, window="kaiser")
    with pytest.raises(TypeError, match="float32 or float64"):
        ops.stft(signal.astype("float16"), length, stride, fft_length)


def test_elementwise_and_matrix_extras(rng):
    x = _f32(rng, 3, 4)
    y = _f32(rng, 5, 4)
    spd = np.eye(3, dtype="float32") * 2 + 0.1
    got = jax.jit(lambda x, y: dict(
        erf=ops.erf(x), erfc=ops.erfc(x), erfinv=ops.erfinv(jnp.tanh(x)),
        rsqrt=ops.rsqrt(jnp.abs(x)), cdist=ops.cdist(x, y),
        cdist_b=ops.cdist(x[None], jnp.stack([y, y + 1])), logdet=ops.logdet(spd),
        complex=ops.view_as_complex(jnp.stack([x, y[:3]], -1)),
        real=ops.view_as_real(x + 2j * y[:3]),
        erf_int=ops.erf(jnp.array([0, 1])),
    ))(x, y)
    np.testing.assert_allclose(got["erf"], np.vectorize(math.erf)(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["erfc"], np.vectorize(math.erfc)(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.vectorize(math.erf)(got["erfinv"]), np.tanh(x), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(got["rsqrt"], 1 / np.sqrt(np.abs(x)), rtol=1e-5)
    distances = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))
    np.testing.assert_allclose(got["cdist"], distances, rtol=1e-5)
    np.testing.assert_allclose(got["cdist_b"][1], np.sqrt(((x[:, None] - y[None] - 1) ** 2)
                                                          .sum(-1)), rtol=1e-5)
    np.testing.assert_allclose(got["logdet"], np.linalg.slogdet(spd)[1], rtol=1e-5)
    assert got["complex"].dtype == np.complex64
    np.testing.assert_allclose(got["complex"], x + 1j * y[:3])
    np.testing.assert_allclose(got["real"], np.stack([x, 2 * y[:3]], -1), rtol=1e-6)
    np.testing.assert_allclose(got["erf_int"], [0, math.erf(1)], rtol=1e-6)
    with pytest.raises(ValueError, match="same last dimension"):
        ops.cdist(x, y[:, :3])
    with pytest.raises(ValueError, match="size 2"):
        ops.view_as_complex(x)
