"""Keras 3 config format: `serialize_keras_object` / `deserialize_keras_object`.

An object is written as

    {"module": "keras.layers", "class_name": "Dense", "config": {...},
     "registered_name": None, "build_config": {...}}

Loading resolves classes and functions ONLY from jkeras's own objects
(`registry`), objects registered with `register_keras_serializable`, an active
`CustomObjectScope` or the `custom_objects` argument. A config naming any other
module, class or function is refused with a ValueError naming it; nothing is
imported by name and no pickle is used. Python bytecode (`Lambda` layers made
from `lambda`s) is only run with `safe_mode=False`.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import inspect
import marshal
import threading
import types
import warnings
from typing import Any

import numpy as np

from jkeras.saving import keras_ops, registry
from jkeras.saving import object_registration as reg

PLAIN_TYPES = (str, int, float, bool)
MAX_DEPTH = 200

_state = threading.local()
_GLOBAL = {"safe_mode": None}


# --------------------------------------------------------------------------------------
# safe mode
# --------------------------------------------------------------------------------------
def enable_unsafe_deserialization() -> None:
    """Allows loading Python bytecode (`Lambda` layers from `lambda`s) everywhere
    in this process, as `safe_mode=False` does for one call. Only for files you
    trust: such code runs with your permissions."""
    _GLOBAL["safe_mode"] = False


def in_safe_mode() -> bool | None:
    """The safe mode of the innermost active load (None outside any)."""
    stack = getattr(_state, "safe", None)
    if stack:
        return stack[-1]
    return _GLOBAL["safe_mode"]


@contextlib.contextmanager
def SafeModeScope(safe_mode: bool = True):  # noqa: N802 - Keras name
    stack = getattr(_state, "safe", None)
    if stack is None:
        stack = _state.safe = []
    stack.append(bool(safe_mode))
    try:
        yield
    finally:
        stack.pop()


def _effective_safe_mode(safe_mode) -> bool:
    if _GLOBAL["safe_mode"] is False:
        return False
    outer = getattr(_state, "safe", None)
    if outer and safe_mode is None:
        return outer[-1]
    if safe_mode is None:
        return True
    return bool(safe_mode)


LAMBDA_REFUSED = (
    "{what} is stored as Python bytecode, and loading it would run code carried by the "
    "file. This is refused by default (safe_mode=True). If you trust the source of the "
    "file, pass safe_mode=False to the loading function (load_model, model_from_json, "
    "deserialize_keras_object) or call jkeras.saving.enable_unsafe_deserialization()."
)


# --------------------------------------------------------------------------------------
# serialization
# --------------------------------------------------------------------------------------
def _is_lambda(fn) -> bool:
    return isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>"


def func_dump(fn) -> tuple[str, Any, Any]:
    """(base64 marshalled code, defaults, closure values) of a Python function, as
    Keras 3 stores lambdas."""
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    defaults = fn.__defaults__
    closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
    return code, defaults, closure


def _lambda_globals() -> dict:
    import jax.numpy as jnp

    import jkeras

    return {"__builtins__": builtins, "__name__": "jkeras_lambda", "keras": jkeras,
            "jkeras": jkeras, "ops": jkeras.ops, "K": jkeras.backend, "np": np, "jnp": jnp}


def func_load(code, defaults=None, closure=None, what: str = "a lambda"):
    """Rebuilds a function from `func_dump` output. Runs nothing itself, but the
    returned function is code from the file: call only with safe mode off."""
    if isinstance(code, (list, tuple)) and defaults is None and closure is None:
        if len(code) != 3:
            raise ValueError(f"{what}: the stored function is not (code, defaults, closure).")
        code, defaults, closure = code
    if not isinstance(code, str):
        raise ValueError(f"{what}: the stored function code must be a base64 string, got "
                         f"{type(code).__name__}.")
    try:
        raw = base64.b64decode(code.encode("ascii"), validate=False)
        co = marshal.loads(raw)
    except Exception as e:  # noqa: BLE001 - binascii.Error, EOFError, ValueError, TypeError
        raise ValueError(
            f"{what}: the stored bytecode cannot be read ({type(e).__name__}: {e}). It may "
            f"come from another Python version; rebuild the layer in code instead."
        ) from None
    if not isinstance(co, types.CodeType):
        raise ValueError(f"{what}: the stored bytecode is not a code object.")
    if defaults is not None:
        if not isinstance(defaults, (list, tuple)):
            raise ValueError(f"{what}: stored defaults must be a list.")
        defaults = tuple(defaults)
    cells = None
    if closure is not None:
        if not isinstance(closure, (list, tuple)):
            raise ValueError(f"{what}: stored closure must be a list.")
        cells = tuple(types.CellType(v) for v in closure)
    if len(co.co_freevars) != (len(cells) if cells else 0):
        raise ValueError(
            f"{what}: the bytecode needs {len(co.co_freevars)} closure value(s), the file "
            f"stores {len(cells) if cells else 0}."
        )
    try:
        return types.FunctionType(co, _lambda_globals(), co.co_name, defaults, cells)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: cannot rebuild the function: {e}") from None


def serialize_function(fn) -> Any:
    """A function as Keras 3 writes it: a jkeras builtin or registered function by
    name, a `lambda` as bytecode."""
    if _is_lambda(fn):
        return {"class_name": "__lambda__", "config": {"value": _ser_plain(func_dump(fn))}}
    name = getattr(fn, "__name__", None)
    if reg.is_registered(fn):
        return {"module": getattr(fn, "__module__", None), "class_name": "function",
                "config": name, "registered_name": reg.get_registered_name(fn)}
    for kind in ("activation", "loss", "metric", "op"):
        if name and registry.builtin_function(kind, name) is fn:
            # Keras 3.15's form for its own functions (it refuses others)
            return {"module": "builtins", "class_name": "function", "config": name,
                    "registered_name": "function"}
    module = getattr(fn, "__module__", None)
    return {"module": None if module == "__main__" else module, "class_name": "function",
            "config": name, "registered_name": name}


def _ser_plain(x):
    """Tuples to lists recursively, numpy scalars to Python numbers."""
    if isinstance(x, (list, tuple)):
        return [_ser_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _ser_plain(v) for k, v in x.items()}
    if isinstance(x, np.generic):
        return x.item()
    return x


# jkeras classes whose Python name is not the name Keras 3 exports (and resolves)
_KERAS_CLASS_NAMES = {"GroupedQueryAttention": "GroupQueryAttention"}


def _keras_class_entry(obj, kind: str | None) -> tuple[str | None, str, str | None]:
    """(module, class_name, registered_name) for an object with get_config."""
    cls = type(obj)
    name = cls.__name__
    if kind is not None and not reg.is_registered(cls):
        if registry.builtin_class(kind, name) is cls:
            if kind == "layer":
                from jkeras.engine.functional import Functional
                from jkeras.engine.sequential import Sequential

                if cls is Functional:
                    return "keras.src.models.functional", "Functional", "Functional"
                if cls is Sequential:
                    return "keras", "Sequential", None
            if kind == "op":
                return registry.KERAS_MODULE["op"], name, name
            # a class Keras 3 exports elsewhere (FeatureSpace: "keras.utils")
            return (getattr(cls, "_keras_module", registry.KERAS_MODULE[kind]),
                    _KERAS_CLASS_NAMES.get(name, name), None)
    module = cls.__module__
    return (None if module == "__main__" else module), name, reg.get_registered_name(cls)


def _build_config(layer) -> dict | None:
    from jkeras.engine.functional import Functional
    from jkeras.engine.input_layer import InputLayer
    from jkeras.engine.layer import shapes_of

    if isinstance(layer, (Functional, InputLayer)) or not getattr(layer, "built", False):
        return None
    custom = getattr(type(layer), "get_build_config", None)
    if custom is not None:
        # layers built from several shapes (MultiHeadAttention: {"shapes_dict": ...})
        return custom(layer)
    nodes = getattr(layer, "_inbound_nodes", None)
    if nodes:
        shape = shapes_of(nodes[0].input_structure)
    else:
        # recorded by Layer._maybe_build (engine), for layers built by eager calls
        shape = getattr(layer, "_build_input_shape", None)
        if shape is None:
            return None
    return {"input_shape": _ser_plain(shape)}


def serialize_keras_object(obj) -> Any:
    """The Keras 3 config (JSON-ready dict/list/scalar) of a jkeras object: a
    layer or model, an initializer/regularizer/constraint/optimizer/loss/metric,
    a function, a numpy array, or plain data."""
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start), "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    from jkeras.backend.keras_tensor import KerasTensor

    if isinstance(obj, KerasTensor):
        history = obj._keras_history
        return {"class_name": "__keras_tensor__", "config": {
            "shape": list(obj.shape), "dtype": obj.dtype,
            "keras_history": [history[0].name, history[1], history[2]] if history else None}}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise ValueError("Cannot save a numpy array of Python objects in a config.")
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(),
                                                      "dtype": obj.dtype.name}}
    if getattr(obj, "_is_variable", False):
        obj = obj.value
    if hasattr(obj, "dtype") and hasattr(obj, "shape") and hasattr(obj, "__array__"):
        a = np.asarray(obj)
        return {"class_name": "__tensor__", "config": {"value": a.tolist(), "dtype": a.dtype.name}}
    if isinstance(obj, type):
        raise ValueError(
            f"Cannot serialize the class {obj.__name__} itself; pass an instance."
        )
    from jkeras.ops.operation import FunctionOperation

    if isinstance(obj, FunctionOperation):
        return serialize_op(obj)
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) or (
        callable(obj) and not hasattr(obj, "get_config")
    ):
        return serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise ValueError(
            f"Cannot serialize {type(obj).__name__} object {obj!r:.80}: it has no "
            f"get_config() method."
        )
    kind = registry.kind_of_object(obj)
    inner = _object_config(obj, kind)
    module, class_name, registered_name = _keras_class_entry(obj, kind)
    out = {"module": module, "class_name": class_name, "config": inner,
           "registered_name": registered_name}
    if kind == "layer":
        build = _build_config(obj)
        if build is not None:
            out["build_config"] = build
    return out


def serialize_op(op) -> dict:
    """A FunctionOperation (an op used between layers, such as `x + y`) as Keras 3
    writes it: the class Keras records the op with (module keras.src.ops.*, class
    `Add`, `Einsum`, `GetItem`, ...), its config the name and the constructor
    arguments of the op's call (see keras_ops)."""
    spec = keras_ops.for_op_name(op.op_name)
    config = {"name": op.name}
    if spec is None:
        import jkeras.ops.nn as nn_ops

        module = "keras.src.ops.nn" if hasattr(nn_ops, op.op_name) else "keras.src.ops.numpy"
        class_name = "".join(part[:1].upper() + part[1:] for part in op.op_name.split("_"))
    else:
        module, class_name = spec.module, spec.class_name
        if op._inbound_nodes:
            init, _, _ = keras_node_call(op, op._inbound_nodes[0])
            config.update({k: serialize_keras_object(v) for k, v in init.items()})
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": class_name}


