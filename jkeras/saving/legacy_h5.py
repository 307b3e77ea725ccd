"""Keras 1/2 HDF5 files: weights (`save_weights('w.h5')`) and whole models
(`model.save('m.h5')`).

Layout: the root (or its `model_weights` group, in whole-model files) has a
`layer_names` attribute; each layer's group has a `weight_names` attribute
listing dataset paths inside the group (Keras 2: `dense_1/kernel:0`, Keras 1:
`dense_1_W`). Whole-model files also carry `model_config` (JSON) and
`training_config` attributes. Weights load by topology (layers with weights,
in order) or by layer name, with Keras 2's conversions of Keras 1 weights
(fused LSTM/GRU gates, Theano/channels-first convolution kernels).
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from jkeras.saving import h5_storage, json_utils
from jkeras.saving import weights_h5 as wh5
from jkeras.saving.limits import FileLimitError, ReadBudget, load_limit

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
WRITE_KERAS_VERSION = "2.15.0"


def _decode(x):
    if isinstance(x, bytes):
        return x.decode("utf-8")
    if isinstance(x, np.bytes_):
        return bytes(x).decode("utf-8")
    return str(x)


def read_attr_list(group, name: str, source: str) -> list[str] | None:
    """A list-of-strings attribute, also when Keras split it into name0, name1..."""
    try:
        attrs = group.attrs
        if name in attrs:
            data = attrs[name]
        elif f"{name}0" in attrs:
            data, i = [], 0
            while f"{name}{i}" in attrs:
                data.extend(list(attrs[f"{name}{i}"]))
                i += 1
                if i > 100_000:
                    raise ValueError("too many attribute chunks")
        else:
            return None
        if isinstance(data, (bytes, str, np.bytes_)):
            data = [data]
        return [_decode(x) for x in np.asarray(data).ravel().tolist()]
    except (OSError, RuntimeError, TypeError, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{source}: attribute '{name}' cannot be read ({e}).") from None


def is_legacy_weights_file(h5file) -> bool:
    return "layer_names" in h5file.attrs or "layer_names0" in h5file.attrs or (
        "model_weights" in h5file)


def _weights_root(h5file):
    if "layer_names" not in h5file.attrs and "layer_names0" not in h5file.attrs and (
        "model_weights" in h5file
    ):
        return h5file["model_weights"]
    return h5file


def _file_version(root, h5file) -> tuple[str, str | None]:
    version = None
    for holder in (root, h5file):
        if "keras_version" in holder.attrs:
            version = _decode(holder.attrs["keras_version"])
            break
    backend = None
    for holder in (root, h5file):
        if "backend" in holder.attrs:
            backend = _decode(holder.attrs["backend"])
            break
    return ("1" if version is None or version.startswith("1") else version), backend


def _layer_arrays(root, name: str, source: str) -> list:
    """The (lazy) datasets of a layer group, in weight_names order."""
    import h5py

    if name not in root:
        raise ValueError(f"{source}: the file lists layer '{name}' but has no group for it.")
    g = root[name]
    names = read_attr_list(g, "weight_names", source) or []
    out = []
    for wn in names:
        try:
            ds = g[wn]
        except (KeyError, ValueError, OSError):
            raise ValueError(
                f"{source}: layer '{name}' lists weight '{wn}' but the file has no such "
                f"dataset."
            ) from None
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
            raise ValueError(f"{source}: weight '{name}/{wn}' is not a numeric dataset.")
        out.append(ds)
    return out


def legacy_weights(layer) -> list:
    """A layer's weights in Keras 2's order: trainable, then non-trainable (for a
    nested model, layer by layer in Keras order)."""
    from jkeras.engine.functional import Functional

    if isinstance(layer, Functional):
        from jkeras.saving.functional_config import keras_layer_order

        seen, trainable, non_trainable = set(), [], []
        for sub in keras_layer_order(layer):
            if sub is layer:
                continue
            for v in legacy_weights(sub):
                if id(v) in seen:
                    continue
                seen.add(id(v))
                (trainable if v.trainable and layer.trainable and sub.trainable
                 else non_trainable).append(v)
        return trainable + non_trainable
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _model_layers(model) -> list:
    from jkeras.saving.functional_config import keras_layer_order

    return [la for la in keras_layer_order(model) if la is not model]


def _cls(name: str):
    from jkeras.saving.registry import builtin_class

    return builtin_class("layer", name)


def _isa(layer, *names) -> bool:
    for n in names:
        cls = _cls(n)
        if cls is not None and isinstance(layer, cls):
            return True
    return False


def convert_kernel(kernel: np.ndarray) -> np.ndarray:
    """Flips the spatial axes of a convolution kernel (Theano <-> TensorFlow)."""
    slices = [slice(None, None, -1)] * (kernel.ndim - 2) + [slice(None), slice(None)]
    return np.copy(kernel[tuple(slices)])


def preprocess_weights(layer, arrays: list, version: str, backend: str | None) -> list:
    """Keras 2's conversion of older weights to the current layouts."""
    from jkeras.engine.functional import Functional

    arrays = list(arrays)
    if _isa(layer, "Bidirectional"):
        half = len(arrays) // 2
        fwd = getattr(layer, "forward_layer", None)
        bwd = getattr(layer, "backward_layer", None)
        if fwd is not None and bwd is not None:
            arrays = (preprocess_weights(fwd, arrays[:half], version, backend)
                      + preprocess_weights(bwd, arrays[half:], version, backend))
    if _isa(layer, "TimeDistributed") and getattr(layer, "layer", None) is not None:
        arrays = preprocess_weights(layer.layer, arrays, version, backend)
    elif isinstance(layer, Functional):
        n_train = len([v for v in legacy_weights(layer) if v.trainable and layer.trainable])
        train, non_train = arrays[:n_train], arrays[n_train:]
        new_t, new_nt = [], []
        for sub in _model_layers(layer):
            sub_w = legacy_weights(sub)
            if not sub_w:
                continue
            nt = len([v for v in sub_w if v.trainable and sub.trainable and layer.trainable])
            nn = len(sub_w) - nt
            part = preprocess_weights(sub, train[:nt] + non_train[:nn], version, backend)
            new_t.extend(part[:nt])
            new_nt.extend(part[nt:])
            train, non_train = train[nt:], non_train[nn:]
        arrays = new_t + new_nt + train + non_train
    if version == "1":
        if _isa(layer, "Conv1D") and arrays and arrays[0].ndim == 4:
            w = arrays[0]
            ks = tuple(getattr(layer, "kernel_size", (w.shape[0],)))
            filters = getattr(layer, "filters", None)
            if w.shape[:2] != (ks[0], 1) or w.shape[3] != filters:
                w = np.transpose(w, (2, 3, 1, 0))
            arrays[0] = w[:, 0, :, :]
        if _isa(layer, "Conv2DTranspose") and arrays:
            if getattr(layer, "data_format", None) == "channels_first":
                arrays[0] = np.transpose(arrays[0], (2, 3, 0, 1))
            else:
                arrays[0] = np.transpose(arrays[0], (0, 1, 3, 2))
        elif _isa(layer, "Conv2D") and arrays and getattr(layer, "data_format", None) == (
            "channels_first"
        ):
            arrays[0] = np.transpose(arrays[0], (2, 3, 1, 0))
        if _isa(layer, "Conv3D") and arrays and getattr(layer, "data_format", None) == (
            "channels_first"
        ):
            arrays[0] = np.transpose(arrays[0], (2, 3, 4, 1, 0))
        if _isa(layer, "GRU") and len(arrays) == 9:
            arrays = [np.concatenate([arrays[i], arrays[i + 3], arrays[i + 6]], axis=-1)
                      for i in range(3)]
        if _isa(layer, "LSTM") and len(arrays) == 12:
            # Keras 1 gate order i, c, f, o -> i, f, c, o
            arrays = [np.concatenate([arrays[i], arrays[i + 6], arrays[i + 3], arrays[i + 9]],
                                     axis=-1) for i in range(3)]
    if _isa(layer, "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose") and arrays:
        if backend == "theano":
            arrays[0] = convert_kernel(arrays[0])
        weights = legacy_weights(layer)
        if weights and tuple(weights[0].shape) != arrays[0].shape and arrays[0].ndim == 4:
            arrays[0] = np.transpose(arrays[0], (3, 2, 0, 1))
    return arrays


