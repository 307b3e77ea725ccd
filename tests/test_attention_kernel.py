"""softmax_attention (jkeras/ops/attention_kernels.py) against autodiff of the plain formula:
values, reverse- and forward-mode derivatives, masks, dropout keep-masks, odd sizes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras as keras
from jkeras.ops.attention_kernels import masked_softmax, softmax_attention


def kernel(q, k, v, mask, keep, scale=1.0):
    """softmax_attention on (steps, depth) keys and values."""
    return softmax_attention(q, jnp.swapaxes(k, -1, -2), jnp.swapaxes(v, -1, -2), mask, keep,
                             scale)


def reference(q, k, v, mask, keep, scale):
    p = masked_softmax(jnp.einsum("bnth,bnsh->bnts", q, k), mask)
    if keep is not None:
        p = jnp.where(keep, p * scale, 0.0)
    return jnp.einsum("bnts,bnsh->bnth", p, v)


def _inputs(seed=0, b=2, n=3, tq=5, tv=7, h=4, hv=6):
    r = np.random.default_rng(seed)
    q = jnp.asarray(r.standard_normal((b, n, tq, h)), jnp.float32)
    k = jnp.asarray(r.standard_normal((b, n, tv, h)), jnp.float32)
    v = jnp.asarray(r.standard_normal((b, n, tv, hv)), jnp.float32)
    ct = jnp.asarray(r.standard_normal((b, n, tq, hv)), jnp.float32)
    mask = jnp.asarray(r.random((b, 1, tq, tv)) > 0.3)
    mask = mask.at[0, 0, 1].set(False)  # one fully masked query row
    keep = jnp.asarray(r.random((b, n, tq, tv)) > 0.25)
    return q, k, v, ct, mask, keep


@pytest.mark.parametrize("masked,dropped", [(False, False), (True, True)])
def test_values_and_derivatives_match_autodiff(masked, dropped):
    q, k, v, ct, mask, keep = _inputs()
    mask = mask if masked else None
    keep = keep if dropped else None
    scale = 1 / 0.75

    @jax.jit
    def both(q, k, v):
        results = []
        for f in (lambda q, k, v: kernel(q, k, v, mask, keep, scale),
                  lambda q, k, v: reference(q, k, v, mask, keep, scale)):
            out, pullback = jax.vjp(f, q, k, v)
            _, tangent = jax.jvp(f, (q, k, v), (q * 0.3, k * 0.5, v - 1))
            # a Hessian-vector product: forward over reverse through the custom rule
            hvp = jax.jvp(jax.grad(lambda q, f=f: jnp.sum(f(q, k, v) ** 2)),
                          (q,), (k[:, :, :q.shape[2]],))[1]
            results.append((out, *pullback(ct), tangent, hvp))
        return results

    got, want = both(q, k, v)
    names = ["value", "dq", "dk", "dv", "jvp", "hvp"]
    for name, a, b in zip(names, got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-5,
                                   err_msg=name)
    if masked:  # the fully masked row attends to nothing
        assert np.all(np.asarray(got[0])[0, 0, 1] == 0)
        assert np.all(np.asarray(got[1])[0, 0, 1] == 0)


def test_gradient_of_one_argument_only_and_zero_tangents():
    q, k, v, ct, _, _ = _inputs(1, b=1, n=2, tq=3, tv=3, h=2, hv=2)
    g_kernel = jax.grad(lambda v: jnp.sum(kernel(q, k, v, None, None) * ct))(v)
    g_ref = jax.grad(lambda v: jnp.sum(reference(q, k, v, None, None, 1.0) * ct))(v)
    np.testing.assert_allclose(g_kernel, g_ref, rtol=1e-5, atol=1e-6)
    out, tangent = jax.jvp(lambda q: kernel(q, k, v, None, None), (q,),
                           (jnp.zeros_like(q),))
    np.testing.assert_allclose(tangent, 0.0)
    np.testing.assert_allclose(out, reference(q, k, v, None, None, 1.0), rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4),
    lambda: keras.layers.GroupedQueryAttention(head_dim=3, num_query_heads=4,
                                               num_key_value_heads=2),
], ids=["MultiHeadAttention", "GroupedQueryAttention"])
def test_attention_layer_gradients_unchanged(make):
    """The layer's weight gradients equal those of the path it takes with
    return_attention_scores=True (the plain formula)."""
    layer = make()
    r = np.random.default_rng(3)
    x = jnp.asarray(r.standard_normal((2, 5, 6)), jnp.float32)
    m = jnp.asarray(r.random((2, 5)) > 0.2)
    layer(x, x)
    tv = [w.value for w in layer.trainable_variables]
    ntv = [w.value for w in layer.non_trainable_variables]

    def loss(tv, scores):
        if scores:
            out = layer.stateless_call(tv, ntv, x, x, value_mask=m,
                                       return_attention_scores=True)[0][0]
        else:
            out = layer.stateless_call(tv, ntv, x, x, value_mask=m)[0]
        return jnp.sum(jnp.sin(out))

    g_fast = jax.grad(loss)(tv, False)
    g_plain = jax.grad(loss)(tv, True)
    for a, b in zip(g_fast, g_plain):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_ops_dot_product_attention_kernel_path_matches_general_path(causal):
    """keras.ops.dot_product_attention without bias/mask takes the attention kernel on
    CPU (grouped kv heads, causal or not); an all-True mask takes the general path:
    values and gradients agree."""
    r = np.random.default_rng(4)
    q = jnp.asarray(r.standard_normal((2, 5, 4, 3)), jnp.float32)  # 4 heads
    k = jnp.asarray(r.standard_normal((2, 6, 2, 3)), jnp.float32)  # 2 kv heads
    v = jnp.asarray(r.standard_normal((2, 6, 2, 5)), jnp.float32)
    ones = jnp.ones((2, 4, 5, 6), bool)

    def loss(q, k, v, mask):
        out = keras.ops.dot_product_attention(q, k, v, mask=mask, is_causal=causal)
        return jnp.sum(jnp.cos(out)), out

    (_, fast), g_fast = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(q, k, v, None)
    (_, plain), g_plain = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(
        q, k, v, ones)
    assert fast.shape == (2, 5, 4, 5)
    np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-6)
    for a, b in zip(g_fast, g_plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
