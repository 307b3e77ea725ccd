"""`KerasFileEditor`: inspect and edit the weights of a `.keras` or `.weights.h5` file
(Keras 3's tool, for adapting a saved file to a changed architecture), then write
them as a `.weights.h5` file.

The weights are held as nested dicts that follow the file's groups:
`{"layers": {"dense": {"0": kernel, "1": bias}}, "optimizer": {"0": ..., ...}}`
(a layer's `vars` group is folded into the layer's dict). Differences from Keras
3.15.1, where Keras is wrong:

- a layer that holds sublayers and no variables of its own (MultiHeadAttention)
  keeps its sublayers' weights: Keras drops them (its summary omits them, `compare`
  reports the model that wrote the file as incompatible, and a resave loses them);
- `summary` shows the objects' names stored in the file; `weights_summary` exists
  (Keras's messages name it, but Keras has no such method);
- `compare` counts each missing or extra object, missing weight and shape mismatch
  once (Keras counts nested mismatches several times).

Writes go through `atomic.atomic_write`: an interrupted save leaves no partial file.
"""

from __future__ import annotations

import io
import os
from collections import namedtuple
from typing import Any

import numpy as np

from jkeras.saving import keras_file as kf
from jkeras.saving import weights_h5 as wh5

WeightSpec = namedtuple("WeightSpec", ["shape", "dtype"])


def _natural(key: str):
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _bfloat16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def _check_dataset(ds, where: str) -> None:
    """Refuses links out of the file, virtual or external data and declared sizes the
    file cannot back, before reading anything."""
    from jkeras.saving.limits import physical_memory_bytes

    if ds.is_virtual or ds.external:
        raise ValueError(f"{where}: virtual or external datasets are not allowed in a "
                         f"weights file.")
    if ds.shape is None:
        raise ValueError(f"{where}: a dataset without a shape.")
    nbytes = int(np.prod(ds.shape, dtype=object)) * ds.dtype.itemsize
    if len(ds.shape) > 64 or nbytes > physical_memory_bytes() // 2:
        raise ValueError(f"{where} declares {nbytes:,} bytes in {len(ds.shape)} dimensions: "
                         f"the file is damaged or crafted.")
    if nbytes and ds.chunks is None and ds.id.get_storage_size() < nbytes:
        raise ValueError(f"{where} declares {nbytes:,} bytes but stores fewer; the file is "
                         f"truncated or damaged.")


def _read_value(ds, read: bool):
    bf16 = ds.attrs.get("dtype") in ("bfloat16", b"bfloat16")
    if not read:
        return WeightSpec(tuple(int(d) for d in ds.shape), "bfloat16" if bf16 else ds.dtype.name)
    value = np.asarray(ds[()])
    return value.view(_bfloat16()) if bf16 else value


def read_weights_tree(h5, read: bool = True) -> tuple[dict, dict]:
    """(weights, object attributes) of an open h5py File: nested dicts of arrays
    (or `WeightSpec`s when `read` is False), and {group path: its attributes}."""
    h5py = wh5.require_h5py()
    attributes: dict[str, dict] = {}

    def walk(group, path: str) -> dict:
        if group.attrs:
            attributes[path] = {k: _plain(v) for k, v in group.attrs.items()}
        out: dict[str, Any] = {}
        for key in sorted(group.keys(), key=_natural):
            link = group.get(key, getlink=True)
            where = f"{path}/{key}" if path else key
            if not isinstance(link, h5py.HardLink):
                raise ValueError(f"{where}: links ({type(link).__name__}) are not allowed in a "
                                 f"weights file.")
            child = group[key]
            if isinstance(child, h5py.Group):
                if key == "vars":
                    out.update(walk(child, path))  # a layer's own variables
                else:
                    sub = walk(child, where)
                    if sub:
                        out[key] = sub
            elif isinstance(child, h5py.Dataset):
                _check_dataset(child, where)
                out[key] = _read_value(child, read)
        return out

    return walk(h5, ""), attributes


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.item() if isinstance(value, np.generic) else value


