"""GroupedQueryAttention (Ainslie et al. 2023), as Keras 3's `GroupQueryAttention`:
multi-head attention in which `num_query_heads` query heads share
`num_key_value_heads` key/value heads (each key/value head serves
num_query_heads // num_key_value_heads consecutive query heads).

Sublayers (EinsumDense, saved under Keras's attribute names): `_query_dense`
'query' (dim, Nq, head_dim), `_key_dense` 'key' and `_value_dense` 'value'
(dim, Nkv, head_dim), with `use_gate` `_gate_dense` 'gate' (dim, Nq, head_dim,
sigmoid), and `_output_dense` 'attention_output' (Nq, head_dim, dim); biases when
`use_bias`. Masks follow MultiHeadAttention (see `attention.py`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.engine.layer import Layer
from jkeras.engine.seed_generator import draw_key
from jkeras.layers.arguments import KERNEL_BIAS_ARGUMENTS, arguments_config, set_arguments
from jkeras.layers.attention import (
    attention_call_args,
    combined_attention_mask,
    merge_input_masks,
)
from jkeras.layers.core import apply_dropout
from jkeras.layers.einsum_dense import EinsumDense
from jkeras.layers.recurrent import nest_variable_paths
from jkeras.ops.attention_kernels import kernel_preferred, masked_softmax, softmax_attention


def _positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}.")
    return int(value)


def _fresh(initializer):
    """A new initializer with the same config (each sublayer gets its own, as in Keras)."""
    if hasattr(initializer, "get_config"):
        return type(initializer).from_config(initializer.get_config())
    return initializer


def _shape_list(shape):
    return None if shape is None else [None if d is None else int(d) for d in shape]


class GroupedQueryAttention(Layer):
    """Grouped-query attention: `layer(query, value, key=None)` on (batch, T, dim)
    and (batch, S, dim) tensors returns (batch, T, dim) (and, with
    `return_attention_scores=True`, the (batch, num_query_heads, T, S) weights).

    Call arguments as MultiHeadAttention's: `attention_mask` (batch, T, S),
    `use_causal_mask`, `training`, and the Keras masks of query/value/key.
    """

    _attention_scores = True  # step compile options: model_io.step_compiler_options

    _batch_independent = True
    _mask_from_all_args = True

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = f"GroupedQueryAttention '{self.name}'"
        self.head_dim = _positive_int(owner, "head_dim", head_dim)
        self.num_query_heads = _positive_int(owner, "num_query_heads", num_query_heads)
        self.num_key_value_heads = _positive_int(owner, "num_key_value_heads",
                                                 num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(
                f"{owner}: num_query_heads ({num_query_heads}) must be divisible by "
                f"num_key_value_heads ({num_key_value_heads})."
            )
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        if not 0 <= float(dropout) < 1:
            raise ValueError(f"{owner}: dropout must be in [0, 1), got {dropout!r}.")
        self.dropout = float(dropout)
        if sliding_window is not None:
            sliding_window = _positive_int(owner, "sliding_window", sliding_window)
        self.sliding_window = sliding_window
        self._flash_attention = bool(flash_attention)
        if self._flash_attention and self.dropout > 0:
            raise ValueError(f"{owner}: dropout is not supported with flash_attention=True; "
                             f"set dropout=0.0 or flash_attention=None.")
        self.use_gate = bool(use_gate)
        set_arguments(self, use_bias=use_bias, kernel_initializer=kernel_initializer,
                      bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                      bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                      bias_constraint=bias_constraint, seed=seed)
        self.supports_masking = True
        self._build_shapes = None

    # calling ------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        args = attention_call_args(self, args, kwargs)
        if not self.built:
            shapes = [tuple(getattr(x, "shape", ())) for x in args]
            self._check_shapes(shapes)
            self.build(*shapes)
        return super().__call__(*args, **kwargs)

    def _check_shapes(self, shapes) -> None:
        owner = f"GroupedQueryAttention '{self.name}'"
        for name, s in zip(("query", "value", "key"), shapes):
            if len(s) != 3 or s[-1] is None:
                raise ValueError(f"{owner}: {name} must have shape (batch, steps, features) "
                                 f"with known features, got {s}.")
        if shapes[0][-1] != shapes[1][-1]:
            raise ValueError(f"{owner}: query and value must have the same last dimension, "
                             f"got query {shapes[0]} and value {shapes[1]}.")
        if len(shapes) > 2 and shapes[1][1] not in (None, shapes[2][1]) and (
                shapes[2][1] is not None):
            raise ValueError(f"{owner}: value and key must have the same steps, got value "
                             f"{shapes[1]} and key {shapes[2]}.")

    # weights ------------------------------------------------------------------------------
    def _dense(self, equation: str, output_shape, bias_axes: str, name: str, input_shape,
               activation=None) -> EinsumDense:
        layer = EinsumDense(
            equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None,
            activation=activation, name=name, dtype=self.dtype_policy,
            kernel_initializer=_fresh(self.kernel_initializer),
            bias_initializer=_fresh(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
            kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint)
        layer.build(input_shape)
        nest_variable_paths(layer, f"{self.name}/{name}")
        self._sublayers.append(layer)
        return layer

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        self._build_shapes = (tuple(query_shape), tuple(value_shape),
                              None if key_shape is None else tuple(key_shape))
        key_shape = value_shape if key_shape is None else key_shape
        nq, nkv, hd = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self.feature_dim = int(query_shape[-1])
        # creation order = Keras's weight order: query, key, (gate), value, output
        self._query_dense = self._dense("bqm,muh->bquh", (None, nq, hd), "uh", "query",
                                        query_shape)
        self._key_dense = self._dense("bkm,mvh->bkvh", (None, nkv, hd), "vh", "key", key_shape)
        if self.use_gate:
            self._gate_dense = self._dense("bqm,muh->bquh", (None, nq, hd), "uh", "gate",
                                           query_shape, activation="sigmoid")
        self._value_dense = self._dense("bkm,mvh->bkvh", (None, nkv, hd), "vh", "value",
                                        value_shape)
        self._output_dense = self._dense("bquh,uhm->bqm", (None, self.feature_dim), "m",
                                         "attention_output", (None, None, nq, hd))
        self.built = True

    def get_build_config(self) -> dict:
        """Keras's build config: the shapes the layer was built for."""
        query, value, key = self._build_shapes
        shapes = {"query_shape": _shape_list(query), "value_shape": _shape_list(value)}
        if key is not None:
            shapes["key_shape"] = _shape_list(key)
        return {"shapes_dict": shapes}

    # computation --------------------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False, mask=None):
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                f"GroupedQueryAttention '{self.name}': attention scores cannot be returned "
                f"with flash_attention=True; disable flash attention to get them."
            )
        if key is None:
            key = value
        query_mask, value_mask, key_mask = merge_input_masks(mask, query_mask, value_mask,
                                                             key_mask)
        full_mask = combined_attention_mask(
            query.shape[1], value.shape[1], query_mask, value_mask, key_mask, attention_mask,
            use_causal_mask, self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)
        k = jnp.repeat(self._key_dense(key), self.num_repeats, axis=2)
        v = jnp.repeat(self._value_dense(value), self.num_repeats, axis=2)
        q = q * jnp.asarray(1.0 / math.sqrt(self.head_dim), q.dtype)
        mask4 = None if full_mask is None else full_mask[:, None]
        dropping = bool(training) and self.dropout > 0
        if return_attention_scores or not kernel_preferred():
            weights = masked_softmax(jnp.einsum("bquh,bkuh->buqk", q, k), mask4)
            final = apply_dropout(weights, self.dropout) if dropping else weights
            heads = jnp.einsum("buqk,bkuh->bquh", final, v)
        else:  # heads first for the attention kernel (its derivative is faster)
            keep = None
            if dropping:
                keep = jax.random.bernoulli(draw_key(None), 1.0 - self.dropout,
                                            (q.shape[0], q.shape[2], q.shape[1], k.shape[1]))
            # (batch, steps, heads, depth) -> queries heads-first, keys/values depth-first
            heads = jnp.swapaxes(softmax_attention(
                jnp.swapaxes(q, 1, 2), jnp.transpose(k, (0, 2, 3, 1)),
                jnp.transpose(v, (0, 2, 3, 1)), mask4, keep, 1.0 / (1.0 - self.dropout)), 1, 2)
        if gate is not None:
            heads = heads * gate
        out = self._output_dense(heads)
        if return_attention_scores:
            return out, weights
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            return mask[0] if mask else None
        return mask

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            **arguments_config(self, *KERNEL_BIAS_ARGUMENTS, "activity_regularizer", "seed"),
        }


GroupQueryAttention = GroupedQueryAttention  # the name Keras exports

__all__ = ["GroupQueryAttention", "GroupedQueryAttention"]
