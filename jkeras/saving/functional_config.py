"""Functional and Sequential configs (Keras 3 layout, Keras 1/2 read), graph
rebuilding from a config, and `clone_model`.

Keras 3 Functional config:

    {"name": ..., "trainable": ...,
     "layers": [{"module", "class_name", "config", "registered_name", "name",
                 "inbound_nodes": [{"args": [...], "kwargs": {...}}, ...]}, ...],
     "input_layers": ["input_layer", 0, 0] | [[...], ...] | {...},
     "output_layers": ...}

Tensors inside node arguments are `{"class_name": "__keras_tensor__", "config":
{"shape", "dtype", "keras_history": [layer_name, node_index, tensor_index]}}`,
where node_index counts only the nodes of that layer that belong to the model.
In Keras 3 a nested Functional model owns a node of its own first, so the
input/output references to it are shifted by one; Keras 1/2 shift every
reference to any nested model by one.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.engine.graph_order import SyntheticInput, graph_order
from jkeras.engine.graph_order import node_of as _node_of
from jkeras.saving import serialization as ser

_GRAPH_KEYS = ("name", "inbound_nodes")


# --------------------------------------------------------------------------------------
# Keras's operation order: the engine's (jkeras/engine/graph_order.py)
# --------------------------------------------------------------------------------------
def keras_layer_order(model) -> list:
    """The layers of a Functional model in Keras 3's `model.layers` order
    (InputLayers included; Sequential: its stack). The engine keeps
    `model.layers` in this order."""
    from jkeras.engine.sequential import Sequential

    if isinstance(model, Sequential):
        return list(model.layers)
    return list(model._layers)


# --------------------------------------------------------------------------------------
# get_config
# --------------------------------------------------------------------------------------
def _is_nested_functional(op) -> bool:
    from jkeras.engine.functional import Functional
    from jkeras.engine.sequential import Sequential

    return isinstance(op, Functional) and not isinstance(op, Sequential)


def _layer_entry(op) -> dict:
    from jkeras.engine.input_layer import InputLayer

    entry = ser.serialize_keras_object(op)
    if not isinstance(op, InputLayer) and isinstance(entry.get("config"), dict):
        entry["config"].pop("batch_input_shape", None)
    entry.pop("build_config", None) if isinstance(op, InputLayer) else None
    return entry


def functional_get_config(model) -> dict:
    """The Keras 3 config of a Functional model."""
    from jkeras.ops.operation import FunctionOperation

    ops, synthetic = graph_order(model)
    own = {id(n) for n in model._nodes}
    for t in model.inputs:
        if id(t) not in synthetic:
            own.add(id(_node_of(t)))
    names = [op.name for op in ops]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"Model '{model.name}' cannot be saved: the layer name(s) {dup} are used more "
            f"than once in it. Give every layer a unique name (name=...)."
        )
    kept: dict[int, int] = {}
    for op in ops:
        if isinstance(op, SyntheticInput):
            continue
        i = 0
        for node in op._inbound_nodes:
            if id(node) in own:
                kept[id(node)] = i
                i += 1

    def ref(t: KerasTensor, shift: bool = False) -> list:
        if id(t) in synthetic:
            return [synthetic[id(t)].name, 0, 0]
        op, ni, ti = t._keras_history
        node = op._inbound_nodes[ni]
        if id(node) not in kept:
            raise ValueError(
                f"Model '{model.name}': tensor {t!r} is used but not produced inside the model."
            )
        return [op.name, kept[id(node)] + (1 if shift and _is_nested_functional(op) else 0), ti]

    def map_args(x):
        if isinstance(x, KerasTensor):
            return {"class_name": "__keras_tensor__", "config": {
                "shape": list(x.shape), "dtype": x.dtype, "keras_history": ref(x)}}
        if isinstance(x, (list, tuple)):
            return [map_args(v) for v in x]
        if isinstance(x, dict):
            return {str(k): map_args(v) for k, v in x.items()}
        return ser.serialize_keras_object(x)

    layer_configs = []
    for op in ops:
        if isinstance(op, SyntheticInput):
            t = op.tensor
            layer_configs.append({
                "module": "keras.layers", "class_name": "InputLayer",
                "config": {"batch_shape": list(t.shape), "dtype": t.dtype, "sparse": False,
                           "name": op.name},
                "registered_name": None, "name": op.name, "inbound_nodes": []})
            continue
        entry = _layer_entry(op)
        nodes = []
        for node in op._inbound_nodes:
            if id(node) in own and not node.is_input:
                args, kwargs = list(node.call_args), dict(node.call_kwargs)
                if isinstance(op, FunctionOperation):
                    # Keras keeps an op's constructor arguments in its config
                    _, args, kwargs = ser.keras_node_call(op, node)
                nodes.append({"args": map_args(args), "kwargs": map_args(kwargs)})
        entry["name"] = op.name
        entry["inbound_nodes"] = nodes
        layer_configs.append(entry)

    def map_struct(s):
        if isinstance(s, KerasTensor):
            return ref(s, shift=True)
        if isinstance(s, dict):
            return {str(k): map_struct(v) for k, v in s.items()}
        return [map_struct(v) for v in s]

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layer_configs,
        "input_layers": map_struct(model._inputs_struct),
        "output_layers": map_struct(model._outputs_struct),
    }


def sequential_get_config(model) -> dict:
    """The Keras 3 config of a Sequential model (InputLayer first when known)."""
    layers = []
    input_tensor = getattr(model, "_input_tensor", None)
    if input_tensor is not None and input_tensor._keras_history is not None:
        layers.append(_layer_entry(input_tensor._keras_history[0]))
    for layer in model.layers:
        entry = ser.serialize_keras_object(layer)
        if input_tensor is not None and isinstance(entry.get("config"), dict):
            entry["config"].pop("batch_input_shape", None)
        layers.append(entry)
    config = {"name": model.name, "trainable": model.trainable, "dtype": _dtype_name(model),
              "layers": layers}
    if input_tensor is not None:
        config["build_input_shape"] = list(input_tensor.shape)
    return config


def _dtype_name(layer):
    policy = getattr(layer, "dtype_policy", None)
    return getattr(policy, "name", None) or layer.dtype


# --------------------------------------------------------------------------------------
# from_config
# --------------------------------------------------------------------------------------
def _is_leaf_ref(x) -> bool:
    return (isinstance(x, list) and len(x) in (3, 4) and isinstance(x[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in x[1:3]))


def _entry_name(entry: dict, position: int) -> str:
    name = entry.get("name")
    if name is None and isinstance(entry.get("config"), dict):
        name = entry["config"].get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"Layer entry {position} of the model config has no valid 'name'.")
    return name


def _is_legacy_nodes(layers: list) -> bool:
    for entry in layers:
        for node in entry.get("inbound_nodes") or []:
            return isinstance(node, list)
    return any(isinstance(e, dict) and "module" not in e for e in layers)


def _deserialize_graph_op(entry: dict, legacy: bool, custom_objects, safe_mode):
    entry = {k: v for k, v in entry.items() if k not in _GRAPH_KEYS}
    if legacy and "module" not in entry:
        from jkeras.saving.legacy_config import translate_legacy_layer

        entry = translate_legacy_layer(entry)
        with ser.in_graph_reconstruction(), warnings.catch_warnings():
            # Keras 1 argument names in an old file are not the user's code to fix
            warnings.simplefilter("ignore", DeprecationWarning)
            return ser._deserialize(entry, custom_objects, safe_mode, "layer")
    with ser.in_graph_reconstruction():
        return ser._deserialize(entry, custom_objects, safe_mode, "layer")


class _NotReady(Exception):  # noqa: N818 - internal signal, not an error
    pass


def _tensor_for(created: dict, name, node_index, tensor_index, legacy: bool, where: str):
    from jkeras.engine.functional import Functional

    if not isinstance(name, str) or name not in created:
        raise ValueError(f"{where} refers to layer {name!r:.60}, which is not in the model.")
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
               for i in (node_index, tensor_index)):
        raise ValueError(f"{where}: invalid node/tensor index {node_index!r}, {tensor_index!r}.")
    op = created[name]
    if legacy and isinstance(op, Functional):
        node_index -= 1
        if node_index < 0:
            raise ValueError(f"{where} refers to node 0 of model '{name}', which holds no call.")
    nodes = op._inbound_nodes
    if node_index >= len(nodes):
        raise _NotReady()
    outs = nodes[node_index].output_tensors
    if tensor_index >= len(outs):
        raise ValueError(
            f"{where} refers to output {tensor_index} of layer '{name}', which has "
            f"{len(outs)} output(s)."
        )
    return outs[tensor_index]


def _resolve_refs(x, created, legacy, where):
    if isinstance(x, ser.TensorRef):
        return _tensor_for(created, x.name, x.node_index, x.tensor_index, legacy, where)
    if isinstance(x, list):
        return [_resolve_refs(v, created, legacy, where) for v in x]
    if isinstance(x, tuple):
        return tuple(_resolve_refs(v, created, legacy, where) for v in x)
    if isinstance(x, dict):
        return {k: _resolve_refs(v, created, legacy, where) for k, v in x.items()}
    return x


def _parse_node(node_data, custom_objects, safe_mode, where):
    """Node data -> ('new', args, kwargs) with TensorRefs, or ('legacy', refs, kwargs)."""
    if isinstance(node_data, dict):
        args = node_data.get("args", [])
        kwargs = node_data.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ValueError(f"{where}: a node needs 'args' (list) and 'kwargs' (dict).")
        args = ser._deserialize(args, custom_objects, safe_mode, None)
        kwargs = ser._deserialize(kwargs, custom_objects, safe_mode, None)
        return args, kwargs
    if isinstance(node_data, list):
        refs, kwargs = [], {}
        for item in node_data:
            if not _is_leaf_ref(item):
                raise ValueError(
                    f"{where}: each legacy node input must be [layer_name, node_index, "
                    f"tensor_index(, kwargs)], got {item!r:.80}."
                )
            refs.append(ser.TensorRef(item[0], item[1], item[2]))
            if len(item) == 4:
                if not isinstance(item[3], dict):
                    raise ValueError(f"{where}: node call arguments must be a dict.")
                kwargs = ser._deserialize(item[3], custom_objects, safe_mode, None)
        if not refs:
            raise ValueError(f"{where}: a node with no inputs.")
        args = [refs[0] if len(refs) == 1 else refs]
        return args, kwargs
    raise ValueError(f"{where}: a node must be a dict or a list, got {type(node_data).__name__}.")


def rebuild_graph(layers: list, custom_objects, safe_mode, model_name: str,
                  make_op=None) -> tuple[dict, bool]:
    """Creates every operation of a Functional config and replays its nodes.
    Returns (name -> operation, legacy flag)."""
    from jkeras.ops.operation import FunctionOperation

    if not isinstance(layers, list):
        raise ValueError(f"Model '{model_name}': 'layers' must be a list.")
    legacy = _is_legacy_nodes([e for e in layers if isinstance(e, dict)])
    created: dict[str, Any] = {}
    order: list[str] = []
    pending: dict[str, list] = {}
    for i, entry in enumerate(layers):
        if not isinstance(entry, dict):
            raise ValueError(f"Model '{model_name}': layer entry {i} is not a dict.")
        name = _entry_name(entry, i)
        if name in created:
            raise ValueError(f"Model '{model_name}': layer name '{name}' appears twice.")
        nodes = entry.get("inbound_nodes", [])
        if nodes is None:
            nodes = []
        if not isinstance(nodes, list):
            raise ValueError(f"Model '{model_name}': 'inbound_nodes' of '{name}' must be a list.")
        op = make_op(entry, name) if make_op else _deserialize_graph_op(
            entry, legacy, custom_objects, safe_mode)
        if not hasattr(op, "_inbound_nodes"):
            raise ValueError(
                f"Model '{model_name}': entry '{name}' is a {type(op).__name__}, not a layer "
                f"or operation."
            )
        if not legacy and isinstance(op, FunctionOperation):
            op.name = name
        created[name] = op
        order.append(name)
        where = f"Model '{model_name}', layer '{name}'"
        pending[name] = [(nd, where) for nd in nodes]

    parsed: dict[int, tuple] = {}
    progress = True
    while progress and any(pending[n] for n in order):
        progress = False
        for name in order:
            queue = pending[name]
            while queue:
                node_data, where = queue[0]
                key = id(node_data)
                if key not in parsed:
                    parsed[key] = _parse_node(node_data, custom_objects, safe_mode, where)
                args, kwargs = parsed[key]
                try:
                    args = _resolve_refs(args, created, legacy, where)
                    kwargs = _resolve_refs(kwargs, created, legacy, where)
                except _NotReady:
                    break
                created[name] = _call_node(created[name], args, kwargs, where)
                queue.pop(0)
                progress = True
    stuck = [n for n in order if pending[n]]
    if stuck:
        raise ValueError(
            f"Model '{model_name}': the config is inconsistent: the call(s) of layer(s) "
            f"{stuck[:10]} refer to nodes that no layer produces."
        )
    return created, legacy


def _call_node(op, args, kwargs, where):
    """Replays one saved call of `op`; returns the operation that now holds the node
    (for an op loaded from its class, the one its jkeras function records)."""
    from jkeras.ops.operation import FunctionOperation

    if not isinstance(args, list):
        args = [args]
    kwargs = {str(k): v for k, v in kwargs.items()}
    load = getattr(op, "_keras_load", None)
    if load is not None:
        args, kwargs = load[1](args, kwargs)
    if isinstance(op, FunctionOperation) and op.op_name == "getitem" and len(args) >= 2:
        args = [args[0], _as_index(args[1]), *args[2:]]
    try:
        with ser.in_graph_reconstruction():
            if load is not None and not op._inbound_nodes:
                return _call_op_function(op, load, args, kwargs)
            op(*args, **kwargs)
    except ValueError as e:
        raise ValueError(f"{where}: cannot call it on its saved inputs: {e}") from e
    except Exception as e:  # noqa: BLE001 - jax/shape errors from foreign values
        raise ValueError(
            f"{where}: cannot call it on its saved inputs: {type(e).__name__}: {e}"
        ) from e
    return op


def _call_op_function(op, load, args, kwargs):
    """Calls the op's public jkeras function (which checks its arguments and knows
    its output shapes) and names the operation it records after the saved op."""
    from jkeras.ops.operation import FunctionOperation

    def tensors(x):
        return [t for t in jax.tree_util.tree_leaves(
            x, is_leaf=lambda v: isinstance(v, KerasTensor)) if isinstance(t, KerasTensor)]

    given = {id(t) for t in tensors((args, kwargs))}
    outputs = load[0](*args, **kwargs)
    made = [t._keras_history[0] for t in tensors(outputs)
            if id(t) not in given and t._keras_history is not None]
    if not made or not isinstance(made[0], FunctionOperation) or len(
            made[0]._inbound_nodes) != 1 or any(m is not made[0] for m in made):
        # not a single op's fresh node: record the call on the saved op itself
        op(*args, **kwargs)
        return op
    made = made[0]
    made.name = op.name
    made._keras_load = (None, load[1])
    return made


def _as_index(key):
    if isinstance(key, list):
        return tuple(_as_index(k) if isinstance(k, list) else k for k in key)
    return key


def _map_io(struct, created, legacy, model_name, what):
    from jkeras.engine.functional import Functional

    where = f"Model '{model_name}' {what}"

    def leaf(x):
        name, ni, ti = x[0], x[1], x[2]
        op = created.get(name)
        if op is None:
            raise ValueError(f"{where} names layer '{name}', which is not in the model.")
        if legacy:
            shift = isinstance(op, Functional)
        else:
            shift = _is_nested_functional(op)
        if shift:
            ni -= 1
        try:
            return _tensor_for(created, name, ni, ti, False, where)
        except _NotReady:
            raise ValueError(
                f"{where} refers to call {x[1]} of layer '{name}', which the config does "
                f"not make."
            ) from None

    def walk(s, depth=0):
        if depth > ser.MAX_DEPTH:
            raise ValueError(f"{where} is nested too deeply.")
        if _is_leaf_ref(s):
            return leaf(s)
        if isinstance(s, list):
            return [walk(v, depth + 1) for v in s]
        if isinstance(s, dict):
            return {str(k): walk(v, depth + 1) for k, v in s.items()}
        raise ValueError(f"{where}: cannot read {s!r:.80}.")

    if struct is None:
        raise ValueError(f"{where} is missing.")
    out = walk(struct)
    if isinstance(out, list) and len(out) == 1:
        # Keras (2 and 3) unpacks a single input/output: the model returns an array
        out = out[0]
    return out


def functional_from_config(cls, config: dict, custom_objects=None, safe_mode=None):
    """A Functional model (or functional-like subclass `cls`) from its config."""
    if not isinstance(config, dict):
        raise ValueError(f"A Functional config must be a dict, got {type(config).__name__}.")
    safe = ser._effective_safe_mode(safe_mode)
    name = config.get("name")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"Model name must be a string, got {type(name).__name__}.")
    label = name or "functional"
    with ser.SafeModeScope(safe):
        created, legacy = rebuild_graph(config.get("layers"), custom_objects, safe, label)
        inputs = _map_io(config.get("input_layers"), created, legacy, label, "input_layers")
        outputs = _map_io(config.get("output_layers"), created, legacy, label, "output_layers")
    trainable = config.get("trainable", True)
    try:
        model = cls(inputs=inputs, outputs=outputs, name=name)
    except ValueError as e:
        raise ValueError(f"Cannot rebuild model '{label}': {e}") from e
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"Cannot rebuild model '{label}': {type(e).__name__}: {e}") from e
    if trainable is False:
        model.trainable = False
    return model


def sequential_from_config(cls, config, custom_objects=None, safe_mode=None):
    """A Sequential model from its Keras 3, 2 or 1 config."""
    from jkeras.engine.layer import Layer

    if isinstance(config, list):
        name, layer_configs, build_shape, trainable = None, config, None, True
    elif isinstance(config, dict):
        name = config.get("name")
        layer_configs = config.get("layers")
        build_shape = config.get("build_input_shape")
        trainable = config.get("trainable", True)
    else:
        raise ValueError(f"A Sequential config must be a dict or list, got {type(config)}.")
    if name is not None and not isinstance(name, str):
        raise ValueError("Sequential model name must be a string.")
    if not isinstance(layer_configs, list):
        raise ValueError(f"Sequential '{name}': 'layers' must be a list.")
    safe = ser._effective_safe_mode(safe_mode)
    model = cls(name=name)
    with ser.SafeModeScope(safe):
        for i, lc in enumerate(layer_configs):
            if not isinstance(lc, dict):
                raise ValueError(f"Sequential '{name}': layer entry {i} is not a dict.")
            entry = lc
            legacy = "module" not in lc
            if legacy:
                from jkeras.saving.legacy_config import translate_legacy_layer

                entry = translate_legacy_layer(lc)
            with ser.in_graph_reconstruction(), warnings.catch_warnings():
                if legacy:
                    warnings.simplefilter("ignore", DeprecationWarning)
                layer = ser._deserialize(entry, custom_objects, safe, "layer")
            if not isinstance(layer, Layer):
                raise ValueError(
                    f"Sequential '{name}': entry {i} is a {type(layer).__name__}, not a layer."
                )
            try:
                model.add(layer)
            except ValueError as e:
                raise ValueError(f"Sequential '{name}': cannot add layer {i}: {e}") from e
            except Exception as e:  # noqa: BLE001
                raise ValueError(
                    f"Sequential '{name}': cannot add layer {i}: {type(e).__name__}: {e}"
                ) from e
    if not model.built and isinstance(build_shape, list) and build_shape:
        if all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)
               for d in build_shape):
            try:
                model.build(tuple(build_shape))
            except Exception as e:  # noqa: BLE001
                raise ValueError(
                    f"Sequential '{name}': cannot build for input shape {build_shape}: {e}"
                ) from e
    if trainable is False:
        model.trainable = False
    return model


# --------------------------------------------------------------------------------------
# clone_model
# --------------------------------------------------------------------------------------
def _custom_classes_of(layer) -> dict:
    """Classes of the non-jkeras objects a layer holds (custom initializers...), so
    its config can be rebuilt in memory."""
    out = {}
    for value in vars(layer).values():
        for v in value if isinstance(value, (list, tuple)) else (value,):
            cls = type(v)
            module = getattr(cls, "__module__", "") or ""
            if hasattr(v, "get_config") and not module.startswith("jkeras"):
                out[cls.__name__] = cls
            elif callable(v) and not isinstance(v, type) and hasattr(v, "__name__") and not (
                getattr(v, "__module__", "") or "").startswith("jkeras"):
                out[v.__name__] = v
    return out


def default_clone_layer(layer):
    """A new layer with the same config and fresh weights (nested models are
    cloned the same way)."""
    from jkeras.engine.functional import Functional
    from jkeras.layers.core import Lambda

    if isinstance(layer, Functional):
        return clone_model(layer)
    if isinstance(layer, Lambda):
        from jkeras.engine.layer import Layer

        base = Layer.get_config(layer)
        return type(layer)(function=layer.function, output_shape=layer._output_shape,
                           mask=layer.mask, arguments=dict(layer.arguments), **base)
    config = ser.serialize_keras_object(layer)
    config.pop("build_config", None)
    with ser.SafeModeScope(False):
        return ser.deserialize_keras_object(config, custom_objects=_custom_classes_of(layer),
                                            safe_mode=False, kind="layer")


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive: bool = False, **kwargs):
    """A new model with the same graph and new layers (fresh weights unless
    `clone_function` says otherwise).

    `clone_function(layer)` makes each new layer (default: from its config; nested
    models are cloned). `input_tensors` (KerasTensors) become the new model's
    inputs. `call_function(layer, *args, **kwargs)` replaces each layer call.
    """
    from jkeras.engine.functional import Functional
    from jkeras.engine.input_layer import Input, InputLayer
    from jkeras.engine.layer import Layer
    from jkeras.engine.sequential import Sequential
    from jkeras.ops.operation import FunctionOperation

    if kwargs:
        raise TypeError(f"clone_model got unexpected arguments {sorted(kwargs)}.")
    if not isinstance(model, Functional):
        raise ValueError(
            f"clone_model expects a Functional or Sequential model, got "
            f"{type(model).__name__} '{getattr(model, 'name', '?')}'. Subclassed models "
            f"cannot be cloned from their graph; build a new instance of the class instead."
        )
    base_clone = clone_function or default_clone_layer

    def clone_layer(layer):
        if recursive and isinstance(layer, Functional):
            return clone_model(layer, clone_function=clone_function,
                               call_function=call_function, recursive=True)
        new = base_clone(layer)
        if not isinstance(new, Layer):
            raise ValueError(
                f"clone_function must return a Layer, got {type(new).__name__} for layer "
                f"'{layer.name}'."
            )
        return new

    if isinstance(model, Sequential):
        new_layers = [clone_layer(la) for la in model.layers]
        if input_tensors is not None:
            ts = input_tensors if isinstance(input_tensors, (list, tuple)) else [input_tensors]
            if len(ts) != 1 or not isinstance(ts[0], KerasTensor):
                raise ValueError("clone_model: a Sequential model takes one input tensor.")
            x = ts[0]
            for la in new_layers:
                x = _call(la, call_function, (x,), {})
            return Functional(inputs=ts[0], outputs=x, name=model.name)
        new = Sequential(name=model.name)
        it = getattr(model, "_input_tensor", None)
        if it is not None:
            new.add(Input(batch_shape=it.shape, dtype=it.dtype, name=it._keras_history[0].name))
        for la in new_layers:
            new.add(la)
        new.trainable = model.trainable
        return new

    ops, synthetic = graph_order(model)
    given = None
    if input_tensors is not None:
        given = input_tensors if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        given = list(given)
        if len(given) != len(model.inputs) or not all(isinstance(t, KerasTensor) for t in given):
            raise ValueError(
                f"clone_model: input_tensors must be {len(model.inputs)} symbolic tensor(s) "
                f"(from Input), got {input_tensors!r:.80}."
            )
    tensor_map: dict[int, KerasTensor] = {}
    for i, t in enumerate(model.inputs):
        if given is not None:
            tensor_map[id(t)] = given[i]
        else:
            src = t._keras_history[0]
            name = synthetic[id(t)].name if id(t) in synthetic else src.name
            tensor_map[id(t)] = Input(batch_shape=t.shape, dtype=t.dtype, name=name)
    new_ops: dict[int, Any] = {}
    for op in ops:
        if isinstance(op, (SyntheticInput, InputLayer)):
            continue
        if isinstance(op, FunctionOperation):
            new_op = FunctionOperation(op.fn, op.op_name)
            new_op.name = op.name
            new_ops[id(op)] = new_op
        else:
            new_ops[id(op)] = clone_layer(op)

    def swap(x):
        if isinstance(x, KerasTensor):
            return tensor_map[id(x)]
        if isinstance(x, list):
            return [swap(v) for v in x]
        if isinstance(x, tuple):
            return tuple(swap(v) for v in x)
        if isinstance(x, dict):
            return {k: swap(v) for k, v in x.items()}
        return x

    for node in model._nodes:
        op = new_ops[id(node.operation)]
        outs = _call(op, call_function if isinstance(op, Layer) else None,
                     swap(node.call_args), swap(node.call_kwargs))
        flat_new = [o for o in _flatten(outs)]
        if len(flat_new) != len(node.output_tensors):
            raise ValueError(
                f"clone_model: the clone of '{node.operation.name}' returned "
                f"{len(flat_new)} output(s), the original {len(node.output_tensors)}."
            )
        for old, new in zip(node.output_tensors, flat_new):
            tensor_map[id(old)] = new

    def struct(s):
        if isinstance(s, KerasTensor):
            return tensor_map[id(s)]
        if isinstance(s, dict):
            return {k: struct(v) for k, v in s.items()}
        return [struct(v) for v in s]

    inputs = struct(model._inputs_struct) if given is None else (
        given if isinstance(model._inputs_struct, (list, dict)) else given[0])
    if given is not None and isinstance(model._inputs_struct, dict):
        inputs = dict(zip(model._inputs_struct.keys(), given))
    new = Functional(inputs=inputs, outputs=struct(model._outputs_struct), name=model.name)
    new.trainable = model.trainable
    return new


def _flatten(x):
    from jkeras.ops.node import flatten

    return flatten(x)


def _call(layer, call_function, args, kwargs):
    if call_function is not None:
        return call_function(layer, *args, **kwargs)
    return layer(*args, **kwargs)

