"""Checks that an HDF5 weights file stores what it declares, before reading.

A dataset's shape is metadata: a 16 KB file can declare a (4, 250_000_000)
array whose chunks were never written, and reading it makes h5py allocate 4 GB
of fill values. So before a dataset is read:

* its data must live in the file itself (no external storage, no virtual
  dataset, no link to another file: a weights file never makes jkeras read other
  files);
* the bytes the file stores for it (`get_storage_size`: allocated contiguous
  space or written chunks) must back the declared size: all of it for an
  uncompressed dataset, at least 1/`MAX_COMPRESSION_RATIO` of it for a filtered
  (compressed) one, and never more than the whole file;
* what is read is charged to the load's `ReadBudget` (see `limits.py`).

Every refusal is a `FileLimitError` naming the file, the dataset, its declared
shape and size, and what the file stores.
"""

from __future__ import annotations

import numpy as np

from jkeras.saving.limits import FileLimitError, ReadBudget

#: Deflate (gzip), the filter HDF5 files use, cannot compress better than 1032:1;
#: a dataset declaring more than this many bytes per stored byte is refused.
MAX_COMPRESSION_RATIO = 1100

_NUMERIC_KINDS = "biuf"
_DAMAGED = ("The file is damaged or was crafted to exhaust memory; nothing was read. Use "
            "the original file, or re-save the model from the code that trained it.")


def declared_nbytes(ds) -> int:
    """Bytes the dataset's shape and dtype declare (0 for an empty dataspace)."""
    if ds.shape is None:
        return 0
    n = 1
    for d in ds.shape:
        n *= int(d)
    return n * max(1, ds.dtype.itemsize)


def describe(ds) -> str:
    shape = tuple(int(d) for d in ds.shape) if ds.shape is not None else None
    return f"shape {shape} {ds.dtype} ({declared_nbytes(ds):,} bytes)"


def file_size(h5obj) -> int:
    """Size in bytes of the HDF5 file holding `h5obj`."""
    return int(h5obj.file.id.get_filesize())


def check_dataset(ds, where: str, size_of_file: int | None = None) -> int:
    """Returns the dataset's declared size in bytes after checking that the file
    stores it (see module docstring); FileLimitError naming `where` otherwise."""
    import h5py

    if ds.is_virtual:
        raise FileLimitError(
            f"{where} is a virtual dataset (its data comes from other files); a weights "
            f"file must hold its own data, and jkeras reads no other file on its behalf.")
    if ds.external:
        names = [e[0] for e in ds.external][:3]
        raise FileLimitError(
            f"{where} keeps its data in external file(s) {names}; a weights file must hold "
            f"its own data, and jkeras reads no other file on its behalf. {_DAMAGED}")
    declared = declared_nbytes(ds)
    if declared == 0:
        return 0
    plist = ds.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.COMPACT:
        return declared  # stored inside the object header, whole
    stored = int(ds.id.get_storage_size())
    if size_of_file is None:
        size_of_file = file_size(ds)
    chunked = ds.chunks is not None
    if stored == 0:
        how = "no chunk of it was written" if chunked else "its space was never allocated"
        raise FileLimitError(
            f"{where} declares {describe(ds)} but the file stores no data for it ({how}). "
            f"{_DAMAGED}")
    if stored > size_of_file:
        raise FileLimitError(
            f"{where} declares {describe(ds)} and claims {stored:,} stored bytes, more than "
            f"the whole file ({size_of_file:,} bytes). {_DAMAGED}")
    if plist.get_nfilters() == 0:
        if stored < declared:
            raise FileLimitError(
                f"{where} declares {describe(ds)} but stores only {stored:,} bytes of it "
                f"(uncompressed data must be stored in full). {_DAMAGED}")
    elif declared > stored * MAX_COMPRESSION_RATIO:
        raise FileLimitError(
            f"{where} declares {describe(ds)} from {stored:,} compressed bytes: "
            f"{declared / stored:,.0f} to 1, beyond the {MAX_COMPRESSION_RATIO:,} to 1 "
            f"compression can reach (deflate's limit is 1,032 to 1). {_DAMAGED}")
    return declared


def read_dataset(ds, where: str, budget: ReadBudget | None) -> np.ndarray:
    """The dataset's data, read only after `check_dataset` and after charging
    its size to `budget`."""
    nbytes = check_dataset(ds, where)
    if budget is not None:
        budget.charge(nbytes, f"{where.removeprefix(budget.source + ': ')} "
                              f"({describe(ds)})")
    return np.asarray(ds[()])


def check_file(root, source: str) -> tuple[int, str]:
    """Checks every link and numeric dataset under `root` (an h5py File or
    Group) before anything is read. Returns (total declared bytes of the
    numeric datasets, a description of the largest); FileLimitError naming
    `source` and the entry on a link to another file or a dataset whose data
    the file does not store."""
    import h5py

    links: list[str] = []

    def on_link(name, info):
        if info.type not in (h5py.h5l.TYPE_HARD, h5py.h5l.TYPE_SOFT):
            links.append(name.decode("utf-8", "replace") if isinstance(name, bytes) else name)
        return None

    try:
        root.id.links.visit(on_link, info=True)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        raise ValueError(f"{source}: the structure of the weights file cannot be read "
                         f"({type(e).__name__}: {e}); it is damaged.") from None
    if links:
        raise FileLimitError(
            f"{source}: entry '{links[0]}' is a link to another file; a weights file must "
            f"hold its own data, and jkeras reads no other file on its behalf. {_DAMAGED}")
    size_of_file = file_size(root)
    total, largest, largest_bytes = 0, "none", -1

    def on_object(name, obj):
        nonlocal total, largest, largest_bytes
        if not isinstance(obj, h5py.Dataset) or obj.dtype.kind not in _NUMERIC_KINDS:
            return None
        nbytes = check_dataset(obj, f"{source}: dataset '{obj.name}'", size_of_file)
        total += nbytes
        if nbytes > largest_bytes:
            largest, largest_bytes = f"dataset '{obj.name}', {describe(obj)}", nbytes
        return None

    try:
        root.visititems(on_object)
    except FileLimitError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        raise ValueError(f"{source}: the datasets of the weights file cannot be read "
                         f"({type(e).__name__}: {e}); it is damaged.") from None
    return total, largest


def check_total(total: int, largest: str, budget: ReadBudget) -> None:
    """Checks, before any read, that a whole file's declared bytes fit in
    `budget` (naming its largest dataset if not); charges nothing."""
    budget.ensure(total, f"its weights ({total:,} bytes declared in all; largest: "
                         f"{largest})")