def model_weights_spec(model) -> dict:
    """The weights tree (shapes and dtypes) that saving `model` writes."""
    data = wh5.weights_h5_bytes(model, include_optimizer=True)
    with wh5.open_h5(io.BytesIO(data), "the reference model") as h5:
        return read_weights_tree(h5, read=False)[0]


def _write_tree(h5, tree: dict, attributes: dict) -> None:
    def write(node: dict, path: str):
        arrays = {k: v for k, v in node.items() if not isinstance(v, dict)}
        if path and path in attributes:
            group = h5.require_group(path)
            for k, v in attributes[path].items():
                group.attrs[k] = v
        if arrays:
            group = h5.require_group(f"{path}/vars" if path else "vars")
            for key in sorted(arrays, key=_natural):
                arr = np.asarray(arrays[key])
                if arr.dtype == _bfloat16():
                    group.create_dataset(key, data=arr.view(np.uint16)).attrs["dtype"] = "bfloat16"
                else:
                    group.create_dataset(key, data=arr)
        for key, child in node.items():
            if isinstance(child, dict) and child:
                write(child, f"{path}/{key}" if path else key)

    write(tree, "")


def _check_weights_arg(weights, what: str) -> dict:
    if not isinstance(weights, dict):
        raise ValueError(
            f"KerasFileEditor.{what}: `weights` must be a dict of weight names (usually "
            f"'0', '1', ...) to arrays, got {type(weights).__name__}."
        )
    out = {}
    for name, value in weights.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"KerasFileEditor.{what}: weight names must be non-empty strings "
                             f"without '/', got {name!r}.")
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind not in "biuf" and arr.dtype != _bfloat16():
            raise ValueError(f"KerasFileEditor.{what}: weight '{name}' must be an array of "
                             f"numbers, got {arr.dtype}.")
        out[name] = arr
    return out


