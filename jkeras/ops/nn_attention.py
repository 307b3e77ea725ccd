"""`dot_product_attention` with Keras's (batch, seq, heads, depth) layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.ops.attention_kernels import softmax_attention
from jkeras.ops.operation import symbolic_function


def _to_4d(t, heads: int):
    """A bias or mask of rank < 4 made rank 4, as Keras does: a rank-3 tensor whose second
    axis has `heads` entries gains an axis after it, anything else a heads axis after the
    batch axis, until it broadcasts against (batch, heads, target, source)."""
    while t.ndim < 4:
        if t.ndim == 3 and t.shape[1] == heads:
            t = jnp.expand_dims(t, 2)
        else:
            t = jnp.expand_dims(t, 1)
    return t


def _kernel_applies(query, bias, mask, soft_cap) -> bool:
    """Whether `_kernel_attention` computes this call (float32 on the CPU backend, no
    bias, soft cap or user mask: the kernel gives fully masked rows weight 0 where Keras
    spreads them evenly, and a causal mask leaves no row fully masked)."""
    return (query.dtype == jnp.float32 and bias is None and mask is None
            and soft_cap is None and jax.default_backend() == "cpu")


def _kernel_attention(query, key, value, scale, is_causal):
    """`_attention` through `attention_kernels.softmax_attention` (whose backward pass
    XLA:CPU runs ~1.8x faster at (32, 128, 4, 16)): heads-first queries, depth-first keys
    and values, kv heads repeated for grouped queries."""
    target, source = query.shape[1], key.shape[1]
    groups = query.shape[2] // key.shape[2]
    q = jnp.transpose(query, (0, 2, 1, 3)) * jnp.asarray(scale, query.dtype)
    k_t = jnp.transpose(key, (0, 2, 3, 1))
    v_t = jnp.transpose(value, (0, 2, 3, 1))
    if groups > 1:
        k_t, v_t = jnp.repeat(k_t, groups, axis=1), jnp.repeat(v_t, groups, axis=1)
    causal = jnp.tril(jnp.ones((target, source), bool)) if is_causal else None
    return jnp.transpose(softmax_attention(q, k_t, v_t, causal, None), (0, 2, 1, 3))


def _attention(query, key, value, bias, mask, scale, is_causal, soft_cap):
    if _kernel_applies(query, bias, mask, soft_cap):
        return _kernel_attention(query, key, value, scale, is_causal)
    batch, target, heads, depth = query.shape
    kv_heads = key.shape[2]
    groups = heads // kv_heads
    logits_dtype = jnp.promote_types(query.dtype, jnp.float32)
    grouped = query.reshape(batch, target, kv_heads, groups, depth)
    logits = jnp.einsum("btkgh,bskh->bkgts", grouped, key,
                        preferred_element_type=logits_dtype)
    logits = logits.reshape(batch, heads, target, key.shape[1]) * jnp.asarray(
        scale, logits_dtype)
    if bias is not None:
        logits = logits + bias.astype(logits_dtype)
    if soft_cap is not None:
        logits = soft_cap * jnp.tanh(logits / soft_cap)
    keep = None if mask is None else mask.astype(bool)
    if is_causal:
        causal = jnp.tril(jnp.ones((target, key.shape[1]), bool))
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = jnp.where(keep, logits, jnp.asarray(-0.7 * jnp.finfo(logits_dtype).max,
                                                     logits_dtype))
    probs = jax.nn.softmax(logits, axis=-1).astype(value.dtype)
    probs = probs.reshape(batch, kv_heads, groups, target, key.shape[1])
    out = jnp.einsum("bkgts,bskh->btkgh", probs, value)
    return out.reshape(batch, target, heads, value.shape[-1])


def _dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                           is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """softmax(scale * query . key + bias, masked) . value per head.

    query (batch, target, heads, depth), key (batch, source, kv_heads, depth), value
    (batch, source, kv_heads, depth_v), with heads a multiple of kv_heads (grouped-query
    attention: head n attends with kv head n // (heads // kv_heads)). `bias` and the
    boolean `mask` (True: attend) broadcast to (batch, heads, target, source); `scale`
    defaults to 1 / sqrt(depth); `is_causal` masks source positions after the target
    position. `attn_logits_soft_cap` c replaces the logits by c * tanh(logits / c) before
    masking (Keras allows it only on TPU, whose kernel computes this; jkeras computes it
    everywhere). `flash_attention=True` requires the cuDNN fused kernel (a GPU with
    cuDNN); None uses it on GPU where it applies."""
    query, key, value = jnp.asarray(query), jnp.asarray(key), jnp.asarray(value)
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ValueError(
            "dot_product_attention: query, key and value must be 4D (batch, seq, heads, "
            f"depth), got shapes {query.shape}, {key.shape} and {value.shape}."
        )
    batch, _, heads, depth = query.shape
    if (key.shape[0] != batch or key.shape[3] != depth or value.shape[:3] != key.shape[:3]
            or heads % key.shape[2]):
        raise ValueError(
            "dot_product_attention: expected key (batch, source, kv_heads, depth) and value "
            "(batch, source, kv_heads, depth_v) with the query's batch and depth and heads a "
            f"multiple of kv_heads; got query {query.shape}, key {key.shape}, value "
            f"{value.shape}."
        )
    dtype = jnp.result_type(query, key, value)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    bias = None if bias is None else _to_4d(jnp.asarray(bias, dtype), heads)
    mask = None if mask is None else _to_4d(jnp.asarray(mask).astype(bool), heads)
    scale = 1.0 / float(depth) ** 0.5 if scale is None else scale
    fused = flash_attention
    if fused is None:
        fused = (jax.default_backend() == "gpu" and attn_logits_soft_cap is None
                 and value.shape[-1] == depth)
    if fused:
        if attn_logits_soft_cap is not None:
            raise ValueError("dot_product_attention: flash_attention=True does not support "
                             "attn_logits_soft_cap; pass flash_attention=None.")
        try:
            return jax.nn.dot_product_attention(
                query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal,
                implementation="cudnn" if flash_attention else None)
        except (RuntimeError, ValueError, NotImplementedError) as e:
            if flash_attention:
                raise ValueError(
                    "dot_product_attention: flash_attention=True needs the cuDNN fused "
                    f"attention kernel, which cannot run these inputs here ({e}). Pass "
                    "flash_attention=None or False."
                ) from e
    return _attention(query, key, value, bias, mask, scale, is_causal, attn_logits_soft_cap)


dot_product_attention = symbolic_function(_dot_product_attention, "dot_product_attention")

__all__ = ["dot_product_attention"]
