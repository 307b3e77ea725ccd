"""keras.ops.nn sequence ops: ctc_loss / ctc_decode against brute-force enumeration of
alignments, and dot_product_attention against a plain softmax(Q K^T) V."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras import ops
from jkeras.backend.keras_tensor import KerasTensor


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _labelings(log_probs, length, blank):
    """{collapsed label sequence: probability} over all alignments of `length` steps."""
    out = {}
    for path in itertools.product(range(log_probs.shape[-1]), repeat=length):
        p = np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
        labels = tuple(c for i, c in enumerate(path)
                       if c != blank and (i == 0 or c != path[i - 1]))
        out[labels] = out.get(labels, 0.0) + p
    return out


@pytest.fixture(scope="module")
def ctc_case():
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((3, 5, 3)) * 1.5).astype("float32")
    return logits, np.array([5, 4, 5])


def test_ctc_loss_and_decoders_against_enumeration(ctc_case):
    logits, lengths = ctc_case
    log_probs = _log_softmax(logits.astype(np.float64))
    targets = np.array([[1, 2], [2, 2], [1, 0]])
    target_lengths = np.array([2, 2, 1])
    loss, grad, blank_last, greedy, beam = jax.jit(lambda lg: (
        ops.ctc_loss(targets, lg, target_lengths, lengths),
        jax.grad(lambda z: jnp.sum(ops.ctc_loss(targets, z, target_lengths, lengths)))(lg),
        ops.ctc_loss(targets - 1 + 3 * (targets == 0), lg[..., [1, 2, 0]], target_lengths,
                     lengths, mask_index=2),
        ops.ctc_decode(lg, lengths),
        ops.ctc_decode(lg, lengths, strategy="beam_search", beam_width=40, top_paths=3),
    ))(logits)
    for b in range(3):
        table = _labelings(log_probs[b], lengths[b], blank=0)
        wanted = tuple(targets[b, :target_lengths[b]])
        np.testing.assert_allclose(loss[b], -np.log(table[wanted]), rtol=1e-4)
        # with a wide beam the search is exact: the 3 most probable labelings
        best = sorted(table.items(), key=lambda kv: -kv[1])[:3]
        for rank, (labels, p) in enumerate(best):
            decoded = np.asarray(beam[0])[rank, b]
            assert tuple(decoded[decoded >= 0]) == labels
            assert np.all(decoded[len(labels):] == -1)
            np.testing.assert_allclose(beam[1][b, rank], np.log(p), rtol=1e-4)
    # the blank may be any class: the same problem with classes permuted, blank last
    np.testing.assert_allclose(blank_last, loss, rtol=1e-5)
    # d loss / d logits = softmax - posterior class occupancy: rows sum to zero, and steps
    # past a sample's length get none
    np.testing.assert_allclose(np.asarray(grad).sum(-1), 0, atol=1e-5)
    np.testing.assert_allclose(grad[1, 4], 0, atol=1e-6)

    # greedy: best class per step, repeats merged, blanks dropped, -1 after
    paths, scores = greedy
    assert paths.shape == (1, 3, 5) and paths.dtype == jnp.int32
    for b in range(3):
        best = logits[b, :lengths[b]].argmax(-1)
        labels = [c for i, c in enumerate(best) if c != 0 and (i == 0 or c != best[i - 1])]
        np.testing.assert_array_equal(paths[0, b], labels + [-1] * (5 - len(labels)))
        np.testing.assert_allclose(scores[b, 0], -logits[b, :lengths[b]].max(-1).sum(),
                                   rtol=1e-5)


def test_ctc_greedy_options_and_errors():
    # steps: a a _ a b b  (blank = 0, a = 1, b = 2)
    logits = np.eye(3, dtype="float32")[[1, 1, 0, 1, 2, 2]][None] * 5
    merged, unmerged, blank_last = jax.jit(lambda lg: (
        ops.ctc_decode(lg, jnp.array([6]))[0],
        ops.ctc_decode(lg, jnp.array([6]), merge_repeated=False)[0],
        ops.ctc_decode(lg, jnp.array([4]), mask_index=None)[0],  # blank: the last class
    ))(logits)
    np.testing.assert_array_equal(merged[0, 0], [1, 1, 2, -1, -1, -1])
    np.testing.assert_array_equal(unmerged[0, 0], [1, 1, 1, 2, 2, -1])
    np.testing.assert_array_equal(blank_last[0, 0], [1, 0, 1, -1, -1, -1])
    with pytest.raises(ValueError, match="strategy"):
        ops.ctc_decode(logits, np.array([6]), strategy="best")
    with pytest.raises(ValueError, match="top_paths"):
        ops.ctc_decode(logits, np.array([6]), strategy="beam_search", beam_width=2,
                       top_paths=3)
    with pytest.raises(ValueError, match="rows"):
        ops.ctc_loss(np.zeros((2, 3), "int32"), logits, np.array([1]), np.array([6]))


def _reference_attention(q, k, v, bias=None, mask=None, scale=None, causal=False, cap=None):
    heads, kv_heads = q.shape[2], k.shape[2]
    k = np.repeat(k, heads // kv_heads, axis=2)
    v = np.repeat(v, heads // kv_heads, axis=2)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if bias is not None:
        logits = logits + bias
    if cap is not None:
        logits = cap * np.tanh(logits / cap)
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= mask
    if causal:
        keep &= np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -1e30)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bnts,bsnh->btnh", p, v)


def test_dot_product_attention_against_plain_softmax(rng):
    q = rng.standard_normal((2, 3, 4, 8)).astype("float32")
    k = rng.standard_normal((2, 5, 2, 8)).astype("float32")  # grouped: 2 kv heads
    v = rng.standard_normal((2, 5, 2, 6)).astype("float32")
    bias = rng.standard_normal((2, 4, 3, 5)).astype("float32")
    mask = rng.random((2, 4, 3, 5)) > 0.3
    mask[..., 0] = True
    got = jax.jit(lambda q, k, v: (
        ops.dot_product_attention(q, k, v),
        ops.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=0.3),
        # a rank-3 mask (batch, target, source) applies to every head
        ops.dot_product_attention(q, k, v, is_causal=True, mask=mask[:, 0]),
        ops.dot_product_attention(q, k, v, attn_logits_soft_cap=1.5),
    ))(q, k, v)
    np.testing.assert_allclose(got[0], _reference_attention(q, k, v), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[1], _reference_attention(q, k, v, bias, mask, 0.3),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[2], _reference_attention(q, k, v, mask=mask[:, :1],
                                                            causal=True),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[3], _reference_attention(q, k, v, cap=1.5), rtol=1e-4,
                               atol=1e-5)
    assert ops.dot_product_attention(KerasTensor((None, 4, 4, 8)), KerasTensor((None, 5, 2, 8)),
                                     KerasTensor((None, 5, 2, 6))).shape == (None, 4, 4, 6)
    with pytest.raises(ValueError, match="multiple of kv_heads"):
        ops.dot_product_attention(q, k[:, :, :1].repeat(3, 2), v[:, :, :1].repeat(3, 2))
    if jax.default_backend() == "cpu":
        with pytest.raises(ValueError, match="flash_attention=True"):
            ops.dot_product_attention(q, k, k, flash_attention=True)
