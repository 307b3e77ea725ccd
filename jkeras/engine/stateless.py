"""Pure evaluation of a layer or model as a function of variable values."""

from __future__ import annotations

from jkeras.backend.scope import StatelessScope


def stateless_call(layer, variables: list, values: list, inputs, training=False, rng=None,
                   **kwargs):
    """Calls `layer(inputs)` with `variables` bound to `values`.

    Returns (outputs, new_values, losses): `new_values` holds the values after
    any assignments made during the call (e.g. BatchNormalization statistics),
    and `losses` the terms added with `add_loss` plus weight regularisation.
    """
    mapping = {id(v): val for v, val in zip(variables, values)}
    with StatelessScope(mapping, rng=rng) as s:
        outputs = layer(inputs, training=training, **kwargs)
        losses = list(s.losses)
        trainable = {id(v) for v in layer.trainable_weights}  # frozen weights: no penalty
        for v in variables:
            if v.regularizer is not None and id(v) in trainable:
                losses.append(v.regularizer(v.value))
    new_values = [s.updates.get(id(v), val) for v, val in zip(variables, values)]
    return outputs, new_values, losses


def _values(items) -> list:
    return [getattr(v, "value", v) if getattr(v, "_is_variable", False) else v for v in items]


def layer_stateless_call(layer, trainable_variables, non_trainable_variables, args, kwargs,
                         return_losses: bool = False):
    """Keras 3's `Layer.stateless_call`: `layer(*args, **kwargs)` with the layer's
    `trainable_variables` and `non_trainable_variables` bound to the given
    values (arrays or Variables, in those lists' order). Returns (outputs,
    non_trainable values after the call) and, with `return_losses`, the losses
    the call added (`add_loss`, weight regularizers)."""
    tvars = layer.trainable_variables
    ntvars = layer.non_trainable_variables
    tv = _values(trainable_variables)
    ntv = _values(non_trainable_variables)
    for what, given, expected in (("trainable_variables", tv, tvars),
                                  ("non_trainable_variables", ntv, ntvars)):
        if len(given) != len(expected):
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}'.stateless_call: `{what}` has "
                f"{len(given)} values, but the layer has {len(expected)} {what} (pass "
                f"`layer.{what}`, or values in that order; build the layer first)."
            )
    variables = tvars + ntvars
    values = tv + ntv
    with StatelessScope({id(v): x for v, x in zip(variables, values)}) as s:
        outputs = layer(*args, **kwargs)
        losses = []
        if return_losses:
            losses = list(s.losses)
            for v in tvars:  # as Keras: frozen weights add no penalty
                if v.regularizer is not None:
                    losses.append(v.regularizer(v.value))
    new_ntv = [s.updates.get(id(v), x) for v, x in zip(ntvars, ntv)]
    return (outputs, new_ntv, losses) if return_losses else (outputs, new_ntv)
