"""Interop with real Keras 3, against files Keras 3 wrote itself.

tests/data/keras3/keras-<version>/ holds `.keras` (and `.weights.h5`) files
written by Keras 3.6.0 and (a subset) by Keras 3.15.1 with make_fixtures.py,
each with an .npz of plain arrays: the input batch (x*), Keras's predictions
(y*), Keras's `get_weights()` (w*), the names of `model.layers` and
`model.weights`, and for the optimizer models the training batch (tx, ty) and
Keras's weights after one more `train_on_batch` (next*). See the README there.

The other direction (Keras 3 loading files jkeras wrote) needs Keras and runs
outside CI: tests/data/keras3/check_jkeras_files_in_keras.py.
"""

from __future__ import annotations

import importlib.util
import io
import json
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import jkeras
from jkeras.saving import load_model

DATA = Path(__file__).parent / "data" / "keras3"
VERSION_DIRS = sorted(p for p in DATA.glob("keras-*") if p.is_dir())
ALL = [pytest.param(p, id=f"{p.parent.name[6:]}-{p.stem}")
       for d in VERSION_DIRS for p in sorted(d.glob("*.keras"))]
MODELS = [p for p in ALL if not p.values[0].stem.startswith("opt_")]
OPTIMIZERS = [p for p in ALL if p.values[0].stem.startswith("opt_")]
ATOL = 1e-5


