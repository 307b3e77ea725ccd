"""Categorical preprocessing: CategoryEncoding, Discretization, Hashing, HashedCrossing,
StringLookup, IntegerLookup (values from hand-computed references, Keras's documented
examples and TensorFlow's hash values), configs and `.keras` round trips."""

import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.layers.preprocessing_hash_functions import (
    fingerprint64,
    fingerprint_cat64,
    siphash24,
)
from jkeras.saving.keras_file import save_keras_file


# ----------------------------------------------------------------------- hash functions
def test_hash_functions_match_published_and_tensorflow_values():
    # SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little"))
    assert siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5
    # tf.fingerprint(..., "farmhash64") of TensorFlow 2.21 (every length branch)
    strings = [b"", b"hello", b"x" * 20, bytes(range(40)), bytes(range(100)), b"jkeras" * 50]
    expected = [0x9AE16A3B2F90404F, 0xB48BE5A931380CE8, 0x7241CE1F8EF74DC4, 0x8F45B937B49468C,
                0x3CFF0F886D8D6195, 0x10A75B45FA76C69D]
    assert [fingerprint64(s) for s in strings] == expected
    # tf.strings.to_hash_bucket_strong(strings, 2**62, key=[7, 11])
    strong = [3361664221164768847, 3121929047071568101, 4076404027563928740,
              4551391447012086154, 682193932646687217, 360677966320816615]
    assert [siphash24((7, 11), s) % 2**62 for s in strings] == strong
    # tf.sparse.cross_hashed([['a'],['b']], [[3],[-4]], [['q'],['r']], 1000) -> 661, 196
    m64 = (1 << 64) - 1
    crossed = []
    for a, b, c in (("a", 3, "q"), ("b", -4, "r")):
        h = fingerprint_cat64(0xDECAFCAFFE, fingerprint64(a.encode()))
        h = fingerprint_cat64(fingerprint_cat64(h, b & m64), fingerprint64(c.encode()))
        crossed.append(h % 1000)
    assert crossed == [661, 196]


# ----------------------------------------------------------------------- CategoryEncoding
def test_category_encoding_modes_and_jit():
    one_hot = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot(np.array([3, 2, 0, 1])), np.eye(4)[[3, 2, 0, 1]])
    np.testing.assert_array_equal(one_hot(np.array([[3], [5]])), [[0, 0, 0, 1], [0, 0, 0, 0]])
    multi = layers.CategoryEncoding(num_tokens=4)
    x = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
    ref = np.zeros((4, 4))
    for i, row in enumerate(x):
        ref[i, row] = 1
    np.testing.assert_array_equal(multi(x), ref)
    count = layers.CategoryEncoding(num_tokens=4, output_mode="count")
    w = np.array([[0.1, 0.2, 0.3], [1.0, 1.0, 1.0]], np.float32)
    out = count(np.array([[0, 1, 1], [3, 3, 3]]), count_weights=w)
    np.testing.assert_allclose(out, [[0.1, 0.5, 0, 0], [0, 0, 0, 3]], rtol=1e-6)
    assert out.dtype == jnp.float32 and multi(np.array(2)).shape == (4,)

    @jax.jit
    def f(v):
        return multi(v), count(v), one_hot(v[:, :1])

    m, c, o = f(jnp.array([[1, 1, 3], [0, 2, 2]]))
    np.testing.assert_array_equal(m, [[0, 1, 0, 1], [1, 0, 1, 0]])
    np.testing.assert_array_equal(c, [[0, 2, 0, 1], [1, 0, 2, 0]])
    np.testing.assert_array_equal(o, [[0, 1, 0, 0], [1, 0, 0, 0]])
    assert count.get_config()["num_tokens"] == 4 and "sparse" not in count.get_config()
    with pytest.raises(ValueError, match="num_tokens"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match="output_mode"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="count_weights"):
        multi(x, count_weights=np.ones((4, 2)))


# ----------------------------------------------------------------------- Discretization
def _summary_boundaries(batches, num_bins, eps):
    """Keras's quantile summary written out directly (summarize, merge, compress)."""
    def compress(s, e):
        if s.shape[1] * e < 1:
            return s
        pct = e + np.arange(0.0, 1.0, e)
        cw = s[1].cumsum()
        new_w = np.interp(pct, cw / cw[-1], cw)
        return np.stack((np.interp(pct, cw / cw[-1], s[0]),
                         new_w - np.concatenate(([0], new_w[:-1])))).astype("float32")

    summary = np.zeros((2, 0), "float32")
    for b in batches:
        v = np.sort(np.asarray(b, "float32").ravel())
        step = max(v.size / (1.0 / eps), 1)
        pts = v[int(step - 1)::int(step)]
        merged = np.concatenate((np.stack([pts, np.ones_like(pts) * step]), summary), axis=1)
        summary = compress(merged[:, np.argsort(merged[0])], eps)
    return compress(summary, 1.0 / num_bins)[0, :-1]