def keras_node_call(op, node) -> tuple[dict, list, dict]:
    """(constructor config, call args, call kwargs) of a FunctionOperation's node as
    Keras 3 writes them; an op Keras lacks keeps jkeras's whole call in the node."""
    spec = keras_ops.for_op_name(op.op_name)
    split = None
    if spec is not None:
        split = keras_ops.split_call(spec, op.fn, node.call_args, node.call_kwargs)
    if split is None:
        return {}, list(node.call_args), dict(node.call_kwargs)
    init, args, kwargs = split
    if init.get("dtype") is not None:
        init["dtype"] = _dtype_name(init["dtype"])
    return init, args, kwargs


def _dtype_name(dtype) -> Any:
    try:
        return np.dtype(getattr(dtype, "dtype", dtype)).name
    except TypeError:
        return dtype


def _object_config(obj, kind) -> dict:
    from jkeras.engine.functional import Functional
    from jkeras.layers.core import Lambda

    if isinstance(obj, Lambda):
        config = lambda_get_config(obj)
    elif isinstance(obj, Functional):
        config = obj.get_config()
    else:
        config = obj.get_config()
    if not isinstance(config, dict):
        raise ValueError(
            f"{type(obj).__name__}.get_config() must return a dict, got "
            f"{type(config).__name__}."
        )
    if kind == "layer":
        config = _custom_activations(obj, config)
    return {str(k): serialize_keras_object(v) for k, v in config.items()}


