"""GroupQueryAttention and ReversibleEmbedding: values against numpy, masks, Keras 3's
weights and configs, errors."""

import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers as L


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _gqa_reference(layer, query, value, key, mask):
    """Grouped-query attention in numpy from the layer's weights; mask (B, T, S)."""
    w = {v.path.split("/")[-2] + "/" + v.name: np.asarray(v.value, "float64")
         for v in layer.weights}
    rep = layer.num_query_heads // layer.num_key_value_heads
    q = np.einsum("btm,muh->btuh", query, w["query/kernel"]) + w["query/bias"]
    k = np.repeat(np.einsum("bsm,mvh->bsvh", key, w["key/kernel"]) + w["key/bias"], rep, 2)
    v = np.repeat(np.einsum("bsm,mvh->bsvh", value, w["value/kernel"]) + w["value/bias"],
                  rep, 2)
    scores = np.einsum("btuh,bsuh->buts", q / np.sqrt(layer.head_dim), k)
    m = mask[:, None]
    probs = np.where(m, _softmax(np.where(m, scores, -1e9)), 0.0)
    heads = np.einsum("buts,bsuh->btuh", probs, v)
    if "gate/kernel" in w:
        gate = np.einsum("btm,muh->btuh", query, w["gate/kernel"]) + w["gate/bias"]
        heads = heads / (1.0 + np.exp(-gate))
    out = np.einsum("btuh,uhm->btm", heads, w["attention_output/kernel"])
    return out + w["attention_output/bias"], probs


@pytest.fixture(scope="module")
def gqa_inputs():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(2, 4, 6)).astype("float32")
    v = rng.normal(size=(2, 5, 6)).astype("float32")
    k = rng.normal(size=(2, 5, 6)).astype("float32")
    attention_mask = rng.random((2, 4, 5)) > 0.3
    attention_mask[1, 2] = False  # a fully masked row gets no weight
    return q, v, k, attention_mask


def test_group_query_attention_against_numpy(gqa_inputs):
    q, v, k, attention_mask = gqa_inputs
    layer = L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2,
                                  bias_initializer="random_normal")
    layer.build(q.shape, v.shape, k.shape)
    # one compiled program instead of op-by-op eager dispatch (keeps the test fast)
    out, scores = jax.jit(lambda *a: layer(*a[:3], attention_mask=a[3], use_causal_mask=True,
                                           return_attention_scores=True))(
        q, v, k, attention_mask)
    causal = np.tril(np.ones((4, 5), bool))[None]
    ref, ref_scores = _gqa_reference(layer, q, v, k, attention_mask & causal)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-6)
    assert scores.shape == (2, 4, 4, 5)
    np.testing.assert_array_equal(np.asarray(scores)[1, :, 2], 0.0)


def test_group_query_attention_weights_config_and_keras_masks(gqa_inputs):
    q, v, k, _ = gqa_inputs
    ids = jkeras.Input((4,), dtype="int32")
    x = L.Embedding(10, 6, mask_zero=True)(ids)
    layer = L.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2,
                                  use_gate=True)
    y = layer(x, x)
    assert y.shape == (None, 4, 6) and y._keras_mask is not None
    # Keras 3.15: query (6,4,2)+(4,2), key/value (6,2,2)+(2,2), gate like query, output
    # (4,2,6)+(6,): 2*(48+8) + 2*(24+4) + 48+6 = 222 (dim 8 gives Keras's 288)
    assert [v.path for v in layer.weights][::2] == [
        f"{layer.name}/{n}/kernel" for n in ("query", "key", "gate", "value",
                                             "attention_output")]
    assert layer.count_params() == 222
    config = layer.get_config()
    for key in ("head_dim", "num_query_heads", "num_key_value_heads", "use_bias", "use_gate",
                "sliding_window", "dropout", "kernel_initializer", "seed"):
        assert key in config
    assert type(layer).from_config(config).num_repeats == 2
    # the padding mask of the tokens masks queries and keys; the gate scales the heads
    model = jkeras.Model(ids, y)
    tokens = np.array([[3, 4, 0, 0], [1, 2, 5, 7]], "int32")
    emb = np.asarray(model.layers[1](tokens), "float64")
    mask = tokens != 0
    ref, _ = _gqa_reference(layer, emb, emb, emb, mask[:, :, None] & mask[:, None, :])
    np.testing.assert_allclose(model.predict(tokens, verbose=0), ref, rtol=1e-4, atol=1e-5)