def test_discretization_boundaries_adapt_modes_and_jit():
    d = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], np.float32)
    out = d(x)
    np.testing.assert_array_equal(out, np.digitize(x, [0.0, 1.0, 2.0]))
    assert out.dtype == jnp.int32
    np.testing.assert_array_equal(jax.jit(d)(x), out)
    counts = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode="count")(x)
    np.testing.assert_array_equal(counts, [[1, 1, 1, 1], [0, 2, 1, 1]])
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(37, 3)), rng.uniform(size=(500,))]
    a = layers.Discretization(num_bins=4, epsilon=0.05)
    a.adapt(iter(batches))
    np.testing.assert_allclose(a.bin_boundaries, _summary_boundaries(batches, 4, 0.05),
                               rtol=1e-6)
    b = layers.Discretization(num_bins=3)
    b.adapt(np.arange(30.0))
    np.testing.assert_allclose(b.bin_boundaries, [9.0, 19.0])
    assert b.get_config()["bin_boundaries"] == [9.0, 19.0]
    restored = layers.Discretization.from_config(b.get_config())
    np.testing.assert_array_equal(restored(np.array([[1.0, 25.0]])), [[0, 2]])
    with pytest.raises(ValueError, match="not both"):
        layers.Discretization(bin_boundaries=[1.0], num_bins=2)
    with pytest.raises(ValueError, match="cannot be adapted"):
        d.adapt(x)
    with pytest.raises(ValueError, match="no bin boundaries"):
        layers.Discretization(num_bins=3)(x)


# ----------------------------------------------------------------------- Hashing
def test_hashing_matches_keras_documented_bins():
    letters = [["A"], ["B"], ["C"], ["D"], ["E"]]
    out = layers.Hashing(num_bins=3)(letters)
    np.testing.assert_array_equal(out, [[1], [0], [1], [1], [2]])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(layers.Hashing(3, mask_value="")([["A"], ["B"], [""], ["C"],
                                                                    ["D"]]),
                                  [[1], [1], [0], [2], [2]])
    np.testing.assert_array_equal(layers.Hashing(3, salt=[133, 137])(letters),
                                  [[1], [2], [1], [0], [2]])
    np.testing.assert_array_equal(layers.Hashing(3, salt=133)(letters), [[0], [0], [2], [1], [0]])
    np.testing.assert_array_equal(layers.Hashing(3)(np.array([0, 1, 2, 3, 4])), [1, 0, 1, 0, 2])
    names = np.array(["omar", "stringer", "marlo", "wire", "skywalker"])
    np.testing.assert_array_equal(layers.Hashing(2)(names), [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(layers.Hashing(3, mask_value="omar")(names), [0, 1, 2, 1, 1])
    # floats hash through their integer part
    np.testing.assert_array_equal(layers.Hashing(3)(np.array([0.7, 1.2, 2.9])), [1, 0, 1])
    multi = layers.Hashing(3, output_mode="multi_hot")(np.array([["A", "B"], ["C", "E"]]))
    np.testing.assert_array_equal(multi, [[1, 1, 0], [0, 1, 1]])
    assert multi.dtype == np.float32
    cfg = layers.Hashing(5, salt=3).get_config()
    assert cfg["salt"] == [3, 3] and cfg["num_bins"] == 5 and cfg["output_mode"] == "int"
    assert layers.Hashing._host_only
    with pytest.raises(ValueError, match="num_bins"):
        layers.Hashing(0)
    with pytest.raises(ValueError, match="salt"):
        layers.Hashing(3, salt="x")
    with pytest.raises(TypeError, match="host"):
        jax.jit(layers.Hashing(3))(jnp.arange(3))


def test_hashed_crossing_matches_keras_documented_bins():
    feat1, feat2 = np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])
    np.testing.assert_array_equal(layers.HashedCrossing(5)((feat1, feat2)), [1, 4, 1, 1, 3])
    one_hot = layers.HashedCrossing(5, output_mode="one_hot")((feat1[:, None], feat2[:, None]))
    np.testing.assert_array_equal(one_hot, np.eye(5)[[1, 4, 1, 1, 3]])
    with pytest.raises(ValueError, match="at least two"):
        layers.HashedCrossing(5)([feat1])
    with pytest.raises(ValueError, match="same shape"):
        layers.HashedCrossing(5)([feat1, feat2[:3]])
    assert layers.HashedCrossing(5).get_config()["num_bins"] == 5