def _check_and_pair(layer, arrays: list, source: str, file_layer: str, skip: bool):
    variables = legacy_weights(layer)
    if len(variables) != len(arrays):
        msg = (f"{source}: layer '{layer.name}' ({type(layer).__name__}) expects "
               f"{len(variables)} weight(s), but the file's layer '{file_layer}' has "
               f"{len(arrays)}.")
        if skip:
            warnings.warn(f"Skipping layer '{layer.name}': {msg}", stacklevel=4)
            return []
        raise ValueError(msg)
    pairs = []
    for var, arr in zip(variables, arrays):
        if tuple(arr.shape) != tuple(var.shape):
            msg = (f"{source}: weight '{var.path}' of layer '{layer.name}' has shape "
                   f"{tuple(var.shape)}, but the file's layer '{file_layer}' holds shape "
                   f"{tuple(arr.shape)}.")
            if skip:
                warnings.warn(f"Skipping weight: {msg}", stacklevel=4)
                continue
            raise ValueError(msg)
        pairs.append((var, arr))
    return pairs


def _read_arrays(datasets: list, source: str, budget: ReadBudget | None) -> list[np.ndarray]:
    out = []
    for ds in datasets:
        try:
            out.append(h5_storage.read_dataset(ds, f"{source}: dataset '{ds.name}'", budget))
        except FileLimitError:
            raise
        except (OSError, RuntimeError, ValueError, TypeError) as e:
            raise ValueError(f"{source}: dataset '{ds.name}' cannot be read ({e}).") from None
    return out


