"""Keras's standard layer arguments, read from their names: `*activation`,
`*_initializer`, `*_regularizer`, `*_constraint`, the dropout rates and boolean
flags. `set_arguments` stores them resolved (`activations.get`, ...) on a layer and
`arguments_config` writes them back as Keras configs do."""

from __future__ import annotations

from jkeras import activations, constraints, initializers, regularizers

# the kernel and bias arguments of a dense-like layer, in Keras's config order
KERNEL_BIAS_ARGUMENTS = ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                         "bias_regularizer", "kernel_constraint", "bias_constraint")
_RATES = ("dropout", "recurrent_dropout")
_FLAGS = ("use_bias", "unit_forget_bias", "reset_after")


def _module(name: str):
    if name == "activation" or name.endswith("_activation"):
        return activations
    for suffix, module in (("_initializer", initializers), ("_regularizer", regularizers),
                           ("_constraint", constraints)):
        if name.endswith(suffix):
            return module
    return None


def clamp_rate(rate) -> float:
    """A dropout rate clipped to [0, 1] (None counts as 0), as Keras's cells do."""
    return min(1.0, max(0.0, float(rate or 0.0)))


def set_arguments(layer, **arguments) -> None:
    """Sets each argument on `layer`, resolved by the kind its name says."""
    for name, value in arguments.items():
        module = _module(name)
        if module is not None:
            value = module.get(value)
        elif name in _RATES:
            value = clamp_rate(value)
        elif name in _FLAGS:
            value = bool(value)
        setattr(layer, name, value)


def arguments_config(layer, *names: str) -> dict:
    """{name: value} for a config, objects serialized the Keras way."""
    out = {}
    for name in names:
        value = getattr(layer, name)
        module = _module(name)
        out[name] = module.serialize(value) if module is not None else value
    return out


__all__ = ["KERNEL_BIAS_ARGUMENTS", "arguments_config", "clamp_rate", "set_arguments"]
