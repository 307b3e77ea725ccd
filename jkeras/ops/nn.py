"""`keras.ops.nn`: neural-network ops on arrays, jkeras Variables and KerasTensors.

This module holds the activations and `polar`; the other families live in
`nn_conv` (convolutions, pooling, space/depth, fold/unfold), `nn_norm` (moments and
normalizations), `nn_targets` (one-hot encodings, crossentropies, psnr), `nn_ctc`
(CTC loss and decoding) and `nn_attention` (dot-product attention), and are
re-exported here, so that `jkeras.ops.nn` names the same functions as `keras.ops.nn`.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from jkeras.ops.nn_attention import dot_product_attention
from jkeras.ops.nn_conv import (
    average_pool,
    conv,
    conv_transpose,
    depth_to_space,
    depthwise_conv,
    fold,
    max_pool,
    separable_conv,
    space_to_depth,
    unfold,
)
from jkeras.ops.nn_ctc import ctc_decode, ctc_loss
from jkeras.ops.nn_norm import (
    batch_normalization,
    layer_normalization,
    moments,
    normalize,
    rms_normalization,
)
from jkeras.ops.nn_targets import (
    binary_crossentropy,
    categorical_crossentropy,
    multi_hot,
    one_hot,
    psnr,
    sparse_categorical_crossentropy,
)
from jkeras.ops.operation import symbolic_function
from jkeras.ops.spec_function import KerasTensor, spec_function


def _on_array(jax_fn):
    """`jax_fn` (a jax.nn activation with Keras's signature and defaults) applied to its
    first argument as an array, so that lists and scalars work too."""
    def apply(x, *args, **kwargs):
        return jax_fn(jnp.asarray(x), *args, **kwargs)

    apply.__name__ = jax_fn.__name__
    apply.__doc__ = jax_fn.__doc__
    return apply


def _check_axis_size(x, axis, name):
    shape = tuple(getattr(x, "shape", ()))
    if isinstance(axis, int) and -len(shape) <= axis < len(shape) and shape[axis] == 1:
        warnings.warn(
            f"{name} over axis {axis} of a tensor of shape {shape}: that axis has "
            f"size 1, so the result is constant. Did you mean sigmoid, or another axis?",
            stacklevel=3,
        )


def _softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis` (an int or a tuple of axes)."""
    return jax.nn.softmax(x, axis=axis)


def _log_softmax(x, axis=-1):
    """x - logsumexp(x) along `axis` (an int or a tuple of axes)."""
    return jax.nn.log_softmax(x, axis=axis)


def _softsign(x):
    return x / (1.0 + jnp.abs(x))


def _hard_sigmoid(x):
    return jax.nn.relu6(x + 3.0) / 6.0


def _gelu(x, approximate=True):
    """Gaussian error linear unit; the tanh approximation unless approximate=False."""
    return jax.nn.gelu(x, approximate=approximate)


def _leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(x, negative_slope)


def _glu_spec(x, axis=-1):
    shape = list(x.shape)
    if shape[axis] is not None:
        if shape[axis] % 2:
            raise ValueError(
                f"glu: the size of axis {axis} must be even (it is split in two halves), got "
                f"x.shape={tuple(x.shape)}."
            )
        shape[axis] //= 2
    return KerasTensor(shape, x.dtype)


def _hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros((), jnp.result_type(x)))


def _soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    x = jnp.asarray(x)
    return jnp.where(x > threshold, x - threshold,
                     jnp.where(x < -threshold, x + threshold, jnp.zeros((), x.dtype)))


def _tanh_shrink(x):
    """x - tanh(x)."""
    return x - jnp.tanh(x)


def _threshold(x, threshold, default_value):
    """x where x > threshold, else default_value."""
    x = jnp.asarray(x)
    return jnp.where(x > threshold, x, jnp.asarray(default_value, x.dtype))


