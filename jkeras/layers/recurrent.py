"""Recurrent layers: the `RNN` base class driving a cell over time with
`jax.lax.scan`, the cells `SimpleRNNCell`, `LSTMCell`, `GRUCell`, and the
layers `SimpleRNN`, `LSTM`, `GRU` (Keras 3 semantics, defaults, weight names,
shapes and gate orders, so weights load across).

A cell computes one step: `cell.call(inputs, states, training)` returns
`(output, new_states)`. The built-in cells additionally split a step into an
input projection (done for all timesteps at once, one matmul) and a recurrent
update (the only part inside the scan).

Masks (`mask=`, shape `(batch, timesteps)`) follow Keras: at a masked step the
states are carried over unchanged and the output repeats the previous output
(or is zero with `zero_output_for_mask=True`, which `Bidirectional` sets when
returning sequences). Dropout masks are sampled once per sequence and only in
training.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend import scope as _scope
from jkeras.backend.random import next_key
from jkeras.engine.layer import Layer
from jkeras.engine.legacy import legacy_args
from jkeras.engine.seed_generator import SeedGenerator, draw_key

# Keras 1 argument names of the recurrent layers: old -> new (or (new, converter)).
_RNN_LEGACY = {
    "output_dim": "units",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "U_regularizer": "recurrent_regularizer",
    "U_constraint": "recurrent_constraint",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
}


def _forget_bias_to_unit_forget_bias(value) -> bool:
    name = value if isinstance(value, str) else getattr(value, "__name__", type(value).__name__)
    return str(name).lower() in ("one", "ones")


_LSTM_LEGACY = {
    **_RNN_LEGACY,
    "forget_bias_init": ("unit_forget_bias", _forget_bias_to_unit_forget_bias),
}


# ---------------------------------------------------------------------------
# serialization helpers (also used by the wrappers)
# ---------------------------------------------------------------------------
def serialize_layer(layer: Layer) -> dict:
    """A layer as `{"module", "class_name", "config", "registered_name"}` (Keras 3 form)."""
    return {"module": "keras.layers", "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None}


def deserialize_layer(config) -> Layer:
    """A layer from `serialize_layer` output (or a layer instance, returned as is).

    Uses `jkeras.saving.deserialize_keras_object` when the package exports it;
    otherwise classes are looked up in `jkeras.layers`, this module, the
    wrappers and the model classes.
    """
    if isinstance(config, Layer):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Cannot deserialize a layer from {config!r}: expected a dict with 'class_name' "
            f"and 'config' (as produced by get_config of a wrapper), or a Layer instance."
        )
    name = config["class_name"]
    cls = None
    for module_name in ("jkeras.saving", "jkeras.layers", "jkeras.layers.recurrent",
                        "jkeras.layers.wrappers", "jkeras.models", "jkeras.engine.functional",
                        "jkeras.engine.sequential"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if module_name == "jkeras.saving":
            fn = getattr(module, "deserialize_keras_object", None)
            if fn is not None:
                return fn(config)
            continue
        cls = getattr(module, name, None)
        if isinstance(cls, type) and issubclass(cls, Layer):
            break
        cls = None
    if cls is None:
        raise ValueError(
            f"Unknown layer class '{name}' while deserializing. Known layers are those of "
            f"jkeras.layers; custom layers need to be registered with jkeras."
        )
    return cls.from_config(dict(config.get("config", {})))


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------
def _clamp_rate(rate) -> float:
    return min(1.0, max(0.0, float(rate or 0.0)))


def _check_units(owner: str, units) -> int:
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
        raise ValueError(f"{owner}: units must be a positive integer, got {units!r}.")
    return int(units)


def _dropout_mask(shape, rate: float, dtype, seed):
    keep = jax.random.bernoulli(draw_key(seed), 1.0 - rate, shape)
    return keep.astype(dtype) / jnp.asarray(1.0 - rate, dtype)


class _StepSpec(NamedTuple):
    """The static (hashable) description of a built-in cell's step, so one
    compiled loop serves every layer of the same configuration."""

    cls: type
    units: int
    activation: Callable
    recurrent_activation: Callable
    reset_after: bool


class _GatedCell(Layer):
    """Shared machinery of the built-in cells: arguments, weights, dropout
    masks, config. Subclasses set `_gates` (number of gate blocks in the
    kernels) and implement `_recur`."""

    _gates = 1
    _default_name = "cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(**kwargs)
        self.units = _check_units(type(self).__name__, units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _clamp_rate(dropout)
        self.recurrent_dropout = _clamp_rate(recurrent_dropout)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    # weights -------------------------------------------------------------------
    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the feature dimension of its input must "
                f"be known, got shape {tuple(input_shape)}."
            )
        n = self._gates * self.units
        self.kernel = self.add_weight("kernel", (input_dim, n), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (self.units, n), self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    # dropout -------------------------------------------------------------------
    def _make_dropout_masks(self, batch: int, input_dim: int, dtype, training) -> tuple:
        """(input mask or None, recurrent mask or None), sampled once per sequence."""
        dp = rdp = None
        if training and 0.0 < self.dropout < 1.0:
            dp = _dropout_mask((batch, input_dim), self.dropout, dtype, self.seed_generator)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rdp = _dropout_mask((batch, self.units), self.recurrent_dropout, dtype,
                                self.seed_generator)
        return dp, rdp

    # computation ----------------------------------------------------------------
    @property
    def _spec(self) -> _StepSpec:
        return _StepSpec(type(self), self.units, self.activation, self.recurrent_activation,
                         bool(getattr(self, "reset_after", False)))

    @staticmethod
    def _input_bias(spec, bias):
        return bias

    @staticmethod
    def _project(spec, inputs, dp_mask, kernel, bias):
        """`inputs @ kernel (+ input bias)` for any leading dims, after input dropout."""
        if dp_mask is not None:
            inputs = inputs * dp_mask
        y = jnp.matmul(inputs, kernel)
        if bias is not None:
            y = y + spec.cls._input_bias(spec, bias)
        return y

    def _weights_values(self) -> tuple:
        return (self.kernel.value, self.recurrent_kernel.value,
                None if self.bias is None else self.bias.value)

    @staticmethod
    def _recur(spec, xp, states, rec_dp_mask, recurrent_kernel, bias):
        """The recurrent part of one step on projected inputs `xp`."""
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        """One step: `inputs` (batch, features), `states` a list of (batch, units)
        arrays. Returns (output, new_states)."""
        if not isinstance(states, (list, tuple)):
            states = [states]
        states = list(states)
        dp, rdp = self._make_dropout_masks(inputs.shape[0], inputs.shape[-1], inputs.dtype,
                                           training)
        kernel, recurrent_kernel, bias = self._weights_values()
        spec = self._spec
        xp = self._project(spec, inputs, dp, kernel, bias)
        return self._recur(spec, xp, states, rdp, recurrent_kernel, bias)

    def get_initial_state(self, batch_size=None) -> list:
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [
            self.state_size]
        return [jnp.zeros((batch_size, s), self.dtype) for s in sizes]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class SimpleRNNCell(_GatedCell):
    """One step of a fully connected RNN:
    `h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)`."""

    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)

    @staticmethod
    def _recur(spec, xp, states, rec_dp_mask, recurrent_kernel, bias):
        h_prev = states[0]
        if rec_dp_mask is not None:
            h_prev = h_prev * rec_dp_mask
        h = spec.activation(xp + jnp.matmul(h_prev, recurrent_kernel))
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation")
        return config


class LSTMCell(_GatedCell):
    """One step of an LSTM (gate order i, f, c, o in the kernels):
    `i, f, o = recurrent_activation(...)`, `c = f * c_prev + i * activation(...)`,
    `h = o * activation(c)`. States are `[h, c]`."""

    _gates = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def init(shape, dtype="float32"):
            dt = jnp.dtype(dtype)  # assembled on the host: no per-shape compile
            return jnp.asarray(np.concatenate([
                np.asarray(base((units,), dtype=dtype), dt),
                np.ones((units,), dt),
                np.asarray(base((2 * units,), dtype=dtype), dt),
            ]), dt)

        return init

    @staticmethod
    def _recur(spec, xp, states, rec_dp_mask, recurrent_kernel, bias):
        h_prev, c_prev = states[0], states[1]
        if rec_dp_mask is not None:
            h_prev = h_prev * rec_dp_mask
        z = xp + jnp.matmul(h_prev, recurrent_kernel)
        zi, zf, zc, zo = jnp.split(z, 4, axis=-1)
        i = spec.recurrent_activation(zi)
        f = spec.recurrent_activation(zf)
        c = f * c_prev + i * spec.activation(zc)
        o = spec.recurrent_activation(zo)
        h = o * spec.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_GatedCell):
    """One step of a GRU (gate order z, r, h in the kernels).

    `reset_after=True` (Keras 3 default, cuDNN compatible): bias of shape
    `(2, 3 * units)` (input bias, recurrent bias) and the reset gate applied
    after the recurrent matmul. `reset_after=False`: bias `(3 * units,)` and
    `h~ = activation(x_h + (r * h_prev) @ U_h)`.
    Then `h = z * h_prev + (1 - z) * h~`.
    """

    _gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    @staticmethod
    def _input_bias(spec, bias):
        return bias[0] if spec.reset_after else bias

    @staticmethod
    def _recur(spec, xp, states, rec_dp_mask, recurrent_kernel, bias):
        h_prev = states[0]
        h_in = h_prev * rec_dp_mask if rec_dp_mask is not None else h_prev
        u = spec.units
        act, rec_act = spec.activation, spec.recurrent_activation
        x_z, x_r, x_h = xp[..., :u], xp[..., u:2 * u], xp[..., 2 * u:]
        if spec.reset_after:
            inner = jnp.matmul(h_in, recurrent_kernel)
            if bias is not None:
                inner = inner + bias[1]
            r_z, r_r, r_h = inner[..., :u], inner[..., u:2 * u], inner[..., 2 * u:]
            z = rec_act(x_z + r_z)
            r = rec_act(x_r + r_r)
            hh = act(x_h + r * r_h)
        else:
            inner = jnp.matmul(h_in, recurrent_kernel[:, :2 * u])
            z = rec_act(x_z + inner[..., :u])
            r = rec_act(x_r + inner[..., u:])
            hh = act(x_h + jnp.matmul(r * h_in, recurrent_kernel[:, 2 * u:]))
        h = z * h_prev + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


# ---------------------------------------------------------------------------
# the RNN layer
# ---------------------------------------------------------------------------
def _scan_loop(step, xs, states, m, flags, out_size: int):
    """Scans `step(x_t, states) -> (out, new_states)` over time-major `xs` with
    Keras mask semantics (`m`: (T, B, 1) booleans or None). `flags` are
    (return_sequences, zero_output_for_mask, unroll). Returns (output, final_states)."""
    keep_all, zero_out, unroll_all = flags
    batch = states[0].shape[0]
    if states[0].shape[-1] == out_size:
        prev_out0 = states[0]  # Keras: a leading masked step outputs the first state
    else:
        prev_out0 = jnp.zeros((batch, out_size), states[0].dtype)

    def body(carry, inp):
        st, prev_out = carry
        if m is not None:
            x_t, m_t = inp
        else:
            x_t, m_t = inp, None
        out, new_st = step(x_t, st)
        out = out.astype(prev_out.dtype)
        new_st = [n.astype(o.dtype) for n, o in zip(new_st, st)]
        if m_t is not None:
            new_st = [jnp.where(m_t, n, o) for n, o in zip(new_st, st)]
            out = jnp.where(m_t, out, jnp.zeros_like(out) if zero_out else prev_out)
        return (new_st, out), (out if keep_all else None)

    scan_in = (xs, m) if m is not None else xs
    length = jax.tree_util.tree_leaves(xs)[0].shape[0]
    unroll = max(1, int(length)) if unroll_all and length else 1
    (final_states, last_out), outs = jax.lax.scan(body, (list(states), prev_out0), scan_in,
                                                  unroll=unroll)
    output = jnp.swapaxes(outs, 0, 1) if keep_all else last_out
    return output, final_states


@functools.partial(jax.jit, static_argnames=("spec", "flags"))
def _builtin_loop(weights, xs, states, m, dp, rdp, spec, flags):
    """A built-in cell over a whole sequence: the inputs of all timesteps are
    projected at once (one matmul), then the recurrent update is scanned.
    Compiled once per (cell configuration, shapes), shared by all layers."""
    kernel, recurrent_kernel, bias = weights
    xp = spec.cls._project(spec, xs, dp, kernel, bias)

    def step(x_t, st):
        return spec.cls._recur(spec, x_t, st, rdp, recurrent_kernel, bias)

    return _scan_loop(step, xp, states, m, flags, spec.units)


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _state_sizes(cell) -> list[int]:
    size = getattr(cell, "state_size", None)
    if size is None:
        raise ValueError(
            f"RNN cell {cell!r} has no `state_size` attribute; a cell must define "
            f"`state_size` (an int, or a list of ints, one per state)."
        )
    return [int(s) for s in _as_list(size)]


class RNN(Layer):
    """Runs a cell over the time axis of a `(batch, timesteps, features)` input.

    Call arguments: `sequences` (or the Keras 2 list form `[sequences, *states]`),
    `initial_state` (list of arrays or symbolic tensors, one per state),
    `mask` (`(batch, timesteps)` booleans), `training`.
    Returns the last output `(batch, units)`, or all outputs
    `(batch, timesteps, units)` with `return_sequences=True`; with
    `return_state=True`, a list `[output, *final_states]`.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        kwargs.pop("time_major", None)
        _shape_from_legacy_dims(type(self).__name__, kwargs)
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = deserialize_layer(cell)
        if isinstance(cell, (list, tuple)):
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': a list of cells (stacked cells) is not "
                f"supported; stack RNN layers with return_sequences=True instead."
            )
        if not hasattr(cell, "call") or getattr(cell, "state_size", None) is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': `cell` must be an RNN cell with a "
                f"`call(inputs, states)` method and a `state_size` attribute, got {cell!r}."
            )
        if stateful:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': stateful=True is not supported by "
                f"jkeras (compiled models are pure functions of their inputs). Pass the "
                f"previous final states explicitly with `initial_state=` (use "
                f"return_state=True to get them)."
            )
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True

    @property
    def states(self):
        return None

    def reset_states(self, states=None) -> None:
        """No-op: jkeras RNNs are not stateful (see `stateful`)."""

    reset_state = reset_states

    # shapes ----------------------------------------------------------------------
    def _validate_input(self, inputs) -> None:
        seq = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        shape = getattr(seq, "shape", None)
        if shape is None:
            return
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects a 3D input "
                f"(batch, timesteps, features), but got an input of shape {shape}. "
                f"For one sequence add a batch axis; for a vector per sample use "
                f"RepeatVector or Reshape to make a time axis."
            )
        if shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the features dimension of its "
                f"input must be known, got shape {shape}."
            )
        kernel = getattr(self.cell, "kernel", None)
        if self.built and kernel is not None and shape[-1] != kernel.shape[0]:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for inputs with "
                f"{kernel.shape[0]} features, but got an input of shape {shape}."
            )

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        input_shape = tuple(input_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((input_shape[0], *input_shape[2:]))
            self.cell.built = True
        if isinstance(self.cell, Layer):
            for v in self.cell._own_variables:
                v.path = f"{self.name}/{self.cell.name}/{v.name}"
        self.built = True

    def _output_size(self) -> int:
        size = getattr(self.cell, "output_size", None)
        return int(size) if size is not None else _state_sizes(self.cell)[0]

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        batch, length = input_shape[0], input_shape[1]
        units = self._output_size()
        out = (batch, length, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return [out] + [(batch, s) for s in _state_sizes(self.cell)]
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * len(_state_sizes(self.cell))
        return out_mask

    # computation ----------------------------------------------------------------------
    def get_initial_state(self, batch_size) -> list:
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            return _as_list(fn(batch_size=batch_size))
        return [jnp.zeros((batch_size, s), self.dtype) for s in _state_sizes(self.cell)]

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if isinstance(sequences, (list, tuple)):
            if initial_state is None and len(sequences) > 1:
                initial_state = list(sequences[1:])
            sequences = sequences[0]
            if isinstance(mask, (list, tuple)):
                mask = mask[0] if mask else None
        self._validate_input(sequences)
        x = jnp.asarray(sequences)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(self.dtype)
        batch = x.shape[0]
        sizes = _state_sizes(self.cell)
        if initial_state is None:
            states = self.get_initial_state(batch)
        else:
            states = _as_list(initial_state)
            if len(states) != len(sizes):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) has {len(sizes)} state(s) "
                    f"of sizes {sizes}, but initial_state has {len(states)} entries. Pass one "
                    f"array of shape (batch, size) per state"
                    f"{' ([h, c] for an LSTM)' if len(sizes) == 2 else ''}."
                )
        states = [jnp.asarray(s, x.dtype) for s in states]
        for s, n in zip(states, sizes):
            if s.ndim != 2 or s.shape[-1] != n:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): each initial state must "
                    f"have shape (batch, {n}), got {tuple(s.shape)}."
                )
        states = [jnp.broadcast_to(s, (batch, s.shape[-1])) for s in states]

        xs = jnp.swapaxes(x, 0, 1)  # time-major (T, B, F)
        m = None
        if mask is not None:
            m = jnp.asarray(mask)
            if m.ndim == 3 and m.shape[-1] == 1:
                m = m[..., 0]
            if m.ndim != 2:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) expects a mask of shape "
                    f"(batch, timesteps), got {tuple(m.shape)}."
                )
            m = jnp.swapaxes(m.astype(bool), 0, 1)[..., None]  # (T, B, 1)
        if self.go_backwards:
            xs = jnp.flip(xs, 0)
            if m is not None:
                m = jnp.flip(m, 0)

        cell = self.cell
        if isinstance(cell, _GatedCell):
            # Built-in cells: weights and dropout masks are explicit arguments of one
            # jitted loop, so eager calls compile once per configuration and shape.
            dp, rdp = cell._make_dropout_masks(batch, xs.shape[-1], xs.dtype, training)
            flags = (self.return_sequences, self.zero_output_for_mask, self.unroll)
            output, final_states = _builtin_loop(cell._weights_values(), xs, states, m, dp, rdp,
                                                 spec=cell._spec, flags=flags)
        else:
            flags = (self.return_sequences, self.zero_output_for_mask, self.unroll)
            if _scope.current() is None:
                # Eager call: a scope that only supplies per-step random keys (variables
                # still read and write their own values).
                with _scope.StatelessScope(rng=next_key(), collect_losses=False):
                    step, scan_in = self._custom_step(xs, training)
                    output, final_states = _scan_loop(step, scan_in, states, m, flags,
                                                      self._output_size())
            else:
                step, scan_in = self._custom_step(xs, training)
                output, final_states = _scan_loop(step, scan_in, states, m, flags,
                                                  self._output_size())
        if self.return_state:
            return [output, *final_states]
        return output

    def _custom_step(self, xs, training):
        """(step(x_t, states) -> (out, new_states), scan inputs) for a user cell,
        called once per timestep inside the scan."""
        cell = self.cell
        kwargs = {}
        if isinstance(cell, Layer) and cell._call_has_training:
            kwargs["training"] = training
        single = not isinstance(getattr(cell, "state_size", None), (list, tuple))
        s = _scope.current()
        use_keys = s is not None and s.rng is not None
        keys = jax.random.split(next_key(), xs.shape[0]) if use_keys else None

        def step(inp, st):
            x_t, key = inp if use_keys else (inp, None)
            arg = st[0] if single else list(st)
            if use_keys:
                saved = s.rng
                s.rng = key
            try:
                out, new = cell.call(x_t, arg, **kwargs)
            finally:
                if use_keys:
                    s.rng = saved
            return out, _as_list(new)

        return step, ((xs, keys) if use_keys else xs)

    # config ----------------------------------------------------------------------------
    def _rnn_config(self) -> dict:
        return {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def get_config(self) -> dict:
        return {**super().get_config(), **self._rnn_config(), "cell": serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if "cell" in config:
            config["cell"] = deserialize_layer(config["cell"])
        return cls(**config)


Recurrent = RNN  # Keras 1 name of the recurrent base class


def _shape_from_legacy_dims(owner: str, kwargs: dict) -> None:
    """Keras 1/2 `input_dim`/`input_length` on a recurrent layer: the input
    shape `(input_length, input_dim)`."""
    input_dim = kwargs.pop("input_dim", None)
    input_length = kwargs.pop("input_length", None)
    if input_dim is None and input_length is None:
        return
    warnings.warn(
        f"{owner}: 'input_dim'/'input_length' are Keras 1 arguments; use "
        f"input_shape=(timesteps, features) or an Input(shape=(timesteps, features)).",
        DeprecationWarning,
        stacklevel=4,
    )
    if input_dim is not None and "input_shape" not in kwargs and (
        "batch_input_shape" not in kwargs
    ):
        kwargs["input_shape"] = (input_length, input_dim)


def _pop_consume_less(owner: str, kwargs: dict) -> None:
    if "consume_less" in kwargs:
        kwargs.pop("consume_less")
        warnings.warn(
            f"{owner}: 'consume_less' is a Keras 1 argument and is ignored (jkeras always "
            f"projects the inputs of all timesteps at once).",
            DeprecationWarning,
            stacklevel=3,
        )


_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
             "zero_output_for_mask", "time_major", "input_dim", "input_length")
_LAYER_ARGS = ("trainable", "name", "dtype", "input_shape", "batch_input_shape", "batch_size",
               "weights", "autocast")


def _split_kwargs(kwargs: dict) -> tuple[dict, dict]:
    """(RNN layer kwargs, cell kwargs)."""
    layer_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGS + _LAYER_ARGS}
    return layer_kw, kwargs


