"""Download-once file cache for the datasets, with checksums and offline errors.

Files live in ``$JKERAS_HOME/datasets`` (default ``~/.jkeras/datasets``). A file
already there is used as is (so a user can put it there by hand); a missing
file is downloaded once with a short network timeout and checked against its
published checksum before it is moved into place. With ``JKERAS_OFFLINE=1``, or
when the download fails, a `DatasetUnavailableError` names the file, the URL
to fetch it from, and the exact path to put it at.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

from jkeras.backend.config import jkeras_home

#: Where Keras hosts its dataset files.
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

_DEFAULT_TIMEOUT_S = 30.0
_CHUNK = 1 << 20


class DatasetUnavailableError(FileNotFoundError):
    """A dataset file is not in the cache and could not be downloaded."""


def datasets_dir() -> str:
    """The folder that caches dataset files: ``$JKERAS_HOME/datasets``."""
    return os.path.join(jkeras_home(), "datasets")


def downloads_disabled() -> bool:
    """True when ``JKERAS_OFFLINE`` is set to 1/true/yes/on."""
    return os.environ.get("JKERAS_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _timeout() -> float:
    value = os.environ.get("JKERAS_DOWNLOAD_TIMEOUT")
    try:
        return float(value) if value else _DEFAULT_TIMEOUT_S
    except ValueError:
        return _DEFAULT_TIMEOUT_S


def _hash_algorithm(file_hash: str, algorithm: str) -> str:
    if algorithm in ("sha256", "md5"):
        return algorithm
    if algorithm != "auto":
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}.")
    return "sha256" if len(file_hash) == 64 else "md5"


def file_digest(path: str, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes ('sha256' or 'md5')."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _urlopen(url: str, timeout: float):
    """Opens a URL (a separate function so that tests can replace it)."""
    request = urllib.request.Request(url, headers={"User-Agent": "jkeras"})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310


def _download(url: str, dest: str, timeout: float) -> None:
    print(f"Downloading data from {url}", file=sys.stderr)
    with _urlopen(url, timeout) as response, open(dest, "wb") as out:
        total = 0
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            out.write(chunk)
            total += len(chunk)
    print(f"  {total:,} bytes", file=sys.stderr)


def _unavailable(fname: str, target: str, origin: str | None, reason: str):
    where = f" Download it from {origin} and put it at:\n    {target}\n" if origin else (
        f" Put it at:\n    {target}\n"
    )
    return DatasetUnavailableError(
        f"Dataset file '{os.path.basename(target) or fname}' is not available: {reason}."
        f"{where}(The cache folder is {os.path.dirname(target)}; set JKERAS_HOME to use "
        f"another folder, or pass an absolute path.)"
    )


def resolve_path(fname: str, cache_subdir: str = "datasets", cache_dir: str | None = None) -> str:
    """Where `fname` lives: itself if absolute, else under the cache folder."""
    fname = os.path.expanduser(os.fspath(fname))
    if os.path.isabs(fname):
        return fname
    base = os.path.expanduser(cache_dir) if cache_dir else jkeras_home()
    return os.path.join(base, cache_subdir, fname)


def get_file(fname: str | None = None, origin: str | None = None, file_hash: str | None = None,
             cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, cache_dir: str | None = None,
             force_download: bool = False, md5_hash: str | None = None,
             untar: bool = False) -> str:
    """Returns the local path of a file, downloading it from `origin` once.

    Like `keras.utils.get_file`: `fname` is relative to
    ``cache_dir/cache_subdir`` (default ``$JKERAS_HOME/datasets``) unless it is
    absolute. A file already present is used without re-checking (so files put
    there by hand are trusted); a downloaded file must match `file_hash`
    (sha256, or md5 for a 32-digit hash) before it is kept. Downloads use a
    short timeout (``JKERAS_DOWNLOAD_TIMEOUT`` seconds, default 30) and are
    disabled by ``JKERAS_OFFLINE=1``; either way a missing file raises
    `DatasetUnavailableError` naming the file, the URL and where to put it.
    With `extract=True` (or Keras 1 `untar=True`) a tar or zip archive is also
    unpacked next to it (members that would escape that folder, links and
    devices are refused) and, as in Keras 2, the archive path is returned.
    """
    if fname is None:
        if origin is None:
            raise ValueError("get_file needs `fname` or `origin`.")
        fname = os.path.basename(urllib.request.urlparse(origin).path)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if untar:
        extract = True
        if not str(fname).endswith((".tar.gz", ".tgz", ".tar")):
            fname = f"{fname}.tar.gz"
    target = resolve_path(fname, cache_subdir, cache_dir)
    if force_download or not os.path.exists(target):
        if origin is None:
            raise _unavailable(fname, target, None, "it is not in the cache and no origin URL "
                               "is known")
        if downloads_disabled():
            raise _unavailable(fname, target, origin,
                               "it is not in the cache and downloads are disabled "
                               "(JKERAS_OFFLINE is set)")
        folder = os.path.dirname(target)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise _unavailable(fname, target, origin, f"cannot create the cache folder ({e})") \
                from e
        fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
        os.close(fd)
        try:
            try:
                _download(origin, tmp, _timeout())
            except (urllib.error.URLError, OSError, ValueError) as e:
                reason = getattr(e, "reason", None) or e
                raise _unavailable(fname, target, origin,
                                   f"the download failed ({reason})") from e
            if file_hash:
                algo = _hash_algorithm(file_hash, hash_algorithm)
                got = file_digest(tmp, algo)
                if got != file_hash.lower():
                    raise ValueError(
                        f"The file downloaded from {origin} has {algo} {got}, but "
                        f"{file_hash.lower()} was expected: the download is corrupt or the "
                        f"file changed. Nothing was saved; try again, or download it yourself "
                        f"to {target}."
                    )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    if extract:
        extract_archive(target, os.path.dirname(target))
    return target


def _safe_member_path(root: str, name: str) -> str:
    dest = os.path.realpath(os.path.join(root, name))
    root_real = os.path.realpath(root)
    if os.path.isabs(name) or os.path.commonpath([root_real, dest]) != root_real:
        raise ValueError(f"Refusing to extract archive member {name!r}: it would be written "
                         f"outside {root}.")
    return dest


def extract_archive(path: str, into: str) -> None:
    """Unpacks a tar(.gz/.bz2/.xz) or zip archive into `into`, refusing members
    that would land outside it, links and special files."""
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                dest = _safe_member_path(into, member.name)
                if member.isdir():
                    os.makedirs(dest, exist_ok=True)
                    continue
                if not member.isfile():
                    raise ValueError(f"Refusing to extract {member.name!r} from {path}: only "
                                     f"regular files and folders are extracted.")
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                src = tar.extractfile(member)
                with src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                dest = _safe_member_path(into, info.filename)
                if info.is_dir():
                    os.makedirs(dest, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
    else:
        raise ValueError(f"Cannot extract {path}: it is neither a tar nor a zip archive.")


def dataset_file(fname: str, origin: str, file_hash: str | None,
                 cache_subdir: str = "datasets") -> str:
    """`get_file` for the built-in datasets."""
    return get_file(fname, origin=origin, file_hash=file_hash, cache_subdir=cache_subdir)


def optional_import(module: str, package: str, what: str):
    """Imports an optional dependency, or raises ImportError telling how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"{what} needs the '{package}' package, which is not installed. Install the "
            f"demo extra: pip install 'jkeras[demo]' (or: pip install {package})."
        ) from e
