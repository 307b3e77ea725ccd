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
        for v in variables:
            if v.regularizer is not None:
                losses.append(v.regularizer(v.value))
    new_values = [s.updates.get(id(v), val) for v, val in zip(variables, values)]
    return outputs, new_values, losses