def _custom_activations(layer, config: dict) -> dict:
    """Activation fields holding a custom (non-jkeras) function are written as
    function entries with their registered name, not a bare name."""
    out = config
    for key, value in config.items():
        if not isinstance(key, str) or not (key == "activation" or key.endswith("_activation")):
            continue
        fn = getattr(layer, key, None)
        if not callable(fn) or isinstance(fn, type):
            continue
        if isinstance(value, str) and registry.builtin_function("activation", value) is fn:
            continue
        if hasattr(fn, "get_config"):
            continue
        if out is config:
            out = dict(config)
        out[key] = serialize_function(fn)
    return out


def lambda_get_config(layer) -> dict:
    """A Lambda layer's config in Keras 3's layout (functions by name, or lambdas
    as bytecode)."""
    from jkeras.engine.layer import Layer

    config = Layer.get_config(layer)
    config["function"] = _lambda_fn_config(layer.function)
    out_shape = getattr(layer, "_output_shape", None)
    if out_shape is not None:
        config["output_shape"] = (
            _lambda_fn_config(out_shape) if callable(out_shape) else _ser_plain(out_shape)
        )
    if layer.mask is not None:
        config["mask"] = _lambda_fn_config(layer.mask) if callable(layer.mask) else layer.mask
    config["arguments"] = serialize_keras_object(layer.arguments)
    return config


def _lambda_fn_config(fn):
    if _is_lambda(fn):
        code, defaults, closure = func_dump(fn)
        return {"class_name": "__lambda__", "config": {
            "code": code, "defaults": serialize_keras_object(defaults),
            "closure": serialize_keras_object(closure)}}
    return serialize_function(fn)


# --------------------------------------------------------------------------------------
# deserialization
# --------------------------------------------------------------------------------------
class TensorRef:
    """A `__keras_tensor__` entry of a node config: which tensor it stands for."""

    __slots__ = ("name", "node_index", "tensor_index", "shape", "dtype")

    def __init__(self, name, node_index, tensor_index, shape=None, dtype=None):
        self.name, self.node_index, self.tensor_index = name, node_index, tensor_index
        self.shape, self.dtype = shape, dtype

    def __repr__(self):
        return f"<tensor {self.name}[{self.node_index}][{self.tensor_index}]>"


_SPECIAL = ("__bytes__", "__slice__", "__ellipsis__", "__numpy__", "__tensor__",
            "__keras_tensor__", "__lambda__", "__tuple__", "__typespec__")
_ALLOWED_NUMPY_KINDS = "biufc"
MAX_INLINE_ARRAY = 10_000_000


def _depth_guard():
    depth = getattr(_state, "depth", 0)
    if depth > MAX_DEPTH:
        raise ValueError(f"The config is nested more than {MAX_DEPTH} levels deep.")
    return depth


