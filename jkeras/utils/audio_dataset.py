"""`audio_dataset_from_directory`: a dataset of WAV audio read from class folders
(decoded with the standard library's `wave` module)."""

from __future__ import annotations

import wave

import numpy as np

from jkeras.utils.batch_dataset import FileDataset
from jkeras.utils.directory_index import check_batch_size, dataset_subsets

AUDIO_FORMATS = (".wav",)
_FN = "audio_dataset_from_directory"


def read_wav(path: str) -> tuple[np.ndarray, int]:
    """`(samples, rate)`: float32 samples `(frames, channels)` in [-1, 1) of an
    8, 16, 24 or 32-bit PCM WAV file, and its sampling rate."""
    try:
        with wave.open(path, "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(
            f"{_FN}: cannot read {path} as a PCM WAV file ({e}); only uncompressed integer "
            f"PCM WAV (8, 16, 24 or 32-bit) is supported."
        ) from e
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    elif width in (2, 4):
        dtype = np.dtype("<i2") if width == 2 else np.dtype("<i4")
        x = (np.frombuffer(raw, dtype) / float(1 << (8 * width - 1))).astype(np.float32)
    else:
        raise ValueError(f"{_FN}: {path} has {8 * width}-bit samples; only 8, 16, 24 and "
                         f"32-bit PCM WAV files are supported.")
    return x.reshape(-1, channels), rate


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """`x` (frames, channels) resampled from `rate_in` to `rate_out` Hz by
    band-limited (Fourier) interpolation."""
    if rate_in == rate_out or len(x) == 0:
        return x
    n_out = max(1, int(round(len(x) * rate_out / rate_in)))
    spectrum = np.fft.rfft(x, axis=0)
    kept = np.zeros((n_out // 2 + 1, x.shape[1]), spectrum.dtype)
    m = min(len(kept), len(spectrum))
    kept[:m] = spectrum[:m]
    return (np.fft.irfft(kept, n=n_out, axis=0) * (n_out / len(x))).astype(np.float32)


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """`x` cut to `length` frames, or padded with zeros at the end."""
    if len(x) >= length:
        return x[:length]
    return np.concatenate([x, np.zeros((length - len(x), x.shape[1]), x.dtype)])


class AudioDataset(FileDataset):
    """Audio float32 `(batch, frames, channels)` and labels, decoded when asked for."""

    def __init__(self, file_paths, labels, sampling_rate, output_sequence_length, ragged,
                 batch_size, shuffle, seed, class_names):
        super().__init__(file_paths, labels, batch_size, shuffle, seed, class_names)
        self.sampling_rate = sampling_rate
        self.output_sequence_length = output_sequence_length
        self.ragged = ragged

    def read(self, path: str) -> np.ndarray:
        x, rate = read_wav(path)
        if self.sampling_rate is not None:
            x = resample(x, rate, self.sampling_rate)
        if self.output_sequence_length is not None:
            x = fit_length(x, self.output_sequence_length)
        return x

    def load(self, indices: np.ndarray):
        paths = [self.file_paths[i] for i in indices]
        clips = [self.read(p) for p in paths]
        if len({c.shape[1] for c in clips}) > 1:
            raise ValueError(
                f"{_FN}: the files of a batch must have the same number of channels; "
                f"{', '.join(f'{p}: {c.shape[1]}' for p, c in zip(paths, clips))}."
            )
        if self.ragged:
            audio = clips
        else:
            longest = max(len(c) for c in clips)
            audio = np.stack([fit_length(c, longest) for c in clips])
        return self.with_labels(audio, indices)


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size: int | None = 32,
                                 sampling_rate: int | None = None,
                                 output_sequence_length: int | None = None,
                                 ragged: bool = False, shuffle: bool = True, seed=None,
                                 validation_split=None, subset=None,
                                 follow_links: bool = False, verbose: bool = True):
    """A dataset of the .wav files under `directory`, with Keras's arguments.

    Labels, `class_names`, shuffling and `validation_split`/`subset` work as in
    `image_dataset_from_directory` ("both" returns a tuple, as Keras). Batches
    are `(audio, labels)` (or audio): audio float32 `(batch, frames, channels)`
    in [-1, 1). Each file is resampled to `sampling_rate` when given (Keras
    needs tensorflow-io for that), then cut or zero-padded to
    `output_sequence_length` frames; without it the clips of a batch are
    zero-padded to the longest one, and with `ragged=True` a batch holds a list
    of arrays of their own lengths instead.
    """
    batch_size = check_batch_size(_FN, batch_size)
    if ragged and output_sequence_length is not None:
        raise ValueError(f"{_FN}: `ragged` and `output_sequence_length` cannot both be set.")
    for arg, value in (("sampling_rate", sampling_rate),
                       ("output_sequence_length", output_sequence_length)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value <= 0):
            raise ValueError(f"{_FN}: `{arg}` must be a positive integer or None; got "
                             f"{value!r}.")
    class_names, parts = dataset_subsets(
        _FN, directory, labels, label_mode, class_names, shuffle, seed, validation_split,
        subset, follow_links, verbose, AUDIO_FORMATS, "audio")
    datasets = [AudioDataset(paths, part_labels, sampling_rate, output_sequence_length,
                             bool(ragged), batch_size, part_shuffle, seed, class_names)
                for paths, part_labels, part_shuffle in parts]
    return tuple(datasets) if subset == "both" else datasets[0]
