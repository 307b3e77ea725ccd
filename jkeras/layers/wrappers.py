"""Layer wrappers: `TimeDistributed` (a layer or a whole model applied to every
timestep, vectorised by folding time into the batch) and `Bidirectional`
(a recurrent layer run forwards and backwards, outputs merged)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.layer import Layer, shapes_of
from jkeras.layers.recurrent import _state_sizes, deserialize_layer, serialize_layer
from jkeras.ops.node import flatten

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _is_kt(x) -> bool:
    return isinstance(x, KerasTensor)


def _build_from_shape(layer: Layer, shape) -> None:
    """Builds `layer` for inputs of `shape` (no graph node is recorded)."""
    if layer.built:
        return
    layer.build(shape)
    layer.built = True
    initial = getattr(layer, "_initial_weights", None)
    if initial is not None:
        layer.set_weights(initial)
        layer._initial_weights = None


def _removeprefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Wrapper(Layer):
    """Base class of layers that wrap another layer (`self.layer`)."""

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            layer = deserialize_layer(layer)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"{type(self).__name__} wraps a jkeras Layer (or Model) instance, but got "
                f"{type(layer).__name__}: {layer!r}."
            )
        super().__init__(**kwargs)
        self.layer = layer

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"])
        return cls(**config)


class TimeDistributed(Wrapper):
    """Applies `layer` (a layer or a Functional/Sequential model) to every
    temporal slice of inputs of shape `(batch, timesteps, ...)`.

    The computation is vectorised: `(B, T, ...)` is reshaped to `(B*T, ...)`,
    the layer is called once, and its outputs are reshaped back to
    `(B, T, ...)`. The same weights serve every timestep. An input mask
    `(batch, timesteps)` passes through unchanged.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    # shapes -------------------------------------------------------------------------
    def _check_rank(self, shape) -> None:
        if len(shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs of rank >= 3 "
                f"(batch, timesteps, ...), but got an input of shape {tuple(shape)}. The axis "
                f"after the batch axis is the one the wrapped layer is applied along."
            )

    def _validate_input(self, inputs) -> None:
        for x in flatten(inputs):
            shape = getattr(x, "shape", None)
            if shape is not None:
                self._check_rank(tuple(shape))

    @staticmethod
    def _child_shape(shape) -> tuple:
        b, t = shape[0], shape[1]
        bt = b * t if b is not None and t is not None else None
        return (bt, *shape[2:])

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            child = [self._child_shape(s) for s in input_shape]
        else:
            self._check_rank(tuple(input_shape))
            child = self._child_shape(tuple(input_shape))
        if isinstance(self.layer, Layer) and not self.layer.built:
            _build_from_shape(self.layer, child)
        self.built = True

    def compute_output_spec(self, inputs, training=None, mask=None, **kwargs):
        leaves = flatten(inputs)
        b, t = leaves[0].shape[0], leaves[0].shape[1]
        child = jax.tree_util.tree_map(
            lambda x: KerasTensor(self._child_shape(x.shape), x.dtype), inputs, is_leaf=_is_kt)
        spec = self.layer.compute_output_spec(child)
        return jax.tree_util.tree_map(
            lambda s: KerasTensor((b, t, *s.shape[1:]), s.dtype), spec, is_leaf=_is_kt)

    def compute_output_shape(self, input_shape):
        self._check_rank(tuple(input_shape))
        spec = self.compute_output_spec(KerasTensor(tuple(input_shape), self.dtype))
        return shapes_of(spec) if not isinstance(spec, KerasTensor) else spec.shape

    # computation --------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        first = flatten(inputs)[0]
        b, t = first.shape[0], first.shape[1]

        def fold(x):
            return jnp.reshape(x, (b * t, *x.shape[2:]))

        folded = jax.tree_util.tree_map(fold, inputs)
        kwargs = {}
        if training is not None:
            kwargs["training"] = training
        if mask is not None and not isinstance(mask, (list, tuple, dict)) and jnp.ndim(
            mask
        ) > 2 and self.layer._call_has_mask:
            kwargs["mask"] = fold(mask)
        outputs = self.layer(folded, **kwargs)
        return jax.tree_util.tree_map(lambda y: jnp.reshape(y, (b, t, *y.shape[1:])), outputs)

    def compute_mask(self, inputs, mask=None):
        from jkeras.engine.model import Model

        inner = self.layer
        if isinstance(inner, Model) or type(inner).compute_mask is Layer.compute_mask:
            return mask
        # A wrapped layer that makes its own mask (e.g. Embedding(mask_zero=True)).
        first = flatten(inputs)[0]
        b, t = first.shape[0], first.shape[1]
        folded = jax.tree_util.tree_map(lambda x: jnp.reshape(x, (b * t, *x.shape[2:])), inputs)
        inner_mask = inner.compute_mask(folded, None)
        if inner_mask is None or isinstance(inner_mask, (list, tuple, dict)):
            return mask
        return jnp.reshape(inner_mask, (b, t, *inner_mask.shape[1:]))


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards over the sequence
    and merges their outputs (`merge_mode`: 'concat', 'sum', 'mul', 'ave', or
    None for a list `[forward, backward]`).

    The copies are named `forward_<name>` and `backward_<name>`; weights are
    the forward layer's then the backward layer's. The backward layer runs with
    `go_backwards=True`; with `return_sequences=True` its output is flipped back
    so that both align in time. With `return_state=True` the forward states
    follow the output, then the backward states. `initial_state` is split in
    halves: forward, then backward.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if isinstance(layer, dict):
            layer = deserialize_layer(layer)
        if isinstance(backward_layer, dict):
            backward_layer = deserialize_layer(backward_layer)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Bidirectional wraps a recurrent Layer instance (e.g. LSTM(16)), but got "
                f"{type(layer).__name__}: {layer!r}."
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                f"Bidirectional: backward_layer must be a Layer instance, got "
                f"{type(backward_layer).__name__}."
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional: invalid merge_mode {merge_mode!r}; expected one of "
                f"'concat', 'sum', 'mul', 'ave' or None."
            )
        for attr in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attr):
                raise ValueError(
                    f"Bidirectional wraps a sequence layer with a `{attr}` attribute (an RNN "
                    f"such as LSTM or GRU), but {type(layer).__name__} '{layer.name}' has none."
                )
        inner_shape = getattr(layer, "_batch_input_shape", None)
        if inner_shape is not None and not any(
            k in kwargs for k in ("input_shape", "batch_input_shape", "input_dim")
        ):
            kwargs["batch_input_shape"] = inner_shape
        super().__init__(weights=weights, **kwargs)

        config = layer.get_config()
        config.pop("batch_input_shape", None)
        config["name"] = "forward_" + _removeprefix(layer.name, "forward_")
        self.forward_layer = type(layer).from_config(config)
        if backward_layer is None:
            config = layer.get_config()
            config.pop("batch_input_shape", None)
            config["name"] = "backward_" + _removeprefix(layer.name, "backward_")
            config["go_backwards"] = not layer.go_backwards
            backward_layer = type(layer).from_config(config)
        self.backward_layer = backward_layer
        self._verify_layers()
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                # Masked timesteps output zeros when returning sequences (as Keras).
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = bool(layer.return_sequences)
        self.return_state = bool(layer.return_state)
        self.stateful = bool(getattr(layer, "stateful", False))
        self.supports_masking = True

    def _verify_layers(self) -> None:
        fw, bw = self.forward_layer, self.backward_layer
        if fw.go_backwards == bw.go_backwards:
            raise ValueError(
                f"Bidirectional '{self.name}': the forward and backward layers must have "
                f"different go_backwards values, got {fw.go_backwards} for both."
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            a, b = getattr(fw, attr, None), getattr(bw, attr, None)
            if a != b:
                raise ValueError(
                    f"Bidirectional '{self.name}': the forward and backward layers must have "
                    f"the same {attr}, got {a} (forward) and {b} (backward)."
                )

    def _num_states(self) -> int:
        cell = getattr(self.forward_layer, "cell", None)
        return len(_state_sizes(cell)) if cell is not None else 0

    # shapes -------------------------------------------------------------------------------
    def _validate_input(self, inputs) -> None:
        validate = getattr(self.forward_layer, "_validate_input", None)
        if validate is not None:
            try:
                validate(inputs)
            except ValueError as e:
                raise ValueError(f"Bidirectional '{self.name}': {e}") from None

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        _build_from_shape(self.forward_layer, tuple(input_shape))
        _build_from_shape(self.backward_layer, tuple(input_shape))
        self.built = True

    def _merge_spec(self, y: KerasTensor) -> list:
        if self.merge_mode == "concat":
            last = None if y.shape[-1] is None else 2 * y.shape[-1]
            return [KerasTensor((*y.shape[:-1], last), y.dtype)]
        if self.merge_mode is None:
            return [KerasTensor(y.shape, y.dtype), KerasTensor(y.shape, y.dtype)]
        return [KerasTensor(y.shape, y.dtype)]

    def compute_output_spec(self, sequences, initial_state=None, mask=None, training=None,
                            **kwargs):
        if isinstance(sequences, (list, tuple)):
            sequences = sequences[0]
        spec = flatten(self.forward_layer.compute_output_spec(sequences))
        y, states = spec[0], spec[1:] if self.return_state else []
        outs = self._merge_spec(y)
        states = [KerasTensor(s.shape, s.dtype) for s in (*states, *states)]
        outs = outs + states
        return outs[0] if len(outs) == 1 else outs

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        spec = self.compute_output_spec(KerasTensor(tuple(input_shape), self.dtype))
        return spec.shape if isinstance(spec, KerasTensor) else [s.shape for s in spec]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if self.return_sequences:
            out_mask = [mask, mask] if self.merge_mode is None else [mask]
        else:
            out_mask = [None, None] if self.merge_mode is None else [None]
        if self.return_state:
            out_mask = out_mask + [None] * (2 * self._num_states())
        return out_mask[0] if len(out_mask) == 1 else out_mask

    # computation -----------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None):
        if isinstance(sequences, (list, tuple)):
            if initial_state is None and len(sequences) > 1:
                initial_state = list(sequences[1:])
            sequences = sequences[0]
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        fw_kwargs, bw_kwargs = {}, {}
        if training is not None:
            fw_kwargs["training"] = bw_kwargs["training"] = training
        if mask is not None:
            fw_kwargs["mask"] = bw_kwargs["mask"] = mask
        if initial_state is not None:
            initial_state = list(initial_state)
            if len(initial_state) % 2:
                raise ValueError(
                    f"Bidirectional '{self.name}': initial_state must hold the forward "
                    f"states then the backward states (an even number), got "
                    f"{len(initial_state)}."
                )
            half = len(initial_state) // 2
            fw_kwargs["initial_state"] = initial_state[:half]
            bw_kwargs["initial_state"] = initial_state[half:]
        y = self.forward_layer(sequences, **fw_kwargs)
        y_rev = self.backward_layer(sequences, **bw_kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            out = [jnp.concatenate([y, y_rev], axis=-1)]
        elif self.merge_mode == "sum":
            out = [y + y_rev]
        elif self.merge_mode == "mul":
            out = [y * y_rev]
        elif self.merge_mode == "ave":
            out = [(y + y_rev) / 2]
        else:
            out = [y, y_rev]
        out = out + states
        return out[0] if len(out) == 1 else out

    # config ---------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "layer": serialize_layer(self.forward_layer),
            "merge_mode": self.merge_mode,
            "backward_layer": serialize_layer(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"])
        return cls(**config)


__all__ = ["Bidirectional", "TimeDistributed", "Wrapper"]
