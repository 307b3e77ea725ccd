"""Keras 3 weights files (`model.weights.h5`, `*.weights.h5`): writing, and
loading checked in full before anything is assigned.

Layout: `<path>/vars/<i>` datasets per layer (see `weights.py`), a `vars` group
at the root for the model's own variables, and `optimizer/vars/<i>`: the
optimizer's state in Keras 3's order (`Optimizer.keras_state_arrays`), so that
Keras 3 restores jkeras's optimizer state and jkeras restores Keras's.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import jax
import numpy as np

from jkeras.saving import h5_storage
from jkeras.saving import weights as W
from jkeras.saving.limits import FileLimitError, ReadBudget, load_limit


def require_h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise ImportError(
            "Saving and loading .keras and .h5 files needs the h5py package: "
            "pip install h5py"
        ) from None
    return h5py


def _bf16():
    try:
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    except ImportError:  # pragma: no cover
        return None


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def _write_array(group, key: str, arr: np.ndarray) -> None:
    bf16 = _bf16()
    if bf16 is not None and arr.dtype == bf16:
        ds = group.create_dataset(key, data=arr.view(np.uint16))
        ds.attrs["dtype"] = "bfloat16"
    else:
        group.create_dataset(key, data=arr)


def write_weights(h5file, model, include_optimizer: bool = True) -> None:
    """Writes the model's (and optimizer's) state into an open h5py File."""
    W.sync_model_state(model)
    for path, layer, variables in W.saveable_entries(model):
        group = h5file.require_group(f"{path}/vars" if path else "vars")
        for i, v in enumerate(variables):
            _write_array(group, str(i), W.variable_array(v))
        for key, arr in W.named_state_arrays(layer).items():
            _write_array(group, key, np.asarray(arr))
    opt = W.optimizer_of(model) if include_optimizer else None
    if opt is not None and getattr(opt, "built", True):
        arrays = [np.asarray(a) for a in _opt_arrays(opt)]
        if arrays:
            group = h5file.require_group("optimizer/vars")
            for i, a in enumerate(arrays):
                _write_array(group, str(i), a)


def weights_h5_bytes(model, include_optimizer: bool = True) -> bytes:
    h5py = require_h5py()
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        write_weights(f, model, include_optimizer)
    return bio.getvalue()


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
class LoadError(ValueError):
    """A weights file does not match the model."""


def _read_dataset(ds, var, where: str, budget: ReadBudget | None) -> np.ndarray:
    """Checks a dataset's declared shape and dtype against `var` and its
    storage against the file, then reads it."""
    h5py = require_h5py()
    if not isinstance(ds, h5py.Dataset):
        raise LoadError(f"{where} is not a dataset.")
    shape = tuple(int(d) for d in ds.shape) if ds.shape is not None else None
    if shape != tuple(var.shape):
        raise LoadError(
            f"{where} has shape {shape}, but variable '{var.path}' has shape "
            f"{tuple(var.shape)}."
        )
    is_bf16 = ds.attrs.get("dtype") in ("bfloat16", b"bfloat16") if "dtype" in ds.attrs else False
    kind = ds.dtype.kind
    if is_bf16:
        if ds.dtype.itemsize != 2:
            raise LoadError(f"{where}: bfloat16 data must take 2 bytes per value.")
    elif kind not in "biuf":
        raise LoadError(f"{where} holds {ds.dtype} data, not numbers.")
    raw = h5_storage.read_dataset(ds, where, budget)
    if is_bf16:
        raw = np.asarray(raw).view(np.uint16).view(_bf16())
    arr = np.asarray(raw)
    if arr.shape != tuple(var.shape):
        raise LoadError(f"{where}: read shape {arr.shape}, expected {tuple(var.shape)}.")
    try:
        target = np.dtype(var.dtype) if var.dtype != "bfloat16" else _bf16()
        return arr.astype(target, copy=False)
    except (TypeError, ValueError) as e:
        raise LoadError(f"{where}: cannot convert {arr.dtype} to {var.dtype}: {e}") from None


def _group(h5file, path: str):
    name = f"{path}/vars" if path else "vars"
    try:
        if name in h5file:
            g = h5file[name]
            return g
        # Keras versions differ in saving a sublayer under its private attribute or the
        # public property over it ('_query_dense' / 'query_dense'): accept either.
        head, _, last = path.rpartition("/")
        if last:
            other = last[1:] if last.startswith("_") else "_" + last
            alt = f"{head}/{other}/vars" if head else f"{other}/vars"
            if alt in h5file:
                return h5file[alt]
    except (KeyError, ValueError, OSError, RuntimeError):
        return None
    return None


def read_weights(h5file, model, source: str, skip_mismatch: bool = False,
                 include_optimizer: bool = True,
                 budget: ReadBudget | None = None) -> tuple[list, list | None]:
    """Reads and checks every array the model needs from an open h5py File.
    Returns ([(variable, array)], optimizer arrays or None); raises LoadError
    naming `source` and the problem (or warns and skips a layer with
    `skip_mismatch`). Each dataset's shape is checked against the model and its
    storage against the file before it is read, and what is read is charged to
    `budget` (default: `load_limit()`); those refusals (`FileLimitError`) are
    never skipped. Nothing is assigned here."""
    h5py = require_h5py()
    if budget is None:
        budget = ReadBudget(load_limit(), source)
    assignments: list[tuple[Any, np.ndarray]] = []
    for path, layer, variables in W.saveable_entries(model):
        label = f"layer '{layer.name}' ({type(layer).__name__})" if path else (
            f"model '{layer.name}'")
        where = f"'{path}/vars'" if path else "'vars'"
        try:
            group = _group(h5file, path)
            if group is None:
                if variables:
                    raise LoadError(
                        f"{source}: {label} has {len(variables)} variable(s) "
                        f"[{W.describe_vars(variables)}], but the file has no {where} group."
                    )
                continue
            if not isinstance(group, h5py.Group):
                raise LoadError(f"{source}: {where} is not a group.")
            n = len(group)
            if callable(getattr(layer, "_load_named_state_arrays", None)):
                named = _read_named_arrays(group, f"{source}: {where} of {label}", budget)
                if named:
                    assignments.append((_NamedStateSetter(layer), named))
                n -= len(named)
            if n != len(variables):
                raise LoadError(
                    f"{source}: {label} expects {len(variables)} variable(s) "
                    f"[{W.describe_vars(variables)}], but {where} holds {n}."
                )
            keys = set(group.keys())
            missing = [str(i) for i in range(n) if str(i) not in keys]
            if missing:
                raise LoadError(
                    f"{source}: {where} must hold datasets named 0..{n - 1}; missing {missing}."
                )
            layer_values = []
            for i, var in enumerate(variables):
                ds_where = f"{source}: dataset '{(path + '/') if path else ''}vars/{i}' of {label}"
                layer_values.append((var, _read_dataset(group[str(i)], var, ds_where,
                                                        budget)))
            assignments.extend(layer_values)
        except FileLimitError:
            raise
        except LoadError as e:
            if skip_mismatch:
                warnings.warn(f"Skipping {label} (skip_mismatch=True): {e}", stacklevel=3)
                continue
            raise
        except Exception as e:  # noqa: BLE001 - h5py errors from a damaged file
            raise LoadError(
                f"{source}: the weights of {label} cannot be read ({type(e).__name__}: {e}); "
                f"the file is damaged."
            ) from None
    opt_arrays = None
    if include_optimizer:
        opt_arrays = _read_optimizer(h5file, model, source, budget)
    return assignments, opt_arrays


class _NamedStateSetter:
    """Stands for a layer's named arrays in the assignment list (see
    `weights.named_state_arrays`): assigning hands them to the layer."""

    def __init__(self, layer):
        self.layer = layer

    def assign(self, arrays: dict) -> None:
        self.layer._load_named_state_arrays(arrays)


def _read_named_arrays(group, where: str, budget: ReadBudget | None) -> dict:
    """The datasets of a `vars` group whose names are not variable indices."""
    h5py = require_h5py()
    out = {}
    for key in group.keys():
        if key.isdigit():
            continue
        ds = group[key]
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
            raise LoadError(f"{where}: '{key}' is not a numeric dataset.")
        out[key] = h5_storage.read_dataset(ds, f"{where}: '{key}'", budget)
    return out


def _read_optimizer(h5file, model, source: str, budget: ReadBudget | None):
    """The optimizer's saved arrays (Keras's layout), or None with a warning when
    they do not fit the model's optimizer (which then starts fresh), as Keras does.
    Arrays holding more values in all than the optimizer's state are not read."""
    h5py = require_h5py()
    opt = W.optimizer_of(model)
    if opt is None:
        return None
    try:
        if "optimizer/vars" not in h5file:
            return None
        g = h5file["optimizer/vars"]
        if not isinstance(g, h5py.Group):
            return None
        n = len(g)
        expected = _expected_optimizer_arrays(opt, model)
        if expected is not None and n != len(expected):
            warnings.warn(
                f"{source}: the saved optimizer state has {n} arrays, the model's optimizer "
                f"{len(expected)}; the optimizer starts fresh.", stacklevel=3)
            return None
        datasets = []
        for i in range(n):
            ds = g.get(str(i))
            if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
                raise LoadError(f"{source}: optimizer/vars/{i} is missing or not numeric.")
            datasets.append(ds)
        if expected is not None:
            saved = sum(int(np.prod(ds.shape)) for ds in datasets if ds.shape is not None)
            wanted = sum(int(np.size(e)) for e in expected)
            if saved > wanted:
                warnings.warn(
                    f"{source}: the saved optimizer state holds {saved:,} values, the model's "
                    f"optimizer {wanted:,}; it was not read and the optimizer starts fresh.",
                    stacklevel=3)
                return None
        arrays = [h5_storage.read_dataset(ds, f"{source}: dataset 'optimizer/vars/{i}'", budget)
                  for i, ds in enumerate(datasets)]
    except (LoadError, FileLimitError):
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:
        raise LoadError(
            f"{source}: the optimizer state cannot be read ({type(e).__name__}: {e})."
        ) from None
    if expected is not None:
        check = getattr(opt, "check_keras_state_arrays", None)
        try:
            if callable(check):
                check(arrays)
            else:
                for i, (a, e) in enumerate(zip(arrays, expected)):
                    if a.shape != tuple(np.shape(e)):
                        raise ValueError(f"optimizer/vars/{i} has shape {a.shape}, expected "
                                         f"{tuple(np.shape(e))}")
        except ValueError as e:
            warnings.warn(f"{source}: {e} The optimizer starts fresh.", stacklevel=3)
            return None
    return arrays