# ----------------------------------------------------------------------- lookups
_DOCS = np.array([["a", "b", "b"], ["c", "c", "c"], ["d", "d", "d"], ["e", "a", "é"]])


def test_string_lookup_adapt_orders_by_count_then_term_descending():
    layer = layers.StringLookup()
    layer.adapt(_DOCS)
    # counts: c 3, d 3, a 2, b 2, e 1, é 1; ties broken by the term, highest first
    assert layer.get_vocabulary() == ["[UNK]", "d", "c", "b", "a", "é", "e"]
    assert layer.vocabulary_size() == 7
    assert layer.get_vocabulary(include_special_tokens=False)[:2] == ["d", "c"]
    out = layer(np.array([["a", "zz", "c"], ["é", "", "q"]]))
    np.testing.assert_array_equal(out, [[4, 0, 2], [5, 0, 0]])
    assert out.dtype == np.int64
    masked = layers.StringLookup(mask_token="", num_oov_indices=2, max_tokens=6)
    masked.adapt(_DOCS)
    assert masked.get_vocabulary() == ["", "[UNK]", "[UNK]", "d", "c", "b"]
    # two OOV indices: FarmHash64(term) % 2 + 1, as tf.strings.to_hash_bucket_fast
    expected_oov = [fingerprint64(t.encode()) % 2 + 1 for t in ("zz", "q")]
    out = masked(np.array([["", "zz", "c", "q"]]))
    np.testing.assert_array_equal(out, [[0, expected_oov[0], 4, expected_oov[1]]])


def test_string_lookup_output_modes_and_tf_idf():
    vocab = ["x", "y", "z"]
    data = np.array([["x", "y", "y", "q"], ["z", "z", "", "x"]])
    multi = layers.StringLookup(vocabulary=vocab, output_mode="multi_hot")(data)
    np.testing.assert_array_equal(multi, [[1, 1, 1, 0], [1, 1, 0, 1]])
    count = layers.StringLookup(vocabulary=vocab, output_mode="count", pad_to_max_tokens=True,
                                max_tokens=6)(data)
    np.testing.assert_array_equal(count, [[1, 1, 2, 0, 0, 0], [1, 1, 0, 2, 0, 0]])
    idf = [0.5, 1.5, 2.0]
    tfidf = layers.StringLookup(vocabulary=vocab, output_mode="tf_idf", idf_weights=idf)(data)
    oov_weight = np.mean(idf)  # the OOV slot gets the mean idf weight
    np.testing.assert_allclose(tfidf, [[oov_weight, 0.5, 3.0, 0], [oov_weight, 0.5, 0, 4.0]])
    learned = layers.StringLookup(output_mode="tf_idf")
    learned.adapt(np.array([["a", "b", "a"], ["b", "c", "c"]]))
    assert learned.get_vocabulary() == ["[UNK]", "c", "b", "a"]
    df = np.array([1, 2, 1])  # documents holding c, b, a
    weights = np.log(1 + 2 / (1 + df))
    out = learned(np.array(["a", "a", "c", "q"]))
    np.testing.assert_allclose(out, [weights.mean(), 1 * weights[0], 0, 2 * weights[2]],
                               rtol=1e-6)
    inverse = layers.StringLookup(vocabulary=vocab, mask_token="[M]", invert=True)
    np.testing.assert_array_equal(inverse(np.array([0, 1, 2, 4, 9])),
                                  ["[M]", "[UNK]", "x", "z", "[UNK]"])


