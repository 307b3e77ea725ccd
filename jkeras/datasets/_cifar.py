"""Reader of the CIFAR *binary version* files (no pickle).

Each record is `label_bytes` label bytes followed by 3,072 image bytes: the
1,024 red values of the 32x32 image row by row, then green, then blue. The
archive is read member by member with `tarfile` (nothing is extracted); an
already extracted folder is read too.
"""

from __future__ import annotations

import os
import tarfile

import numpy as np

from jkeras.backend.config import image_data_format
from jkeras.saving.limits import ReadBudget, load_limit

_IMAGE_BYTES = 3 * 32 * 32


def read_members(path: str, names: list[str]) -> dict[str, bytes]:
    """The bytes of the named files (matched by base name) in a tar archive or
    folder; a clear error lists any that are missing. Each file's size is
    charged to a `load_limit()` budget before it is read."""
    found: dict[str, bytes] = {}
    budget = ReadBudget(load_limit(), path, argument_of=None)
    if os.path.isdir(path):
        for root, _, files in os.walk(path):
            for f in files:
                if f in names and f not in found:
                    full = os.path.join(root, f)
                    budget.charge(os.path.getsize(full), f"file {f!r}")
                    with open(full, "rb") as fh:
                        found[f] = fh.read()
    else:
        try:
            tar = tarfile.open(path, "r:*")
        except tarfile.TarError as e:
            raise ValueError(f"{path} is not a readable tar archive ({e}); delete it and "
                             f"download it again.") from e
        with tar:
            for member in tar:
                base = os.path.basename(member.name)
                if base in names and base not in found and member.isfile():
                    budget.charge(member.size, f"member {member.name!r}")
                    found[base] = tar.extractfile(member).read()
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"{path} lacks the CIFAR binary file(s) {missing}. Is it the "
                         f"binary version of the data set?")
    return found


def parse_records(raw: bytes, label_bytes: int, name: str):
    """(images (n, 32, 32, 3) or (n, 3, 32, 32) uint8, labels (n, label_bytes) uint8)."""
    size = label_bytes + _IMAGE_BYTES
    if len(raw) % size:
        raise ValueError(f"CIFAR file {name} has {len(raw)} bytes, not a multiple of its "
                         f"{size}-byte records; it is truncated or not the binary version.")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, size)
    labels = rec[:, :label_bytes].copy()
    images = rec[:, label_bytes:].reshape(-1, 3, 32, 32)
    if image_data_format() == "channels_last":
        images = images.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels
