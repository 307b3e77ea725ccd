"""Overlap losses for segmentation: Dice and Tversky, as functions and
`Loss` classes. Both reduce over `axis` (all axes by default, giving one
value for the whole batch; pass e.g. axis=(1, 2, 3) for one per sample).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jkeras.losses.loss import Loss, LossFunctionWrapper, _eps, _prep, jit_function


def _axis_option(axis, owner: str):
    """`axis` as None, an int or a tuple of ints (lists from configs become tuples)."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
            raise ValueError(f"{owner}: axis must be None, an int or ints, got {axis!r}.")
        return tuple(int(a) for a in axis)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{owner}: axis must be None, an int or a tuple of ints, got {axis!r}.")
    return int(axis)


@jit_function
def dice(y_true, y_pred, axis=None):
    """1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon),
    the sums over `axis` (None: all axes)."""
    axis = _axis_option(axis, "dice")
    y_true, y_pred = _prep(y_true, y_pred)
    overlap = jnp.sum(y_true * y_pred, axis=axis)
    total = jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * overlap / (total + _eps())


@jit_function
def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha * FP + beta * FN + epsilon) with the soft counts
    TP = sum(y_true * y_pred), FP = sum(y_pred * (1 - y_true)) and
    FN = sum((1 - y_pred) * y_true) over `axis`; alpha = beta = 0.5 is the
    Dice loss. As Keras documents (and as in Salehi et al., 2017), `alpha`
    weighs false positives; Keras 3.15's code applies it to false negatives
    instead, so the two differ when alpha != beta."""
    axis = _axis_option(axis, "tversky")
    y_true, y_pred = _prep(y_true, y_pred)
    tp = jnp.sum(y_true * y_pred, axis=axis)
    fp = jnp.sum(y_pred * (1.0 - y_true), axis=axis)
    fn = jnp.sum((1.0 - y_pred) * y_true, axis=axis)
    return 1.0 - tp / (tp + alpha * fp + beta * fn + _eps())


class Dice(LossFunctionWrapper):
    """Dice loss 1 - 2 |y_true . y_pred| / (|y_true| + |y_pred|), reduced over
    `axis` (None: the whole batch at once)."""

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype,
                         axis=_axis_option(axis, "Dice"))
        self.axis = axis

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "axis": self.axis}


class Tversky(LossFunctionWrapper):
    """Tversky loss: Dice with weights `alpha` (false positives) and `beta`
    (false negatives), reduced over `axis`."""

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=_axis_option(axis, "Tversky"))
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}