def _fixtures():
    spec = importlib.util.spec_from_file_location("keras3_make_fixtures",
                                                  DATA / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _npz(path: Path):
    return np.load(path.with_suffix(".npz"), allow_pickle=False)


def _numbered(npz, prefix: str) -> list:
    keys = [k for k in npz.files if k.startswith(prefix) and k[len(prefix):].isdigit()]
    return [npz[k] for k in sorted(keys, key=lambda k: int(k[len(prefix):]))]


def _inputs(npz):
    xs = _numbered(npz, "x")
    return xs if len(xs) > 1 else xs[0]


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _load_quietly(path):
    """load_model that fails the test on any warning (e.g. an optimizer state
    that did not fit and was dropped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_model(path)


def _assert_all_close(got, want, atol=ATOL, what=""):
    assert len(got) == len(want), f"{what}: {len(got)} arrays, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        assert g.shape == w.shape, f"{what}[{i}]: shape {g.shape}, expected {w.shape}"
        np.testing.assert_allclose(g, w, atol=atol, rtol=0, err_msg=f"{what}[{i}]")


def _h5_layout(zip_or_h5: Path | bytes) -> dict:
    """{dataset path: (shape, dtype)} and {group path: 'group'} of a weights file."""
    if isinstance(zip_or_h5, Path) and zip_or_h5.suffix == ".keras":
        with zipfile.ZipFile(zip_or_h5) as z:
            zip_or_h5 = z.read("model.weights.h5")
    src = io.BytesIO(zip_or_h5) if isinstance(zip_or_h5, bytes) else zip_or_h5
    out = {}
    with h5py.File(src, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(
            n, (o.shape, str(o.dtype)) if isinstance(o, h5py.Dataset) else "group"))
    return out


def _optimizer_arrays(path: Path) -> list:
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f:
        g = f["optimizer/vars"]
        return [np.asarray(g[str(i)][()]) for i in range(len(g))]


def _keras_version(path: Path) -> tuple:
    return tuple(int(x) for x in path.parent.name[len("keras-"):].split("."))


def _in_newer_order(arrays: list, path: Path) -> list:
    """Optimizer arrays of a Keras file in the order of Keras >= 3.10, which
    jkeras writes: Keras 3.6 - 3.9 keep Nadam's u_product before the slots."""
    if path.stem == "opt_nadam" and _keras_version(path) < (3, 10):
        return arrays[:2] + arrays[3:] + [arrays[2]]
    return arrays


def _config(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def _graph_signature(config: dict):
    """Class, name and inbound nodes of every layer of a model config, nested
    models included: what decides the graph and the weights' order."""
    inner = config.get("config", {})
    if "layers" not in inner:
        return config.get("class_name")
    return [(entry["class_name"], entry.get("name"),
             json.dumps(entry.get("inbound_nodes"), sort_keys=True), _graph_signature(entry))
            for entry in inner["layers"]]


def test_fixtures_are_present_and_small():
    assert [d.name for d in VERSION_DIRS] == ["keras-3.15.1", "keras-3.6.0"]
    assert len(MODELS) >= 8 and len(OPTIMIZERS) >= 12
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024


# --------------------------------------------------------------------------------------
# Keras 3 -> jkeras
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ALL)
def test_keras3_file_loads_with_keras_layers_weights_and_predictions(path):
    npz = _npz(path)
    model = _load_quietly(path)
    assert [la.name for la in model.layers] == list(npz["layer_names"])
    assert [w.name for w in model.weights] == list(npz["weight_names"])
    _assert_all_close(model.get_weights(), _numbered(npz, "w"), atol=0, what="get_weights")
    preds = _as_list(model.predict(_inputs(npz), verbose=0))
    _assert_all_close(preds, _numbered(npz, "y"), what="predictions")


@pytest.mark.parametrize("path", OPTIMIZERS)
def test_keras3_optimizer_state_restores_and_training_continues_as_in_keras(path):
    npz = _npz(path)
    model = _load_quietly(path)
    opt = model.optimizer
    assert opt.iterations == 2
    saved = _in_newer_order(_optimizer_arrays(path), path)
    mine = opt.keras_state_arrays()
    assert [a.shape for a in mine] == [a.shape for a in saved]
    # the mapping onto optax's state and back is exact, apart from scalars jkeras
    # derives from `iterations` (Nadam's u_product)
    _assert_all_close(mine, saved, atol=1e-7, what="optimizer state")
    model.train_on_batch(npz["tx"], npz["ty"])
    assert opt.iterations == 3
    _assert_all_close(model.get_weights(), _numbered(npz, "next"), what="weights after a step")


def test_keras3_weights_file_loads_into_a_model_built_by_jkeras():
    fixtures = _fixtures()
    for version_dir in VERSION_DIRS:
        path = version_dir / "functional_merges.weights.h5"
        npz = _npz(version_dir / "functional_merges.keras")
        jkeras.backend.clear_session()
        model, _ = fixtures.functional_merges(jkeras, np.random.default_rng(5))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.load_weights(path)
        _assert_all_close(model.get_weights(), _numbered(npz, "w"), atol=0, what=str(path))
        preds = model.predict(_numbered(npz, "x"), verbose=0)
        _assert_all_close(preds, _numbered(npz, "y"), what=str(path))
        assert model.optimizer.iterations == 2  # save_weights keeps the optimizer too


@pytest.mark.parametrize("name", ["sequential_dense", "conv2d", "functional_merges", "nested",
                                  "rnn_variants", "embedding_masked"])
def test_models_built_by_jkeras_take_keras_get_weights(name):
    """The same code builds the same model in Keras and jkeras: same layer order,
    same weight order, so Keras's get_weights() moves over with set_weights()."""
    fixtures = _fixtures()
    npz = _npz(DATA / "keras-3.6.0" / f"{name}.keras")
    model, _ = getattr(fixtures, name)(jkeras, np.random.default_rng(5))
    assert [la.name for la in model.layers] == list(npz["layer_names"])
    assert [w.name for w in model.weights] == list(npz["weight_names"])
    model.set_weights(_numbered(npz, "w"))
    preds = _as_list(model.predict(_inputs(npz), verbose=0))
    _assert_all_close(preds, _numbered(npz, "y"), what="predictions")


# --------------------------------------------------------------------------------------
# jkeras -> Keras 3 layout (loading in Keras itself: check_jkeras_files_in_keras.py)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [p for p in ALL if "3.6.0" in str(p.values[0])])
def test_jkeras_writes_keras_layout(path, tmp_path):
    """Re-saving a Keras file gives the same weights layout (paths, shapes,
    dtypes, optimizer/vars included), the same optimizer values and the same
    graph in config.json."""
    model = _load_quietly(path)
    out = tmp_path / path.name
    model.save(out)
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    layout_mine, layout_theirs = _h5_layout(out), _h5_layout(path)
    if path.stem == "opt_nadam":  # u_product moved after the slots in Keras 3.10
        layout_mine = {k: v for k, v in layout_mine.items() if not k.startswith("optimizer/")}
        layout_theirs = {k: v for k, v in layout_theirs.items()
                         if not k.startswith("optimizer/")}
    assert layout_mine == layout_theirs
    mine, theirs = _config(out), _config(path)
    assert _graph_signature(mine) == _graph_signature(theirs)
    assert mine["class_name"] == theirs["class_name"]
    if "compile_config" in theirs:
        opt_mine = mine["compile_config"]["optimizer"]
        opt_theirs = theirs["compile_config"]["optimizer"]
        assert opt_mine["class_name"] == opt_theirs["class_name"]
        assert set(opt_mine["config"]) == set(opt_theirs["config"])
        saved = _in_newer_order(_optimizer_arrays(path), path)
        _assert_all_close(_optimizer_arrays(out), saved, atol=1e-7, what="optimizer/vars")
        assert [a.dtype for a in _optimizer_arrays(out)] == [a.dtype for a in saved]


def test_jkeras_trained_optimizer_state_has_keras_count_and_order(tmp_path):
    """A model built and trained by jkeras writes optimizer/vars exactly as Keras
    lays out the same optimizer on the same model."""
    fixtures = _fixtures()
    makers = fixtures.optimizers(jkeras)
    for name in ["sgd_momentum", "rmsprop_centered", "adam", "adam_schedule", "nadam"]:
        jkeras.backend.clear_session()
        model, _, _ = fixtures.optimizer_model(jkeras, makers[name], np.random.default_rng(1))
        out = tmp_path / f"{name}.keras"
        model.save(out)
        keras_file = DATA / "keras-3.15.1" / f"opt_{name}.keras"
        assert _h5_layout(out) == _h5_layout(keras_file), name
        arrays = _optimizer_arrays(out)
        assert int(arrays[0]) == 2


# --------------------------------------------------------------------------------------
# the optimizer mapping itself
# --------------------------------------------------------------------------------------
def _built(opt, shapes=((3, 2), (2,))):
    params = [np.arange(np.prod(s), dtype="float32").reshape(s) / 7 for s in shapes]
    opt.init(params)
    grads = [np.cos(p) for p in params]
    for _ in range(2):
        _, opt.state = opt.update(grads, opt.state, params)
    return opt


@pytest.mark.parametrize("make,names", [
    (lambda o: o.SGD(momentum=0.9), ["iteration", "learning_rate", "momentum", "momentum"]),
    (lambda o: o.SGD(), ["iteration", "learning_rate"]),
    (lambda o: o.RMSprop(momentum=0.5, centered=True),
     ["iteration", "learning_rate", "velocity", "velocity", "momentum", "momentum",
      "average_gradient", "average_gradient"]),
    (lambda o: o.Adam(amsgrad=True),
     ["iteration", "learning_rate", "momentum", "velocity", "momentum", "velocity",
      "velocity_hat", "velocity_hat"]),
    (lambda o: o.Adam(o.schedules.ExponentialDecay(0.1, 3, 0.5)),
     ["iteration", "momentum", "velocity", "momentum", "velocity"]),
    (lambda o: o.Nadam(),
     ["iteration", "learning_rate", "momentum", "velocity", "momentum", "velocity",
      "u_product"]),
    (lambda o: o.Adadelta(),
     ["iteration", "learning_rate", "accumulated_grad", "accumulated_delta_var",
      "accumulated_grad", "accumulated_delta_var"]),
], ids=["sgd_momentum", "sgd", "rmsprop_centered", "adam_amsgrad", "adam_schedule", "nadam",
        "adadelta"])
def test_keras_state_layout_and_round_trip(make, names):
    opt = _built(make(jkeras.optimizers))
    got = [n.split("/")[0] for n in opt.keras_state_names()]
    assert got == names
    arrays = opt.keras_state_arrays()
    assert arrays[0].dtype == np.int32 and int(arrays[0]) == 2
    fresh = make(jkeras.optimizers)
    fresh.init([np.zeros((3, 2), "float32"), np.zeros((2,), "float32")])
    fresh.set_keras_state_arrays(arrays)
    for a, b in zip(jax_leaves(fresh.state), jax_leaves(opt.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def jax_leaves(tree):
    import jax

    return jax.tree_util.tree_leaves(tree)


def test_rmsprop_momentum_has_keras_sign():
    """Keras accumulates +lr * g / rms in `momentum`; optax's trace holds the
    negative: the mapping flips it."""
    opt = _built(jkeras.optimizers.RMSprop(learning_rate=0.1, momentum=0.5))
    names = opt.keras_state_names()
    momentum = [a for n, a in zip(names, opt.keras_state_arrays()) if n.startswith("momentum")]
    assert all((m >= 0).all() and (m > 0).any() for m in momentum)  # gradients cos(p) >= 0 here


def test_nadam_reads_the_keras_3_6_order_too():
    opt = _built(jkeras.optimizers.Nadam())
    arrays = opt.keras_state_arrays()  # Keras >= 3.10: u_product last
    old_order = arrays[:2] + [arrays[-1]] + arrays[2:-1]  # Keras 3.6 - 3.9: right after lr
    fresh = jkeras.optimizers.Nadam()
    fresh.init([np.zeros((3, 2), "float32"), np.zeros((2,), "float32")])
    fresh.set_keras_state_arrays(old_order)
    _assert_all_close(fresh.keras_state_arrays(), arrays, atol=0, what="nadam")


def test_wrong_keras_state_is_refused_whole():
    opt = _built(jkeras.optimizers.Adam())
    before = [np.asarray(a) for a in opt.keras_state_arrays()]
    with pytest.raises(ValueError, match=r"has 6 state variables .* but 5 were given"):
        opt.set_keras_state_arrays(before[:-1])
    bad = list(before)
    bad[2] = np.zeros((2, 3), "float32")
    with pytest.raises(ValueError, match=r"'momentum/0' has shape \(3, 2\).*\(2, 3\)"):
        opt.set_keras_state_arrays(bad)
    _assert_all_close(opt.keras_state_arrays(), before, atol=0, what="unchanged")


def test_mismatched_optimizer_state_in_a_file_warns_and_starts_fresh(tmp_path):
    """As in Keras: a saved optimizer state that does not fit the configured
    optimizer is skipped with a warning naming the file; the weights load."""
    path = DATA / "keras-3.6.0" / "opt_adam.keras"
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    config["compile_config"]["optimizer"] = {  # Adam's state, RMSprop in the config
        "module": "keras.optimizers", "class_name": "RMSprop",
        "config": {"name": "rmsprop", "learning_rate": 0.001}, "registered_name": None}
    members["config.json"] = json.dumps(config).encode()
    mixed = tmp_path / "mixed.keras"
    with zipfile.ZipFile(mixed, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.warns(UserWarning, match=r"mixed\.keras.*optimizer starts fresh"):
        loaded = load_model(mixed)
    assert isinstance(loaded.optimizer, jkeras.optimizers.RMSprop)
    assert loaded.optimizer.iterations == 0
    _assert_all_close(loaded.get_weights(), _numbered(_npz(path), "w"), atol=0, what="weights")
