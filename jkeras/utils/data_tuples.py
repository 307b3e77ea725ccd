"""Packing and unpacking the `(x, y, sample_weight)` tuples that fit consumes."""

from __future__ import annotations

from jkeras.training.data_adapter import unpack_batch


def unpack_x_y_sample_weight(data) -> tuple:
    """`(x, y, sample_weight)` from `data`: `x`, `(x,)`, `(x, y)` or
    `(x, y, sample_weight)` (a list counts as a tuple); missing parts are None.
    Meant for overriding `train_step`/`test_step`/`predict_step`."""
    return unpack_batch(data)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The tuple `fit` expects: `x` alone when there is no `y` (wrapped as `(x,)`
    only if `x` is itself a tuple or list, so that it is not read as `(x, y)`),
    else `(x, y)` or `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
