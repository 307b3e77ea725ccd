"""How the training loop sees a model: its inputs and outputs as flat lists, its
variables, a pure forward function, and what the model's layers allow (padding
a short batch, fusing steps)."""

from __future__ import annotations

import re

import jax

from jkeras.backend.scope import StatelessScope
from jkeras.ops.conv_kernels import channels_on_ynn_path, conv_implementation
from jkeras.training import data_adapter as da
from jkeras.training.compile_utils import shape_tuple

_STATS_LAYERS = ("BatchNormalization", "SyncBatchNormalization")
_CONV_NAME = re.compile(r"Conv(olution)?\d?D|ConvLSTM|SeparableConv|DepthwiseConv|Deconv")


def walk_layers(model):
    """Every layer reachable from `model` (itself included), each once."""
    seen, stack = set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(getattr(layer, "_sublayers", []))


def updatable_ids(model) -> set:
    """Ids of non-trainable variables that training may change (BatchNorm
    statistics): those of layers that are trainable, as are all their parents."""
    ids, seen, stack = set(), set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen or not layer.trainable:
            continue
        seen.add(id(layer))
        ids.update(id(v) for v in layer._own_variables)
        stack.extend(getattr(layer, "_sublayers", []))
    return ids


def split_variables(model):
    """(trainable variables, non-trainable variables, which non-trainable ones
    training updates) in a fixed order."""
    tvars = list(model.trainable_weights)
    tids = {id(v) for v in tvars}
    ntvars = [v for v in model.weights if id(v) not in tids]
    upd = updatable_ids(model)
    return tvars, ntvars, tuple(id(v) in upd for v in ntvars)


def pad_ok(model, training: bool) -> bool:
    """Whether padding a short batch (masked rows) is exact: every layer must
    compute each sample independently of the others (`_batch_independent`, or
    BatchNormalization outside training) and add no activity loss. Otherwise
    short batches run at their size (one more trace)."""
    from jkeras.engine.functional import Functional

    seen, stack = set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if getattr(layer, "activity_regularizer", None) is not None:
            return False
        if getattr(layer, "_batch_dependent", False):
            return False
        if isinstance(layer, Functional):
            stack.extend(layer._sublayers)  # a graph: as independent as its layers
            continue
        if getattr(layer, "_batch_independent", False):
            continue  # the whole layer, sublayers (an RNN's cell) included
        if not training and type(layer).__name__ in _STATS_LAYERS:
            continue
        return False
    return True


def _is_convolution(layer) -> bool:
    cls = type(layer)
    if getattr(cls, "_fuse_steps", True) is False:
        return True
    return cls.__module__.endswith("layers.convolutional") or bool(_CONV_NAME.search(cls.__name__))


def has_convolutions(model) -> bool:
    """Whether the model contains convolution layers (XLA:CPU runs convolution
    steps fused in a loop far slower than one step per call). A layer class may
    say so itself with `_fuse_steps = False`."""
    return any(_is_convolution(layer) for layer in walk_layers(model))


def uses_attention(model) -> bool:
    """Whether the model contains an attention layer (a layer class says so with
    `_attention_scores = True`): softmax and normalization reductions over
    (batch, heads, steps, steps) tensors."""
    return any(getattr(type(layer), "_attention_scores", False) for layer in walk_layers(model))


