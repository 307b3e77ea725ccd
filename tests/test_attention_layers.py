"""Attention, AdditiveAttention and MultiHeadAttention against a numpy reference."""

import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.layers.attention import AdditiveAttention, Attention, MultiHeadAttention


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _masked_softmax(scores, mask):
    """Softmax over the last axis where `mask` is True (masked entries get 0)."""
    if mask is None:
        return _softmax(scores)
    w = _softmax(np.where(mask, scores, -1e9))
    return np.where(mask, w, 0.0)


def _ref_mha(weights, query, value, key=None, mask=None, num_heads=2):
    """numpy multi-head attention with Keras 3's weight layout; mask (B, T, S)."""
    key = value if key is None else key
    qk, qb, kk, kb, vk, vb, ok, ob = weights
    q = np.einsum("btd,dnh->btnh", query, qk) + qb
    k = np.einsum("bsd,dnh->bsnh", key, kk) + kb
    v = np.einsum("bsd,dnh->bsnh", value, vk) + vb
    scores = np.einsum("btnh,bsnh->bnts", q / np.sqrt(qk.shape[-1]), k)
    w = _masked_softmax(scores, None if mask is None else mask[:, None])
    heads = np.einsum("bnts,bsnh->btnh", w, v)
    return np.einsum("btnh,nho->bto", heads, ok) + ob, w


@pytest.fixture
def qv(rng):
    q = rng.normal(size=(2, 3, 4)).astype("float32")
    v = rng.normal(size=(2, 5, 4)).astype("float32")
    return q, v


# -- Attention / AdditiveAttention ------------------------------------------------------------

def test_attention_dot_matches_numpy(qv):
    q, v = qv
    layer = Attention()
    out, w = layer([q, v], return_attention_scores=True)
    ref_w = _softmax(q @ v.transpose(0, 2, 1))
    np.testing.assert_allclose(w, ref_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, ref_w @ v, rtol=1e-5, atol=1e-6)
    assert layer.weights == []


def test_attention_scale_concat_and_key(qv, rng):
    q, v = qv
    k = rng.normal(size=(2, 5, 4)).astype("float32")
    layer = Attention(use_scale=True, score_mode="concat")
    layer([q, v, k])
    assert [w.name for w in layer.weights] == ["scale", "concat_score_weight"]
    assert [w.shape for w in layer.weights] == [(), ()]
    layer.set_weights([np.float32(0.5), np.float32(3.0)])
    out = layer([q, v, k])
    scores = 3.0 * np.tanh(0.5 * (q[:, :, None] + k[:, None])).sum(-1)
    np.testing.assert_allclose(out, _softmax(scores) @ v, rtol=1e-5, atol=1e-6)
    dot = Attention(use_scale=True)
    dot([q, v])
    dot.set_weights([np.float32(2.0)])
    np.testing.assert_allclose(dot([q, v]), _softmax(2 * q @ v.transpose(0, 2, 1)) @ v,
                               rtol=1e-5, atol=1e-6)


def test_attention_masks_and_causal(qv):
    q, v = qv
    q_mask = np.array([[True, True, False], [True, True, True]])
    v_mask = np.array([[True, True, True, False, False], [True] * 5])
    out, w = Attention()([q, v], mask=[q_mask, v_mask], return_attention_scores=True)
    assert w.shape == (2, 3, 5)
    np.testing.assert_allclose(np.asarray(w)[0, :, 3:], 0.0, atol=1e-7)
    ref_w = _masked_softmax(q @ v.transpose(0, 2, 1), v_mask[:, None])
    np.testing.assert_allclose(w, ref_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, (ref_w @ v) * q_mask[..., None], rtol=1e-5, atol=1e-6)
    _, wc = Attention()([q, q], use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(np.triu(np.asarray(wc)[0], 1), 0.0, atol=1e-7)


def test_additive_attention_matches_numpy(qv):
    q, v = qv
    layer = AdditiveAttention()
    out = layer([q, v])
    (scale,) = layer.get_weights()
    assert layer.weights[0].name == "scale" and scale.shape == (4,)
    scores = (scale * np.tanh(q[:, :, None] + v[:, None])).sum(-1)
    np.testing.assert_allclose(out, _softmax(scores) @ v, rtol=1e-5, atol=1e-6)
    assert AdditiveAttention(use_scale=False)([q, v]).shape == (2, 3, 4)


def test_attention_in_model_takes_embedding_masks():
    tokens = layers.Input((4,), dtype="int32")
    emb = layers.Embedding(7, 3, mask_zero=True)
    x = emb(tokens)
    out = Attention()([x, x])
    assert out._keras_mask is not None
    model = jkeras.Model(tokens, out)
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 6]])
    e = np.asarray(emb.get_weights()[0])[ids]
    mask = ids != 0
    ref = _masked_softmax(e @ e.transpose(0, 2, 1), mask[:, None]) @ e * mask[..., None]
    np.testing.assert_allclose(model.predict(ids, verbose=0), ref, rtol=1e-5, atol=1e-6)