def _opt_arrays(opt) -> list:
    """The optimizer's state in Keras 3's layout (iteration, learning_rate, then
    Keras's slots), which Keras 3 loads; jkeras's own layout for optimizers
    that have no Keras counterpart."""
    from jkeras.distribution import runtime

    getter = getattr(opt, "keras_state_arrays", None) or opt.get_state_arrays
    state = getattr(opt, "state", None)
    if state is None or not runtime.is_multiprocess():
        return getter()
    # slots split across processes (ModelParallel) are gathered first: a collective
    opt.state = jax.tree_util.tree_map(runtime.to_host, state)
    try:
        return getter()
    finally:
        opt.state = state


def _expected_optimizer_arrays(opt, model):
    build = getattr(opt, "build", None)
    if callable(build) and not getattr(opt, "built", True):
        try:
            build(model.trainable_weights)
        except TypeError:
            build()
    try:
        return list(_opt_arrays(opt))
    except Exception:  # noqa: BLE001 - optimizer not ready: accept what the file has
        return None


def assign_all(assignments, model=None, opt_arrays=None) -> None:
    """Assigns checked arrays (called only once everything was read)."""
    for var, arr in assignments:
        var.assign(arr)
    if opt_arrays is not None and model is not None:
        opt = W.optimizer_of(model)
        if opt is not None:
            setter = getattr(opt, "set_keras_state_arrays", None) or opt.set_state_arrays
            setter(opt_arrays)
    invalidate = getattr(model, "_invalidate_state_cache", None)
    if callable(invalidate):
        invalidate()


