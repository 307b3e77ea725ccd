"""KerasFileEditor: inspecting and editing the weights of .keras / .weights.h5 files."""

import os

import h5py
import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.saving import KerasFileEditor, file_editor


def _model(units=3, name="m"):
    x = jkeras.Input((4,), name="x")
    h = layers.Dense(units, name="hidden")(x)
    h = layers.BatchNormalization(name="bn")(h)
    return jkeras.Model(x, layers.Dense(2, name="out")(h), name=name)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("editor")
    model = _model()
    model.save(folder / "m.keras")
    model.save_weights(folder / "m.weights.h5")
    return model, folder


def test_reads_both_file_kinds(saved, capsys):
    model, folder = saved
    editor = KerasFileEditor(str(folder / "m.keras"))
    out = capsys.readouterr().out
    assert "m.keras" in out and "Saved with Keras" in out
    assert editor.config["class_name"] == "Functional"
    tree = editor.weights_dict["layers"]
    assert sorted(tree) == ["batch_normalization", "dense", "dense_1"]
    np.testing.assert_array_equal(tree["dense"]["0"], model.get_layer("hidden").kernel.numpy())
    assert [tree["batch_normalization"][k].shape for k in "0123"] == [(3,)] * 4
    from_h5 = KerasFileEditor(folder / "m.weights.h5")
    assert from_h5.metadata is None and from_h5.config is None
    np.testing.assert_array_equal(from_h5.weights_dict["layers"]["dense_1"]["1"],
                                  tree["dense_1"]["1"])
    editor.summary()
    out = capsys.readouterr().out
    assert "Weights structure" in out and "dense_1" in out and "shape=(4, 3), dtype=float32" in out
    with pytest.raises(ValueError, match="expected a .keras or .weights.h5 file"):
        KerasFileEditor(str(folder / "m.h5"))


def test_compare(saved, capsys):
    model, folder = saved
    editor = KerasFileEditor(str(folder / "m.keras"))
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 8}
    assert "Comparison successful" in capsys.readouterr().out
    other = _model(units=5, name="other")
    result = editor.compare(other)
    out = capsys.readouterr().out
    # hidden kernel/bias, the four BatchNormalization vectors and the out kernel differ
    assert result == {"status": "error", "error_count": 7, "match_count": 1}
    assert "shape mismatch for layers/dense/0" in out and "shape=(4, 5)" in out


def test_edit_and_save_loads_into_the_edited_architecture(saved, tmp_path):
    model, folder = saved
    editor = KerasFileEditor(str(folder / "m.keras"))
    # the new model has no BatchNormalization and a wider last layer named differently
    x = jkeras.Input((4,), name="x")
    h = layers.Dense(3, name="hidden")(x)
    new = jkeras.Model(x, layers.Dense(2, name="out")(layers.Dense(6, name="mid")(h)))
    editor.delete_object("batch_normalization")
    editor.rename_object("layers/dense_1", "dense_2")
    kernel, bias = np.full((3, 6), 0.5, "float32"), np.arange(6, dtype="float32")
    editor.add_object("layers/dense_1", {"0": kernel, "1": bias})
    editor.delete_weight("dense_2", "0")
    editor.add_weights("dense_2", {"0": np.ones((6, 2), "float32")})
    assert editor.compare(new)["status"] == "success"
    path = tmp_path / "edited.weights.h5"
    editor.save(path)
    new.load_weights(path)
    np.testing.assert_array_equal(new.get_layer("hidden").kernel.numpy(),
                                  model.get_layer("hidden").kernel.numpy())
    np.testing.assert_array_equal(new.get_layer("mid").bias.numpy(), bias)
    np.testing.assert_array_equal(new.get_layer("out").bias.numpy(),
                                  model.get_layer("out").bias.numpy())
    np.testing.assert_array_equal(new.get_layer("out").kernel.numpy(), np.ones((6, 2)))


def test_edit_errors(saved):
    _, folder = saved
    editor = KerasFileEditor(str(folder / "m.weights.h5"))
    with pytest.raises(ValueError, match="'0' occurs 3 times"):
        editor.delete_object("0")
    with pytest.raises(ValueError, match="'nothing' does not appear"):
        editor.delete_object("nothing")
    with pytest.raises(ValueError, match="path 'layers/nothing' is not in the file"):
        editor.rename_object("layers/nothing", "x")
    with pytest.raises(ValueError, match="must be a name, not a path"):
        editor.rename_object("dense", "layers/x")
    with pytest.raises(ValueError, match="`weights` must be a dict"):
        editor.add_object("layers/new", [np.ones(2)])
    with pytest.raises(ValueError, match="path 'nope' is not in the file"):
        editor.add_object("nope/new", {"0": np.ones(2)})
    with pytest.raises(ValueError, match="weight '7' is not in object 'dense'"):
        editor.delete_weight("dense", "7")
    with pytest.raises(ValueError, match="must end in .weights.h5"):
        editor.save(folder / "out.keras")


def test_sublayers_of_a_layer_without_own_weights_are_kept(tmp_path):
    # Keras's layout of MultiHeadAttention: an empty `vars` group beside the sublayers
    # (Keras 3.15's editor drops those sublayers)
    path = tmp_path / "mha.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("layers/multi_head_attention/vars")
        f.create_dataset("layers/multi_head_attention/query_dense/vars/0", data=np.ones((4, 2)))
        f["layers/multi_head_attention"].attrs["name"] = "mha"
        f.create_group("vars")
    editor = KerasFileEditor(path)
    query = editor.weights_dict["layers"]["multi_head_attention"]["query_dense"]["0"]
    np.testing.assert_array_equal(query, np.ones((4, 2)))
    editor.save(tmp_path / "again.weights.h5")
    with h5py.File(tmp_path / "again.weights.h5") as f:
        np.testing.assert_array_equal(f["layers/multi_head_attention/query_dense/vars/0"][()],
                                      np.ones((4, 2)))
        assert f["layers/multi_head_attention"].attrs["name"] == "mha"


def test_refuses_links(tmp_path):
    path = tmp_path / "linked.weights.h5"
    with h5py.File(path, "w") as f:
        f["layers/dense/vars/0"] = np.ones(2)
        f["layers/other/vars/0"] = h5py.ExternalLink("/etc/passwd", "/x")
    with pytest.raises(ValueError, match="links .* are not allowed"):
        KerasFileEditor(path)


def test_an_interrupted_save_leaves_the_old_file(saved, tmp_path, monkeypatch):
    _, folder = saved
    editor = KerasFileEditor(str(folder / "m.weights.h5"))
    target = tmp_path / "kept.weights.h5"
    target.write_bytes(b"old content")

    def crash(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(file_editor, "_write_tree", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        editor.save(target)
    assert target.read_bytes() == b"old content"
    assert os.listdir(tmp_path) == ["kept.weights.h5"]


def test_file_written_by_keras():
    from pathlib import Path

    path = Path(__file__).parent / "data" / "keras3" / "keras-3.15.1" / "functional_merges.keras"
    editor = KerasFileEditor(path)
    assert editor.metadata["keras_version"] == "3.15.1"
    model = jkeras.saving.load_model(path, compile=False)
    # the file also holds Keras's optimizer state, which the uncompiled model lacks
    result = editor.compare(model)
    assert result == {"status": "error", "error_count": 1, "match_count": len(model.weights)}
    assert len(editor.weights_dict["optimizer"]) == 22
