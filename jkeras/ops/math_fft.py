"""Spectral ops of `keras.ops`: `fft`, `fft2`, `ifft2`, `rfft`, `irfft`, `stft`, `istft`
and `extract_sequences`.

As in Keras, complex values travel as (real, imag) pairs of float tensors: the FFTs
take and return such pairs (`rfft` takes a real tensor, `irfft` returns one).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jkeras.ops.operation import symbolic_function


def _complex(x, op: str):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: `x` must be a (real, imag) pair of tensors, got {x!r:.80}.")
    real, imag = jnp.asarray(x[0]), jnp.asarray(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"{op}: the real and imaginary parts must have the same shape, got "
                         f"{real.shape} and {imag.shape}.")
    if not (jnp.issubdtype(real.dtype, jnp.floating) and jnp.issubdtype(imag.dtype,
                                                                      jnp.floating)):
        raise ValueError(f"{op}: the real and imaginary parts must be float tensors, got "
                         f"{real.dtype} and {imag.dtype}.")
    return real + 1j * imag.astype(real.dtype)


def _pair(z):
    return jnp.real(z), jnp.imag(z)


def _fft(x):
    """FFT along the last axis of the complex tensor given as (real, imag)."""
    return _pair(jnp.fft.fft(_complex(x, "fft")))


def _fft2(x):
    """2D FFT over the last two axes of (real, imag)."""
    return _pair(jnp.fft.fft2(_complex(x, "fft2")))


def _ifft2(x):
    """Inverse 2D FFT over the last two axes of (real, imag)."""
    return _pair(jnp.fft.ifft2(_complex(x, "ifft2")))


def _rfft(x, fft_length=None):
    """(real, imag) of the FFT of the real tensor `x` along its last axis (cropped or
    zero-padded to `fft_length`): fft_length // 2 + 1 frequencies."""
    return _pair(jnp.fft.rfft(jnp.asarray(x), n=fft_length, axis=-1))


def _irfft(x, fft_length=None):
    """The real inverse of `rfft`: a signal of `fft_length` (default 2 * (n - 1)) samples
    from (real, imag) spectra of n frequencies."""
    return jnp.fft.irfft(_complex(x, "irfft"), n=fft_length, axis=-1)


def _frame_index(num_frames: int, frame_length: int, stride: int) -> np.ndarray:
    return np.arange(num_frames)[:, None] * stride + np.arange(frame_length)[None, :]


def _extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` samples every `sequence_stride` samples along the last
    axis: shape (..., num_frames, sequence_length)."""
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[-1] < sequence_length:
        raise ValueError(
            f"extract_sequences: the last axis of x (shape {x.shape}) must hold at least "
            f"sequence_length={sequence_length} samples."
        )
    frames = 1 + (x.shape[-1] - sequence_length) // sequence_stride
    return x[..., _frame_index(frames, sequence_length, sequence_stride)]


def _overlap_add(frames, stride: int):
    """The sum of (..., num_frames, frame_length) frames placed every `stride` samples."""
    num, length = frames.shape[-2:]
    out = jnp.zeros((*frames.shape[:-2], length + stride * (num - 1)), frames.dtype)
    return out.at[..., _frame_index(num, length, stride)].add(frames)


def _window(window, sequence_length: int, fft_length: int, dtype, op: str):
    """The analysis window, centred in `fft_length` samples: 'hann' and 'hamming' are
    the periodic windows (as scipy's get_window), an array is taken as given; None is a
    box of ones over all fft_length samples (as Keras does)."""
    n = np.arange(sequence_length)
    if isinstance(window, str):
        cosine = np.cos(2.0 * np.pi * n / sequence_length)
        shapes = {"hann": 0.5 - 0.5 * cosine, "hamming": 0.54 - 0.46 * cosine}
        if window not in shapes:
            raise ValueError(f"{op}: a string `window` must be 'hann' or 'hamming', got "
                             f"{window!r}.")
        win = jnp.asarray(shapes[window], dtype)
    elif window is None:
        return jnp.ones((fft_length,), dtype)
    else:
        win = jnp.asarray(window, dtype)
        if win.shape != (sequence_length,):
            raise ValueError(f"{op}: `window` must have shape ({sequence_length},) (one weight "
                             f"per sample of a sequence), got shape {win.shape}.")
    left = (fft_length - sequence_length) // 2
    return jnp.pad(win, (left, fft_length - sequence_length - left))


def _check_stft_args(op, sequence_length, sequence_stride, fft_length):
    if not isinstance(sequence_stride, int) or sequence_stride <= 0:
        raise ValueError(f"{op}: `sequence_stride` must be a positive integer, got "
                         f"{sequence_stride!r}.")
    if fft_length < sequence_length:
        raise ValueError(f"{op}: `fft_length` ({fft_length}) must be at least "
                         f"`sequence_length` ({sequence_length}).")


def _stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis: (real, imag) of shape
    (..., num_frames, fft_length // 2 + 1). Each frame of `fft_length` samples, every
    `sequence_stride` samples (the signal reflect-padded by fft_length // 2 at both ends
    when `center`), is multiplied by the window and transformed (unnormalized)."""
    _check_stft_args("stft", sequence_length, sequence_stride, fft_length)
    x = jnp.asarray(x)
    if x.dtype not in (jnp.float32, jnp.float64):
        raise TypeError(f"stft: `x` must be float32 or float64, got {x.dtype}.")
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = jnp.pad(x, pad, mode="reflect")
    win = _window(window, sequence_length, fft_length, x.dtype, "stft")
    frames = _extract_sequences(x, fft_length, sequence_stride) * win
    return _pair(jnp.fft.rfft(frames, n=fft_length, axis=-1))


def _istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
           center=True):
    """The inverse of `stft`: windowed overlap-add of the inverse FFTs of (real, imag)
    frames (..., num_frames, fft_length // 2 + 1), divided by the overlap-added squared
    window (as scipy's istft). Returns (..., samples): `length` samples when given,
    else the whole signal (less the fft_length // 2 padding at each end when
    `center`)."""
    _check_stft_args("istft", sequence_length, sequence_stride, fft_length)
    spectrum = _complex(x, "istft")
    if spectrum.ndim < 2:
        raise ValueError(f"istft: `x` must have at least 2 dimensions (frames, frequencies), "
                         f"got shape {spectrum.shape}.")
    frames = jnp.fft.irfft(spectrum, n=fft_length, axis=-1)
    win = _window(window, sequence_length, fft_length, frames.dtype, "istft")
    signal = _overlap_add(frames * win, sequence_stride)
    norm = _overlap_add(jnp.broadcast_to(win * win, frames.shape[-2:]), sequence_stride)
    signal = signal / jnp.where(norm > 1e-10, norm, 1.0)
    if window is None:
        # A box window: Keras rescales the overlap of the frames by fft_length / stride.
        signal = signal * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start:start + length]
    return signal[..., start:signal.shape[-1] - start]


fft = symbolic_function(_fft, "fft")
fft2 = symbolic_function(_fft2, "fft2")
ifft2 = symbolic_function(_ifft2, "ifft2")
rfft = symbolic_function(_rfft, "rfft")
irfft = symbolic_function(_irfft, "irfft")
extract_sequences = symbolic_function(_extract_sequences, "extract_sequences")
stft = symbolic_function(_stft, "stft")
istft = symbolic_function(_istft, "istft")

__all__ = ["extract_sequences", "fft", "fft2", "ifft2", "irfft", "istft", "rfft", "stft"]
