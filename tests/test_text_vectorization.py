"""TextVectorization: standardization and splitting as TensorFlow's ops do them,
vocabularies ordered as Keras orders them, n-grams, padding/truncation, tf-idf values,
configs and `.keras` files (vocabulary assets, idf weights)."""

import zipfile

import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.saving.keras_file import save_keras_file

TEXTS = np.array(["The cat  sat on the MAT.", "the dog ate my homework!", "the cat, the dog"])


def _adapted(**kwargs):
    layer = layers.TextVectorization(**kwargs)
    layer.adapt(TEXTS)
    return layer


def test_adapt_vocabulary_and_int_output_padding():
    layer = _adapted()
    # counts: the 5, cat 2, dog 2, then 1 each; ties broken by the term, highest first
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "dog", "cat", "sat", "on", "my",
                                      "mat", "homework", "ate"]
    assert layer.vocabulary_size() == 11
    out = layer(np.array(["the cat ate a new hat", "Dog!"]))
    np.testing.assert_array_equal(out, [[2, 4, 10, 1, 1, 1], [3, 0, 0, 0, 0, 0]])
    assert out.dtype == np.int64
    # (batch, 1) inputs work the same; output_sequence_length pads and truncates
    fixed = _adapted(output_sequence_length=4, max_tokens=5)
    assert fixed.get_vocabulary() == ["", "[UNK]", "the", "dog", "cat"]
    np.testing.assert_array_equal(fixed(np.array([["the cat ate a new hat"], ["dog"]])),
                                  [[2, 4, 1, 1], [3, 0, 0, 0]])
    assert fixed.compute_output_shape((None, 1)) == (None, 4)


def test_standardize_and_split_modes():
    lower = _adapted(standardize="lower")  # ASCII letters only, as tf.strings.lower
    assert "mat." in lower.get_vocabulary() and "homework!" in lower.get_vocabulary()
    out = layers.TextVectorization(standardize="lower", vocabulary=["école", "École"])(
        np.array(["ÉCOLE école"]))
    np.testing.assert_array_equal(out, [[3, 2]])
    strip = _adapted(standardize="strip_punctuation")
    assert "The" in strip.get_vocabulary() and "MAT" in strip.get_vocabulary()
    chars = layers.TextVectorization(standardize=None, split="character")
    chars.adapt(np.array(["abcab", "é!"]))
    assert chars.get_vocabulary() == ["", "[UNK]", "b", "a", "é", "c", "!"]
    whole = layers.TextVectorization(split=None, vocabulary=["a b", "c"])
    np.testing.assert_array_equal(whole(np.array(["a b", "C", "d"])), [2, 3, 1])
    custom = layers.TextVectorization(
        standardize=lambda s: np.char.upper(s), split=lambda s: [t.split("-") for t in s],
        vocabulary=["A", "B"])
    np.testing.assert_array_equal(custom(np.array(["a-b-x"])), [[2, 3, 1]])


def test_ngrams():
    layer = layers.TextVectorization(ngrams=2, standardize=None)
    layer.adapt(np.array(["a b c", "a b"]))
    # unigrams then bigrams of each text; counts a 2, b 2, a b 2, c 1, b c 1
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "a b", "a", "c", "b c"]
    np.testing.assert_array_equal(layer(np.array(["a b c"])), [[4, 2, 5, 3, 6]])
    widths = layers.TextVectorization(ngrams=(1, 3), standardize=None, vocabulary=["a b c"])
    np.testing.assert_array_equal(widths(np.array(["a b c d"])), [[1, 1, 1, 1, 2, 1]])


def test_multi_hot_count_and_tf_idf_values():
    docs = np.array(["a b b", "b c", "c c d"])
    counts = layers.TextVectorization(output_mode="count")
    counts.adapt(docs)
    assert counts.get_vocabulary() == ["[UNK]", "c", "b", "d", "a"]
    np.testing.assert_array_equal(counts(np.array(["a b b q q"])), [[2, 0, 2, 0, 1]])
    multi = layers.TextVectorization(output_mode="multi_hot", max_tokens=8,
                                     pad_to_max_tokens=True)
    multi.adapt(docs)
    np.testing.assert_array_equal(multi(np.array(["a b b q"])), [[1, 0, 1, 0, 1, 0, 0, 0]])
    tfidf = layers.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(docs)
    df = np.array([2, 2, 1, 1])  # documents holding c, b, d, a
    idf = np.log(1 + 3 / (1 + df))
    weights = np.concatenate([[idf.mean()], idf])  # OOV slot: the mean idf weight
    tf = np.array([1, 0, 2, 0, 1])  # "a b b q": one OOV, b twice, a once
    np.testing.assert_allclose(tfidf(np.array(["a b b q"])), [tf * weights], rtol=1e-6)
    given = layers.TextVectorization(output_mode="tf_idf", vocabulary=["the", "cat"],
                                     idf_weights=[0.5, 2.0])
    np.testing.assert_allclose(given(np.array(["the cat the cat", "dog"])),
                               [[0, 1.0, 4.0], [1.25, 0, 0]])


def test_config_round_trip_and_errors():
    layer = _adapted(max_tokens=12, ngrams=2, output_mode="tf_idf")
    cfg = layer.get_config()
    for key in ("max_tokens", "standardize", "split", "ngrams", "output_mode",
                "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged", "vocabulary",
                "idf_weights", "encoding", "vocabulary_size"):
        assert key in cfg
    assert cfg["vocabulary_size"] == 12 and cfg["vocabulary"] is None
    given = layers.TextVectorization(vocabulary=["x", "y"], output_sequence_length=3)
    clone = layers.TextVectorization.from_config(given.get_config())
    np.testing.assert_array_equal(clone(np.array(["y x z"])), given(np.array(["y x z"])))
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="ngrams"):
        layers.TextVectorization(ngrams="2")
    with pytest.raises(ValueError, match="ragged"):
        layers.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match=r"\(batch,\) or \(batch, 1\)"):
        given(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="cannot be adapted"):
        given.adapt(TEXTS)
    assert layers.TextVectorization._host_only


def test_keras_file_holds_vocabulary_and_idf_weights(tmp_path):
    layer = _adapted(output_mode="tf_idf", max_tokens=10)
    path = tmp_path / "tv.keras"
    save_keras_file(layer, path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        # Keras 3's layout: the layer and its inner lookup each keep the vocabulary
        assert "assets/vocabulary.txt" in names
        assert "assets/_lookup_layer/vocabulary.txt" in names
        vocab = zf.read("assets/vocabulary.txt").decode().split("\n")
    assert vocab == layer.get_vocabulary()
    loaded = jkeras.models.load_model(path)
    assert loaded.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_allclose(loaded(TEXTS), layer(TEXTS), rtol=1e-6)