def test_attention_dropout_only_in_training(qv):
    q, v = qv
    layer = Attention(dropout=0.5)
    base = np.asarray(layer([q, v]))
    np.testing.assert_allclose(layer([q, v], training=False), base)
    assert not np.allclose(layer([q, v], training=True), base)


def test_attention_errors():
    x = np.zeros((1, 2, 3), "float32")
    with pytest.raises(ValueError, match=r"list \[query, value\]"):
        Attention(name="att")(x)
    with pytest.raises(ValueError, match="score_mode"):
        Attention(score_mode="bad")
    with pytest.raises(ValueError, match="same last dimension"):
        Attention()([x, np.zeros((1, 2, 4), "float32")])


@pytest.mark.parametrize("cls,kwargs", [
    (Attention, {"use_scale": True, "score_mode": "concat", "dropout": 0.1, "seed": 3}),
    (AdditiveAttention, {"use_scale": False, "dropout": 0.2}),
])
def test_attention_config_round_trip(cls, kwargs):
    layer = cls(name="a", **kwargs)
    config = layer.get_config()
    for k, v in kwargs.items():
        assert config[k] == v
    assert cls.from_config(config).get_config() == config
    if cls is AdditiveAttention:
        assert "score_mode" not in config


# -- MultiHeadAttention ---------------------------------------------------------------------

def test_mha_weights_layout_and_order(qv):
    q, v = qv
    layer = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5, output_shape=6)
    layer(q, v)
    names = [(w.path.split("/")[-2], w.name) for w in layer.weights]
    assert names == [("query", "kernel"), ("query", "bias"), ("key", "kernel"),
                     ("key", "bias"), ("value", "kernel"), ("value", "bias"),
                     ("attention_output", "kernel"), ("attention_output", "bias")]
    assert [w.shape for w in layer.weights] == [(4, 2, 3), (2, 3), (4, 2, 3), (2, 3),
                                                (4, 2, 5), (2, 5), (2, 5, 6), (6,)]
    assert layer.count_params() == sum(int(np.prod(w.shape)) for w in layer.weights)
    nobias = MultiHeadAttention(2, 3, use_bias=False)
    nobias(q, v)
    assert [w.shape for w in nobias.weights] == [(4, 2, 3), (4, 2, 3), (4, 2, 3), (2, 3, 4)]


def test_mha_matches_numpy_and_scores_shape(qv, rng):
    q, v = qv
    layer = MultiHeadAttention(num_heads=2, key_dim=3, bias_initializer="glorot_uniform")
    out, scores = layer(q, v, return_attention_scores=True)
    assert out.shape == (2, 3, 4) and scores.shape == (2, 2, 3, 5)
    ref, ref_w = _ref_mha(layer.get_weights(), q, v)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores, ref_w, rtol=1e-4, atol=1e-5)
    k = rng.normal(size=(2, 5, 4)).astype("float32")
    ref_k, _ = _ref_mha(layer.get_weights(), q, v, key=k)
    np.testing.assert_allclose(layer(query=q, value=v, key=k), ref_k, rtol=1e-4, atol=1e-5)


