"""Encodings of class labels and per-element losses as `keras.ops.nn` has them:
`one_hot`, `multi_hot`, `binary_crossentropy`, `categorical_crossentropy`,
`sparse_categorical_crossentropy` (unreduced, unlike the `jkeras.losses` functions)
and `psnr`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.backend import config
from jkeras.ops.operation import symbolic_function


def _no_sparse(op: str, sparse) -> None:
    if sparse:
        raise ValueError(
            f"{op}: sparse=True is not supported: jkeras has no sparse tensors. Pass "
            f"sparse=False to get a dense array."
        )


def _one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """A new axis `axis` of length `num_classes` with 1 at each integer of `x` and 0
    elsewhere (all zeros for values outside [0, num_classes)). dtype defaults to floatx."""
    _no_sparse("one_hot", sparse)
    x = jnp.asarray(x)
    return jax.nn.one_hot(x, num_classes, axis=axis, dtype=dtype or config.floatx())


def _multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """For each sample (row of a 2D `inputs`, or the whole of a 1D one), 1 at every
    class that appears among its integers and 0 elsewhere: shape (batch, num_classes)
    or (num_classes,). `num_tokens` is accepted as an older name of num_classes."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot: the argument `num_classes` must be given.")
    _no_sparse("multi_hot", sparse)
    x = jnp.asarray(inputs).astype(jnp.int32)
    encoded = jax.nn.one_hot(x, num_classes, axis=axis, dtype=dtype or config.floatx())
    return jnp.max(encoded, axis=1 if x.ndim > 1 else 0)


def _same_shape(op: str, target, output) -> None:
    if target.shape != output.shape:
        raise ValueError(
            f"{op}: `target` and `output` must have the same shape, got "
            f"target.shape={target.shape} and output.shape={output.shape}."
        )


def _clipped(output):
    eps = config.epsilon()
    return jnp.clip(output, eps, 1.0 - eps)


def _binary_crossentropy(target, output, from_logits=False):
    """Elementwise -(target * log(p) + (1 - target) * log(1 - p)), p = output (clipped
    to [epsilon, 1 - epsilon]) or sigmoid(output) when from_logits."""
    target, output = jnp.asarray(target), jnp.asarray(output)
    _same_shape("binary_crossentropy", target, output)
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1.0 - target) * jax.nn.log_sigmoid(
            -output)
    p = _clipped(output)
    return -(target * jnp.log(p) + (1.0 - target) * jnp.log(1.0 - p))


def _log_probabilities(output, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    return jnp.log(_clipped(output / jnp.sum(output, axis=axis, keepdims=True)))


def _categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log(p), axis): `output` holds probabilities (renormalized to sum to
    one, then clipped to [epsilon, 1 - epsilon]) or logits when from_logits."""
    target, output = jnp.asarray(target), jnp.asarray(output)
    _same_shape("categorical_crossentropy", target, output)
    if target.ndim < 1:
        raise ValueError(
            "categorical_crossentropy: `target` and `output` must have rank >= 1 (a class "
            f"axis), got shape {target.shape}."
        )
    return -jnp.sum(target * _log_probabilities(output, from_logits, axis), axis=axis)


def _sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-log(p[target]) along `axis`, for integer class labels `target` shaped like
    `output` without its class axis (a trailing axis of size 1 is allowed); `output` as
    in `categorical_crossentropy`."""
    target = jnp.asarray(target).astype(jnp.int32)
    output = jnp.asarray(output)
    if output.ndim < 1:
        raise ValueError(
            "sparse_categorical_crossentropy: `output` must have rank >= 1 (a class axis), "
            f"got shape {output.shape}."
        )
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = target[..., 0]
    class_axis = axis % output.ndim
    expected = output.shape[:class_axis] + output.shape[class_axis + 1:]
    if target.shape != expected:
        raise ValueError(
            "sparse_categorical_crossentropy: `target` must hold one integer label per "
            f"prediction, shaped {expected} (output.shape={output.shape} without axis "
            f"{axis}), got target.shape={target.shape}."
        )
    log_p = _log_probabilities(output, from_logits, axis)
    # One-hot (not a gather): a label outside [0, classes) gives 0, as in Keras.
    labels = jax.nn.one_hot(target, output.shape[class_axis], axis=class_axis,
                            dtype=log_p.dtype)
    return -jnp.sum(labels * log_p, axis=class_axis)


def _psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio over all entries: 20 log10(max_val) - 10 log10(mse)."""
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"psnr: `x1` and `x2` must have the same shape, got {x1.shape} and "
                         f"{x2.shape}.")
    mse = jnp.mean(jnp.square(x1 - x2))
    return 20.0 * jnp.log10(jnp.asarray(max_val, x2.dtype)) - 10.0 * jnp.log10(mse)


one_hot = symbolic_function(_one_hot, "one_hot")
multi_hot = symbolic_function(_multi_hot, "multi_hot")
binary_crossentropy = symbolic_function(_binary_crossentropy, "binary_crossentropy")
categorical_crossentropy = symbolic_function(_categorical_crossentropy,
                                             "categorical_crossentropy")
sparse_categorical_crossentropy = symbolic_function(_sparse_categorical_crossentropy,
                                                    "sparse_categorical_crossentropy")
psnr = symbolic_function(_psnr, "psnr")

__all__ = ["binary_crossentropy", "categorical_crossentropy", "multi_hot", "one_hot", "psnr",
           "sparse_categorical_crossentropy"]
