"""Layer assets in `.keras` archives: files a layer stores beside its weights, such as a
lookup layer's `vocabulary.txt`, at `assets/<layer path>/<file name>` as Keras 3 does
(the layer path is the one its weights have in `model.weights.h5`, see `weights.py`).

A layer opts in with two hooks: `_save_assets() -> {file name: bytes}` and
`_load_assets({file name: bytes})`, called after its weights are assigned.
"""

from __future__ import annotations

import zipfile

from jkeras.saving import weights as W

ASSETS_DIRNAME = "assets"
MAX_ASSET_BYTES = 512 * 1024 * 1024  # per file; a vocabulary of millions of tokens fits


def _prefix(path: str) -> str:
    return f"{ASSETS_DIRNAME}/{path}/" if path else f"{ASSETS_DIRNAME}/"


def collect_assets(model) -> list[tuple[str, bytes]]:
    """(archive member name, bytes) for every asset the model's layers save."""
    out = []
    for path, layer, _ in W.saveable_entries(model):
        hook = getattr(layer, "_save_assets", None)
        if not callable(hook):
            continue
        for name, data in hook().items():
            out.append((_prefix(path) + name, bytes(data)))
    return out


def read_assets(zf: zipfile.ZipFile, model, filepath: str, read_member) -> list:
    """[(layer, {file name: bytes})] for the layers that load assets, read from the
    archive (`read_member(zf, info, filepath, limit)` reads one checked member)."""
    infos = {i.filename: i for i in zf.infolist()}
    pending = []
    for path, layer, _ in W.saveable_entries(model):
        if not callable(getattr(layer, "_load_assets", None)):
            continue
        prefix = _prefix(path)
        files = {}
        for name, info in infos.items():
            rest = name[len(prefix):]
            if name.startswith(prefix) and rest and "/" not in rest:
                files[rest] = read_member(zf, info, filepath, MAX_ASSET_BYTES)
        pending.append((layer, files))
    return pending


def load_assets(pending: list, filepath: str) -> None:
    """Hands each layer its asset files; errors name the file and the layer."""
    for layer, files in pending:
        try:
            layer._load_assets(files)
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            raise ValueError(
                f"'{filepath}': the assets of layer '{layer.name}' ({type(layer).__name__}) "
                f"cannot be loaded: {e}"
            ) from e
