"""`keras.random`: random draws with Keras 3's seeds.

`seed` is an int (the same values on every call), a `SeedGenerator` (a new
draw on every call; usable inside jit through `Model.stateless_call` or in a
layer trained by `fit`), a key array, or None (inside `fit`'s compiled step:
the step's key stream; in eager code: a global generator that
`jkeras.utils.set_random_seed` makes repeatable). With an int seed the values
equal Keras 3's on its JAX backend.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.backend.config import floatx
from jkeras.engine.seed_generator import SeedGenerator, draw_key

__all__ = [
    "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
    "randint", "shuffle", "truncated_normal", "uniform",
]


def _shape(shape, what: str) -> tuple:
    if isinstance(shape, int):
        return (shape,)
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"jkeras.random.{what}: `shape` must be a tuple of integers, got {shape!r}."
        ) from None
    return out


def _array(x):
    return x.value if getattr(x, "_is_variable", False) else jnp.asarray(x)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> jax.Array:
    """Samples of a normal distribution with this mean and standard deviation."""
    key = draw_key(seed)
    sample = jax.random.normal(key, _shape(shape, "normal"), dtype=dtype or floatx())
    return sample * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> jax.Array:
    """Samples of a uniform distribution over [minval, maxval)."""
    key = draw_key(seed)
    return jax.random.uniform(key, _shape(shape, "uniform"), dtype=dtype or floatx(),
                              minval=minval, maxval=maxval)


def randint(shape, minval, maxval, dtype="int32", seed=None) -> jax.Array:
    """Integers drawn uniformly from [minval, maxval)."""
    key = draw_key(seed)
    return jax.random.randint(key, _shape(shape, "randint"), minval, maxval, dtype=dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> jax.Array:
    """Normal samples, redrawn beyond two standard deviations from the mean."""
    key = draw_key(seed)
    sample = jax.random.truncated_normal(key, -2.0, 2.0, _shape(shape, "truncated_normal"),
                                         dtype=dtype or floatx())
    return sample * stddev + mean


def categorical(logits, num_samples: int, dtype="int32", seed=None) -> jax.Array:
    """For each row of `logits` (batch, classes), `num_samples` class indices
    drawn with probabilities softmax(logits): shape (batch, num_samples)."""
    logits = _array(logits)
    if logits.ndim != 2:
        raise ValueError(
            f"jkeras.random.categorical: `logits` must have shape (batch_size, num_classes), "
            f"got shape {tuple(logits.shape)}."
        )
    key = draw_key(seed)
    out = jax.random.categorical(key, logits[..., None], axis=1,
                                 shape=(logits.shape[0], int(num_samples)))
    return out.astype(dtype)


def dropout(inputs, rate: float, noise_shape=None, seed=None) -> jax.Array:
    """`inputs` with each element (or each slice, with `noise_shape`) zeroed with
    probability `rate` and the rest scaled by 1 / (1 - rate)."""
    inputs = _array(inputs)
    if not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"jkeras.random.dropout: `rate` must be in [0, 1], got {rate!r}.")
    if rate == 1.0:
        return jnp.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    if noise_shape is None:
        shape = inputs.shape
    else:
        if len(noise_shape) != inputs.ndim:
            raise ValueError(
                f"jkeras.random.dropout: noise_shape={tuple(noise_shape)} must have one entry "
                f"per axis of the input (shape {tuple(inputs.shape)})."
            )
        shape = tuple(d if n is None else int(n) for d, n in zip(inputs.shape, noise_shape))
    keep_prob = 1.0 - float(rate)
    keep = jnp.broadcast_to(jax.random.bernoulli(draw_key(seed), keep_prob, shape),
                            inputs.shape)
    return jax.lax.select(keep, inputs / jnp.asarray(keep_prob, inputs.dtype),
                          jnp.zeros_like(inputs))


def shuffle(x, axis: int = 0, seed=None) -> jax.Array:
    """`x` with its slices along `axis` in a random order."""
    return jax.random.permutation(draw_key(seed), _array(x), axis, independent=True)


def gamma(shape, alpha, dtype=None, seed=None) -> jax.Array:
    """Samples of a gamma distribution of shape parameter `alpha` (scale 1)."""
    return jax.random.gamma(draw_key(seed), jnp.asarray(alpha), _shape(shape, "gamma"),
                            dtype=dtype or floatx())


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> jax.Array:
    """Numbers of successes in `counts` trials of success probability `probabilities`."""
    return jax.random.binomial(draw_key(seed), jnp.asarray(counts), jnp.asarray(probabilities),
                               shape=_shape(shape, "binomial"), dtype=dtype or floatx())


def beta(shape, alpha, beta, dtype=None, seed=None) -> jax.Array:  # noqa: A002
    """Samples of a beta distribution with parameters `alpha` and `beta`."""
    return jax.random.beta(draw_key(seed), jnp.asarray(alpha), jnp.asarray(beta),
                           shape=_shape(shape, "beta"), dtype=dtype or floatx())