def test_group_query_attention_errors():
    with pytest.raises(ValueError, match="divisible by num_key_value_heads"):
        L.GroupQueryAttention(head_dim=2, num_query_heads=3, num_key_value_heads=2)
    with pytest.raises(ValueError, match="dropout is not supported with flash"):
        L.GroupQueryAttention(2, 2, 1, dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match="head_dim must be a positive integer"):
        L.GroupQueryAttention(0, 2, 1)
    layer = L.GroupQueryAttention(2, 2, 1)
    with pytest.raises(TypeError, match="needs a query and a value"):
        layer(np.ones((1, 2, 4), "float32"))
    with pytest.raises(ValueError, match="same last dimension"):
        layer(np.ones((1, 2, 4), "float32"), np.ones((1, 3, 5), "float32"))


# -- ReversibleEmbedding ------------------------------------------------------------------------
def test_reversible_embedding_forward_reverse_and_soft_cap():
    rng = np.random.default_rng(1)
    layer = L.ReversibleEmbedding(10, 4, logit_soft_cap=2.0,
                                  embeddings_initializer="random_normal")
    ids = np.array([[1, 0, 7]], "int32")
    emb = np.asarray(layer.embeddings.value) if layer.built else None
    h = layer(ids)
    emb = np.asarray(layer.embeddings.value)
    np.testing.assert_allclose(h, emb[ids])
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    logits = layer(x, reverse=True)
    np.testing.assert_allclose(logits, np.tanh((x @ emb.T) / 2.0) * 2.0, rtol=1e-5, atol=1e-6)
    assert [w.name for w in layer.weights] == ["embeddings"] and layer.count_params() == 40
    untied = L.ReversibleEmbedding(10, 4, tie_weights=False)
    untied.build(None)
    # Keras 3: embeddings (10, 4) and reverse_embeddings (4, 10)
    assert [(w.name, w.shape) for w in untied.weights] == [
        ("embeddings", (10, 4)), ("reverse_embeddings", (4, 10))]
    rev = np.asarray(untied.reverse_embeddings.value)
    np.testing.assert_allclose(untied(x, reverse=True), x @ rev, rtol=1e-5, atol=1e-6)
    half = L.ReversibleEmbedding(10, 4, reverse_dtype="float16")
    assert half(x, reverse=True).dtype == np.float16


def test_reversible_embedding_in_a_model_masks_and_config():
    ids = jkeras.Input((5,), dtype="int32")
    layer = L.ReversibleEmbedding(12, 4, mask_zero=True)
    h = layer(ids)
    assert h._keras_mask is not None
    logits = layer(h, reverse=True)
    assert logits.shape == (None, 5, 12) and getattr(logits, "_keras_mask", None) is None
    model = jkeras.Model(ids, logits)
    tokens = np.array([[1, 2, 0, 0, 3]], "int32")
    emb = np.asarray(layer.embeddings.value)
    np.testing.assert_allclose(model(tokens), emb[tokens] @ emb.T, rtol=1e-5, atol=1e-6)
    config = layer.get_config()
    assert config["tie_weights"] is True and config["logit_soft_cap"] is None
    assert "reverse_dtype" in config and config["mask_zero"] is True
    assert L.ReversibleEmbedding.from_config(config).input_dim == 12
    with pytest.raises(ValueError, match="output_dim=4"):
        layer(jkeras.Input((5, 3)), reverse=True)
