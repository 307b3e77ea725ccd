"""Connectionist Temporal Classification loss (`optax.ctc_loss` underneath)."""

from __future__ import annotations

import jax.numpy as jnp
import optax

from jkeras.backend import config as _config
from jkeras.losses.loss import Loss, LossFunctionWrapper, jit_function


@jit_function
def ctc(y_true, y_pred):
    """CTC loss per sequence. `y_true`: integer labels shaped (batch,
    max_label_length), packed to the left, where 0 is the blank/padding index
    (so real classes start at 1); `y_pred`: unnormalized logits shaped (batch,
    time, num_classes). Every time step of `y_pred` counts; the label length
    is the number of non-zero labels. Returns shape (batch,)."""
    y_true = jnp.asarray(y_true)
    y_pred = jnp.asarray(y_pred)
    if y_true.ndim != 2:
        raise ValueError(
            "ctc: y_true must be integer labels shaped (batch_size, max_length), got shape "
            f"{y_true.shape}."
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "ctc: y_pred must be logits shaped (batch_size, max_length, num_classes), got "
            f"shape {y_pred.shape}."
        )
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(_config.floatx())
    dtype = jnp.promote_types(y_pred.dtype, jnp.float32)
    labels = (jnp.round(y_true) if jnp.issubdtype(y_true.dtype, jnp.floating)
              else y_true).astype(jnp.int32)
    label_length = jnp.sum(labels != 0, axis=-1)
    positions = jnp.arange(labels.shape[1])[None, :]
    label_paddings = (positions >= label_length[:, None]).astype(dtype)
    logit_paddings = jnp.zeros(y_pred.shape[:2], dtype)
    return optax.ctc_loss(y_pred.astype(dtype), logit_paddings, labels, label_paddings,
                          blank_id=0)


class CTC(LossFunctionWrapper):
    """CTC loss for integer label sequences (0 = blank/padding) against
    per-time-step logits (see `ctc`)."""

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        # No rank alignment: labels are (batch, length), logits (batch, time, classes).
        return self.fn(y_true, y_pred)

    def get_config(self) -> dict:
        return Loss.get_config(self)
