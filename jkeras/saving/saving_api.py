"""Public entry points: save_model / load_model / save_weights / load_weights /
model_from_json, choosing the format from the file name (and, when loading,
from the file's first bytes)."""

from __future__ import annotations

import io
import os

from jkeras.saving import json_utils
from jkeras.saving import serialization as ser

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _path(filepath) -> str:
    if isinstance(filepath, (str, bytes, os.PathLike)):
        p = os.fsdecode(filepath)
        return os.path.expanduser(p)
    raise TypeError(
        f"Expected a file path (str or os.PathLike), got {type(filepath).__name__}."
    )


def _sniff(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except IsADirectoryError:
        raise IsADirectoryError(
            f"'{path}' is a folder. TensorFlow SavedModel folders cannot be loaded by jkeras; "
            f"save the model as .keras or .h5 with Keras first."
        ) from None


def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True,
               **kwargs) -> None:
    """Saves a model: `.keras` (Keras 3 zip, recommended) or `.h5`/`.hdf5` (Keras 2
    layout). Written atomically: a crash mid-save leaves any previous file whole."""
    from jkeras.saving.atomic import atomic_write, check_overwrite

    save_format = kwargs.pop("save_format", None)
    kwargs.pop("signatures", None)
    kwargs.pop("options", None)
    kwargs.pop("zipped", None)
    if kwargs:
        raise TypeError(f"save_model got unexpected arguments {sorted(kwargs)}.")
    if isinstance(filepath, io.IOBase):
        import tempfile

        from jkeras.saving import keras_file

        with tempfile.TemporaryDirectory() as d:
            tmp = os.path.join(d, "model.keras")
            keras_file.save_keras_file(model, tmp, include_optimizer)
            with open(tmp, "rb") as f:
                filepath.write(f.read())
        return
    path = _path(filepath)
    if save_format in ("h5", "hdf5") or path.endswith((".h5", ".hdf5")):
        if path.endswith(".weights.h5"):
            raise ValueError(
                f"'{path}' names a weights file; use model.save_weights for .weights.h5, or "
                f"save the whole model as .keras."
            )
        from jkeras.saving.legacy_h5 import save_legacy_model

        save_legacy_model(model, path, overwrite, include_optimizer)
        return
    if save_format not in (None, "keras") or not path.endswith(".keras"):
        raise ValueError(
            f"Cannot save to '{path}': the file name must end in .keras (the Keras 3 format) "
            f"or .h5 (the Keras 2 format). TensorFlow's SavedModel format is not supported."
        )
    check_overwrite(path, overwrite)
    from jkeras.saving import keras_file

    keras_file.save_keras_file(model, path, include_optimizer)
    _ = atomic_write


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
               safe_mode: bool = True, max_bytes: int | str | None = None, **kwargs):
    """Loads a model saved as `.keras` (Keras 3 or jkeras) or `.h5` (Keras 1/2).

    Classes come only from jkeras, registered objects and `custom_objects`;
    Python bytecode (`lambda` layers) loads only with `safe_mode=False`. A damaged
    file raises ValueError or OSError naming it; no partially loaded model is
    ever returned. Every weight is checked against the bytes the file stores
    before it is read, and the weights may take at most `max_bytes` in all
    (default: ``$JKERAS_MAX_LOAD_BYTES``, else half of the memory available;
    an int, or a string like "16G"), jkeras's own argument (not in Keras).
    """
    if kwargs.pop("options", None) is not None:
        pass
    if kwargs:
        raise TypeError(f"load_model got unexpected arguments {sorted(kwargs)}.")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError("custom_objects must be a dict of name -> class or function.")
    if isinstance(filepath, io.IOBase):
        data = filepath.read()
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            ext = ".keras" if data[:4] == ZIP_MAGIC else ".h5"
            tmp = os.path.join(d, "model" + ext)
            with open(tmp, "wb") as f:
                f.write(data)
            return load_model(tmp, custom_objects, compile, safe_mode, max_bytes)
    path = _path(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: '{path}'.")
    magic = _sniff(path)
    from jkeras.saving import keras_file, legacy_h5

    if magic.startswith(HDF5_MAGIC):
        return legacy_h5.load_legacy_model(path, custom_objects, compile, safe_mode, max_bytes)
    if magic.startswith(ZIP_MAGIC) or path.endswith(".keras"):
        return keras_file.load_keras_file(path, custom_objects, compile, safe_mode, max_bytes)
    if path.endswith((".h5", ".hdf5")):
        return legacy_h5.load_legacy_model(path, custom_objects, compile, safe_mode, max_bytes)
    if not magic:
        raise ValueError(f"'{path}' is empty (0 bytes): not a model file.")
    raise ValueError(
        f"'{path}' is neither a .keras archive nor an HDF5 file (it starts with "
        f"{magic[:8]!r}); it cannot be loaded as a model."
    )


def save_weights(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """Saves the weights: `.weights.h5` (Keras 3 layout) or other `.h5`/`.hdf5`
    (Keras 2 layout, loadable by Keras 1/2 code). Atomic."""
    kwargs.pop("save_format", None)
    kwargs.pop("options", None)
    if kwargs:
        raise TypeError(f"save_weights got unexpected arguments {sorted(kwargs)}.")
    path = _path(filepath)
    if path.endswith(".weights.h5"):
        from jkeras.saving.weights_h5 import save_weights_file

        save_weights_file(model, path, overwrite)
        return
    if path.endswith((".h5", ".hdf5")):
        from jkeras.saving.legacy_h5 import save_legacy_weights

        save_legacy_weights(model, path, overwrite)
        return
    raise ValueError(
        f"Cannot save weights to '{path}': the file name must end in .weights.h5 (Keras 3 "
        f"layout) or .h5 (Keras 2 layout). TensorFlow checkpoints are not supported."
    )


def load_weights(model, filepath, skip_mismatch: bool = False, by_name: bool = False,
                 max_bytes: int | str | None = None, **kwargs) -> None:
    """Loads weights into `model` from `.weights.h5`, `.keras`, or a Keras 1/2
    `.h5` file (by topology, or `by_name=True`). All weights are read and checked
    before any is assigned; each is checked against the model's shape and the
    bytes the file stores before it is read, and what is read may take at most
    `max_bytes` (as in `load_model`)."""
    kwargs.pop("options", None)
    if kwargs:
        raise TypeError(f"load_weights got unexpected arguments {sorted(kwargs)}.")
    path = _path(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such weights file: '{path}'.")
    magic = _sniff(path)
    if not magic:
        raise ValueError(f"'{path}' is empty (0 bytes): not a weights file.")
    if magic.startswith(ZIP_MAGIC) or path.endswith(".keras"):
        if by_name:
            raise ValueError("by_name=True works with Keras 1/2 .h5 files, not .keras files.")
        _load_weights_from_keras(model, path, skip_mismatch, max_bytes)
        return
    from jkeras.saving import h5_storage, legacy_h5
    from jkeras.saving import weights_h5 as wh5
    from jkeras.saving.limits import ReadBudget, load_limit

    source = f"'{path}'"
    budget = ReadBudget(load_limit(max_bytes), source)
    with wh5.open_h5(path, source) as f:
        h5_storage.check_file(f, source)
        legacy = legacy_h5.is_legacy_weights_file(f)
        if not legacy:
            if by_name:
                raise ValueError(
                    f"{source} is a Keras 3 weights file; by_name=True works only with Keras "
                    f"1/2 .h5 files. Load by topology (by_name=False)."
                )
            assignments, opt = wh5.read_weights(f, model, source, skip_mismatch,
                                                budget=budget)
        else:
            assignments = legacy_h5.read_legacy_weights(f, model, source, by_name,
                                                        skip_mismatch, budget)
            opt = None
    wh5.assign_all(assignments, model, opt)


def _load_weights_from_keras(model, path: str, skip_mismatch: bool, max_bytes) -> None:
    from jkeras.saving import h5_storage, keras_file
    from jkeras.saving import weights_h5 as wh5
    from jkeras.saving.limits import ReadBudget, load_limit

    budget = ReadBudget(load_limit(max_bytes), f"'{path}'")
    with keras_file._open_zip(path) as zf:
        info = keras_file._member(zf, keras_file.WEIGHTS_FILENAME, path)
        budget.ensure(info.file_size, keras_file.WEIGHTS_FILENAME)
        keras_file.verify_member(zf, info, path)
        try:
            wfile = zf.open(info)
        except Exception as e:  # noqa: BLE001 - damaged archive
            raise ValueError(f"'{path}': {keras_file.WEIGHTS_FILENAME} cannot be opened "
                             f"({e}).") from None
        with wfile, wh5.open_h5(wfile, f"'{path}'") as f:
            h5_storage.check_file(f, f"'{path}'")
            assignments, opt = wh5.read_weights(f, model, f"'{path}'", skip_mismatch,
                                                budget=budget)
    wh5.assign_all(assignments, model, opt)


def model_to_json(model, **kwargs) -> str:
    """The model's config as a JSON string (Keras 3 layout)."""
    return json_utils.dumps(ser.serialize_keras_object(model), **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None,
                    safe_mode: bool = True):
    """A new model (fresh weights) from `model.to_json()` output (Keras 1/2/3)."""
    from jkeras.engine.layer import Layer
    from jkeras.saving.limits import AllocationBudget, allocation_budget, load_limit

    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"model_from_json expects a JSON string, got {type(json_string)}.")
    config = json_utils.loads(json_string, "The model JSON")
    if not isinstance(config, dict):
        raise ValueError("The model JSON must hold an object with class_name and config.")
    config.pop("compile_config", None)
    limit = load_limit()
    budget = AllocationBudget(limit.max_bytes, "The model JSON", limit.origin)
    with allocation_budget(budget):
        model = ser.deserialize_keras_object(config, custom_objects=custom_objects,
                                             safe_mode=safe_mode, kind="layer")
    if not isinstance(model, Layer):
        raise ValueError(f"The model JSON describes a {type(model).__name__}, not a model.")
    return model


def model_from_config(config: dict, custom_objects: dict | None = None):
    """A model from a `{"class_name", "config"}` dict (Keras 2 name)."""
    if not isinstance(config, dict):
        raise ValueError("model_from_config expects a dict with class_name and config.")
    return ser.deserialize_keras_object(config, custom_objects=custom_objects, kind="layer")