class _BuiltinRNN(RNN):
    """SimpleRNN/LSTM/GRU: an RNN that owns its cell and exposes the cell's
    arguments as attributes."""

    _cell_class = _GatedCell
    _cell_name = "cell"

    def __init__(self, units, activity_regularizer=None, **kwargs):
        _pop_consume_less(type(self).__name__, kwargs)
        kwargs.pop("use_cudnn", None)
        kwargs.pop("implementation", None)
        layer_kw, cell_kw = _split_kwargs(kwargs)
        try:
            cell = self._cell_class(units, name=self._cell_name, dtype=layer_kw.get("dtype"),
                                    trainable=layer_kw.get("trainable", True), **cell_kw)
        except (TypeError, ValueError) as e:
            msg = str(e).replace(f"{self._cell_class.__name__} got", "got")
            raise type(e)(f"{type(self).__name__}: {msg}") from None
        super().__init__(cell, activity_regularizer=activity_regularizer, **layer_kw)

    def __getattr__(self, name):
        # Cell arguments and weights (units, activation, kernel, ...) read through.
        if name.startswith("_") or name == "cell":
            raise AttributeError(name)
        if hasattr(type(self), name):
            # a property that raised AttributeError: re-raise its own message
            return object.__getattribute__(self, name)
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ATTRS:
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def get_config(self) -> dict:
        cell_config = self.cell.get_config()
        for k in ("name", "trainable", "dtype", "batch_input_shape"):
            cell_config.pop(k, None)
        return {
            **Layer.get_config(self),
            **cell_config,
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            **self._rnn_config(),
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config.pop("cell", None)
        return cls(**config)


_CELL_ATTRS = frozenset({
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
    "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
    "dropout", "recurrent_dropout", "seed", "unit_forget_bias", "reset_after", "kernel",
    "recurrent_kernel", "bias",
})


class SimpleRNN(_BuiltinRNN):
    """Fully connected RNN whose output is fed back as its input:
    `h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)`.

    Weights: `kernel (input_dim, units)`, `recurrent_kernel (units, units)`,
    `bias (units,)`.
    """

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    @legacy_args(_RNN_LEGACY)
    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)


class LSTM(_BuiltinRNN):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber 1997), Keras 3 semantics.

    Weights: `kernel (input_dim, 4*units)`, `recurrent_kernel (units, 4*units)`,
    `bias (4*units,)`, gates in the order i, f, c, o. `unit_forget_bias=True`
    initialises the forget-gate bias to one. States are `[h, c]`.
    """

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    @legacy_args(_LSTM_LEGACY)
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)


class GRU(_BuiltinRNN):
    """Gated Recurrent Unit (Cho et al. 2014), Keras 3 semantics.

    Weights: `kernel (input_dim, 3*units)`, `recurrent_kernel (units, 3*units)`,
    gates in the order z, r, h; `bias` of shape `(2, 3*units)` with
    `reset_after=True` (default) or `(3*units,)` with `reset_after=False`.
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    @legacy_args(_RNN_LEGACY)
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 reset_after=True, **kwargs):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, reset_after=reset_after, **kwargs)


__all__ = [
    "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "Recurrent", "SimpleRNN", "SimpleRNNCell",
]
