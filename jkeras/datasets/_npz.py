"""Reading ``.npz`` dataset files without running pickle.

Numeric members are read straight into arrays. Members that are numpy *object*
arrays (IMDB and Reuters store their ragged sequences that way, and numpy can
only write those as a pickle stream) are decoded by
`_pickle_decoder.decode_pickled_array`, which builds only plain data and numpy
arrays and refuses anything else.

Memory is bounded before it is allocated: a member's declared shape must match
the bytes it stores, the members together may take at most `load_limit()`
bytes (half the available memory, or ``JKERAS_MAX_LOAD_BYTES``), and decoding
an object array charges an estimate of the Python objects it builds to the same
budget. Every refusal is a ValueError naming the file and the member.
"""

from __future__ import annotations

import zipfile
import zlib

import numpy as np

from jkeras.datasets._pickle_decoder import UnsafePickleError, decode_pickled_array
from jkeras.saving.limits import FileLimitError, ReadBudget, load_limit

__all__ = ["UnsafePickleError", "decode_pickled_array", "load_npz", "ragged", "require"]


_READ_CHUNK = 16 << 20
_DAMAGED_ADVICE = "Delete the file and download it again."


class _DamagedMemberError(ValueError):
    """A member is not what its header declares (message without the file name)."""


def _npy_header(f, name: str):
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version in ((2, 0), (3, 0)):
        return np.lib.format.read_array_header_2_0(f)
    raise _DamagedMemberError(f"member {name!r}: unsupported .npy format version {version}.")


def _read_into(f, arr: np.ndarray, name: str) -> None:
    """Fills the 1-D array `arr` from the stream, a chunk at a time (no second copy)."""
    view = memoryview(arr.view(np.uint8)) if arr.size else memoryview(b"")
    pos = 0
    while pos < len(view):
        chunk = f.read(min(_READ_CHUNK, len(view) - pos))
        if not chunk:
            raise _DamagedMemberError(f"member {name!r} ends after {pos:,} of its {len(view):,} "
                                 f"data bytes: it is truncated.")
        view[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    f.read(1)  # reaches the end, where zipfile checks the CRC


def _read_npy(f, size: int, name: str, budget: ReadBudget):
    """One .npy member (`size` bytes, from the stream `f`): its declared shape is
    checked against the bytes it stores and charged to `budget` before the
    array is allocated."""
    shape, fortran, dtype = _npy_header(f, name)
    data_bytes = size - f.tell()
    if dtype.hasobject:
        budget.charge(data_bytes, f"member {name!r} (a pickled object array)")
        value = decode_pickled_array(f.read(data_bytes), budget=budget,
                                     what=f"member {name!r}")
        if not isinstance(value, np.ndarray) or value.shape != tuple(shape):
            raise UnsafePickleError(f"member {name!r} does not hold an array of shape {shape}.")
        return value
    count = 1
    for d in shape:
        count *= int(d)
    declared = count * dtype.itemsize
    if declared != data_bytes or (count and not dtype.itemsize):
        raise _DamagedMemberError(
            f"member {name!r} declares shape {tuple(shape)} {dtype} ({declared:,} bytes) but "
            f"holds {data_bytes:,} bytes of data: it is truncated, damaged or crafted. "
            f"{_DAMAGED_ADVICE}")
    budget.charge(declared, f"member {name!r} (shape {tuple(shape)} {dtype})")
    arr = np.empty(count, dtype=dtype)
    _read_into(f, arr, name)
    return arr.reshape(shape[::-1]).transpose() if fortran else arr.reshape(shape)


def load_npz(path: str, max_bytes=None) -> dict:
    """Loads every array of an ``.npz`` file into a dict, without pickle.

    Object arrays (ragged sequences) are decoded by `decode_pickled_array`;
    anything in them other than plain data and numpy arrays is refused. The
    members may take at most `load_limit(max_bytes)` bytes in all (half the
    available memory unless ``JKERAS_MAX_LOAD_BYTES`` says otherwise), checked
    before anything is read; a member whose declared shape does not match the
    bytes it stores is refused.
    """
    out = {}
    budget = ReadBudget(load_limit(max_bytes), path, argument_of=None)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path} is not a valid .npz file ({e}). Delete it and download it "
                         f"again.") from e
    with zf:
        members = [i for i in zf.infolist() if i.filename.endswith(".npy")]
        if members:
            total = sum(i.file_size for i in members)
            big = max(members, key=lambda i: i.file_size)
            budget.ensure(total, f"its arrays ({total:,} bytes declared in all; largest: "
                                 f"member {big.filename!r}, {big.file_size:,} bytes)")
        for info in members:
            try:
                with zf.open(info) as f:
                    out[info.filename[:-4]] = _read_npy(f, info.file_size, info.filename,
                                                        budget)
            except FileLimitError:
                raise
            except UnsafePickleError as e:
                raise UnsafePickleError(f"{path}: member {info.filename!r}: {e}") from None
            except _DamagedMemberError as e:
                raise ValueError(f"{path}: {e}") from None
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise ValueError(f"{path}: member {info.filename!r} cannot be read "
                                 f"({type(e).__name__}: {e}); the file is damaged. "
                                 f"{_DAMAGED_ADVICE}") from None
    return out


def _int_sequence(item, where: str) -> np.ndarray:
    """`item` (a list of ints or a 1-D integer array) as a 1-D int64 array;
    anything else (nested lists included) is refused before numpy expands it."""
    if isinstance(item, np.ndarray):
        if item.ndim == 1 and item.dtype.kind in "biu":
            return item.astype(np.int64, copy=False)
    elif isinstance(item, (list, tuple)):
        try:
            return np.fromiter(item, dtype=np.int64, count=len(item))
        except (TypeError, ValueError, OverflowError):
            pass
    raise ValueError(f"{where} is not a flat sequence of integers (got "
                     f"{type(item).__name__}); the file is damaged or crafted. "
                     f"{_DAMAGED_ADVICE}")


def ragged(arrays: dict, key: str, path: str) -> np.ndarray:
    """A 1-D object array of int64 sequences stored under `key`: either as an
    object array of lists of ints, or in the pickle-free layout ``key_values``
    (all sequences concatenated, integers) plus ``key_lengths`` (one length per
    sequence)."""
    if key in arrays:
        arr = arrays[key]
        out = np.empty(len(arr) if arr.ndim else 0, dtype=object)
        if arr.ndim == 0:
            raise ValueError(f"{path}: '{key}' is a single value, not a list of sequences.")
        for i in range(len(arr)):
            out[i] = _int_sequence(arr[i], f"{path}: '{key}' item {i}")
        return out
    if f"{key}_values" in arrays and f"{key}_lengths" in arrays:
        values = np.asarray(arrays[f"{key}_values"])
        lengths = np.asarray(arrays[f"{key}_lengths"]).astype(np.int64)
        if lengths.sum() != len(values) or (lengths < 0).any():
            raise ValueError(f"{path}: '{key}_lengths' does not add up to the length of "
                             f"'{key}_values'.")
        parts = np.split(values, np.cumsum(lengths)[:-1]) if len(lengths) else []
        out = np.empty(len(parts), dtype=object)
        for i, p in enumerate(parts):
            out[i] = p
        return out
    raise ValueError(f"{path} has no '{key}' array (nor '{key}_values' + '{key}_lengths'); "
                     f"it holds {sorted(arrays)}.")


def require(arrays: dict, keys, path: str) -> list:
    """The arrays for `keys`, or a clear error naming the missing ones."""
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks array(s) {missing}; it holds {sorted(arrays)}. Is it "
                         f"the right file?")
    return [arrays[k] for k in keys]
