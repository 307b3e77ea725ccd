"""Layer calls rematerialized under a `keras.RematScope` (see
`jkeras.backend.remat`)."""

from __future__ import annotations

import jax
import numpy as np

from jkeras.engine.seed_generator import in_jax_trace


def _keeps_no_state(layer) -> bool:
    """Whether the layer (and its sublayers) neither updates variables nor draws
    random numbers in its call, so recomputing it is exact."""
    return not layer.non_trainable_variables


def remat_call(layer, scope, args: tuple, kwargs: dict):
    """`layer.call(*args, **kwargs)`, rematerialized as `scope` says when it runs
    inside a trace (an eager call keeps no activations to save)."""
    first = args[0]
    mode = scope.mode
    if mode is None or not in_jax_trace() or not _keeps_no_state(layer):
        return layer.call(*args, **kwargs)
    if mode == "activations":
        activation = getattr(layer, "activation", None)
        if not callable(activation):
            return layer.call(*args, **kwargs)
        layer.activation = jax.checkpoint(activation)
        try:
            return layer.call(*args, **kwargs)
        finally:
            layer.activation = activation
    if mode == "list_of_layers" and layer.name not in scope.layer_names:
        return layer.call(*args, **kwargs)

    def call_on(x):
        return layer.call(x, *args[1:], **kwargs)

    if mode == "larger_than":
        spec = jax.eval_shape(call_on, first)
        size = max((int(np.prod(s.shape)) for s in jax.tree_util.tree_leaves(spec)), default=0)
        if size <= scope.output_size_threshold:
            return call_on(first)
    return jax.checkpoint(call_on)(first)