@contextlib.contextmanager
def _deeper():
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def _inline_array(inner: dict, what: str):
    if not isinstance(inner, dict):
        raise ValueError(f"{what}: expected a dict with 'value' and 'dtype'.")
    dtype = inner.get("dtype", "float32")
    try:
        dt = np.dtype(dtype) if isinstance(dtype, str) else None
    except TypeError:
        dt = None
    if dt is None or dt.kind not in _ALLOWED_NUMPY_KINDS:
        if dtype == "bfloat16":
            import ml_dtypes

            dt = np.dtype(ml_dtypes.bfloat16)
        else:
            raise ValueError(f"{what}: unsupported dtype {dtype!r}.")
    value = inner.get("value")
    count, stack = 0, [value]
    while stack:  # bound the size before numpy walks it
        v = stack.pop()
        if isinstance(v, list):
            count += len(v)
            stack.extend(v)
            if count > MAX_INLINE_ARRAY:
                raise ValueError(f"{what}: inline array larger than {MAX_INLINE_ARRAY} values.")
        elif not (v is None or isinstance(v, (int, float, bool))):
            raise ValueError(f"{what}: array values must be numbers, got {type(v).__name__}.")
    try:
        return np.array(value, dtype=dt)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"{what}: cannot build the array: {e}") from None


def _special(class_name: str, inner, safe_mode: bool):
    if class_name == "__bytes__":
        if not isinstance(inner, dict) or not isinstance(inner.get("value"), str):
            raise ValueError("__bytes__ entry needs a string 'value'.")
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        if not isinstance(inner, dict):
            raise ValueError("__slice__ entry needs a dict config.")
        parts = [_deserialize(inner.get(k), None, safe_mode, None) for k in ("start", "stop",
                                                                              "step")]
        for p in parts:
            if p is not None and not isinstance(p, int):
                raise ValueError(f"__slice__ bounds must be integers or null, got {p!r:.40}.")
        return slice(*parts)
    if class_name == "__numpy__":
        return _inline_array(inner, class_name)
    if class_name == "__tensor__":
        # a backend tensor in Keras: a jax array here (saved again as __tensor__)
        import jax.numpy as jnp

        return jnp.asarray(_inline_array(inner, class_name))
    if class_name == "__tuple__":
        if not isinstance(inner, dict) or not isinstance(inner.get("value"), list):
            raise ValueError("__tuple__ entry needs a list 'value'.")
        return tuple(_deserialize(v, None, safe_mode, None) for v in inner["value"])
    if class_name == "__keras_tensor__":
        if not isinstance(inner, dict):
            raise ValueError("__keras_tensor__ entry needs a dict config.")
        hist = inner.get("keras_history")
        if not (isinstance(hist, (list, tuple)) and len(hist) == 3 and isinstance(hist[0], str)
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                        for i in hist[1:])):
            raise ValueError(
                f"__keras_tensor__ keras_history must be [layer_name, node_index, "
                f"tensor_index], got {hist!r:.80}."
            )
        return TensorRef(hist[0], hist[1], hist[2], inner.get("shape"), inner.get("dtype"))
    if class_name == "__lambda__":
        if safe_mode:
            raise ValueError(LAMBDA_REFUSED.format(what="A lambda function in the config"))
        value = inner.get("value") if isinstance(inner, dict) else None
        if value is None and isinstance(inner, dict) and "code" in inner:
            return func_load(inner["code"], inner.get("defaults"), inner.get("closure"))
        return func_load(value)
    raise ValueError(f"Unsupported config entry class_name {class_name!r}.")


def _module_allowed(module) -> bool:
    kind = registry.kind_of_module(module)
    return kind != "foreign"


def check_no_foreign_objects(config, custom_objects=None, _depth=0) -> None:
    """Raises ValueError if any object entry in `config` names a module outside
    Keras/jkeras whose class/function is not a registered or custom object."""
    stack = [(config, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"The config is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(node, dict):
            cname = node.get("class_name")
            if isinstance(cname, str) and "module" in node and not _module_allowed(
                node.get("module")
            ):
                found = _find_custom(node, custom_objects)
                if found is None:
                    raise ValueError(_foreign_error(node))
            for v in node.values():
                if isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
        elif isinstance(node, list):
            for v in node:
                if isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))


def _foreign_error(config: dict) -> str:
    module = config.get("module")
    cname = config.get("class_name")
    what = config.get("config") if cname == "function" else cname
    return (
        f"Refusing to load {'function' if cname == 'function' else 'class'} "
        f"'{what}' from module '{module}': loading only uses jkeras's own classes, objects "
        f"registered with jkeras.saving.register_keras_serializable(), or objects passed "
        f"in custom_objects. Nothing was imported or run. If '{what}' is your own code "
        f"and you trust this file, pass custom_objects={{'{what}': {what}}}."
    )


def _find_custom(config: dict, custom_objects):
    names = []
    for key in ("registered_name", "class_name"):
        v = config.get(key)
        if isinstance(v, str) and v != "function":
            names.append(v)
    if config.get("class_name") == "function" and isinstance(config.get("config"), str):
        names.insert(0, config["config"])
        rn = config.get("registered_name")
        if isinstance(rn, str):
            names.insert(0, rn)
    for n in names:
        obj = reg.get_registered_object(n, custom_objects)
        if obj is not None:
            return obj
    return None