def _sizes_fit(layer, datasets: list, source: str, file_layer: str, skip: bool) -> bool:
    """Checks, before reading, that the file's arrays for `layer` hold no more
    values than its weights (Keras 2's conversions of old layouts keep the number
    of values), so a crafted shape is refused without being read. False (with a
    warning) to skip the layer under `skip_mismatch`."""
    held = sum(h5_storage.declared_nbytes(ds) // max(1, ds.dtype.itemsize) for ds in datasets)
    variables = legacy_weights(layer)
    needed = sum(int(np.prod(v.shape)) for v in variables)
    if held <= needed:
        return True
    msg = (f"{source}: layer '{layer.name}' ({type(layer).__name__}) has weights of shapes "
           f"{[tuple(v.shape) for v in variables]} ({needed:,} values), but the file's layer "
           f"'{file_layer}' declares {[tuple(ds.shape) for ds in datasets][:8]} "
           f"({held:,} values); nothing of it was read.")
    if skip:
        warnings.warn(f"Skipping layer '{layer.name}': {msg}", stacklevel=4)
        return False
    raise ValueError(msg)


def read_legacy_weights(h5file, model, source: str, by_name: bool = False,
                        skip_mismatch: bool = False, budget: ReadBudget | None = None) -> list:
    """[(variable, array)] checked against the model; nothing assigned. Each
    layer's arrays are checked against its weights and the file's storage
    before they are read, and what is read is charged to `budget` (default:
    `load_limit()`)."""
    if budget is None:
        budget = ReadBudget(load_limit(), source)
    root = _weights_root(h5file)
    names = read_attr_list(root, "layer_names", source)
    if names is None:
        raise ValueError(
            f"{source} has no 'layer_names' attribute: it is not a Keras 1/2 weights file."
        )
    version, backend = _file_version(root, h5file)
    layers = _model_layers(model)
    file_layers = []
    for n in names:
        ds = _layer_arrays(root, n, source)
        if ds:
            file_layers.append((n, ds))
    pairs: list = []
    if by_name:
        index: dict[str, list] = {}
        for la in layers:
            index.setdefault(la.name, []).append(la)
        for fname, ds in file_layers:
            for la in index.get(fname, []):
                if not _sizes_fit(la, ds, source, fname, skip_mismatch):
                    continue
                arrays = preprocess_weights(la, _read_arrays(ds, source, budget), version,
                                            backend)
                pairs.extend(_check_and_pair(la, arrays, source, fname, skip_mismatch))
        return pairs
    with_weights = [la for la in layers if legacy_weights(la)]
    if len(with_weights) != len(file_layers):
        raise ValueError(
            f"{source}: the file holds weights for {len(file_layers)} layer(s) "
            f"{[n for n, _ in file_layers][:20]}, but the model has {len(with_weights)} "
            f"layer(s) with weights {[la.name for la in with_weights][:20]}. Load by "
            f"topology needs the same architecture; use by_name=True to match by layer name."
        )
    for la, (fname, ds) in zip(with_weights, file_layers):
        if not _sizes_fit(la, ds, source, fname, skip_mismatch):
            continue
        arrays = preprocess_weights(la, _read_arrays(ds, source, budget), version, backend)
        pairs.extend(_check_and_pair(la, arrays, source, fname, skip_mismatch))
    return pairs


def load_legacy_weights(model, filepath, by_name: bool = False,
                        skip_mismatch: bool = False, max_bytes=None) -> None:
    """Loads a Keras 1/2 weights file into `model`, reading at most
    `load_limit(max_bytes)` bytes; all-or-nothing."""
    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    with wh5.open_h5(filepath, source) as f:
        h5_storage.check_file(f, source)
        pairs = read_legacy_weights(f, model, source, by_name, skip_mismatch,
                                    ReadBudget(load_limit(max_bytes), source))
    wh5.assign_all(pairs, model)


def load_legacy_model(filepath, custom_objects=None, compile: bool = True,  # noqa: A002
                      safe_mode: bool = True, max_bytes=None):
    """A whole model from a Keras 1/2 (or jkeras) `.h5` file, whose weights may
    take at most `load_limit(max_bytes)` bytes."""
    from jkeras.engine.layer import Layer
    from jkeras.saving.keras_file import build_from_config, variables_budget

    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    budget = ReadBudget(load_limit(max_bytes), source)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such file: '{filepath}'.")
    with wh5.open_h5(filepath, source) as f:
        if "model_config" not in f.attrs:
            raise ValueError(
                f"{source} holds no model_config: it is a weights-only file. Build the model "
                f"in code and call model.load_weights({source})."
            )
        try:
            raw = f.attrs["model_config"]
        except (OSError, RuntimeError, TypeError, ValueError) as e:
            raise ValueError(f"{source}: model_config cannot be read ({e}).") from None
        if isinstance(raw, (bytes, np.bytes_)):
            raw = bytes(raw)
        config = json_utils.loads(raw, f"{source} model_config")
        if not isinstance(config, dict):
            raise ValueError(f"{source}: model_config must be a JSON object.")
        root = _weights_root(f)
        declared, largest = h5_storage.check_file(root, source)
        h5_storage.check_total(declared, largest, budget)
        model = build_from_config(config, custom_objects, safe_mode,
                                  variables_budget(declared, budget.limit, source), source)
        if not isinstance(model, Layer):
            raise ValueError(f"{source}: model_config describes no model.")
        pairs = read_legacy_weights(f, model, source, budget=budget)
        training = None
        if compile and "training_config" in f.attrs:
            try:
                training = json_utils.loads(f.attrs["training_config"],
                                            f"{source} training_config")
            except ValueError as e:
                warnings.warn(f"{e}; the model is loaded uncompiled.", stacklevel=2)
    wh5.assign_all(pairs, model)
    if isinstance(training, dict):
        _compile_legacy(model, training, custom_objects, safe_mode, source)
    return model


def _compile_legacy(model, training: dict, custom_objects, safe_mode, source: str) -> None:
    from jkeras.saving.keras_file import compile_from_config

    if not callable(getattr(model, "compile", None)):
        return
    cfg = {}
    opt = training.get("optimizer_config")
    if isinstance(opt, dict) and isinstance(opt.get("class_name"), str):
        opt = dict(opt)
        cname = opt["class_name"]
        from jkeras.saving.registry import builtin_class

        for candidate in (cname, cname.capitalize(), cname.upper(),
                          {"rmsprop": "RMSprop", "sgd": "SGD", "adam": "Adam",
                           "adagrad": "Adagrad", "adadelta": "Adadelta", "adamax": "Adamax",
                           "nadam": "Nadam"}.get(cname.lower(), cname)):
            if builtin_class("optimizer", candidate) is not None:
                opt["class_name"] = candidate
                break
        inner = opt.get("config")
        if isinstance(inner, dict):
            inner = {k: v for k, v in inner.items() if k != "is_legacy_optimizer" and not (
                k == "decay" and not v)}
            if "lr" in inner and "learning_rate" not in inner:
                inner["learning_rate"] = inner.pop("lr")
            opt["config"] = inner
        cfg["optimizer"] = opt
    for key in ("loss", "metrics", "weighted_metrics", "loss_weights"):
        if training.get(key) is not None:
            cfg[key] = training[key]
    if "optimizer" not in cfg or "loss" not in cfg:
        return
    try:
        compile_from_config(model, cfg, custom_objects, safe_mode, source)
    except ValueError as e:
        warnings.warn(f"{e}", stacklevel=3)


# --------------------------------------------------------------------------------------
# writing (Keras 2 layout, read back by jkeras, Keras 2 and Keras 3)
# --------------------------------------------------------------------------------------
def _write_layer_groups(root, model) -> None:
    layers = _model_layers(model)
    root.attrs["layer_names"] = np.array([la.name.encode("utf8") for la in layers])
    root.attrs["backend"] = b"jax"
    root.attrs["keras_version"] = WRITE_KERAS_VERSION.encode("utf8")
    for la in layers:
        g = root.create_group(la.name)
        variables = legacy_weights(la)
        names, used = [], set()
        for v in variables:
            base = f"{getattr(v, 'path', v.name)}"
            name, i = f"{base}:0", 1
            while name in used:
                name, i = f"{base}_{i}:0", i + 1
            used.add(name)
            names.append(name)
        g.attrs["weight_names"] = np.array([n.encode("utf8") for n in names])
        from jkeras.saving.weights import variable_array

        for n, v in zip(names, variables):
            g.create_dataset(n, data=variable_array(v))


def save_legacy_weights(model, filepath, overwrite: bool = True) -> None:
    """Writes a Keras 2-layout weights file atomically."""
    import io

    from jkeras.saving.atomic import atomic_write, check_overwrite
    from jkeras.saving.weights import sync_model_state

    h5py = wh5.require_h5py()
    check_overwrite(filepath, overwrite)
    sync_model_state(model)
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        _write_layer_groups(f, model)
    with atomic_write(filepath) as out:
        out.write(bio.getvalue())


def save_legacy_model(model, filepath, overwrite: bool = True,
                      include_optimizer: bool = True) -> None:
    """Writes a whole model in the Keras 2 `.h5` layout atomically (config in
    Keras 3 form, which Keras 3 and jkeras read)."""
    import io

    from jkeras.saving import serialization as ser
    from jkeras.saving.atomic import atomic_write, check_overwrite
    from jkeras.saving.weights import sync_model_state

    h5py = wh5.require_h5py()
    check_overwrite(filepath, overwrite)
    sync_model_state(model)
    config = ser.serialize_keras_object(model)
    model_config = {"class_name": config["class_name"], "config": config["config"]}
    if config.get("module") not in (None, "keras", "keras.src.models.functional"):
        model_config = config
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        f.attrs["backend"] = b"jax"
        f.attrs["keras_version"] = WRITE_KERAS_VERSION.encode("utf8")
        f.attrs["model_config"] = json_utils.dumps(model_config).encode("utf8")
        _write_layer_groups(f.create_group("model_weights"), model)
    with atomic_write(filepath) as out:
        out.write(bio.getvalue())


_ = json
