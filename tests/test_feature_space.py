"""utils.FeatureSpace on a tiny dict dataset: encodings by hand, crosses, dict output,
errors, and `.keras` round trips."""

import zipfile

import numpy as np
import pytest

import jkeras
from jkeras.layers.preprocessing_hash_functions import fingerprint64, fingerprint_cat64
from jkeras.utils import FeatureSpace

DATA = {"f": np.array([1.0, 2.0, 3.0, 4.0]), "s": np.array(["x", "y", "x", "z"]),
        "i": np.array([1, 2, 3, 1]), "d": np.array([0.0, 1.0, 2.0, 3.0])}


def _space(**kwargs):
    space = FeatureSpace(
        features={"f": "float_normalized", "s": "string_categorical", "i": "integer_hashed",
                  "d": FeatureSpace.float_discretized(num_bins=3)},
        crosses=[("s", "i")], crossing_dim=8, hashing_dim=4, **kwargs)
    space.adapt(DATA)
    return space


def _expected_concat():
    """Features sorted by name (d, f, i, s), then the cross s_X_i, each encoded by hand."""
    d = np.eye(3)[np.digitize(DATA["d"], [1.0 / 3, 5.0 / 3])]
    f = ((DATA["f"] - 2.5) / np.sqrt(1.25))[:, None]
    i_bins = [fingerprint64(str(v).encode()) % 4 for v in DATA["i"]]
    i = np.eye(4)[i_bins]
    s_index = {"x": 1, "z": 2, "y": 3}  # x twice; y and z once: the higher term first
    s = np.eye(4)[[s_index[v] for v in DATA["s"]]]
    cross = []
    for si, ib in zip([s_index[v] for v in DATA["s"]], i_bins):
        h = fingerprint_cat64(fingerprint_cat64(0xDECAFCAFFE, si), ib)
        cross.append(h % 8)
    return np.concatenate([d, f, i, s, np.eye(8)[cross]], axis=1)


def test_concat_output_matches_hand_encoding():
    space = _space()
    out = space(DATA)
    assert out.shape == (4, 3 + 1 + 4 + 4 + 8) and out.dtype == np.float32
    np.testing.assert_allclose(out, _expected_concat(), atol=1e-5)
    single = space({k: v[2] for k, v in DATA.items()})
    np.testing.assert_allclose(single, out[2], atol=1e-6)
    assert space.preprocessors["s"].get_vocabulary() == ["[UNK]", "x", "z", "y"]


def test_dict_output_int_features_and_batches():
    space = FeatureSpace(features={"s": FeatureSpace.string_categorical(output_mode="int"),
                                   "r": FeatureSpace.float_rescaled(scale=2.0),
                                   "g": FeatureSpace.float()},
                         output_mode="dict")
    batches = [{"s": np.array(["b", "a"]), "r": np.array([1.0, 2.0]), "g": np.array([0.5, 1])},
               {"s": np.array(["b"]), "r": np.array([3.0]), "g": np.array([2.0])}]
    space.adapt(iter(batches))
    out = space({"s": np.array(["a", "b", "c"]), "r": np.array([1.0, 0.0, 2.0]),
                 "g": np.array([1.0, 2.0, 3.0])})
    assert sorted(out) == ["g", "r", "s"]
    np.testing.assert_array_equal(out["s"], [[2], [1], [0]])
    np.testing.assert_allclose(out["r"], [[2.0], [0.0], [4.0]])
    assert out["g"].dtype == np.float32
    unencoded = FeatureSpace(features={"i": FeatureSpace.integer_categorical(output_mode="int")})
    unencoded.adapt({"i": np.array([1, 2])})
    with pytest.raises(ValueError, match="concatenate"):
        unencoded({"i": np.array([1])})


def test_errors():
    with pytest.raises(ValueError, match="non-empty"):
        FeatureSpace(features={})
    with pytest.raises(ValueError, match="invalid feature spec"):
        FeatureSpace(features={"a": "float_magic"})
    with pytest.raises(ValueError, match="not in `features`"):
        FeatureSpace(features={"a": "float"}, crosses=[("a", "b")])
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace(features={"a": "float"}, output_mode="list")
    with pytest.raises(ValueError, match="adapt"):
        FeatureSpace(features={"a": "float_normalized"})({"a": np.array([1.0])})
    with pytest.raises(ValueError, match="dict"):
        _space()(np.ones(3))


def test_keras_file_round_trip(tmp_path):
    space = _space()
    path = tmp_path / "fs.keras"
    space.save(path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "assets/preprocessors/string_lookup/vocabulary.txt" in names
        config = zf.read("config.json").decode()
    assert '"class_name": "FeatureSpace"' in config and '"module": "keras.utils"' in config
    loaded = jkeras.models.load_model(path)
    assert isinstance(loaded, FeatureSpace)
    np.testing.assert_allclose(loaded(DATA), space(DATA), atol=1e-6)