def _resolve_function(config: dict, kind: str | None, custom_objects) -> Any:
    name = config.get("config")
    if not isinstance(name, str):
        raise ValueError(f"A function entry needs its name as 'config', got {name!r:.60}.")
    found = _find_custom(config, custom_objects)
    if found is not None:
        return found
    mkind = registry.kind_of_module(config.get("module"))
    if mkind == "foreign":
        raise ValueError(_foreign_error(config))
    kinds = [mkind] if mkind in registry.KINDS else []
    if kind and kind not in kinds:
        kinds.append(kind)
    for k in ("activation", "loss", "metric", "op"):
        if k not in kinds:
            kinds.append(k)
    for k in kinds:
        fn = registry.builtin_function(k, name)
        if fn is not None:
            return fn
    raise ValueError(
        f"Unknown function '{name}' (module {config.get('module')!r}): it is not a jkeras "
        f"function nor a registered or custom object. Pass custom_objects={{'{name}': ...}} "
        f"or register it with @jkeras.saving.register_keras_serializable()."
    )


def resolve_class(config: dict, kind: str | None, custom_objects=None):
    """The class a `{"module", "class_name", "registered_name"}` entry names,
    from custom objects first, then jkeras's own classes. ValueError otherwise."""
    class_name = config.get("class_name")
    if not isinstance(class_name, str) or not class_name:
        raise ValueError(f"Config entry has no valid 'class_name': {class_name!r:.60}.")
    found = _find_custom(config, custom_objects)
    if found is not None:
        return found
    mkind = registry.kind_of_module(config.get("module"))
    if mkind == "foreign":
        raise ValueError(_foreign_error(config))
    kinds = []
    if mkind in registry.KINDS:
        kinds.append(mkind)
    if kind and kind not in kinds:
        kinds.append(kind)
    if not kinds or mkind in ("keras", None, "builtins"):
        for k in ("layer", "initializer", "regularizer", "constraint", "optimizer", "loss",
                  "metric", "dtype_policy"):
            if k not in kinds:
                kinds.append(k)
    for k in kinds:
        if k == "op":
            spec = keras_ops.for_class(class_name)
            fn = (spec.jkeras_function() if spec else None) or registry.find_op(
                class_name) or registry.find_op(str(config.get("registered_name") or ""))
            if fn is not None:
                return ("op", fn)
            continue
        cls = registry.builtin_class(k, class_name)
        if cls is not None:
            return cls
    if class_name in ("Functional", "Model"):
        from jkeras.engine.functional import Functional

        return Functional
    where = f" (module '{config.get('module')}')" if config.get("module") else ""
    known = ""
    if kind == "layer" or mkind == "layer":
        known = " Known layers: " + ", ".join(registry.all_names("layer")[:80]) + "."
    raise ValueError(
        f"Unknown {kind or 'object'} class '{class_name}'{where}: it is not a jkeras class "
        f"nor a registered or custom object. If it is your own class, decorate it with "
        f"@jkeras.saving.register_keras_serializable() or pass custom_objects="
        f"{{'{class_name}': {class_name}}}.{known}"
    )


# Config keys Keras 3 (or 2) writes that jkeras layers do not take; dropped when
# they hold the harmless default value.
_IGNORABLE = {
    "lora_rank": (None, 0), "lora_alpha": (None,), "quantization_config": (None,),
    "ragged": (False, None), "optional": (False,), "autocast": (True,),
    "time_major": (False,), "implementation": (0, 1, 2),
    "consume_less": ("cpu", "mem", "gpu"), "synchronized": (False,),
    "renorm": (False,), "renorm_clipping": (None,), "renorm_momentum": (0.99,),
    "fused": (None, True, False), "virtual_batch_size": (None,), "adjustment": (None,),
}


# Keys newer Keras versions add to the configs of other objects (Keras 3.15's
# VarianceScaling initializers: input_axes/output_axes, None meaning Keras's
# usual fan-in/fan-out axes); dropped when they hold that default.
_IGNORABLE_OBJECT = {"input_axes": (None,), "output_axes": (None,)}


def clean_object_config(cls, config: dict) -> dict:
    """Drops keys of a Keras config of a non-layer object (initializer, ...) that
    `cls` does not take when they hold harmless default values."""
    if not isinstance(config, dict) or not any(k in config for k in _IGNORABLE_OBJECT):
        return config
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return config
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return config
    return {k: v for k, v in config.items()
            if not (k in _IGNORABLE_OBJECT and k not in params
                    and v in _IGNORABLE_OBJECT[k])}


def _accepted_params(cls) -> set | None:
    """Explicit __init__ parameter names of cls and its bases up to Layer (None if
    it cannot be told)."""
    from jkeras.engine.layer import _BASE_KWARGS, Layer

    names: set = set(_BASE_KWARGS) | {"trainable", "name", "dtype", "activity_regularizer"}
    for klass in cls.__mro__:
        if klass is Layer or klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        init = inspect.unwrap(init)
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            return None
        names.update(p for p in params if p != "self")
    return names


