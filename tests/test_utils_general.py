"""keras.utils names: Config, pack/unpack, registration, legacy serialization,
standardize_dtype, get_source_inputs, clear_session, interactive logging, and
datasets.california_housing."""

from __future__ import annotations

import json
import logging

import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import utils
from jkeras.callbacks import ProgbarLogger
from jkeras.datasets import DatasetUnavailableError, california_housing


# --- Config ------------------------------------------------------------------------------
def test_config_attribute_item_access_and_freeze():
    config = utils.Config(learning_rate=0.1, momentum=0.9)
    config.use_ema = True
    config["seed"] = 123
    assert config.seed == 123 and config["learning_rate"] == 0.1 and config.use_ema
    assert "momentum" in config and len(config) == 4
    assert list(config) == sorted(["learning_rate", "momentum", "use_ema", "seed"])
    assert config.get("missing", 7) == 7
    assert json.loads(config.to_json()) == config.as_dict()
    copy = config.as_dict()
    copy["seed"] = 0
    assert config.seed == 123  # as_dict returns a copy
    with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
        config.momentun  # noqa: B018
    config.freeze()
    assert config.frozen
    for change in (lambda: setattr(config, "seed", 1), lambda: config.__setitem__("x", 1),
                   lambda: config.update(a=1), lambda: config.pop("seed"),
                   lambda: config.__delitem__("seed")):
        with pytest.raises(ValueError, match="frozen"):
            change()
    assert config.seed == 123
    config.unfreeze()
    del config["seed"]
    assert "seed" not in config and config.pop("use_ema") is True


# --- tuples, registration, dtypes, graph inputs ---------------------------------------------
def test_pack_unpack_x_y_sample_weight():
    x, y, w = np.ones(2), np.zeros(2), np.full(2, 0.5)
    assert utils.pack_x_y_sample_weight(x) is x
    assert utils.pack_x_y_sample_weight((x, x)) == ((x, x),)  # not mistaken for (x, y)
    assert utils.pack_x_y_sample_weight(x, y) == (x, y)
    assert utils.pack_x_y_sample_weight(x, y, w) == (x, y, w)
    assert utils.unpack_x_y_sample_weight(x) == (x, None, None)
    assert utils.unpack_x_y_sample_weight([x, y]) == (x, y, None)
    assert utils.unpack_x_y_sample_weight((x, y, w)) == (x, y, w)
    with pytest.raises(ValueError, match="4 elements"):
        utils.unpack_x_y_sample_weight((x, y, w, w))


@jkeras.saving.register_keras_serializable(package="utests")
class Scaled:
    def __init__(self, factor=1.0, init=None, name=None):
        self.factor, self.init, self.name = factor, init, name

    def get_config(self):
        return {"factor": self.factor, "init": self.init, "name": self.name}


@jkeras.saving.register_keras_serializable(package="utests", name="double")
def double(x):
    return 2 * x


def test_registered_names_and_objects():
    assert utils.get_registered_name(Scaled) == "utests>Scaled"
    assert utils.get_registered_name(double) == "utests>double"
    assert utils.get_registered_name(np.mean) == "mean"  # unregistered: its own name
    assert utils.get_registered_object("utests>Scaled") is Scaled
    assert utils.get_registered_object("utests>double") is double
    assert utils.get_registered_object("nothing>here") is None
    assert utils.get_registered_object("Local", custom_objects={"Local": int}) is int