def test_string_lookup_errors():
    with pytest.raises(ValueError, match="repeats"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="mask token"):
        layers.StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ValueError, match="max_tokens"):
        layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="invert"):
        layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="sparse"):
        layers.StringLookup(sparse=True, output_mode="count")
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["b"]))
    with pytest.raises(ValueError, match="cannot be adapted"):
        layers.StringLookup(vocabulary=["a"]).adapt(np.array(["a"]))
    with pytest.raises(RuntimeError, match="set the vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(np.array(["a"]))
    with pytest.raises(TypeError, match="strings"):
        layers.StringLookup(vocabulary=["a"])(np.array([1, 2]))


def test_integer_lookup_host_and_jit():
    layer = layers.IntegerLookup(mask_token=0, num_oov_indices=2)
    layer.adapt(np.array([5, 5, 7, 0, 9, 9, 9]))
    assert layer.get_vocabulary() == [0, -1, -1, 9, 5, 7]
    x = np.array([[5, 7, 3, 0, 4, -6]])
    # OOV: value % 2 + 1 (floormod); mask 0 -> 0
    expected = [[4, 5, 3 % 2 + 1, 0, 4 % 2 + 1, -6 % 2 + 1]]
    np.testing.assert_array_equal(layer(x), expected)
    np.testing.assert_array_equal(jax.jit(layer)(jnp.asarray(x)), expected)
    encoded = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], mask_token=0,
                                   output_mode="multi_hot")
    np.testing.assert_array_equal(jax.jit(encoded)(jnp.array([[12, 0, 42], [7, 36, 36]])),
                                  [[0, 1, 0, 0, 1], [1, 0, 1, 0, 0]])
    inverse = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], mask_token=0, invert=True)
    np.testing.assert_array_equal(inverse(np.array([0, 1, 2, 5, 6])), [0, -1, 12, 42, -1])
    np.testing.assert_array_equal(jax.jit(inverse)(jnp.array([0, 1, 2, 5, 6])),
                                  [0, -1, 12, 42, -1])
    hashed = layers.IntegerLookup(vocabulary=[5], num_oov_indices=3, oov_method="farmhash")
    expected = [1] + [fingerprint64(str(v).encode()) % 3 for v in (7, -6)]
    np.testing.assert_array_equal(hashed(np.array([5, 7, -6])), [3, expected[1], expected[2]])
    cfg = layers.IntegerLookup(vocabulary=np.array([3, 4]), mask_token=0).get_config()
    assert cfg["vocabulary"] == [3, 4] and cfg["mask_token"] == 0 and cfg["oov_token"] == -1
    assert cfg["vocabulary_dtype"] == "int64" and cfg["vocabulary_size"] == 4
    with pytest.raises(ValueError, match="vocabulary_dtype"):
        layers.IntegerLookup(vocabulary_dtype="int32")
    with pytest.raises(ValueError, match="salt"):
        layers.IntegerLookup(salt=3)


def test_lookup_vocabulary_file_and_set_vocabulary(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("earth\nwind\nand\nfire\n", encoding="utf-8")
    layer = layers.StringLookup(vocabulary=str(path))
    assert layer.get_vocabulary() == ["[UNK]", "earth", "wind", "and", "fire"]
    assert layer.get_config()["vocabulary"] is None  # a file is saved as an asset
    layer.set_vocabulary(["[UNK]", "b", "a"])  # leading special tokens are recognised
    np.testing.assert_array_equal(layer(np.array(["a", "b", "c"])), [2, 1, 0])
    with pytest.raises(ValueError, match="does not exist"):
        layers.StringLookup(vocabulary=str(tmp_path / "missing.txt"))


def test_lookup_layers_keras_file_round_trip(tmp_path):
    text = layers.StringLookup(output_mode="tf_idf", name="words")
    text.adapt(np.array([["a", "b", "a"], ["b", "c", "c"]]))
    ints = layers.IntegerLookup(vocabulary=[4, 8, 15], mask_token=0, name="ints")
    adapted_ints = layers.IntegerLookup(name="adapted")
    adapted_ints.adapt(np.array([3, 3, 1]))
    inp = jkeras.Input(shape=(3,), dtype="int32")
    model = jkeras.Model(inp, [ints(inp), adapted_ints(inp)])
    path = tmp_path / "lookups.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:  # the adapted layer's vocabulary is an asset
        assets = [n for n in zf.namelist() if n.startswith("assets/")]
        assert assets == ["assets/layers/integer_lookup_1/vocabulary.txt"]
        assert zf.read(assets[0]).decode() == "-1\n3\n1"
    loaded = jkeras.models.load_model(path)
    x = np.array([[4, 0, 3], [1, 15, 9]])
    for a, b in zip(model(x), loaded(x)):
        np.testing.assert_array_equal(a, b)
    assert loaded.get_layer("adapted").get_vocabulary() == [-1, 3, 1]
    # a string layer saved on its own: vocabulary asset and idf weights
    wpath = tmp_path / "words.keras"
    save_keras_file(text, wpath)
    with zipfile.ZipFile(wpath) as zf:
        assert zf.read("assets/vocabulary.txt").decode() == "[UNK]\nc\nb\na"
    restored = jkeras.models.load_model(wpath)
    data = np.array([["a", "c", "q"]])
    np.testing.assert_allclose(restored(data), text(data), rtol=1e-6)