def _sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`: like
    softmax, the result is non-negative and sums to one, but it is exactly zero for
    entries more than a threshold below the largest.

    The threshold is (sum of the k largest entries - 1) / k for the support size k.
    (Keras 3.15's JAX backend sums the cumulative sums instead, so its results do not
    sum to one once two or more entries are positive; this one does.)"""
    x = jnp.asarray(x)
    axis = axis % x.ndim
    z = jnp.flip(jnp.sort(x, axis=axis), axis=axis)  # descending
    ranks = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype)
    ranks = ranks.reshape([-1 if a == axis else 1 for a in range(x.ndim)])
    cumulative = jnp.cumsum(z, axis=axis)
    in_support = 1.0 + ranks * z > cumulative
    k = jnp.sum(in_support, axis=axis, keepdims=True)
    support_sum = jnp.sum(jnp.where(in_support, z, 0.0), axis=axis, keepdims=True)
    tau = (support_sum - 1.0) / k.astype(x.dtype)
    return jnp.maximum(x - tau, 0.0)


def _polar(abs_, angle):
    """The complex number abs_ * (cos(angle) + i sin(angle))."""
    abs_, angle = jnp.asarray(abs_), jnp.asarray(angle)
    return jax.lax.complex(abs_ * jnp.cos(angle), abs_ * jnp.sin(angle))


relu = symbolic_function(_on_array(jax.nn.relu), "relu")
relu6 = symbolic_function(_on_array(jax.nn.relu6), "relu6")
sigmoid = symbolic_function(_on_array(jax.nn.sigmoid), "sigmoid")
_softmax_op = symbolic_function(_softmax, "softmax")
_log_softmax_op = symbolic_function(_log_softmax, "log_softmax")
elu = symbolic_function(_on_array(jax.nn.elu), "elu")
selu = symbolic_function(_on_array(jax.nn.selu), "selu")
softplus = symbolic_function(_on_array(jax.nn.softplus), "softplus")
softsign = symbolic_function(_softsign, "softsign")
hard_sigmoid = symbolic_function(_hard_sigmoid, "hard_sigmoid")
gelu = symbolic_function(_gelu, "gelu")
silu = symbolic_function(_on_array(jax.nn.silu), "silu")
swish = silu
leaky_relu = symbolic_function(_leaky_relu, "leaky_relu")
celu = symbolic_function(_on_array(jax.nn.celu), "celu")
glu = spec_function(_on_array(jax.nn.glu), _glu_spec, "glu")
hard_shrink = symbolic_function(_hard_shrink, "hard_shrink")
soft_shrink = symbolic_function(_soft_shrink, "soft_shrink")
hard_silu = symbolic_function(_on_array(jax.nn.hard_silu), "hard_silu")
hard_swish = hard_silu
hard_tanh = symbolic_function(_on_array(jax.nn.hard_tanh), "hard_tanh")
log_sigmoid = symbolic_function(_on_array(jax.nn.log_sigmoid), "log_sigmoid")
sparse_plus = symbolic_function(_on_array(jax.nn.sparse_plus), "sparse_plus")
sparse_sigmoid = symbolic_function(_on_array(jax.nn.sparse_sigmoid), "sparse_sigmoid")
squareplus = symbolic_function(_on_array(jax.nn.squareplus), "squareplus")
tanh_shrink = symbolic_function(_tanh_shrink, "tanh_shrink")
threshold = symbolic_function(_threshold, "threshold")
sparsemax = symbolic_function(_sparsemax, "sparsemax")
polar = symbolic_function(_polar, "polar")


def softmax(x, axis=-1):
    """Softmax of `x` along `axis` (an int or a tuple of axes); warns when that axis has
    size 1 (the result would be all ones)."""
    _check_axis_size(x, axis, "softmax")
    return _softmax_op(x, axis=axis)


def log_softmax(x, axis=-1):
    """Log-softmax of `x` along `axis` (an int or a tuple of axes)."""
    return _log_softmax_op(x, axis=axis)


softmax.__wrapped__ = _softmax
log_softmax.__wrapped__ = _log_softmax

__all__ = [
    "average_pool", "batch_normalization", "binary_crossentropy", "categorical_crossentropy",
    "celu", "conv", "conv_transpose", "ctc_decode", "ctc_loss", "depth_to_space",
    "depthwise_conv", "dot_product_attention", "elu", "fold", "gelu", "glu", "hard_shrink",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "layer_normalization",
    "leaky_relu", "log_sigmoid", "log_softmax", "max_pool", "moments", "multi_hot",
    "normalize", "one_hot", "polar", "psnr", "relu", "relu6", "rms_normalization", "selu",
    "separable_conv", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "space_to_depth", "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid",
    "sparsemax", "squareplus", "swish", "tanh_shrink", "threshold", "unfold",
]