def test_legacy_serialization_round_trip():
    obj = Scaled(3.0, init=jkeras.initializers.Constant(2.0), name="double")
    config = utils.legacy.serialize_keras_object(obj)
    assert config["class_name"] == "utests>Scaled" and config["config"]["factor"] == 3.0
    assert config["config"]["init"]["class_name"] == "Constant"
    assert config["config"]["init"]["__passive_serialization__"] is True
    assert utils.legacy.serialize_keras_object(double) == "utests>double"
    restored = utils.legacy.deserialize_keras_object(
        config, module_objects=vars(jkeras.initializers))
    assert isinstance(restored, Scaled) and restored.factor == 3.0
    assert restored.name == "double"  # a name stays a string, even a registered function's
    assert isinstance(restored.init, jkeras.initializers.Constant)
    assert restored.init.get_config()["value"] == 2.0
    assert utils.legacy.deserialize_keras_object("utests>double") is double
    with pytest.raises(ValueError, match="Unknown object: 'Nope'.*module_objects"):
        utils.legacy.deserialize_keras_object({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="no get_config"):
        utils.legacy.serialize_keras_object(object())


def test_standardize_dtype():
    assert utils.standardize_dtype(None) == jkeras.backend.floatx()
    assert [utils.standardize_dtype(d) for d in (int, float, bool, str, "int")] == [
        "int32", "float32", "bool", "string", "int32"]
    assert utils.standardize_dtype(np.float16) == "float16"
    assert utils.standardize_dtype(np.dtype("uint8")) == "uint8"
    assert utils.standardize_dtype(jnp.bfloat16) == "bfloat16"
    with pytest.raises(ValueError, match="Invalid dtype: float. Expected one of"):
        utils.standardize_dtype("float")


def test_get_source_inputs_and_is_keras_tensor():
    a, b = jkeras.Input((3,)), jkeras.Input((3,))
    x = jkeras.layers.Dense(2)(b)
    y = jkeras.layers.Dense(2)(a)
    z = jkeras.layers.Add()([jkeras.layers.Add()([x, y]), x])
    sources = utils.get_source_inputs(z)
    assert len(sources) == 2 and sources[0] is b and sources[1] is a
    assert utils.get_source_inputs(a)[0] is a
    assert utils.is_keras_tensor(z) and not utils.is_keras_tensor(np.zeros(2))
    value = np.zeros(2)
    assert utils.get_source_inputs(value) is value


def test_clear_session_resets_layer_names():
    jkeras.layers.Dense(1)
    utils.clear_session(free_memory=False)
    assert jkeras.layers.Dense(1).name == "dense"


# --- interactive logging -------------------------------------------------------------------
def test_interactive_logging_switch_routes_progress_to_the_logger(capsys, caplog):
    assert utils.is_interactive_logging_enabled()
    bar = utils.Progbar(2, verbose=1)
    bar.update(2, [("loss", 0.5)])
    assert "2/2" in capsys.readouterr().out
    utils.disable_interactive_logging()
    try:
        assert not utils.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="jkeras"):
            bar = utils.Progbar(2, verbose=1)
            bar.update(2, [("loss", 0.25)])
            logger = ProgbarLogger()
            logger.set_params({"verbose": 1, "epochs": 3, "steps": 2})
            logger.on_epoch_begin(0)
        assert capsys.readouterr().out == ""
        lines = [r.getMessage() for r in caplog.records if r.name == "jkeras"]
        assert lines[0].startswith("2/2 - ") and "loss: 0.2500" in lines[0]
        assert "\x1b" not in lines[0] and "\r" not in lines[0]  # plain lines, no control codes
        assert lines[1] == "Epoch 1/3"
    finally:
        utils.enable_interactive_logging()
    assert utils.is_interactive_logging_enabled()


# --- california housing ------------------------------------------------------------------------
def test_california_housing_versions_split_and_shuffle(tmp_path):
    x = np.arange(700 * 8, dtype=np.float32).reshape(700, 8)
    y = np.arange(700, dtype=np.float32) * 1000
    path = str(tmp_path / "california_housing.npz")  # an absolute path is read as it is
    np.savez(path, x=x, y=y)
    (a, b), (c, d) = california_housing.load_data(path=path, test_split=0.2, seed=113)
    idx = np.arange(700)
    np.random.RandomState(113).shuffle(idx)
    assert a.shape == (560, 8) and c.shape == (140, 8)
    np.testing.assert_array_equal(np.concatenate([b, d]), y[idx])
    np.testing.assert_array_equal(a, x[idx[:560]])
    (a, b), (c, d) = california_housing.load_data("small", path, test_split=0.5, seed=1)
    assert len(a) == len(c) == 300 and set(np.concatenate([b, d])) == set(y[:600])
    with pytest.raises(ValueError, match="'small' or 'large'"):
        california_housing.load_data(version="medium")


def test_california_housing_missing_file_names_url(tmp_path, monkeypatch):
    monkeypatch.setenv("JKERAS_HOME", str(tmp_path))
    monkeypatch.setenv("JKERAS_OFFLINE", "1")
    with pytest.raises(DatasetUnavailableError,
                       match=r"(?s)tf-keras-datasets/california_housing\.npz.*put it at"):
        california_housing.load_data()
