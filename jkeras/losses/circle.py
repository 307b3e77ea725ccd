"""Circle loss (Sun et al., 2020) for metric learning on L2-normalized embeddings."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.losses.loss import Loss, LossFunctionWrapper, jit_function


def _int_labels(labels):
    labels = jnp.asarray(labels)
    if jnp.issubdtype(labels.dtype, jnp.floating):
        labels = jnp.round(labels)
    return labels.astype(jnp.int32).reshape(-1)


@jit_function
def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss of each embedding in `y_pred` (batch, dim; L2-normalized)
    with integer labels `y_true` (batch,), against the reference embeddings
    and labels (default: the batch itself). Pairs with the same label are
    positives (a sample with itself only when `remove_diagonal=False`), the
    others negatives. With cosine distances d, positives contribute
    -gamma * max(margin + d, 0) * (margin - d), negatives
    gamma * max(1 + margin - d, 0) * (1 - margin - d); the loss is
    softplus(logsumexp(positives) + logsumexp(negatives)), shape (batch,)."""
    y_pred = jnp.asarray(y_pred)
    if y_pred.ndim != 2:
        raise ValueError(
            f"circle: y_pred must be embeddings shaped (batch, dim), got shape {y_pred.shape}."
        )
    labels = _int_labels(y_true)
    refs = y_pred if ref_embeddings is None else jnp.asarray(ref_embeddings, y_pred.dtype)
    ref_labels = labels if ref_labels is None else _int_labels(ref_labels)
    if labels.shape[0] != y_pred.shape[0] or ref_labels.shape[0] != refs.shape[0]:
        raise ValueError(
            f"circle: got {labels.shape[0]} labels for {y_pred.shape[0]} embeddings and "
            f"{ref_labels.shape[0]} reference labels for {refs.shape[0]} reference "
            f"embeddings; give one integer label per embedding."
        )
    dist = jnp.maximum(1.0 - y_pred @ refs.T, 0.0)
    positive = labels[:, None] == ref_labels[None, :]
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~jnp.eye(positive.shape[0], positive.shape[1], dtype=bool)
    pos_weight = jnp.maximum((margin + dist) * positive, 0.0)
    neg_weight = jnp.maximum((1.0 + margin - dist) * negative, 0.0)
    pos_logits = -gamma * pos_weight * (margin - dist)
    neg_logits = gamma * neg_weight * (1.0 - margin - dist)
    pos_term = jax.nn.logsumexp(jnp.where(positive, pos_logits, -jnp.inf), axis=1)
    neg_term = jax.nn.logsumexp(jnp.where(negative, neg_logits, -jnp.inf), axis=1)
    return jax.nn.softplus(pos_term + neg_term)


class Circle(LossFunctionWrapper):
    """Circle loss between integer labels and L2-normalized embeddings (a
    model ending in a Dense layer without activation and UnitNormalization).
    As in Keras, samples whose loss is 0 (no positive or no negative pair)
    are left out of the mean."""

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def call(self, y_true, y_pred):
        # No rank alignment: labels are (batch,), embeddings (batch, dim).
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _output_mask(self, y_true, y_pred):
        return self.call(y_true, y_pred) > 0

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}