def _ynn_sized_convolution(layer) -> bool:
    """Whether a convolution layer's channel counts put it on XLA:CPU's YNNPACK path
    (`conv_kernels.channels_on_ynn_path`); True when its kernel shape is unknown."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        kernel = getattr(layer, "pointwise_kernel", None)
    shape = getattr(kernel, "shape", None)
    if shape is None or len(shape) < 3:
        return True
    return channels_on_ynn_path(int(shape[-2]), int(shape[-1]))


def uses_ynn_convolutions(model) -> bool:
    """Whether the model has a convolution that XLA:CPU runs on YNNPACK (more than 16
    input or output channels)."""
    return any(_is_convolution(layer) and _ynn_sized_convolution(layer)
               for layer in walk_layers(model))


def uses_depthwise_convolutions(model) -> bool:
    """Whether the model has depthwise or separable convolution layers (a layer class
    says so with `_depthwise = True`)."""
    return any(getattr(type(layer), "_depthwise", False) for layer in walk_layers(model))


def step_compiler_options(model) -> dict:
    """Per-compile XLA options for a model's step functions. jkeras turns on
    XLA:CPU's YNNPACK fusion of dots with elementwise and reduce ops for the whole
    process (`backend.xla_flags`). Convolution steps run several times faster with it
    (measured on an AMD EPYC and an Intel Xeon), and so do attention steps: a two-block
    text Transformer's training step 1.37x on the Xeon (without it XLA:CPU splits each
    softmax and LayerNorm reduction into a slow reduce-window). Dense and recurrent steps
    run 15-55% slower, and convolutions with at most 16 channels (which XLA:CPU keeps
    off YNNPACK) 5-8% slower (the seed's inception block, Xeon), so a model with
    neither attention nor a convolution of more than 16 channels compiles with
    YNNPACK for dots only. A model with depthwise convolutions, which jkeras computes
    on CPU as fused shifted sums (`ops.depthwise`), compiles with YNNPACK for reduce
    ops only: its elementwise fusion made XLA materialize every tap's broadcast
    weights and shifted input (MobileNetV2 at 96x96 trained 1.8x faster without it;
    Xeon).
    `JKERAS_STEP_XLA_OPTIONS` (a JSON object) replaces these."""
    import json
    import os

    env = os.environ.get("JKERAS_STEP_XLA_OPTIONS")
    if env:
        try:
            options = json.loads(env)
        except ValueError:
            options = None
        if not isinstance(options, dict):
            raise ValueError(
                "JKERAS_STEP_XLA_OPTIONS must be a JSON object of XLA options, e.g. "
                '{"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE"}; '
                f"got {env!r}. Fix or unset it."
            )
        return options
    from jkeras.backend import xla_flags

    process = os.environ.get("XLA_FLAGS", "")
    if f"{xla_flags.YNN_FLAG}={xla_flags.YNN_VALUE}" not in process or \
            jax.default_backend() != "cpu":
        return {}
    if uses_depthwise_convolutions(model) and conv_implementation() != "lax":
        return {xla_flags.YNN_FLAG.lstrip("-"): "LIBRARY_FUSION_TYPE_REDUCE"}
    if uses_ynn_convolutions(model) or uses_attention(model):
        return {}
    return {xla_flags.YNN_FLAG.lstrip("-"): "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}


def forward(model, variables, values, inputs, training, rng, with_masks=False):
    """`engine.stateless.stateless_call` that also returns the random key left
    in the scope after the call (keys are split only as often as layers draw
    them, so a model without randomness compiles no key arithmetic, and the
    next step continues the key sequence) and, with `with_masks`, the
    outputs' Keras masks. Returns (outputs, masks, new_values, losses, rng)."""
    mapping = {id(v): val for v, val in zip(variables, values)}
    masks = None
    with StatelessScope(mapping, rng=rng) as scope:
        if with_masks:
            outputs, masks = model.call_with_masks(inputs, training)
        else:
            outputs = model(inputs, training=training)
        losses = list(scope.losses)
        trainable = {id(v) for v in model.trainable_weights}  # frozen weights: no penalty
        for v in variables:
            if v.regularizer is not None and id(v) in trainable:
                losses.append(v.regularizer(v.value))
    new_values = [scope.updates.get(id(v), val) for v, val in zip(variables, values)]
    return outputs, masks, new_values, losses, scope.rng


def _rows(x, n: int):
    return da.map_structure(lambda a: a[:n], x)


class ModelIO:
    """How user data maps onto the model's inputs and outputs."""

    def __init__(self, model):
        from jkeras.engine.functional import Functional

        self.model = model
        self.functional = isinstance(model, Functional)
        self.output_names: list[str] | None = None
        self.output_shapes: list[tuple] | None = None
        self._out_kind = "single"
        self._x_treedef = None
        self.input_dtypes: list | None = None
        self.masked_outputs = False
        if self.functional and model.built:
            self._from_graph()

    @property
    def ready(self) -> bool:
        return self.output_names is not None

    def _from_graph(self) -> None:
        m = self.model
        self.input_names = m.input_names
        self.input_dtypes = [t.dtype for t in m.inputs]
        self.output_names = list(m.output_names)
        self.output_shapes = [shape_tuple(t.shape) for t in m.outputs]
        s = m._outputs_struct
        self._out_kind = "dict" if isinstance(s, dict) else "list" if isinstance(
            s, (list, tuple)) else "single"
        self.masked_outputs = any(t._keras_mask is not None for t in m.outputs)

    def ensure_built(self, x) -> None:
        """Builds an unbuilt model (Sequential without input shape, subclassed) by
        calling it on the first rows of `x`."""
        if self.ready:
            return
        m = self.model
        sample = _rows(x, 2)
        if self.functional:
            m(sample)
            self._from_graph()
            return
        leaves, treedef = jax.tree_util.tree_flatten(sample)
        self._x_treedef = treedef
        self.input_dtypes = [None] * len(leaves)
        self.describe_outputs(m(sample))

    def describe_outputs(self, outs) -> None:
        """Output names, kind and shapes of a subclassed model from its outputs."""
        if isinstance(outs, dict):
            self._out_kind = "dict"
            self.output_names = sorted(outs)  # Keras 3 flattens dicts in key order
            flat = [outs[k] for k in self.output_names]
        elif isinstance(outs, (list, tuple)):
            self._out_kind = "list"
            flat = list(outs)
            self.output_names = [f"output_{i + 1}" for i in range(len(flat))]
        else:
            flat = [outs]
            self.output_names = ["output_1"]
        self.output_shapes = [(None, *tuple(o.shape)[1:]) for o in flat]

    def flatten_x(self, x) -> list:
        if self.functional:
            return list(self.model.flatten_inputs(x))
        leaves, treedef = jax.tree_util.tree_flatten(x)
        if self._x_treedef is not None and treedef != self._x_treedef:
            raise ValueError(
                f"Model '{self.model.name}' was first called on inputs structured as "
                f"{self._x_treedef}, but got {treedef}. Pass inputs with the same structure."
            )
        return leaves

    def pack_x(self, flat: list):
        if self.functional:
            return flat[0] if len(flat) == 1 else list(flat)
        return jax.tree_util.tree_unflatten(self._x_treedef, list(flat))

    def flatten_masks(self, masks) -> list:
        if masks is None:
            return [None] * len(self.output_names)
        if self._out_kind == "single" or not isinstance(masks, (list, tuple, dict)):
            return [masks]
        return self.flatten_out(masks)

    def flatten_out(self, outs) -> list:
        if self._out_kind == "dict":
            return [outs[k] for k in self.output_names]
        if self._out_kind == "list":
            return list(outs)
        return [outs]