def open_h5(source_obj, source: str, mode: str = "r"):
    """h5py.File on a path or file object; OSError/ValueError naming `source`."""
    h5py = require_h5py()
    try:
        return h5py.File(source_obj, mode)
    except FileNotFoundError:
        raise FileNotFoundError(f"No such weights file: {source}") from None
    except Exception as e:  # noqa: BLE001 - OSError, ValueError... from a damaged file
        raise ValueError(
            f"{source} is not a readable HDF5 weights file ({type(e).__name__}: {e}). It may "
            f"be truncated or damaged."
        ) from None


def save_weights_file(model, filepath, overwrite: bool = True) -> None:
    """Writes `<name>.weights.h5` atomically."""
    from jkeras.saving.atomic import atomic_write, check_overwrite

    filepath = os.fspath(filepath)
    check_overwrite(filepath, overwrite)
    data = weights_h5_bytes(model, include_optimizer=True)
    with atomic_write(filepath) as f:
        f.write(data)


def load_weights_file(model, filepath, skip_mismatch: bool = False, max_bytes=None) -> None:
    """Loads a Keras 3 `.weights.h5` file into `model`; all-or-nothing, reading
    at most `load_limit(max_bytes)` bytes."""
    filepath = os.fspath(filepath)
    source = f"'{filepath}'"
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No such weights file: '{filepath}'.")
    if os.path.getsize(filepath) == 0:
        raise ValueError(f"{source} is empty (0 bytes): not a weights file.")
    with open_h5(filepath, source) as f:
        h5_storage.check_file(f, source)
        assignments, opt_arrays = read_weights(f, model, source, skip_mismatch,
                                               budget=ReadBudget(load_limit(max_bytes), source))
    assign_all(assignments, model, opt_arrays)
