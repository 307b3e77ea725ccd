"""ReversibleEmbedding: an Embedding that can also project hidden states back to
vocabulary logits (`layer(h, reverse=True)`), with the transposed embeddings
(`tie_weights=True`) or with its own `reverse_embeddings` (output_dim, input_dim)."""

from __future__ import annotations

import jax.numpy as jnp

from jkeras import regularizers
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.core import Embedding


class ReversibleEmbedding(Embedding):
    """`layer(ids)` embeds token ids like Embedding; `layer(hidden, reverse=True)`
    returns `hidden @ embeddings.T` (or `hidden @ reverse_embeddings`), computed in
    `reverse_dtype` when given and, with `logit_soft_cap`, squashed as
    `tanh(logits / cap) * cap`. No bias. The mask of `mask_zero` applies to the
    forward call only."""

    def __init__(self, input_dim, output_dim, tie_weights=True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, quantization_config=None, **kwargs):
        if quantization_config is not None:
            raise NotImplementedError("ReversibleEmbedding: quantization (quantization_config) "
                                      "is not supported by jkeras; pass None.")
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        if logit_soft_cap is not None and not float(logit_soft_cap) > 0:
            raise ValueError(f"ReversibleEmbedding '{self.name}': logit_soft_cap must be a "
                             f"positive number or None, got {logit_soft_cap!r}.")
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self._reversed_call = False

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                "reverse_embeddings", (self.output_dim, self.input_dim),
                self.embeddings_initializer)
        self.built = True

    def __call__(self, *args, **kwargs):
        # which way the call goes decides the output mask (see compute_mask)
        self._reversed_call = bool(kwargs.get("reverse", False))
        return super().__call__(*args, **kwargs)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = (self.embeddings.value.T if self.tie_weights
                  else self.reverse_embeddings.value)
        x = jnp.asarray(inputs)
        if self.reverse_dtype is not None:
            x, kernel = x.astype(self.reverse_dtype), kernel.astype(self.reverse_dtype)
        else:
            kernel = kernel.astype(x.dtype)
        logits = jnp.matmul(x, kernel)
        if self.logit_soft_cap is not None:
            cap = jnp.asarray(self.logit_soft_cap, logits.dtype)
            logits = jnp.tanh(logits / cap) * cap
        return logits

    def compute_mask(self, inputs, mask=None):
        if self._reversed_call:
            return None
        return super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)

    def compute_output_spec(self, inputs, reverse=False, **kwargs):
        if reverse and inputs.shape[-1] not in (None, self.output_dim):
            raise ValueError(
                f"ReversibleEmbedding '{self.name}': reverse=True projects vectors of size "
                f"output_dim={self.output_dim}, got an input of shape {inputs.shape}."
            )
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        dtype = self.reverse_dtype if (reverse and self.reverse_dtype) else self.compute_dtype
        return KerasTensor(shape, dtype)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "quantization_config": None, "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}


__all__ = ["ReversibleEmbedding"]
