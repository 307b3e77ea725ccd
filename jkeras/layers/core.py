"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute,
RepeatVector, Lambda, Embedding."""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import activations, constraints, initializers, regularizers
from jkeras.engine.layer import Layer
from jkeras.engine.legacy import legacy_args
from jkeras.engine.seed_generator import SeedGenerator, draw_key


def _rank_error(layer, expected: str, shape) -> ValueError:
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expects {expected}, but got an input "
        f"of shape {tuple(shape)}."
    )


class Dense(Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)`."""

    @legacy_args({"output_dim": "units"})
    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(
                f"Dense '{self.name}': units must be a positive integer, got {units!r}."
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = True

    def _validate_input(self, inputs):
        shape = getattr(inputs, "shape", None)
        if shape is None:
            return
        if len(shape) < 2:
            raise _rank_error(self, "an input of rank >= 2 (batch, ..., features)", shape)
        if shape[-1] is None:
            raise ValueError(
                f"Dense '{self.name}': the last dimension of its input must be known, got "
                f"shape {tuple(shape)}."
            )
        dtype = jnp.dtype(inputs.dtype)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(
                f"Dense '{self.name}' expects a float input, but got dtype {dtype.name}. "
                f"Integer inputs are token ids: pass them through an Embedding layer first, "
                f"or cast them to float (ops.cast(x, 'float32'))."
            )
        if self.built and shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Dense '{self.name}' was built for inputs with {self.kernel.shape[0]} "
                f"features, but got an input of shape {tuple(shape)}."
            )

    def build(self, input_shape):
        in_dim = input_shape[-1]
        self.kernel = self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs):
        self._validate_input(inputs)
        y = jnp.matmul(inputs, self.kernel.value)
        if self.bias is not None:
            y = y + self.bias.value
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}



def resolve_noise_shape(layer, noise_shape, shape) -> tuple:
    """`noise_shape` with its None entries replaced by the input's sizes (the input's
    shape when `noise_shape` is None); a ValueError naming `layer` if the ranks differ."""
    if noise_shape is None:
        return tuple(shape)
    if len(noise_shape) != len(shape):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': noise_shape={tuple(noise_shape)} has "
            f"{len(noise_shape)} entries, but the input of shape {tuple(shape)} has rank "
            f"{len(shape)}. Give one entry per axis (None: the input's size)."
        )
    return tuple(d if n is None else int(n) for d, n in zip(shape, noise_shape))


def apply_dropout(x, rate: float, noise_shape=None, seed=None):
    """`x` with its elements (or, with `noise_shape`, whole slices along the axes where
    `noise_shape` is 1) zeroed with probability `rate` and the rest scaled by
    1 / (1 - rate). `seed`: the layer's SeedGenerator (see `jkeras.random`)."""
    shape = x.shape if noise_shape is None else tuple(noise_shape)
    keep = jax.random.bernoulli(draw_key(seed), 1.0 - rate, shape)
    return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)

class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 during training, scaling the rest
    by 1/(1-rate)."""

    _keeps_input_dtype = True

    @legacy_args({"p": "rate"}, include_common=False)
    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1), got {rate}.")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        if self.rate > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return apply_dropout(inputs, self.rate,
                             resolve_noise_shape(self, self.noise_shape, inputs.shape),
                             seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class Flatten(Layer):
    _keeps_input_dtype = True

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        from jkeras.backend.config import standardize_data_format

        self.data_format = standardize_data_format(data_format)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = jnp.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(np.prod(rest))
        return (input_shape[0], n)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    _keeps_input_dtype = True

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)
        if sum(1 for d in self.target_shape if d == -1) > 1:
            raise ValueError(f"Reshape '{self.name}': at most one -1 in target_shape, got "
                             f"{self.target_shape}.")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        target = list(self.target_shape)
        if any(d is None for d in rest):
            return (input_shape[0], *[None if d == -1 else d for d in target])
        total = int(np.prod(rest))
        known = int(np.prod([d for d in target if d != -1]))
        if -1 in target:
            if total % known:
                raise ValueError(self._size_error(input_shape))
            target[target.index(-1)] = total // known
        elif known != total:
            raise ValueError(self._size_error(input_shape))
        return (input_shape[0], *target)

    def _size_error(self, input_shape):
        return (
            f"Reshape '{self.name}': cannot reshape an input of shape {tuple(input_shape)} "
            f"({int(np.prod(input_shape[1:]))} values per sample) to target_shape "
            f"{self.target_shape}. The total size must stay the same."
        )

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes; `dims` are 1-indexed as in Keras."""

    _keeps_input_dtype = True

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                f"Permute '{self.name}': dims must be a permutation of 1..{len(self.dims)} "
                f"(axis 0 is the batch), got {self.dims}."
            )

    def call(self, inputs):
        return jnp.transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise _rank_error(self, f"an input of rank {len(self.dims) + 1}", input_shape)
        return (input_shape[0], *[input_shape[d] for d in self.dims])

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    _keeps_input_dtype = True

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)

    def call(self, inputs):
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise _rank_error(self, "a 2D input (batch, features)", input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Lambda(Layer):
    """Wraps a function of arrays as a layer."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self.mask = mask
        self.supports_masking = mask is not None

    def call(self, inputs, mask=None):
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        return {**super().get_config(), "function": getattr(self.function, "__name__", "?"),
                "arguments": self.arguments}


class Embedding(Layer):
    """Maps integer ids in [0, input_dim) to dense vectors of size output_dim."""

    @legacy_args({"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer",
                  "W_constraint": "embeddings_constraint"}, include_common=False)
    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 activity_regularizer=None, input_length=None, dropout=None, **kwargs):
        if input_length is not None:
            warnings.warn(
                "Embedding: 'input_length' is a Keras 1/2 argument; the sequence length now "
                "comes from the Input shape (Input(shape=(input_length,))).",
                DeprecationWarning,
                stacklevel=3,
            )
            if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
                kwargs["input_shape"] = (input_length,)
        if dropout:
            raise ValueError(
                "Embedding: the Keras 1 'dropout' argument is not supported; add a "
                "SpatialDropout1D or Dropout layer after the Embedding."
            )
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.input_length = input_length
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            "embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint,
        )
        self.built = True

    def call(self, inputs):
        ids = inputs.astype("int32") if inputs.dtype != jnp.int32 else inputs
        return jnp.take(self.embeddings.value, ids, axis=0)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape):
        if self.input_length is not None and len(input_shape) == 2 and input_shape[1] not in (
            None, self.input_length
        ):
            raise ValueError(
                f"Embedding '{self.name}': input_length={self.input_length} but the input has "
                f"shape {tuple(input_shape)}."
            )
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }


_ = math
