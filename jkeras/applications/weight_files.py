"""Where the applications find Keras's pretrained weight files.

jkeras never downloads: `weights="imagenet"` uses the file Keras would have
downloaded, from the folders Keras caches it in (`$KERAS_HOME/models`, else
`~/.keras/models`, and Keras's fallback `/tmp/.keras/models`) or from
`$JKERAS_HOME/models`. A missing file raises an error naming the file, the URL
to fetch it from and the folders it may go in.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass

from jkeras.backend.config import jkeras_home

KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class WeightsFile:
    """One pretrained weights file as Keras publishes it: the name it is cached under,
    the URL it comes from and Keras's hash of it (md5, or sha256 when 64 hex
    digits; None where Keras gives none)."""

    name: str
    url: str
    file_hash: str | None = None


def keras_file(folder: str, name: str, file_hash: str | None = None) -> WeightsFile:
    """A file under Keras's applications bucket: `<bucket>/<folder>/<name>`."""
    return WeightsFile(name, f"{KERAS_APPLICATIONS_URL}{folder}/{name}", file_hash)


def search_dirs() -> list[str]:
    """The folders searched for weight files, in order."""
    keras_home = os.environ.get("KERAS_HOME")
    dirs = [os.path.join(os.path.expanduser(keras_home), "models")] if keras_home else [
        os.path.join(os.path.expanduser("~"), ".keras", "models"),
        os.path.join(tempfile.gettempdir(), ".keras", "models"),
    ]
    dirs.append(os.path.join(jkeras_home(), "models"))
    unique: list[str] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


_verified: dict[tuple, bool] = {}


def _hash_matches(path: str, expected: str) -> bool:
    """Whether the file's md5 (or sha256, for a 64-digit hash) is `expected`; the
    answer is remembered per (path, size, mtime) so a file is hashed once."""
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns, expected)
    if key not in _verified:
        digest = hashlib.sha256() if len(expected) == 64 else hashlib.md5()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)
        _verified[key] = digest.hexdigest() == expected.lower()
    return _verified[key]


def locate(weights_file: WeightsFile, owner: str) -> str:
    """The path of a cached copy of `weights_file` (its hash checked when Keras
    gives one); raises FileNotFoundError saying where to get it and put it."""
    dirs = search_dirs()
    for d in dirs:
        path = os.path.join(d, weights_file.name)
        if not os.path.isfile(path):
            continue
        if weights_file.file_hash and not _hash_matches(path, weights_file.file_hash):
            raise ValueError(
                f"{owner}: the weights file '{path}' is damaged or incomplete: its hash "
                f"is not {weights_file.file_hash}, the one Keras publishes. Delete it and "
                f"fetch it again from {weights_file.url}"
            )
        return path
    raise FileNotFoundError(
        f"{owner}: weights='imagenet' needs the file '{weights_file.name}', which is in "
        f"none of {dirs}. jkeras does not download: fetch it from "
        f"{weights_file.url} and put it in one of those folders, e.g.\n"
        f"  mkdir -p {dirs[0]} && curl -L -o {os.path.join(dirs[0], weights_file.name)} "
        f"{weights_file.url}\n"
        f"or pass the downloaded file's path as `weights=`."
    )
