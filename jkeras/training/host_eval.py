"""Evaluating small setup functions on the host with numpy instead of compiling them.

The first fit of a model calls a few tiny functions once (the optimizer's
`init`: zeros, a learning rate, a step count). Run eagerly, each JAX operation
of a new shape compiles a small XLA program (tens of milliseconds each on a
small CPU); under `jax.jit` the whole function is one compile (~0.1 s). Their
jaxpr holds only a handful of elementwise operations and broadcasts, which
numpy evaluates at once. `evaluate_on_host` does that, and returns None (the
caller then compiles) for anything it does not know.
"""

from __future__ import annotations

import numpy as np

_UNARY = {
    "neg": np.negative, "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "abs": np.abs, "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "tanh": np.tanh,
    "copy": np.copy, "copy_p": np.copy,
}
_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "pow": np.power, "max": np.maximum, "min": np.minimum, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal,
}


class _UnsupportedError(Exception):
    pass


def _eval_jaxpr(jaxpr, consts, args):
    env: dict = {}

    def read(v):
        if type(v).__name__ == "Literal":
            return np.asarray(v.val)
        return env[v]

    for var, val in zip(jaxpr.constvars, consts):
        env[var] = np.asarray(val)
    for var, val in zip(jaxpr.invars, args):
        env[var] = val
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        ins = [read(v) for v in eqn.invars]
        out_aval = eqn.outvars[0].aval
        dtype = np.dtype(out_aval.dtype)
        if name in _UNARY:
            out = _UNARY[name](ins[0])
        elif name in _BINARY:
            out = _BINARY[name](ins[0], ins[1])
        elif name == "integer_pow":
            out = np.power(ins[0], eqn.params["y"])
        elif name == "convert_element_type":
            out = ins[0]
        elif name == "broadcast_in_dim":
            shape = tuple(eqn.params["shape"])
            dims = eqn.params["broadcast_dimensions"]
            src = ins[0]
            expanded = np.reshape(src, [src.shape[dims.index(i)] if i in dims else 1
                                        for i in range(len(shape))])
            out = np.broadcast_to(expanded, shape)
        elif name == "reshape":
            out = np.reshape(ins[0], tuple(eqn.params["new_sizes"]))
        elif name == "select_n":
            out = np.choose(ins[0].astype(np.int64), ins[1:])
        elif name in ("pjit", "jit", "closed_call"):
            sub = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
            outs = _eval_jaxpr(sub.jaxpr, sub.consts, ins)
            for v, o in zip(eqn.outvars, outs):
                env[v] = o
            continue
        else:
            raise _UnsupportedError(name)
        if len(eqn.outvars) != 1:
            raise _UnsupportedError(name)
        env[eqn.outvars[0]] = np.array(out, dtype=dtype).reshape(out_aval.shape)
    return [read(v) for v in jaxpr.outvars]


def evaluate_on_host(fn, *avals):
    """`fn(*args)` for arguments of types `avals` (jax.ShapeDtypeStruct pytrees)
    whose result does not depend on the arguments' values (only on their types),
    computed with numpy: a pytree of numpy arrays. None when `fn` uses an
    operation this evaluator does not know, or reads its arguments' values."""
    import jax

    try:
        closed, out_shape = jax.make_jaxpr(fn, return_shape=True)(*avals)
    except Exception:  # noqa: BLE001 - let the caller run it normally
        return None
    jaxpr = closed.jaxpr
    used = set()
    for eqn in jaxpr.eqns:
        used.update(id(v) for v in eqn.invars)
    used.update(id(v) for v in jaxpr.outvars)
    if any(id(v) in used for v in jaxpr.invars):
        return None  # the result depends on the argument values
    try:
        outs = _eval_jaxpr(jaxpr, closed.consts, [None] * len(jaxpr.invars))
    except (_UnsupportedError, KeyError, ValueError, TypeError):
        return None
    leaves, treedef = jax.tree_util.tree_flatten(out_shape)
    if len(leaves) != len(outs):
        return None
    return jax.tree_util.tree_unflatten(treedef, outs)
