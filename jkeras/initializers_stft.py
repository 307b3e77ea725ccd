"""The STFT initializer (`jkeras.initializers.STFT`, also named `STFTInitializer` and
`stft`, as in Keras 3) and the window functions it and the audio layers share.

An STFT kernel of shape `(frame_length, channels, fft_bins)` holds, for `side='real'`,
`cos(-2 pi t k / N) * w[t] / s` and, for 'imag', `sin(-2 pi t k / N) * w[t] / s`, with
`N = 2 (fft_bins - 1)`, `w` the window and `s` the window's L2 norm ('density'), L1 norm
('spectrum') or 1 (None): convolving a signal with it gives the real or imaginary part of
the windowed frames' discrete Fourier transform.
"""

from __future__ import annotations

import numpy as np

from jkeras.initializers import Initializer, _host

__all__ = ["STFT", "STFTInitializer", "stft", "window_values"]

_NATIVE_WINDOWS = ("hann", "hamming", "blackman", "bartlett", "boxcar")


def _native_window(name: str, length: int) -> np.ndarray:
    """Symmetric window of `length` points (float64)."""
    if length == 1:
        return np.ones(1)
    n = np.arange(length)
    x = 2.0 * np.pi * n / (length - 1)
    if name == "hann":
        return 0.5 - 0.5 * np.cos(x)
    if name == "hamming":
        return 0.54 - 0.46 * np.cos(x)
    if name == "blackman":
        return 0.42 - 0.5 * np.cos(x) + 0.08 * np.cos(2 * x)
    if name == "bartlett":
        return 1.0 - np.abs(2.0 * n / (length - 1) - 1.0)
    return np.ones(length)


def window_values(window, length: int, periodic: bool, where: str = "STFT") -> np.ndarray:
    """The values (float64) of a window given by name ('hann', 'hamming', 'blackman',
    'bartlett', 'boxcar'; other `scipy.signal.get_window` names need scipy) or as an
    array; `periodic` windows are the first `length` points of one of `length + 1`."""
    if isinstance(window, str) or isinstance(window, tuple):
        if window in _NATIVE_WINDOWS:
            if periodic and length > 1:
                return _native_window(window, length + 1)[:-1]
            return _native_window(window, length)
        try:
            import scipy.signal
        except ImportError:
            raise ImportError(
                f"{where}: the window {window!r} needs scipy (pip install scipy); the windows "
                f"available without it are {list(_NATIVE_WINDOWS)}."
            ) from None
        try:
            return np.asarray(scipy.signal.get_window(window, length, fftbins=periodic),
                              np.float64)
        except ValueError as e:
            raise ValueError(f"{where}: unknown window {window!r} ({e}).") from None
    values = np.asarray(window, np.float64)
    if values.ndim != 1 or values.shape[0] != length:
        raise ValueError(
            f"{where}: the window must have shape ({length},) (the frame length), got "
            f"{values.shape}."
        )
    return values


def check_window_name(window, where: str) -> None:
    """Raises a clear error early for a window name that cannot be made."""
    if isinstance(window, str):
        window_values(window, 1, False, where)


class STFT(Initializer):
    """Kernels for an STFT computed as a 1-D convolution (see the module docstring):
    `side` 'real' or 'imag', `window` (a name, an array of `frame_length` values, or
    None), `scaling` 'density', 'spectrum' or None, `periodic` windows or symmetric ones.
    The shape is `(frame_length, channels, fft_bins)` with `fft_bins = fft_length // 2 + 1`.
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT initializer: `side` must be 'real' or 'imag', got {side!r}.")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT initializer: `scaling` must be None, 'density' or "
                             f"'spectrum', got {scaling!r}.")
        check_window_name(window, "STFT initializer")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 3:
            raise ValueError(f"STFT initializer: expected a shape (frame_length, channels, "
                             f"fft_bins), got {tuple(shape)}.")
        frame_length, _, bins = shape
        n_fft = (bins - 1) * 2
        t = np.arange(frame_length, dtype=np.float64)[:, None, None]
        k = np.arange(bins, dtype=np.float64)[None, None, :]
        angle = -2.0 * np.pi * t * k / n_fft
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if self.window is not None:
            win = window_values(self.window, frame_length, self.periodic, "STFT initializer")
            scale = 1.0
            if self.scaling == "density":
                scale = np.sqrt(np.sum(win ** 2))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win))
            kernel = kernel * win[:, None, None] / scale
        return _host(np.broadcast_to(kernel, tuple(shape)), dtype)

    def get_config(self):
        window = self.window
        if isinstance(window, np.ndarray):
            window = window.tolist()
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}


STFTInitializer = STFT
stft = STFT
