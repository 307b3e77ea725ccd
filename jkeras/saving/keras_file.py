"""The `.keras` zip archive (Keras 3 layout): `metadata.json`, `config.json`,
`model.weights.h5`, and layers' `assets/` (see `assets.py`).

Loading checks the archive, parses the config under an allocation budget
derived from the weights file, reads and checks every weight, and only then
assigns them and compiles; any problem raises ValueError/OSError naming the
file, and no model is returned.
"""

from __future__ import annotations

import datetime
import os
import zipfile

from jkeras.saving import assets, h5_storage, json_utils
from jkeras.saving import serialization as ser
from jkeras.saving import weights_h5 as wh5
from jkeras.saving.limits import (
    SLACK_BYTES,
    AllocationBudget,
    LoadLimit,
    ReadBudget,
    allocation_budget,
    load_limit,
)

CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.h5"
# The Keras version whose .keras layout jkeras writes.
KERAS_FORMAT_VERSION = "3.6.0"


def model_config(model) -> dict:
    """The full config written to config.json (with compile_config if compiled)."""
    config = ser.serialize_keras_object(model)
    compile_config = get_compile_config(model)
    if compile_config is not None:
        config["compile_config"] = ser.serialize_keras_object(compile_config)
    return config


def get_compile_config(model) -> dict | None:
    """The arguments `compile` was called with (hook: `model.get_compile_config()`
    or `model._compile_config`), or None if the model is not compiled."""
    if not getattr(model, "compiled", False):
        return None
    getter = getattr(model, "get_compile_config", None)
    cfg = getter() if callable(getter) else getattr(model, "_compile_config", None)
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise ValueError(
            f"Model '{model.name}': get_compile_config() must return a dict, got "
            f"{type(cfg).__name__}."
        )
    return cfg


def save_keras_file(model, filepath, include_optimizer: bool = True) -> None:
    """Writes `filepath` (.keras) atomically."""
    import jkeras
    from jkeras.saving.atomic import atomic_write

    config = model_config(model)
    if not include_optimizer:
        config.pop("compile_config", None)
    config_json = json_utils.dumps(config)
    metadata = json_utils.dumps({
        "keras_version": KERAS_FORMAT_VERSION,
        "jkeras_version": jkeras.__version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    })
    weights = wh5.weights_h5_bytes(model, include_optimizer=include_optimizer)
    layer_assets = assets.collect_assets(model)
    with atomic_write(filepath) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(METADATA_FILENAME, metadata)
            zf.writestr(CONFIG_FILENAME, config_json)
            zf.writestr(WEIGHTS_FILENAME, weights)
            for name, data in layer_assets:
                zf.writestr(name, data)


def _open_zip(filepath: str) -> zipfile.ZipFile:
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such file: '{filepath}'.")
    if os.path.isdir(filepath):
        raise IsADirectoryError(
            f"'{filepath}' is a folder, not a .keras file (TensorFlow SavedModel folders "
            f"cannot be loaded by jkeras)."
        )
    if os.path.getsize(filepath) == 0:
        raise ValueError(f"'{filepath}' is empty (0 bytes): not a .keras file.")
    try:
        zf = zipfile.ZipFile(filepath, "r")
    except zipfile.BadZipFile as e:
        raise ValueError(
            f"'{filepath}' is not a valid .keras file: it is not a complete zip archive "
            f"({e}). It may be truncated or damaged."
        ) from None
    except OSError:
        raise
    except Exception as e:  # noqa: BLE001 - struct.error, EOFError... from a damaged file
        raise ValueError(
            f"'{filepath}' cannot be opened as a .keras archive ({type(e).__name__}: {e}); "
            f"it is damaged."
        ) from None
    return zf


def verify_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, filepath: str) -> None:
    """Reads a member once in full so that zipfile checks its CRC-32: random
    damage to the weights is reported instead of loaded."""
    try:
        with zf.open(info) as f:
            while f.read(1 << 20):
                pass
    except Exception as e:  # noqa: BLE001 - BadZipFile (bad CRC), zlib.error, EOFError...
        raise ValueError(
            f"'{filepath}': {info.filename} is damaged ({type(e).__name__}: {e})."
        ) from None


def _member(zf: zipfile.ZipFile, name: str, filepath: str) -> zipfile.ZipInfo:
    infos = [i for i in zf.infolist() if i.filename == name]
    if not infos:
        raise ValueError(
            f"'{filepath}' is not a .keras model file: the archive has no {name} "
            f"(it holds {zf.namelist()[:10]})."
        )
    if len(infos) > 1:
        raise ValueError(f"'{filepath}': the archive holds {name} {len(infos)} times.")
    return infos[0]


def _read_member(zf, info, filepath: str, limit: int) -> bytes:
    if info.file_size > limit:
        raise ValueError(
            f"'{filepath}': {info.filename} declares {info.file_size} bytes, more than the "
            f"{limit} allowed; the file is damaged or crafted."
        )
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except Exception as e:  # noqa: BLE001 - BadZipFile, zlib.error... from corrupt data
        raise ValueError(
            f"'{filepath}': {info.filename} cannot be read ({type(e).__name__}: {e}); the "
            f"file is damaged."
        ) from None
    if len(data) > limit:
        raise ValueError(f"'{filepath}': {info.filename} is larger than {limit} bytes.")
    return data


def read_config(filepath) -> dict:
    """The parsed config.json of a .keras file (checks only the archive/JSON)."""
    filepath = os.fspath(filepath)
    with _open_zip(filepath) as zf:
        info = _member(zf, CONFIG_FILENAME, filepath)
        data = _read_member(zf, info, filepath, json_utils.MAX_CONFIG_BYTES)
    config = json_utils.loads(data, f"'{filepath}' {CONFIG_FILENAME}")
    if not isinstance(config, dict):
        raise ValueError(f"'{filepath}': {CONFIG_FILENAME} must hold a JSON object.")
    return config


def load_keras_file(filepath, custom_objects=None, compile: bool = True,  # noqa: A002
                    safe_mode: bool = True, max_bytes=None):
    """A model from a .keras file; see module docstring for the guarantees.
    The weights may take at most `load_limit(max_bytes)` bytes."""
    from jkeras.engine.layer import Layer

    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    budget = ReadBudget(load_limit(max_bytes), source)
    with _open_zip(filepath) as zf:
        cinfo = _member(zf, CONFIG_FILENAME, filepath)
        winfo = _member(zf, WEIGHTS_FILENAME, filepath) if WEIGHTS_FILENAME in zf.namelist() \
            else None
        if winfo is None:
            if "model.weights.npz" in zf.namelist():
                raise ValueError(
                    f"'{filepath}' stores its weights as model.weights.npz, a pickle-based "
                    f"format jkeras refuses to read. Re-save it with Keras using the default "
                    f"weights_format='h5'."
                )
            raise ValueError(f"'{filepath}' has no {WEIGHTS_FILENAME}: not a complete model.")
        data = _read_member(zf, cinfo, filepath, json_utils.MAX_CONFIG_BYTES)
        config = json_utils.loads(data, f"'{filepath}' {CONFIG_FILENAME}")
        if not isinstance(config, dict):
            raise ValueError(f"'{filepath}': {CONFIG_FILENAME} must hold a JSON object.")
        compile_config = config.pop("compile_config", None)
        budget.ensure(winfo.file_size, WEIGHTS_FILENAME)
        verify_member(zf, winfo, filepath)
        try:
            wfile = zf.open(winfo)
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"'{filepath}': {WEIGHTS_FILENAME} cannot be opened ({e}).") \
                from None
        with wfile:
            with wh5.open_h5(wfile, f"'{filepath}' ({WEIGHTS_FILENAME})") as h5:
                declared, largest = h5_storage.check_file(h5, source)
                h5_storage.check_total(declared, largest, budget)
                model = build_from_config(config, custom_objects, safe_mode,
                                          variables_budget(declared, budget.limit, source),
                                          source)
                if not isinstance(model, Layer):
                    raise ValueError(
                        f"{source}: config.json describes a {type(model).__name__}, not a "
                        f"model or layer."
                    )
                if compile and compile_config:
                    compile_from_config(model, compile_config, custom_objects, safe_mode, source)
                assignments, opt_arrays = wh5.read_weights(
                    h5, model, source, include_optimizer=bool(compile and compile_config),
                    budget=budget)
        pending_assets = assets.read_assets(zf, model, filepath, _read_member)
    wh5.assign_all(assignments, model, opt_arrays)
    assets.load_assets(pending_assets, filepath)
    return model


def variables_budget(declared: int, limit: LoadLimit, source: str) -> AllocationBudget:
    """What the variables of a model rebuilt from a config may take: what its
    weights file declares (checked against the bytes it stores) plus a margin,
    within the load's limit."""
    if declared + SLACK_BYTES <= limit.max_bytes:
        return AllocationBudget(declared + SLACK_BYTES, source,
                                f"its weights file holds plus a {SLACK_BYTES >> 20} MiB margin")
    return AllocationBudget(limit.max_bytes, source, f"the {limit.describe()} one load may "
                                                     f"take")


def build_from_config(config, custom_objects, safe_mode, budget, source: str):
    """Deserializes a model config under an allocation budget; errors name `source`."""
    try:
        with allocation_budget(budget):
            return ser.deserialize_keras_object(config, custom_objects=custom_objects,
                                                safe_mode=safe_mode, kind="layer")
    except ValueError as e:
        msg = str(e)
        if msg.startswith(source):
            raise
        raise ValueError(f"Cannot load {source}: {msg}") from e
    except RecursionError:
        raise ValueError(f"Cannot load {source}: the config is nested too deeply.") from None


def compile_from_config(model, compile_config, custom_objects, safe_mode, source: str) -> None:
    """Compiles `model` with the deserialized compile arguments (hook:
    `model.compile_from_config(config)` if defined, else `model.compile(**config)`)."""
    if not isinstance(compile_config, dict):
        raise ValueError(f"{source}: compile_config must be a JSON object.")
    try:
        args = {}
        for key, value in compile_config.items():
            kind = {"optimizer": "optimizer", "loss": "loss", "metrics": "metric",
                    "weighted_metrics": "metric"}.get(key)
            args[key] = ser.deserialize_keras_object(value, custom_objects=custom_objects,
                                                     safe_mode=safe_mode, kind=kind)
        hook = getattr(model, "compile_from_config", None)
        if callable(hook):
            hook(args)
            return
        compile_fn = getattr(model, "compile", None)
        if not callable(compile_fn):
            raise ValueError("this jkeras build has no Model.compile")
        import inspect

        params = inspect.signature(compile_fn).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            args = {k: v for k, v in args.items() if k in params}
        compile_fn(**args)
    except ValueError as e:
        raise ValueError(
            f"Cannot compile the model loaded from {source}: {e}. Pass compile=False to load "
            f"it uncompiled."
        ) from e
    except Exception as e:  # noqa: BLE001
        raise ValueError(
            f"Cannot compile the model loaded from {source}: {type(e).__name__}: {e}. Pass "
            f"compile=False to load it uncompiled."
        ) from e