def clean_layer_config(cls, config: dict) -> dict:
    """Drops keys of Keras configs that jkeras layers do not take when they hold
    harmless default values; maps Keras 1 `input_dtype` to `dtype`."""
    config = dict(config)
    if "input_dtype" in config:
        dt = config.pop("input_dtype")
        config.setdefault("dtype", dt)
    accepted = _accepted_params(cls)
    for key, harmless in _IGNORABLE.items():
        if key not in config or (accepted is not None and key in accepted):
            continue
        if not harmless or config[key] in harmless:
            config.pop(key)
    return config


def _resolve_nested_fields(config: dict, custom_objects, safe_mode) -> dict:
    """Deserializes initializer/regularizer/constraint/activation fields of a layer
    config that are custom objects (jkeras builtins are left to the layer)."""
    out = dict(config)
    for key, value in config.items():
        if not isinstance(key, str):
            continue
        kind = None
        if key.endswith("initializer"):
            kind = "initializer"
        elif key.endswith("regularizer"):
            kind = "regularizer"
        elif key.endswith("constraint"):
            kind = "constraint"
        elif key == "activation" or key.endswith("_activation"):
            kind = "activation"
        if kind is None:
            continue
        if isinstance(value, dict) and "class_name" in value:
            out[key] = _deserialize(value, custom_objects, safe_mode, kind)
        elif isinstance(value, str) and kind == "activation":
            if registry.builtin_function("activation", value) is None:
                fn = reg.get_registered_object(value, custom_objects)
                if fn is None:
                    raise ValueError(
                        f"Unknown activation '{value}': not a jkeras activation nor a "
                        f"registered or custom object. Pass custom_objects={{'{value}': ...}}."
                    )
                out[key] = fn
        elif isinstance(value, str) and kind in ("initializer", "regularizer", "constraint"):
            obj = reg.get_registered_object(value, custom_objects)
            if obj is not None and value not in _builtin_names(kind):
                out[key] = obj() if isinstance(obj, type) else obj
    return out


def _builtin_names(kind: str) -> set:
    import jkeras.constraints as c
    import jkeras.initializers as i
    import jkeras.regularizers as r

    table = {"initializer": getattr(i, "_ALIASES", {}), "regularizer": getattr(r, "_BY_NAME", {}),
             "constraint": getattr(c, "_BY_NAME", {})}.get(kind, {})
    return set(table) | set(registry.all_names(kind))


def deserialize_keras_object(config, custom_objects: dict | None = None,
                             safe_mode: bool | None = None, **kwargs):
    """Rebuilds an object from its Keras config (as written by
    `serialize_keras_object`, Keras 3, or Keras 1/2 for layers).

    Raises ValueError, naming the entry, for anything it will not load: an
    unknown or foreign class, a malformed config, a lambda in safe mode.
    """
    kind = kwargs.pop("kind", None)
    if kwargs.pop("module_objects", None) is not None:
        pass  # Keras 2 argument; jkeras looks only in its own modules
    if kwargs:
        raise TypeError(f"deserialize_keras_object got unexpected arguments {sorted(kwargs)}.")
    safe = _effective_safe_mode(safe_mode)
    top = getattr(_state, "depth", 0) == 0
    with SafeModeScope(safe), reg.CustomObjectScope(custom_objects):
        if top:
            check_no_foreign_objects(config, custom_objects)
        return _deserialize(config, custom_objects, safe, kind)


def _deserialize(config, custom_objects, safe_mode, kind):
    _depth_guard()
    with _deeper():
        return _deserialize_inner(config, custom_objects, safe_mode, kind)


def _deserialize_inner(config, custom_objects, safe_mode, kind):
    if config is None or isinstance(config, PLAIN_TYPES):
        if isinstance(config, str) and kind in ("loss", "metric", "optimizer", "activation"):
            obj = reg.get_registered_object(config, custom_objects)
            if obj is not None:
                return obj
        return config
    if isinstance(config, (list, tuple)):
        return [_deserialize(x, custom_objects, safe_mode, kind) for x in config]
    if not isinstance(config, dict):
        raise ValueError(f"Cannot read config entry of type {type(config).__name__}.")
    if "class_name" not in config or "config" not in config:
        if "class_name" in config and isinstance(config.get("class_name"), str) and kind in (
            "layer", "initializer", "regularizer", "constraint", "optimizer", "loss", "metric"
        ) and len(config) <= 2:
            config = {**config, "config": {}}
        else:
            return {str(k): _deserialize(v, custom_objects, safe_mode, None)
                    for k, v in config.items()}
    class_name = config["class_name"]
    inner = config["config"]
    if not isinstance(class_name, str):
        raise ValueError(f"'class_name' must be a string, got {type(class_name).__name__}.")
    if class_name in _SPECIAL:
        return _special(class_name, inner, safe_mode)
    if class_name == "function":
        return _resolve_function(config, kind, custom_objects)
    if "module" in config and not _module_allowed(config.get("module")):
        if _find_custom(config, custom_objects) is None:
            raise ValueError(_foreign_error(config))
    cls = resolve_class(config, kind, custom_objects)
    if isinstance(cls, tuple) and cls[0] == "op":
        return make_op(cls[1], inner, class_name)
    if isinstance(cls, types.FunctionType) or (callable(cls) and not isinstance(cls, type)):
        return cls
    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise ValueError(
            f"The config of '{class_name}' must be a dict, got {type(inner).__name__}."
        )
    return instantiate(cls, inner, custom_objects, safe_mode, config)


