"""Convolutional LSTMs (Shi et al. 2015): ConvLSTM1D/2D/3D, an LSTM whose input and
recurrent transformations are convolutions, as Keras 3's.

Inputs are (batch, time, *spatial, channels) (channels_last) or
(batch, time, channels, *spatial); the states h and c and every output step are
images of `filters` channels. Weights (of the cell, saved under `cell` as Keras
does): `kernel` (*kernel_size, channels, 4 * filters), `recurrent_kernel`
(*kernel_size, filters, 4 * filters), `bias` (4 * filters,), gates in the order
i, f, c, o. The recurrent convolution is always stride 1, 'same'.

The input convolution of all timesteps runs at once (time folded into the batch)
before a `lax.scan` over the recurrent update, inside the `RNN` machinery of
`recurrent.py` (masks, go_backwards, return_sequences/return_state). Dropout
masks are drawn once per sequence, one per gate, as Keras does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jkeras.backend.config import standardize_data_format
from jkeras.engine.layer import Layer
from jkeras.engine.seed_generator import SeedGenerator
from jkeras.layers.arguments import arguments_config, set_arguments
from jkeras.layers.convolutional import (
    channel_axis,
    check_rank,
    conv_output_length,
    normalize_padding,
    normalize_tuple,
)
from jkeras.layers.recurrent import (
    _CELL_ATTRS,
    RECURRENT_ARGUMENTS,
    RNN,
    _BuiltinRNN,
    _dropout_mask,
    _scan_loop,
    unit_forget_bias_initializer,
)
from jkeras.ops import conv_kernels


class _ConvStepSpec(NamedTuple):
    """The static description of a ConvLSTM cell's computation (one compiled loop
    serves every layer with the same one)."""

    filters: int
    strides: tuple
    padding: str
    dilation: tuple
    data_format: str
    activation: Callable
    recurrent_activation: Callable


def _channel(spec: _ConvStepSpec) -> int:
    return -1 if spec.data_format == "channels_last" else 1


def _gated_conv(spec, x, kernel, masks, strides, padding, dilation):
    """conv(x, kernel) for the four gates at once; with dropout masks (`masks`:
    (4, *x.shape) or None) gate g sees `x * masks[g]`: one grouped convolution of
    the four masked copies, group g producing gate g's channels."""
    if masks is not None:
        x = jnp.concatenate([x * masks[g] for g in range(4)], axis=_channel(spec))
    return conv_kernels.conv(x, kernel, strides, padding, dilation, spec.data_format,
                             groups=1 if masks is None else 4)


def _project(spec, xs, dp, kernel, bias):
    """The input convolution of every step of time-major `xs` (T, B, ...) at once."""
    steps, batch = xs.shape[:2]
    flat = xs.reshape((steps * batch, *xs.shape[2:]))
    masks = None if dp is None else jnp.tile(dp, (1, steps) + (1,) * (dp.ndim - 2))
    y = _gated_conv(spec, flat, kernel, masks, spec.strides, spec.padding, spec.dilation)
    if bias is not None:
        shape = (-1,) if spec.data_format == "channels_last" else (-1,) + (1,) * (y.ndim - 2)
        y = y + bias.reshape(shape)
    return y.reshape((steps, batch, *y.shape[1:]))


def _recur(spec, xp_t, states, rdp, recurrent_kernel):
    """One LSTM update from projected inputs `xp_t` and states [h, c]."""
    h_prev, c_prev = states[0], states[1]
    ones = (1,) * len(spec.strides)
    z = xp_t + _gated_conv(spec, h_prev, recurrent_kernel, rdp, ones, "same", ones)
    zi, zf, zc, zo = jnp.split(z, 4, axis=_channel(spec))
    i = spec.recurrent_activation(zi)
    f = spec.recurrent_activation(zf)
    c = f * c_prev + i * spec.activation(zc)
    h = spec.recurrent_activation(zo) * spec.activation(c)
    return h, [h, c]