def test_mha_explicit_and_causal_masks(qv):
    q, _ = qv
    layer = MultiHeadAttention(2, 3)
    out, w = layer(q, q, use_causal_mask=True, return_attention_scores=True)
    tri = np.tril(np.ones((3, 3), bool))[None]
    ref, ref_w = _ref_mha(layer.get_weights(), q, q, mask=np.broadcast_to(tri, (2, 3, 3)))
    np.testing.assert_allclose(w, ref_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    am = np.array([[[1, 0, 1]] * 3, [[1, 1, 0]] * 3])
    v_mask = np.array([[True, True, False], [True, True, True]])
    _, w2 = layer(q, q, attention_mask=am, value_mask=v_mask, return_attention_scores=True)
    _, ref_w2 = _ref_mha(layer.get_weights(), q, q, mask=(am > 0) & v_mask[:, None])
    np.testing.assert_allclose(w2, ref_w2, rtol=1e-4, atol=1e-5)


def test_mha_sliding_window_and_gate(qv):
    """Keras 3.15's newer arguments: a band of |i - j| < window positions, and a
    sigmoid gate (its weights between key and value, as Keras orders them) on the heads."""
    q, _ = qv
    x = np.concatenate([q, q], axis=1)  # (2, 6, 4)
    band = np.abs(np.arange(6)[:, None] - np.arange(6)[None]) < 2
    layer = MultiHeadAttention(2, 3, sliding_window=2)
    _, w = layer(x, x, return_attention_scores=True)
    _, ref_w = _ref_mha(layer.get_weights(), x, x, mask=np.broadcast_to(band, (2, 6, 6)))
    np.testing.assert_allclose(w, ref_w, rtol=1e-4, atol=1e-5)
    gated = MultiHeadAttention(2, 3, use_gate=True, bias_initializer="glorot_uniform")
    out = gated(x, x)
    assert [v.path for v in gated.weights][:6] == [
        "query/kernel", "query/bias", "key/kernel", "key/bias", "gate/kernel", "gate/bias"]
    qk, qb, kk, kb, gk, gb, vk, vb, ok, ob = gated.get_weights()
    _, ref_w = _ref_mha([qk, qb, kk, kb, vk, vb, ok, ob], x, x)
    heads = np.einsum("bnts,bsnh->btnh", ref_w, np.einsum("bsd,dnh->bsnh", x, vk) + vb)
    gate = 1 / (1 + np.exp(-(np.einsum("btd,dnh->btnh", x, gk) + gb)))
    ref = np.einsum("btnh,nho->bto", heads * gate, ok) + ob
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    assert MultiHeadAttention.from_config(gated.get_config()).use_gate
    with pytest.raises(ValueError, match="sliding_window must be None or a positive integer"):
        MultiHeadAttention(2, 3, sliding_window=0)


def test_mha_keras_masks_in_cross_attention():
    qt = layers.Input((3,), dtype="int32")
    vt = layers.Input((4,), dtype="int32")
    qe = layers.Embedding(9, 4, mask_zero=True)
    ve = layers.Embedding(9, 4, mask_zero=True)
    mha = MultiHeadAttention(2, 2)
    out, scores = mha(qe(qt), ve(vt), return_attention_scores=True)
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 3)
    model = jkeras.Model([qt, vt], [out, scores])
    q_ids = np.array([[1, 2, 0], [3, 0, 0]])
    v_ids = np.array([[4, 5, 0, 0], [6, 7, 8, 0]])
    got, got_w = model.predict([q_ids, v_ids], verbose=0)
    q = np.asarray(qe.get_weights()[0])[q_ids]
    v = np.asarray(ve.get_weights()[0])[v_ids]
    mask = (q_ids != 0)[:, :, None] & (v_ids != 0)[:, None, :]
    ref, ref_w = _ref_mha(mha.get_weights(), q, v, mask=mask)
    np.testing.assert_allclose(got_w[:, :, :, 2:][0], 0.0, atol=1e-7)  # padding keys
    np.testing.assert_allclose(got_w, ref_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_mha_rank4_default_axes_and_unsupported_axes(rng):
    x = rng.normal(size=(1, 2, 3, 4)).astype("float32")
    layer = MultiHeadAttention(2, 3)
    out, w = layer(x, x, return_attention_scores=True)
    assert out.shape == (1, 2, 3, 4) and w.shape == (1, 2, 2, 3, 2, 3)
    flat = x.reshape(1, 6, 4)
    ref, _ = _ref_mha(layer.get_weights(), flat, flat)
    np.testing.assert_allclose(np.asarray(out).reshape(1, 6, 4), ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(NotImplementedError, match="attention_axes"):
        MultiHeadAttention(2, 3, attention_axes=(2,))(x, x)


def test_mha_dropout_errors_and_config(qv):
    q, v = qv
    layer = MultiHeadAttention(2, 3, dropout=0.5)
    base = np.asarray(layer(q, v))
    np.testing.assert_allclose(layer(q, v, training=False), base)
    assert not np.allclose(layer(q, v, training=True), base)
    with pytest.raises(TypeError, match="needs a query and a value"):
        MultiHeadAttention(2, 3)(q)
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        MultiHeadAttention(0, 3)
    config = MultiHeadAttention(4, 8, value_dim=2, output_shape=(3, 2), attention_axes=1,
                                dropout=0.1, name="m").get_config()
    assert config["num_heads"] == 4 and config["value_dim"] == 2
    assert config["output_shape"] == [3, 2] and config["attention_axes"] == [1]
    assert MultiHeadAttention.from_config(config).get_config() == config


def test_mha_fit_save_load(tmp_path, rng):
    tokens = layers.Input((5,), dtype="int32")
    x = layers.Embedding(10, 8, mask_zero=True)(tokens)
    x = MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(x, x)
    x = layers.GlobalAveragePooling1D()(x)
    out = layers.Dense(1)(x)
    model = jkeras.Model(tokens, out)
    model.compile(optimizer="adam", loss="mse")
    ids = rng.integers(0, 10, size=(8, 5))
    y = rng.normal(size=(8, 1)).astype("float32")
    before = [np.array(w) for w in model.get_layer("mha").get_weights()]
    model.fit(ids, y, epochs=1, batch_size=8, verbose=0)
    after = model.get_layer("mha").get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = jkeras.models.load_model(
        path, custom_objects={"MultiHeadAttention": MultiHeadAttention})
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert loaded.get_layer("mha").get_build_config() == {"shapes_dict": {
        "query_shape": [None, 5, 8], "value_shape": [None, 5, 8], "key_shape": None}}


def test_mha_loads_weights_saved_under_private_sublayer_names(tmp_path, rng):
    """Older Keras 3 files keep the projections under '_query_dense' etc."""
    import zipfile

    h5py = pytest.importorskip("h5py")
    q = layers.Input((3, 4))
    model = jkeras.Model(q, MultiHeadAttention(2, 2)(q, q))
    path, old = tmp_path / "m.keras", tmp_path / "old.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    (tmp_path / "w.h5").write_bytes(files["model.weights.h5"])
    with h5py.File(tmp_path / "w.h5", "r+") as f:
        g = f["layers/multi_head_attention"]
        for name in ("query_dense", "key_dense", "value_dense", "output_dense"):
            g.move(name, "_" + name)
    files["model.weights.h5"] = (tmp_path / "w.h5").read_bytes()
    with zipfile.ZipFile(old, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    loaded = jkeras.models.load_model(
        old, custom_objects={"MultiHeadAttention": MultiHeadAttention})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_mha_kernels_use_keras_fans():
    """Keras's EinsumDense projections: glorot fans from the kernel's input and output
    axes (query (dim, heads, key_dim): fan_in dim, fan_out heads * key_dim)."""


    layer = jkeras.layers.MultiHeadAttention(num_heads=4, key_dim=16)
    q = jkeras.Input((5, 64))
    layer(q, q)
    expected = np.sqrt(2.0 / (64 + 64))  # glorot uniform: std = sqrt(2 / (fan_in + fan_out))
    for kernel in (layer.query_dense.kernel, layer.output_dense.kernel):
        assert abs(float(np.std(kernel.numpy())) / expected - 1.0) < 0.06
