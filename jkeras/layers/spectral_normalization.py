"""SpectralNormalization (Miyato et al. 2018): a wrapper that divides the kernel (or
embeddings) of the wrapped layer by an estimate of its largest singular value,
found by `power_iterations` steps of the power method from the kept vector
`vector_u` (1, kernel.shape[-1]), as Keras 3 does.

In training calls the normalised kernel and the new `vector_u` are assigned, and
the wrapped layer computes with them (gradients flow through the normalisation
to the raw kernel); inference calls use the kernel as it is. Under `fit`,
assignments to trainable variables are not kept (the optimizer's update is), so,
as with Keras 3 on JAX, the stored kernel stays unnormalised while `vector_u`
tracks its leading singular vector.

As in Keras, the wrapper also lists the wrapped kernel among its own weights, so
files hold it twice: `<wrapper>/vars` = [kernel, vector_u] and
`<wrapper>/layer/vars` = the wrapped layer's weights.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras import initializers
from jkeras.backend.config import epsilon
from jkeras.engine.input_spec import InputSpec
from jkeras.layers.recurrent import nest_variable_paths
from jkeras.layers.wrappers import Wrapper, _build_from_shape


def l2_normalize(x):
    """`x / ||x||` over all its elements (the inverse norm capped at 1 / epsilon)."""
    inv = jax.lax.rsqrt(jnp.sum(jnp.square(x)))
    return x * jnp.minimum(inv, 1.0 / epsilon())


def spectral_normalize(kernel, vector_u, power_iterations: int):
    """(new vector_u, kernel / sigma) with sigma estimated by the power method on the
    kernel seen as a (-1, kernel.shape[-1]) matrix; the vectors carry no gradient."""
    w = kernel.reshape(-1, kernel.shape[-1])
    u = vector_u
    for _ in range(power_iterations):
        v = l2_normalize(jnp.matmul(u, w.T))
        u = l2_normalize(jnp.matmul(v, w))
    u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
    sigma = jnp.matmul(jnp.matmul(v, w), u.T)
    return u, (kernel / sigma).reshape(kernel.shape)


class SpectralNormalization(Wrapper):
    """Spectrally normalises the `kernel` (or `embeddings`) of `layer` in training;
    see the module docstring. Weights: the wrapped layer's, plus the non-trainable
    `vector_u` (1, kernel.shape[-1])."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) or (
                power_iterations <= 0):
            raise ValueError(
                f"SpectralNormalization '{self.name}': power_iterations must be a positive "
                f"integer, got {power_iterations!r}."
            )
        self.power_iterations = power_iterations

    def build(self, input_shape):
        _build_from_shape(self.layer, input_shape)
        nest_variable_paths(self.layer, f"{self.name}/{self.layer.name}")
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(
                f"SpectralNormalization '{self.name}': the wrapped {type(self.layer).__name__} "
                f"has neither a `kernel` nor an `embeddings` weight to normalise."
            )
        self.kernel = kernel
        # Keras tracks the wrapped kernel as the wrapper's own weight too (see the doc)
        self._own_variables.append(kernel)
        self.vector_u = self.add_weight(
            "vector_u", (1, kernel.shape[-1]), initializers.TruncatedNormal(stddev=0.02),
            trainable=False, dtype=kernel.dtype)
        self.built = True

    def normalized_weights(self):
        """(new vector_u, normalised kernel) for the current kernel; an all-zero kernel
        is returned as it is."""
        kernel, u = self.kernel.value, self.vector_u.value
        return jax.lax.cond(
            jnp.all(kernel == 0),
            lambda k, v: (v, k),
            lambda k, v: spectral_normalize(k, v, self.power_iterations),
            kernel, u)

    def call(self, inputs, training=False):
        if training:
            new_u, new_kernel = self.normalized_weights()
            self.vector_u.assign(new_u.astype(self.vector_u.dtype))
            self.kernel.assign(new_kernel.astype(self.kernel.dtype))
        outputs = self.layer(inputs)
        dtype = jnp.asarray(inputs).dtype
        # as Keras, the output takes the input's float dtype (not an Embedding's int ids)
        return outputs.astype(dtype) if jnp.issubdtype(dtype, jnp.floating) else outputs

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}


__all__ = ["SpectralNormalization"]
