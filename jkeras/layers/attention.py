"""Attention layers: Attention (Luong), AdditiveAttention (Bahdanau) and
MultiHeadAttention, with Keras 3's arguments, masks, weights and configs."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import constraints, initializers, regularizers
from jkeras.engine.layer import Layer
from jkeras.engine.seed_generator import SeedGenerator, draw_key
from jkeras.layers.core import apply_dropout
from jkeras.layers.einsum_dense import fan_aware_initializer
from jkeras.ops.attention_kernels import (
    kernel_preferred,
    mask_penalty,
    masked_softmax,
    softmax_attention,
)


def _causal_mask(q_len: int, v_len: int):
    """(1, Tq, Tv) boolean: query position i sees value positions j <= i."""
    return (jnp.arange(q_len)[:, None] >= jnp.arange(v_len)[None, :])[None]


def combined_attention_mask(q_len: int, v_len: int, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, use_causal_mask=False,
                            sliding_window=None):
    """(batch or 1, Tq, Tv) boolean (True = attend) from the Keras masks of the query
    (batch, Tq) and of the value and key (batch, Tv), an explicit attention_mask, the
    causal mask and a symmetric band of `sliding_window`; None when there is none."""
    auto = None
    if query_mask is not None:
        auto = jnp.asarray(query_mask).astype(bool)[:, :, None]
    for m in (value_mask, key_mask):
        if m is not None:
            m = jnp.asarray(m).astype(bool)[:, None, :]
            auto = m if auto is None else jnp.logical_and(auto, m)
    if use_causal_mask:
        c = _causal_mask(q_len, v_len)
        auto = c if auto is None else jnp.logical_and(auto, c)
    if sliding_window is not None:
        i, j = jnp.arange(q_len)[:, None], jnp.arange(v_len)[None, :]
        band = (jnp.abs(i - j) < sliding_window)[None]
        auto = band if auto is None else jnp.logical_and(auto, band)
    if attention_mask is not None:
        attention_mask = jnp.asarray(attention_mask).astype(bool)
        auto = attention_mask if auto is None else jnp.logical_and(attention_mask, auto)
    return auto


def merge_input_masks(mask, query_mask=None, value_mask=None, key_mask=None) -> tuple:
    """(query_mask, value_mask, key_mask): the ones given explicitly, else the Keras
    masks of the query, value and key tensors (`mask`, a list of up to three)."""
    auto = [None] * 3 if mask is None else list(mask) + [None] * (3 - len(mask))
    return (auto[0] if query_mask is None else query_mask,
            auto[1] if value_mask is None else value_mask,
            auto[2] if key_mask is None else key_mask)


def attention_call_args(layer, args: tuple, kwargs: dict) -> list:
    """The tensors (query, value[, key]) of a call of an attention layer given
    positionally or as query=/value=/key= (removed from `kwargs`); TypeError naming
    the layer when query or value is missing or there are too many."""
    args = list(args)
    names = ("query", "value", "key")
    for name in names:
        if name in kwargs and len(args) == names.index(name):
            v = kwargs.pop(name)
            if v is None:
                break
            args.append(v)
    if kwargs.get("key", 0) is None:
        kwargs.pop("key")
    owner = f"{type(layer).__name__} '{layer.name}'"
    if len(args) < 2:
        raise TypeError(
            f"{owner} needs a query and a value: call it as layer(query, value) or "
            f"layer(query, value, key) (self-attention: layer(x, x))."
        )
    if len(args) > 3:
        raise TypeError(f"{owner} takes at most 3 positional tensors (query, value, key), "
                        f"got {len(args)}.")
    return args


class Attention(Layer):
    """Dot-product (Luong-style) attention.

    Called on `[query, value]` or `[query, value, key]` (key defaults to value), of
    shapes (batch, Tq, dim) and (batch, Tv, dim); returns (batch, Tq, dim_value) and,
    with `return_attention_scores=True`, also the (batch, Tq, Tv) attention weights.
    A value mask (batch, Tv) gives padding positions no weight; a query mask zeroes
    the output at padding query positions and is the output mask.
    """

    _attention_scores = True  # step compile options: model_io.step_compiler_options

    _batch_independent = True

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': score_mode must be 'dot' or 'concat', "
                f"got {score_mode!r}."
            )
        if not 0 <= float(dropout) < 1:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': dropout must be in [0, 1), got {dropout}."
            )
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.scale = None
        self.concat_score_weight = None
        self.supports_masking = True

    # validation -------------------------------------------------------------------------
    def _validate_input(self, inputs):
        cls = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            given = (f"a list of {len(inputs)} tensor(s)" if isinstance(inputs, (list, tuple))
                     else f"a single {type(inputs).__name__}")
            raise ValueError(
                f"{cls} '{self.name}' must be called on a list [query, value] or "
                f"[query, value, key], got {given}."
            )
        shapes = [tuple(getattr(x, "shape", ())) for x in inputs]
        if any(len(s) != 3 for s in shapes):
            raise ValueError(
                f"{cls} '{self.name}' expects 3D inputs (batch, steps, dim), got shapes "
                f"{shapes}."
            )
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) == 3 else v
        if k[1] is not None and v[1] is not None and k[1] != v[1]:
            raise ValueError(
                f"{cls} '{self.name}': key and value must have the same number of steps, "
                f"got key {k} and value {v}."
            )
        if q[-1] is not None and k[-1] is not None and q[-1] != k[-1]:
            raise ValueError(
                f"{cls} '{self.name}': query and key must have the same last dimension, got "
                f"query {q} and key {k}. Project them (e.g. with Dense) to one size."
            )

    def _validate_mask(self, mask):
        if mask is None:
            return
        if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': mask must be a list [query_mask, "
                f"value_mask] (either may be None), got {type(mask).__name__}."
            )

    # weights ----------------------------------------------------------------------------
    def build(self, input_shape):
        if self.use_scale:
            self.scale = self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")
        self.built = True

    # computation ------------------------------------------------------------------------
    def _calculate_scores(self, query, key):
        """(batch, Tq, Tv) unnormalised scores."""
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -1, -2))
            if self.scale is not None:
                scores = scores * self.scale.value
            return scores
        q = query[:, :, None, :]
        k = key[:, None, :, :]
        s = q + k
        if self.scale is not None:
            s = self.scale.value * s
        return self.concat_score_weight.value * jnp.sum(jnp.tanh(s), axis=-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_mask(mask)
        query = inputs[0]
        value = inputs[1].astype(query.dtype)
        key = inputs[2].astype(query.dtype) if len(inputs) > 2 else value
        q_mask = mask[0] if mask is not None else None
        v_mask = mask[1] if mask is not None else None
        scores = self._calculate_scores(query, key)
        score_mask = None
        if v_mask is not None:
            score_mask = jnp.asarray(v_mask).astype(bool)[:, None, :]
        if use_causal_mask:
            causal = _causal_mask(scores.shape[-2], scores.shape[-1])
            score_mask = causal if score_mask is None else jnp.logical_and(score_mask, causal)
        if score_mask is not None:
            scores = jnp.where(score_mask, scores, scores - mask_penalty(scores.dtype))
        weights = jax.nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = apply_dropout(weights, self.dropout, seed=self.seed_generator)
        result = jnp.matmul(weights, value)
        if q_mask is not None:
            result = result * jnp.asarray(q_mask).astype(result.dtype)[:, :, None]
        if return_attention_scores:
            return result, weights
        return result

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention: scores are
    `sum(scale * tanh(query[:, :, None] + key[:, None]), axis=-1)`, with a trainable
    `scale` of shape (dim,) when `use_scale=True`. Called like `Attention`."""

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        dim = input_shape[-1][-1] if isinstance(input_shape[0], (list, tuple)) else None
        if self.use_scale:
            if dim is None:
                raise ValueError(
                    f"AdditiveAttention '{self.name}': the last dimension of the key must be "
                    f"known to build the 'scale' weight, got input shapes {input_shape}."
                )
            self.scale = self.add_weight("scale", (int(dim),), "glorot_uniform")
        self.built = True

    def _calculate_scores(self, query, key):
        s = jnp.tanh(query[:, :, None, :] + key[:, None, :, :])
        if self.scale is not None:
            s = self.scale.value * s
        return jnp.sum(s, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.pop("score_mode", None)
        return config


class _Projection(Layer):
    """The weights of one of MultiHeadAttention's projections (Keras's EinsumDense
    sublayers 'query', 'key', 'value', 'attention_output'): a kernel and a bias."""

    _batch_independent = True

    def __init__(self, kernel_shape, bias_shape, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        self.kernel = self.add_weight("kernel", kernel_shape, kernel_initializer,
                                      regularizer=kernel_regularizer,
                                      constraint=kernel_constraint)
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight("bias", bias_shape, bias_initializer,
                                        regularizer=bias_regularizer,
                                        constraint=bias_constraint)
        self.built = True

    def call(self, inputs):  # pragma: no cover - MultiHeadAttention reads the weights
        raise NotImplementedError("used through MultiHeadAttention")


def _shape_list(shape):
    return None if shape is None else [None if d is None else int(d) for d in shape]


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.), as Keras 3's `MultiHeadAttention`.

    `layer(query, value, key=None)` with query (batch, T..., dim_q) and value/key
    (batch, S..., dim): projects each to `num_heads` heads of size `key_dim`
    (values: `value_dim`), attends with scores scaled by 1/sqrt(key_dim), and projects
    the concatenated heads to `output_shape` (default: dim_q). With
    `return_attention_scores=True` also returns the (batch, num_heads, T..., S...)
    attention weights. Keras masks on query/value/key are honoured (padding keys get
    no weight); the output mask is the query's.
    """

    _attention_scores = True  # step compile options: model_io.step_compiler_options

    _batch_independent = True
    _mask_from_all_args = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, flash_attention=None,
                 use_gate=False, sliding_window=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for arg, v in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': {arg} must be a positive integer, "
                    f"got {v!r}."
                )
        if value_dim is not None and (not isinstance(value_dim, (int, np.integer))
                                      or value_dim <= 0):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': value_dim must be a positive integer or "
                f"None, got {value_dim!r}."
            )
        if not 0 <= float(dropout) < 1:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': dropout must be in [0, 1), got {dropout}."
            )
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is not None and not isinstance(output_shape, (int, np.integer)):
            output_shape = tuple(int(d) for d in output_shape)
        elif output_shape is not None:
            output_shape = int(output_shape)
        self._output_shape = output_shape
        if isinstance(attention_axes, (int, np.integer)):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None:
            attention_axes = tuple(int(a) for a in attention_axes)
        self.attention_axes = attention_axes
        self.flash_attention = flash_attention
        if sliding_window is not None and (not isinstance(sliding_window, (int, np.integer))
                                           or sliding_window <= 0):
            raise ValueError(
                f"MultiHeadAttention '{self.name}': sliding_window must be None or a positive "
                f"integer, got {sliding_window!r}."
            )
        self.use_gate = bool(use_gate)
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True
        self._query_shape = self._value_shape = self._key_shape = None

    # calling ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        args = attention_call_args(self, args, kwargs)
        if not self.built:
            self._check_shapes(args)
            self.build(tuple(args[0].shape), tuple(args[1].shape),
                       tuple(args[2].shape) if len(args) > 2 else None)
        return super().__call__(*args, **kwargs)

    def _check_shapes(self, args):
        names = ("query", "value", "key")
        shapes = [tuple(getattr(x, "shape", ())) for x in args]
        for n, s in zip(names, shapes):
            if len(s) < 3:
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': {n} must have rank >= 3 (batch, "
                    f"steps, features), got shape {s}."
                )
            if s[-1] is None:
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': the last dimension of {n} must be "
                    f"known, got shape {s}."
                )
        for n, s in zip(names[1:], shapes[1:]):
            if len(s) != len(shapes[0]):
                raise ValueError(
                    f"MultiHeadAttention '{self.name}': query and {n} must have the same "
                    f"rank, got {shapes[0]} and {s}."
                )
        if len(shapes) > 2 and shapes[1][1:-1] != shapes[2][1:-1]:
            raise ValueError(
                f"MultiHeadAttention '{self.name}': value and key must have the same steps, "
                f"got value {shapes[1]} and key {shapes[2]}."
            )

    def _inner_axes(self, rank: int) -> tuple:
        """The attention axes as positive indices; only 'all axes between batch and
        features' is supported."""
        full = tuple(range(1, rank - 1))
        if self.attention_axes is None:
            return full
        axes = tuple(sorted(a % rank for a in self.attention_axes))
        if axes != full:
            raise NotImplementedError(
                f"MultiHeadAttention '{self.name}': attention_axes={self.attention_axes} is "
                f"not supported yet for inputs of rank {rank}; only attention over all axes "
                f"between batch and features ({full}, the default None) is."
            )
        return axes

    # weights ----------------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        self._inner_axes(len(query_shape))
        self._query_shape = tuple(query_shape)
        self._value_shape = tuple(value_shape)
        self._key_shape = None if key_shape is value_shape else tuple(key_shape)
        n, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self._output_shape
        if out is None:
            out = (int(query_shape[-1]),)
        elif isinstance(out, int):
            out = (out,)
        self._out_dims = tuple(out)

        def proj(name, kernel_shape, bias_shape, n_input_axes=1):
            # fans from the kernel's input and output axes, as Keras's EinsumDense gives
            init = fan_aware_initializer(
                self.kernel_initializer, tuple(range(n_input_axes)),
                tuple(range(n_input_axes, len(kernel_shape))))
            layer = _Projection(
                kernel_shape, bias_shape if self.use_bias else None,
                init, self.bias_initializer, self.kernel_regularizer,
                self.bias_regularizer, self.kernel_constraint, self.bias_constraint,
                name=name, dtype=self.dtype_policy,
            )
            self._sublayers.append(layer)
            return layer

        # attribute names as Keras 3.15 saves them (layers/<mha>/query_dense/vars, ...,
        # the gate under _gate_dense), in its weight order: query, key, (gate), value,
        # output
        self.query_dense = proj("query", (int(query_shape[-1]), n, kd), (n, kd))
        self.key_dense = proj("key", (int(key_shape[-1]), n, kd), (n, kd))
        if self.use_gate:
            self._gate_dense = proj("gate", (int(query_shape[-1]), n, vd), (n, vd))
        self.value_dense = proj("value", (int(value_shape[-1]), n, vd), (n, vd))
        self.output_dense = proj("attention_output", (n, vd, *self._out_dims),
                                  self._out_dims, n_input_axes=2)
        self.built = True

    def get_build_config(self) -> dict:
        """Keras 3's build config: the three input shapes."""
        key = self._key_shape
        return {"shapes_dict": {"query_shape": _shape_list(self._query_shape),
                                "value_shape": _shape_list(self._value_shape),
                                "key_shape": _shape_list(key)}}

    # computation ------------------------------------------------------------------------
    @staticmethod
    def _project(x, layer, depth_first: bool = False):
        """(batch, steps, dim) -> (batch, heads, steps, head_dim), or with `depth_first`
        (batch, heads, head_dim, steps): heads first, so that the attention products are
        batched over leading axes, written straight into that layout (no transpose
        after the projection). Keys and values go depth-first into
        `ops.attention_kernels.softmax_attention`."""
        if depth_first:
            y = jnp.einsum("btd,dnh->bnht", x, layer.kernel.value)
            if layer.bias is not None:
                y = y + layer.bias.value[:, :, None]
            return y
        y = jnp.einsum("btd,dnh->bnth", x, layer.kernel.value)
        if layer.bias is not None:
            y = y + layer.bias.value[:, None, :]
        return y

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False, mask=None):
        if key is None:
            key = value
        query_mask, value_mask, key_mask = merge_input_masks(mask, query_mask, value_mask,
                                                             key_mask)
        rank = query.ndim
        self._inner_axes(rank)
        batch = query.shape[0]
        q_steps, v_steps = query.shape[1:-1], value.shape[1:-1]
        tq, tv = math.prod(q_steps), math.prod(v_steps)
        value = value.astype(query.dtype)
        key = key.astype(query.dtype)
        # flatten the attention axes to one sequence axis
        q = self._project(query.reshape(batch, tq, query.shape[-1]), self.query_dense)
        k_t = self._project(key.reshape(batch, tv, key.shape[-1]), self.key_dense, True)
        v_t = self._project(value.reshape(batch, tv, value.shape[-1]), self.value_dense, True)

        def flat(m):
            return None if m is None else jnp.asarray(m).reshape(m.shape[0], -1)

        if attention_mask is not None:
            attention_mask = jnp.asarray(attention_mask)
            attention_mask = attention_mask.reshape(attention_mask.shape[0], tq, tv)
        full_mask = combined_attention_mask(tq, tv, flat(query_mask), flat(value_mask),
                                            flat(key_mask), attention_mask, use_causal_mask,
                                            self.sliding_window)
        q = q * jnp.asarray(1.0 / math.sqrt(self.key_dim), q.dtype)
        # a fully masked row gets no weight at all (not a uniform distribution)
        mask4 = None if full_mask is None else full_mask[:, None]
        dropping = bool(training) and self.dropout > 0
        if return_attention_scores or not kernel_preferred():
            weights = masked_softmax(jnp.einsum("bnth,bnhs->bnts", q, k_t), mask4)
            final = weights
            if dropping:
                final = apply_dropout(weights, self.dropout, seed=self.seed_generator)
            heads = jnp.einsum("bnts,bnhs->bnth", final, v_t)
        else:
            keep = None
            if dropping:
                keep = jax.random.bernoulli(draw_key(self.seed_generator), 1.0 - self.dropout,
                                            (batch, self.num_heads, tq, tv))
            heads = softmax_attention(q, k_t, v_t, mask4, keep, 1.0 / (1.0 - self.dropout))
        if self.use_gate:
            gate = self._project(query.reshape(batch, tq, query.shape[-1]), self._gate_dense)
            heads = heads * jax.nn.sigmoid(gate)
        out_kernel = self.output_dense.kernel.value
        out = jnp.einsum("bnth,nho->bto", heads,
                         out_kernel.reshape(*out_kernel.shape[:2], -1))
        out = out.reshape(batch, tq, *self._out_dims)
        if self.output_dense.bias is not None:
            out = out + self.output_dense.bias.value
        out = out.reshape(batch, *q_steps, *self._out_dims)
        if return_attention_scores:
            return out, weights.reshape(batch, self.num_heads, *q_steps, *v_steps)
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            return mask[0] if mask else None
        return mask

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": (list(self._output_shape)
                             if isinstance(self._output_shape, tuple) else self._output_shape),
            "attention_axes": (list(self.attention_axes) if self.attention_axes is not None
                               else None),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
            # newer Keras 3 arguments, written only when used (older Keras 3 rejects them)
            **({"use_gate": True} if self.use_gate else {}),
            **({"sliding_window": self.sliding_window} if self.sliding_window else {}),
        }


__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention"]