def instantiate(cls, inner: dict, custom_objects, safe_mode, full_config=None):
    """cls.from_config(inner) with jkeras's adaptations (Lambda, models, Keras
    config keys), errors wrapped as ValueError naming the class."""
    from jkeras.engine.layer import Layer

    class_name = cls.__name__
    name = inner.get("name") if isinstance(inner.get("name"), str) else None
    label = f"'{name}' ({class_name})" if name else f"'{class_name}'"
    try:
        if isinstance(cls, type) and issubclass(cls, Layer):
            return _instantiate_layer(cls, inner, custom_objects, safe_mode, full_config)
        if isinstance(cls, type) and registry.builtin_class("dtype_policy", class_name) is cls:
            return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)
        inner = clean_object_config(cls, inner)
        if hasattr(cls, "from_config"):
            return cls.from_config(inner)
        return cls(**inner)
    except ValueError as e:
        msg = str(e)
        if label in msg or msg.startswith("Cannot load") or "Refusing" in msg or (
            "safe_mode" in msg
        ):
            raise
        raise ValueError(f"Cannot rebuild {label} from its config: {msg}") from e
    except RecursionError:
        raise ValueError(f"Cannot rebuild {label}: its config is nested too deeply.") from None
    except Exception as e:  # noqa: BLE001 - any failure of foreign config values
        raise ValueError(
            f"Cannot rebuild {label} from its config: {type(e).__name__}: {e}"
        ) from e


def _instantiate_layer(cls, inner: dict, custom_objects, safe_mode, full_config):
    from jkeras.engine.functional import Functional
    from jkeras.engine.sequential import Sequential
    from jkeras.layers.core import Lambda

    if issubclass(cls, Sequential) and (
        cls is Sequential or "from_config" not in cls.__dict__
    ):
        from jkeras.saving.functional_config import sequential_from_config

        model = sequential_from_config(cls, inner, custom_objects, safe_mode)
        _apply_build_config(model, full_config)
        return model
    if issubclass(cls, Functional) and "layers" in inner and (
        cls is Functional or "from_config" not in cls.__dict__
    ):
        from jkeras.saving.functional_config import functional_from_config

        return functional_from_config(cls, inner, custom_objects, safe_mode)
    if cls.__name__ == "Model" and "layers" in inner:
        from jkeras.saving.functional_config import functional_from_config

        return functional_from_config(Functional, inner, custom_objects, safe_mode)
    config = clean_layer_config(cls, inner)
    if "name" in config and config["name"] is not None and (
        not isinstance(config["name"], str) or not config["name"]
    ):
        raise ValueError(f"a layer name must be a non-empty string, got {config['name']!r:.60}")
    if "trainable" in config and not isinstance(config["trainable"], bool):
        raise ValueError(f"'trainable' must be true or false, got {config['trainable']!r:.60}")
    if issubclass(cls, Lambda):
        return lambda_from_config(cls, config, custom_objects, safe_mode)
    config = _resolve_nested_fields(config, custom_objects, safe_mode)
    layer = cls.from_config(config)
    _apply_build_config(layer, full_config)
    return layer


def _apply_build_config(layer, full_config) -> None:
    if getattr(_state, "in_graph", 0) or not isinstance(full_config, dict):
        return
    build = full_config.get("build_config")
    if not isinstance(build, dict) or getattr(layer, "built", True):
        return
    shapes_dict = build.get("shapes_dict")
    if isinstance(shapes_dict, dict) and hasattr(layer, "get_build_config"):
        layer.build(**{k: None if v is None else _to_shape(v) for k, v in shapes_dict.items()})
        layer.built = True
        return
    shape = build.get("input_shape")
    if not isinstance(shape, (list, tuple)) or not shape:
        return
    from jkeras.engine.sequential import Sequential

    if isinstance(layer, Sequential):
        if all(d is None or isinstance(d, int) for d in shape):
            layer.build(tuple(shape))
        return
    shape = _to_shape(shape)
    from jkeras.engine.functional import Functional
    from jkeras.engine.model import Model

    if isinstance(layer, Model) and not isinstance(layer, Functional) and isinstance(
        shape, tuple
    ):
        # a subclassed model builds its layers by running once on zeros
        layer(np.zeros(tuple(1 if d is None else d for d in shape), "float32"))
        return
    layer.build(shape)
    layer.built = True


def _to_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and all(
        isinstance(s, (list, tuple)) for s in shape
    ):
        return [_to_shape(s) for s in shape]
    if not isinstance(shape, (list, tuple)) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in shape
    ):
        raise ValueError(f"invalid build input_shape {shape!r:.80}")
    return tuple(shape)


@contextlib.contextmanager
def in_graph_reconstruction():
    """Layers rebuilt inside a model are built by their calls, not build_config."""
    _state.in_graph = getattr(_state, "in_graph", 0) + 1
    try:
        yield
    finally:
        _state.in_graph -= 1


