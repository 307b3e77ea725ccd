"""Audio preprocessing layers (Keras 3 names, arguments and configs): `MelSpectrogram`
and `STFTSpectrogram`. Both are jax computations: they run inside compiled models, on
batches of signals, and each sample's output depends only on that sample (except
MelSpectrogram's `top_db` clipping, which, as in Keras, is relative to the batch's
maximum).
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.config import epsilon, standardize_data_format
from jkeras.engine.layer import Layer
from jkeras.initializers_stft import STFT, check_window_name, window_values
from jkeras.layers.preprocessing_encoding import check_choice, positive_int

__all__ = ["MelSpectrogram", "STFTSpectrogram", "mel_filterbank"]

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def _hz_to_mel(hz):
    return _MEL_HIGH_Q * np.log(1.0 + np.asarray(hz, np.float64) / _MEL_BREAK_HZ)


def mel_filterbank(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float,
                   lower_edge_hertz: float, upper_edge_hertz: float) -> np.ndarray:
    """The `(num_spectrogram_bins, num_mel_bins)` matrix of triangular mel filters (HTK
    mel scale `1127 ln(1 + f / 700)`, peaks of 1, the DC bin left out), as
    `tf.signal.linear_to_mel_weight_matrix` and Keras build it."""
    nyquist = sampling_rate / 2.0
    freqs = np.linspace(0.0, nyquist, num_spectrogram_bins)[1:]
    mel = _hz_to_mel(freqs)[:, None]
    edges = np.linspace(_hz_to_mel(lower_edge_hertz), _hz_to_mel(upper_edge_hertz),
                        num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (mel - lower) / (center - lower)
    falling = (upper - mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [(1, 0), (0, 0)]).astype("float32")


def _stft_frames(x, frame_length: int, stride: int, fft_length: int, window):
    """Real and imaginary parts `(..., frames, fft_length // 2 + 1)` of the unnormalized
    DFT of frames of `x` (already padded), each multiplied by `window` (`fft_length`
    values)."""
    n = x.shape[-1]
    count = (n - fft_length) // stride + 1
    index = np.arange(count)[:, None] * stride + np.arange(fft_length)[None, :]
    frames = x[..., index] * window
    spectrum = jnp.fft.rfft(frames, n=fft_length, axis=-1)
    return jnp.real(spectrum), jnp.imag(spectrum)


class MelSpectrogram(Layer):
    """Mel spectrograms of signals `(batch, samples)` (or one signal `(samples,)`):
    a centred STFT (reflect padding of `fft_length // 2`, frames of `sequence_length`
    samples every `sequence_stride`, a periodic `window` 'hann' or 'hamming' or None),
    magnitudes raised to `mag_exp`, `num_mel_bins` triangular filters between `min_freq`
    and `max_freq` (default: half the `sampling_rate`), then, with `power_to_db`,
    `10 log10(max(x, min_power) / max(ref_power, min_power))` clipped to `top_db` below
    the maximum. Output `(batch, num_mel_bins, frames)`.
    """

    _batch_independent = False  # top_db clips relative to the batch maximum (as Keras)

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None,
                 window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                 max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        super().__init__(**kwargs)
        self.fft_length = positive_int("MelSpectrogram", "fft_length", fft_length)
        self.sequence_stride = positive_int("MelSpectrogram", "sequence_stride",
                                            sequence_stride)
        self.sequence_length = positive_int("MelSpectrogram", "sequence_length",
                                            sequence_length or fft_length)
        if self.fft_length < self.sequence_length:
            raise ValueError(
                f"MelSpectrogram: `fft_length` ({fft_length}) must be at least "
                f"`sequence_length` ({sequence_length})."
            )
        if window is not None:
            check_choice("MelSpectrogram", "window", window, ("hann", "hamming"))
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = positive_int("MelSpectrogram", "num_mel_bins", num_mel_bins)
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    def _window(self) -> np.ndarray:
        if self.window is None:
            win = np.ones(self.sequence_length)
        else:
            win = window_values(self.window, self.sequence_length, True, "MelSpectrogram")
        left = (self.fft_length - self.sequence_length) // 2
        return np.pad(win, (left, self.fft_length - self.sequence_length - left))

    def call(self, inputs):
        dtype = "float64" if jnp.dtype(self.compute_dtype) == jnp.float64 else "float32"
        x = jnp.asarray(inputs).astype(dtype)
        half = self.fft_length // 2
        if x.shape[-1] <= half:
            raise ValueError(
                f"MelSpectrogram '{self.name}': the signals have {x.shape[-1]} samples; "
                f"centred frames need more than fft_length // 2 = {half}."
            )
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(half, half)], mode="reflect")
        real, imag = _stft_frames(x, self.sequence_length, self.sequence_stride,
                                  self.fft_length, jnp.asarray(self._window(), dtype))
        spec = jnp.sqrt(real ** 2 + imag ** 2) ** self.mag_exp
        bank = mel_filterbank(self.num_mel_bins, spec.shape[-1], self.sampling_rate,
                              self.min_freq, self.max_freq)
        out = jnp.tensordot(spec, jnp.asarray(bank, dtype), axes=1)
        if self.power_to_db:
            out = 10.0 * jnp.log10(jnp.maximum(out, self.min_power))
            out = out - 10.0 * np.log10(max(abs(self.ref_power), self.min_power))
            out = jnp.maximum(out, jnp.max(out) - self.top_db)
        return jnp.swapaxes(out, -1, -2).astype(self.compute_dtype)

    def _frames(self, samples):
        if samples is None:
            return None
        half = self.fft_length // 2
        return (samples + 2 * half - self.fft_length) // self.sequence_stride + 1

    def compute_output_shape(self, input_shape):
        *batch, samples = input_shape
        return (*batch, self.num_mel_bins, self._frames(samples))

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length,
                "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window,
                "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db,
                "mag_exp": self.mag_exp, "min_power": self.min_power,
                "ref_power": self.ref_power}


_STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """Short-time Fourier transforms of multi-channel signals `(batch, time, channels)`
    ('channels_last') or `(batch, channels, time)`, as a strided 1-D convolution with
    kernels made by `initializers.STFT` (weights 'real_kernel' and 'imag_kernel', shape
    `(frame_length, 1, fft_length // 2 + 1)`, trainable as in Keras). `mode`: 'log'
    (log magnitude), 'magnitude', 'psd' (power, non-edge bins doubled), 'real', 'imag',
    'angle' or 'stft' (real and imaginary parts side by side). `frame_step` defaults to
    `frame_length // 2` and `fft_length` to the next power of two. Output: frames by
    `channels * bins` (`expand_dims=False`), or frames by bins by channels.
    """

    _batch_independent = True

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None,
                 window="hann", periodic=False, scaling="density", padding="valid",
                 expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise ValueError(f"STFTSpectrogram: `frame_step` must be a positive integer not "
                             f"greater than `frame_length` ({frame_length}), got {frame_step}.")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"STFTSpectrogram: `fft_length` must be at least `frame_length` "
                             f"({frame_length}), got {fft_length}.")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(f"STFTSpectrogram: `fft_length` is best a power of two, got "
                          f"{fft_length}.", stacklevel=2)
        check_choice("STFTSpectrogram", "mode", mode, _STFT_MODES)
        check_choice("STFTSpectrogram", "scaling", scaling, (None, "density", "spectrum"))
        check_choice("STFTSpectrogram", "padding", padding, ("valid", "same"))
        check_window_name(window, "STFTSpectrogram")
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = positive_int("STFTSpectrogram", "frame_length", frame_length)
        self.frame_step = frame_step
        self._frame_step = frame_step or self.frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = standardize_data_format(data_format)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"STFTSpectrogram '{self.name}' expects inputs of rank 3 (batch, "
                             f"time, channels), got shape {tuple(input_shape)}.")
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        self.real_kernel = self.imag_kernel = None
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                "real_kernel", shape, STFT("real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                "imag_kernel", shape, STFT("imag", self.window, self.scaling, self.periodic))
        self.built = True

    def _conv(self, x, kernel):
        """(batch, channels, bins, frames) for signals (batch, channels, time)."""
        batch, channels, time = x.shape
        out = jax.lax.conv_general_dilated(
            x.reshape(batch * channels, time, 1), kernel.astype(x.dtype),
            (self._frame_step,), self.padding.upper(),
            dimension_numbers=("NWC", "WIO", "NWC"))
        return jnp.swapaxes(out, 1, 2).reshape(batch, channels, out.shape[2], out.shape[1])

    def _arrange(self, y):
        batch, channels, bins, frames = y.shape
        last = self.data_format == "channels_last"
        if self.expand_dims:
            return jnp.transpose(y, (0, 3, 2, 1) if last else (0, 1, 3, 2))
        y = y.reshape(batch, channels * bins, frames)
        return jnp.swapaxes(y, 1, 2) if last else y

    def call(self, inputs):
        x = jnp.asarray(inputs)
        if x.dtype not in (jnp.float16, jnp.float32, jnp.float64, jnp.bfloat16):
            raise TypeError(f"STFTSpectrogram '{self.name}' expects float signals, got "
                            f"{x.dtype}.")
        if self.data_format == "channels_last":
            x = jnp.swapaxes(x, 1, 2)
        real = self._conv(x, self.real_kernel.value) if self.real_kernel is not None else None
        imag = self._conv(x, self.imag_kernel.value) if self.imag_kernel is not None else None
        if self.mode == "real":
            return self._arrange(real)
        if self.mode == "imag":
            return self._arrange(imag)
        if self.mode == "angle":
            return self._arrange(jnp.arctan2(imag, real))
        if self.mode == "stft":
            return self._arrange(jnp.concatenate([real, imag], axis=2))
        power = real ** 2 + imag ** 2
        if self.mode == "psd":
            edges = jnp.pad(power[:, :, 1:-1, :], [(0, 0), (0, 0), (1, 1), (0, 0)])
            return self._arrange(power + edges)
        magnitude = self._arrange(jnp.sqrt(jnp.maximum(power, epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return jnp.log(jnp.maximum(magnitude, epsilon()))

    def compute_output_shape(self, input_shape):
        last = self.data_format == "channels_last"
        batch = input_shape[0]
        time, channels = (input_shape[1], input_shape[2]) if last else (input_shape[2],
                                                                        input_shape[1])
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        if time is None:
            frames = None
        elif self.padding == "same":
            frames = -(-time // self._frame_step)
        else:
            frames = (time - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            return (batch, frames, bins, channels) if last else (batch, channels, frames, bins)
        width = None if channels is None else channels * bins
        return (batch, frames, width) if last else (batch, width, frames)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length,
                "window": self.window, "periodic": self.periodic, "scaling": self.scaling,
                "padding": self.padding, "data_format": self.data_format,
                "expand_dims": self.expand_dims}