class KerasFileEditor:
    """Inspect and edit the weights of a `.keras` or `.weights.h5` file, then write
    them with `save` (a `.weights.h5` file).

    Objects are named by path (`"layers/dense_2"`) or, when the name is unique in
    the file, by name alone (`"dense_2"`); weights by their name in the object
    (`"0"`, `"1"`, ...).

        editor = KerasFileEditor("model.keras")
        editor.summary()
        editor.delete_object("layers/dense_2")
        editor.add_object("layers/einsum_dense", weights={"0": kernel, "1": bias})
        editor.save("edited.weights.h5")
    """

    def __init__(self, filepath):
        import rich.console

        self.filepath = os.fspath(filepath)
        self.metadata = None
        self.config = None
        self.model = None
        self.console = rich.console.Console(highlight=False)
        if self.filepath.endswith(".keras"):
            self.weights_dict, self.object_metadata = self._read_keras_file()
        elif self.filepath.endswith(".weights.h5"):
            with wh5.open_h5(self.filepath, f"'{self.filepath}'") as h5:
                self.weights_dict, self.object_metadata = read_weights_tree(h5)
        else:
            raise ValueError(
                f"KerasFileEditor: expected a .keras or .weights.h5 file, got "
                f"filepath={self.filepath!r}."
            )
        self.console.print(f"Keras model file '{self.filepath}'")
        if isinstance(self.metadata, dict):
            self.console.print(f"Saved with Keras {self.metadata.get('keras_version')} - "
                               f"date: {self.metadata.get('date_saved')}")

    def _read_keras_file(self) -> tuple[dict, dict]:
        from jkeras.saving import json_utils

        path = self.filepath
        with kf._open_zip(path) as zf:
            for name in (kf.CONFIG_FILENAME, kf.METADATA_FILENAME):
                if name in zf.namelist():
                    raw = kf._read_member(zf, kf._member(zf, name, path), path,
                                          json_utils.MAX_CONFIG_BYTES)
                    value = json_utils.loads(raw, f"'{path}' {name}")
                    if name == kf.CONFIG_FILENAME:
                        self.config = value
                    else:
                        self.metadata = value
            info = kf._member(zf, kf.WEIGHTS_FILENAME, path)
            kf.verify_member(zf, info, path)
            with zf.open(info) as f, wh5.open_h5(f, f"'{path}' ({kf.WEIGHTS_FILENAME})") as h5:
                return read_weights_tree(h5)

    # ---------------------------------------------------------------- inspecting
    def summary(self) -> None:
        """Prints the file's weights: objects as a tree, weights with shape and dtype."""
        self.console.print("Weights structure")
        self._print_tree(self.weights_dict, "  ", "")

    weights_summary = summary

    def _print_tree(self, node: dict, prefix: str, path: str) -> None:
        items = list(node.items())
        for i, (key, value) in enumerate(items):
            last = i == len(items) - 1
            connector = "└─ " if last else "├─ "
            where = f"{path}/{key}" if path else key
            if isinstance(value, dict):
                name = self.object_metadata.get(where, {}).get("name")
                label = f" ('{name}')" if name and name != key else ""
                self.console.print(f"{prefix}{connector}[bold]{key}[/bold]{label}")
                self._print_tree(value, prefix + ("    " if last else "│   "), where)
            else:
                self.console.print(f"{prefix}{connector}[bold]{key}[/bold]: "
                                   f"shape={tuple(value.shape)}, dtype={value.dtype}")

    def compare(self, reference_model) -> dict:
        """Lists every difference between the file and what `reference_model` saves
        (objects or weights present on one side only, shape mismatches). Returns
        {'status': 'success' or 'error', 'error_count': int, 'match_count': int}."""
        self.console.print("Running comparison")
        counts = {"error": 0, "match": 0}

        def one_side(name_a, a, name_b, b, path, count_matches):
            for key, value in a.items():
                where = f"{path}/{key}" if path else key
                if key not in b:
                    counts["error"] += 1
                    kind = "Object" if isinstance(value, dict) else "Weight"
                    self.console.print(f"[red]...{kind} [bold]{where}[/bold] present in "
                                       f"{name_a}, missing from {name_b}[/red]")
                    if isinstance(value, dict):
                        self.console.print(f"    In {name_a}, {where} contains the following "
                                           f"keys: {list(value)}")
                elif isinstance(value, dict) != isinstance(b[key], dict):
                    if count_matches:
                        counts["error"] += 1
                        self.console.print(f"[red]...[bold]{where}[/bold] is an object in one "
                                           f"and a weight in the other[/red]")
                elif isinstance(value, dict):
                    one_side(name_a, value, name_b, b[key], where, count_matches)
                elif count_matches:
                    if tuple(value.shape) != tuple(b[key].shape):
                        counts["error"] += 1
                        self.console.print(
                            f"[red]...Weight shape mismatch for [bold]{where}[/bold][/red]\n"
                            f"    In {name_a}: shape={tuple(value.shape)}\n"
                            f"    In {name_b}: shape={tuple(b[key].shape)}")
                    else:
                        counts["match"] += 1

        reference = model_weights_spec(reference_model)
        one_side("reference model", reference, "saved file", self.weights_dict, "", True)
        one_side("saved file", self.weights_dict, "reference model", reference, "", False)
        errors, matches = counts["error"], counts["match"]
        self.console.print("─────────────────────")
        if errors == 0:
            self.console.print("[green][bold]Comparison successful:[/bold] saved file is "
                               "compatible with the reference model[/green]")
            self.console.print(f"    Found {matches} matching weight{'s' * (matches != 1)}")
        else:
            self.console.print(f"[red][bold]Found {errors} error{'s' * (errors != 1)}:[/bold] "
                               f"saved file is not compatible with the reference model[/red]")
        return {"status": "success" if errors == 0 else "error", "error_count": errors,
                "match_count": matches}

    # ---------------------------------------------------------------- editing
    def _parent_of(self, object_name: str, what: str) -> tuple[dict, str]:
        """(dict holding the object, its key) for a path or a name unique in the file."""
        if not isinstance(object_name, str) or not object_name:
            raise ValueError(f"KerasFileEditor.{what}: the object name must be a non-empty "
                             f"string, got {object_name!r}.")
        if "/" in object_name:
            *parents, leaf = object_name.split("/")
            node = self.weights_dict
            for part in parents:
                node = node.get(part)
                if not isinstance(node, dict):
                    break
            if not isinstance(node, dict) or leaf not in node:
                raise ValueError(f"KerasFileEditor.{what}: path '{object_name}' is not in the "
                                 f"file. Use editor.summary() to list its objects.")
            return node, leaf
        found = []

        def search(node: dict):
            for key, value in node.items():
                if key == object_name:
                    found.append(node)
                if isinstance(value, dict):
                    search(value)

        search(self.weights_dict)
        if not found:
            raise ValueError(f"KerasFileEditor.{what}: '{object_name}' does not appear in the "
                             f"file. Use editor.summary() to list its objects.")
        if len(found) > 1:
            raise ValueError(f"KerasFileEditor.{what}: the name '{object_name}' occurs "
                             f"{len(found)} times in the file; pass its full path instead "
                             f"(e.g. 'layers/{object_name}').")
        return found[0], object_name

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Renames an object (e.g. a layer): `object_name` is a path or a unique name,
        `new_name` a plain name (no '/')."""
        if not isinstance(new_name, str) or not new_name or "/" in new_name:
            raise ValueError(f"KerasFileEditor.rename_object: `new_name` must be a name, not a "
                             f"path, got {new_name!r}.")
        parent, key = self._parent_of(object_name, "rename_object")
        if new_name in parent and new_name != key:
            raise ValueError(f"KerasFileEditor.rename_object: '{new_name}' already exists "
                             f"beside '{object_name}'.")
        parent[new_name] = parent.pop(key)

    def delete_object(self, object_name: str) -> None:
        """Removes an object (e.g. a layer) and all its weights."""
        parent, key = self._parent_of(object_name, "delete_object")
        del parent[key]

    def add_object(self, object_path: str, weights: dict) -> None:
        """Adds an object at `object_path` (e.g. `"layers/dense_2"`, its parent must
        exist) holding `weights` ({weight name: array})."""
        weights = _check_weights_arg(weights, "add_object")
        *parents, leaf = str(object_path).split("/")
        node = self.weights_dict
        for part in parents:
            node = node.get(part)
            if not isinstance(node, dict):
                raise ValueError(f"KerasFileEditor.add_object: path "
                                 f"'{'/'.join(parents)}' is not in the file.")
        if leaf in node:
            raise ValueError(f"KerasFileEditor.add_object: '{object_path}' already exists; "
                             f"use add_weights to add weights to it.")
        node[leaf] = weights

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Removes the weight `weight_name` (e.g. `"0"`) of an object."""
        parent, key = self._parent_of(object_name, "delete_weight")
        target = parent[key]
        if not isinstance(target, dict) or weight_name not in target or isinstance(
                target[weight_name], dict):
            present = [k for k, v in target.items() if not isinstance(v, dict)] if isinstance(
                target, dict) else []
            raise ValueError(f"KerasFileEditor.delete_weight: weight '{weight_name}' is not in "
                             f"object '{object_name}' (its weights: {present}).")
        del target[weight_name]

    def add_weights(self, object_name: str, weights: dict) -> None:
        """Adds (or replaces) weights of an existing object: {weight name: array}."""
        weights = _check_weights_arg(weights, "add_weights")
        parent, key = self._parent_of(object_name, "add_weights")
        if not isinstance(parent[key], dict):
            raise ValueError(f"KerasFileEditor.add_weights: '{object_name}' is a weight, not "
                             f"an object.")
        parent[key].update(weights)

    # ---------------------------------------------------------------- writing
    def save(self, filepath) -> None:
        """Writes the edited weights as a `.weights.h5` file (atomically)."""
        from jkeras.saving.atomic import atomic_write

        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(f"KerasFileEditor.save: the file name must end in .weights.h5, "
                             f"got filepath={filepath!r}.")
        h5py = wh5.require_h5py()
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as h5:
            _write_tree(h5, self.weights_dict, self.object_metadata)
        with atomic_write(filepath) as f:
            f.write(buffer.getvalue())

    resave_weights = save


__all__ = ["KerasFileEditor"]