@functools.partial(jax.jit, static_argnames=("spec", "flags"))
def _conv_lstm_loop(weights, xs, states, m, dp, rdp, spec, flags):
    kernel, recurrent_kernel, bias = weights
    xp = _project(spec, xs, dp, kernel, bias)

    def step(x_t, st):
        return _recur(spec, x_t, st, rdp, recurrent_kernel)

    return _scan_loop(step, xp, states, m, flags, tuple(states[0].shape[1:]))


class ConvLSTMCell(Layer):
    """One step of a convolutional LSTM of rank 1, 2 or 3 (see the module doc).
    States are [h, c], each of shape (batch, *output spatial, filters)
    (channels_last)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"ConvLSTMCell '{self.name}'"
        if rank not in (1, 2, 3):
            raise ValueError(f"{owner}: rank must be 1, 2 or 3, got {rank!r}.")
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{owner}: filters must be a positive integer, got {filters!r}.")
        self.rank = rank
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = normalize_tuple(strides, rank, "strides", owner)
        self.padding = normalize_padding(padding, owner)
        self.data_format = standardize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 together with dilation_rate > 1 is not supported "
                f"(got strides={self.strides}, dilation_rate={self.dilation_rate})."
            )
        set_arguments(
            self, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        self.seed_generator = SeedGenerator(seed)
        self.spatial_dims = self.input_dim = None

    @property
    def state_size(self) -> list:
        """The channels of the two (spatial) states h and c."""
        return [self.filters, self.filters]

    @property
    def output_size(self) -> int:
        return self.filters

    def step_output_shape(self, step_shape) -> tuple:
        """The shape of h (and c) for one step's input of shape (batch, ...)."""
        ch = channel_axis(self.data_format)
        spatial = step_shape[1:-1] if ch == -1 else step_shape[2:]
        out = tuple(conv_output_length(n, k, s, self.padding, d) for n, k, s, d in zip(
            spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(
                f"ConvLSTMCell '{self.name}': an input of spatial shape {tuple(spatial)} is "
                f"too small for kernel_size={self.kernel_size} with padding='{self.padding}'."
            )
        if ch == -1:
            return (step_shape[0], *out, self.filters)
        return (step_shape[0], self.filters, *out)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ch = channel_axis(self.data_format)
        self.spatial_dims = input_shape[1:-1] if ch == -1 else input_shape[2:]
        self.input_dim = input_shape[ch]
        self.step_output_shape(input_shape)
        n = 4 * self.filters
        self.kernel = self.add_weight(
            "kernel", (*self.kernel_size, self.input_dim, n), self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (*self.kernel_size, self.filters, n),
            self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            init = (unit_forget_bias_initializer(self.bias_initializer, self.filters)
                    if self.unit_forget_bias else self.bias_initializer)
            self.bias = self.add_weight("bias", (n,), init, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    @property
    def _spec(self) -> _ConvStepSpec:
        return _ConvStepSpec(self.filters, self.strides, self.padding, self.dilation_rate,
                             self.data_format, self.activation, self.recurrent_activation)

    def _weights_values(self) -> tuple:
        return (self.kernel.value, self.recurrent_kernel.value,
                None if self.bias is None else self.bias.value)

    def _make_dropout_masks(self, step_shape, state_shape, dtype, training) -> tuple:
        """(input masks, recurrent masks), each (4, *shape) or None: one per gate."""
        dp = rdp = None
        if training and 0.0 < self.dropout < 1.0:
            dp = _dropout_mask((4, *step_shape), self.dropout, dtype, self.seed_generator)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rdp = _dropout_mask((4, *state_shape), self.recurrent_dropout, dtype,
                                self.seed_generator)
        return dp, rdp

    def call(self, inputs, states, training=False):
        """One step: `inputs` (batch, ...), `states` [h, c]; returns (h, [h, c])."""
        h, c = states[0], states[1]
        dp, rdp = self._make_dropout_masks(inputs.shape, h.shape, inputs.dtype, training)
        kernel, recurrent_kernel, bias = self._weights_values()
        spec = self._spec
        xp = _project(spec, inputs[None], dp, kernel, bias)[0]
        return _recur(spec, xp, [h, c], rdp, recurrent_kernel)

    def get_initial_state(self, batch_size=None) -> list:
        if self.spatial_dims is None:
            raise ValueError(f"ConvLSTMCell '{self.name}' must be built before its initial "
                             f"state is known.")
        if self.data_format == "channels_last":
            step = (batch_size, *self.spatial_dims, self.input_dim)
        else:
            step = (batch_size, self.input_dim, *self.spatial_dims)
        shape = self.step_output_shape(step)
        return [jnp.zeros(shape, self.compute_dtype), jnp.zeros(shape, self.compute_dtype)]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rank": self.rank,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "unit_forget_bias": self.unit_forget_bias,
            **arguments_config(self, *RECURRENT_ARGUMENTS),
        }


class ConvLSTM(_BuiltinRNN):
    """A ConvLSTMCell of rank `rank` run over time by the RNN machinery; subclasses
    fix the rank. Call arguments as for RNN (`initial_state`: [h, c] images)."""

    rank = 2
    _cell_attrs = _CELL_ATTRS | {"filters", "kernel_size", "strides", "padding",
                                 "data_format", "dilation_rate"}

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, **kwargs):
        try:
            cell = ConvLSTMCell(
                self.rank, filters, kernel_size, strides=strides, padding=padding,
                data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                recurrent_activation=recurrent_activation, use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                bias_constraint=bias_constraint, dropout=dropout,
                recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell",
                dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True))
        except (TypeError, ValueError) as e:
            msg = str(e).replace("ConvLSTMCell 'conv_lstm_cell'", type(self).__name__)
            raise type(e)(msg) from None
        RNN.__init__(self, cell, return_sequences=return_sequences, return_state=return_state,
                     go_backwards=go_backwards, stateful=stateful,
                     activity_regularizer=activity_regularizer, **kwargs)

    # shapes ----------------------------------------------------------------------------
    def _validate_input(self, inputs) -> None:
        seq = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        shape = check_rank(self, seq, self.rank + 1, None)
        if shape is None:
            return
        cell = self.cell
        ch = -1 if cell.data_format == "channels_last" else 2  # axes of (batch, time, ...)
        spatial = shape[2:-1] if ch == -1 else shape[3:]
        if shape[ch] is None or None in spatial:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs inputs whose channel and "
                f"spatial sizes are known (data_format='{cell.data_format}'), got shape "
                f"{shape}."
            )
        if self.built and shape[ch] != cell.input_dim:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for inputs with "
                f"{cell.input_dim} channels, but got an input of shape {shape}."
            )

    def _state_shape(self, input_shape) -> tuple:
        return self.cell.step_output_shape((input_shape[0], *input_shape[2:]))[1:]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        state = self._state_shape(tuple(input_shape))
        out = (batch, steps, *state) if self.return_sequences else (batch, *state)
        if self.return_state:
            return [out, (batch, *state), (batch, *state)]
        return out

    # computation -----------------------------------------------------------------------
    def _initial_states(self, initial_state, batch: int, dtype) -> list:
        if initial_state is None:
            states = self.get_initial_state(batch)
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
                initial_state]
            expected = self.cell.get_initial_state(batch)[0].shape
            if len(states) != 2 or any(tuple(jnp.shape(s)) != tuple(expected)
                                       for s in states):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): initial_state must be "
                    f"[h, c], two arrays of shape {tuple(expected)}, got "
                    f"{[tuple(jnp.shape(s)) for s in states]}."
                )
        return [jnp.asarray(s, dtype) for s in states]

    def _run_loop(self, xs, states, m, training):
        cell = self.cell
        dp, rdp = cell._make_dropout_masks(xs.shape[1:], states[0].shape, xs.dtype, training)
        flags = (self.return_sequences, self.zero_output_for_mask, self.unroll)
        return _conv_lstm_loop(cell._weights_values(), xs, states, m, dp, rdp,
                               spec=cell._spec, flags=flags)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("rank", None)
        return config


class ConvLSTM1D(ConvLSTM):
    """1D convolutional LSTM: inputs (batch, time, steps, channels)."""

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM: inputs (batch, time, rows, cols, channels)."""

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """3D convolutional LSTM: inputs (batch, time, dim1, dim2, dim3, channels)."""

    rank = 3


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell"]