def lambda_from_config(cls, config: dict, custom_objects, safe_mode):
    """A Lambda layer from Keras 3, Keras 2 or jkeras config; bytecode only with
    safe mode off."""
    config = dict(config)
    name = config.get("name", "lambda")
    fn_type = config.pop("function_type", None)
    config.pop("module", None)
    out_type = config.pop("output_shape_type", None)
    config.pop("output_shape_module", None)
    config.get("arguments")
    config["function"] = _lambda_fn_from_config(
        config.get("function"), fn_type, custom_objects, safe_mode, f"Lambda layer '{name}'")
    if "output_shape" in config and config["output_shape"] is not None:
        os_cfg = config["output_shape"]
        if out_type == "lambda" or out_type == "function" or isinstance(os_cfg, dict):
            config["output_shape"] = _lambda_fn_from_config(
                os_cfg, out_type, custom_objects, safe_mode,
                f"The output_shape function of Lambda layer '{name}'")
        elif isinstance(os_cfg, list):
            config["output_shape"] = tuple(os_cfg)
    if isinstance(config.get("mask"), dict):
        config["mask"] = _lambda_fn_from_config(
            config["mask"], None, custom_objects, safe_mode,
            f"The mask function of Lambda layer '{name}'")
    args = config.get("arguments")
    if args is not None:
        if not isinstance(args, dict):
            raise ValueError(f"Lambda layer '{name}': 'arguments' must be a dict.")
        config["arguments"] = _deserialize(args, custom_objects, safe_mode, None)
    for key in [k for k in config if k not in ("function", "output_shape", "mask",
                                                 "arguments", "name", "trainable", "dtype",
                                                 "batch_input_shape", "input_shape")]:
        config.pop(key)
    return cls(**config)


def _lambda_fn_from_config(cfg, fn_type, custom_objects, safe_mode, what: str):
    if fn_type == "lambda" or (isinstance(cfg, dict) and cfg.get("class_name") == "__lambda__"):
        if safe_mode:
            raise ValueError(LAMBDA_REFUSED.format(what=what))
        if isinstance(cfg, dict):
            inner = cfg.get("config")
            if not isinstance(inner, dict):
                raise ValueError(f"{what}: malformed __lambda__ entry.")
            if "code" in inner:
                return func_load(inner["code"], inner.get("defaults"), inner.get("closure"),
                                 what=what)
            return func_load(inner.get("value"), what=what)
        return func_load(cfg, what=what)
    if isinstance(cfg, dict):
        obj = _deserialize(cfg, custom_objects, safe_mode, "op")
        if not callable(obj):
            raise ValueError(f"{what}: the stored function is not callable.")
        return obj
    if isinstance(cfg, str):
        obj = reg.get_registered_object(cfg, custom_objects)
        if obj is None:
            for k in ("op", "activation"):
                obj = registry.builtin_function(k, cfg)
                if obj is not None:
                    break
        if obj is None:
            raise ValueError(
                f"{what} uses function '{cfg}', which is not a jkeras function nor a "
                f"registered or custom object. Pass custom_objects={{'{cfg}': {cfg}}}."
            )
        return obj
    raise ValueError(f"{what}: cannot read the stored function {cfg!r:.60}.")


def make_op(fn, inner, class_name: str):
    """A FunctionOperation for the jkeras function `fn` of a saved op class, named as
    in the config. It carries `_keras_load = (fn, join)`: `join(args, kwargs)` turns a
    saved node's arguments into the function's call (Keras 3 keeps the constructor
    arguments in the config and only the call arguments in the node; older jkeras
    files keep the whole call in the node)."""
    from jkeras.ops.operation import FunctionOperation

    if inner is None:
        inner = {}
    if not isinstance(inner, dict):
        raise ValueError(f"The config of op '{class_name}' must be a dict.")
    spec = keras_ops.for_class(class_name) or keras_ops.for_op_name(fn.__name__)
    config = {k: v for k, v in inner.items() if k not in ("name", "trainable")}
    if spec is None or "dtype" not in spec.init_names:
        config.pop("dtype", None)
    op = FunctionOperation(getattr(fn, "__wrapped__", fn), fn.__name__)
    name = inner.get("name")
    if isinstance(name, str) and name:
        op.name = name
    if spec is not None and keras_ops.is_keras_form(spec, config):
        def join(args, kwargs):
            return keras_ops.join_call(spec, config, args, kwargs)
    else:
        # an older jkeras file: the node holds the whole call (constructor arguments
        # of an op jkeras does not know are passed as keywords)
        extra = {} if spec is not None else config

        def join(args, kwargs):
            return list(args), {**extra, **kwargs}
    op._keras_load = (fn, join)
    return op


def serialize(obj):
    """Alias of serialize_keras_object (Keras 2 name)."""
    return serialize_keras_object(obj)


def deserialize(config, custom_objects=None, safe_mode=None, **kwargs):
    """Alias of deserialize_keras_object (Keras 2 name)."""
    return deserialize_keras_object(config, custom_objects, safe_mode, **kwargs)


_ = warnings
