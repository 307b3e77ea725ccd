"""Layer: the base class of every jkeras layer and model.

A layer owns variables (created in `build(input_shape)` with `add_weight`),
computes in `call(inputs, training=None, mask=None)`, and when called on
symbolic tensors records a `Node` (through `Operation`). Calling on arrays
computes eagerly; inside a `StatelessScope` the same call is a pure function
of the scope's variable values.
"""

from __future__ import annotations

import inspect
import threading

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import dtype_policy as dtype_policies
from jkeras.backend import naming as _naming
from jkeras.backend import scope as _scope
from jkeras.backend.keras_tensor import KerasTensor, any_symbolic
from jkeras.backend.remat import current_remat_scope
from jkeras.engine.input_spec import assert_input_compatibility
from jkeras.engine.layer_inputs import (  # noqa: F401  (shapes_of: also for other modules)
    _array_masks_of,
    _check_not_operations,
    _check_string_inputs,
    _dtypes_of,
    _first_dtype,
    _masks_of,
    _specs_from_shapes,
    shapes_of,
)
from jkeras.engine.layer_nodes import NodeAccessors
from jkeras.engine.remat_call import remat_call
from jkeras.engine.seed_generator import SeedGenerator
from jkeras.engine.stateless import layer_stateless_call
from jkeras.engine.variable import Variable, host_array
from jkeras.ops.node import Node, flatten
from jkeras.ops.operation import Operation, symbolic_eval

_call_context = threading.local()

_BASE_KWARGS = (
    "trainable", "name", "dtype", "input_shape", "input_dim", "batch_input_shape",
    "batch_size", "activity_regularizer", "input_length", "weights", "autocast",
)


def _call_accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Layer(NodeAccessors, Operation):
    """Base layer. Subclasses implement `build` (optional) and `call`."""

    # With `compute_output_shape`, outputs take the input dtype (True) or the
    # layer's compute dtype (False).
    _keeps_input_dtype = False
    # Cast float inputs and variables to the compute dtype of the policy.
    _autocast = True
    # True for layers whose output for one sample depends only on that sample
    # (in every mode). A shared layer applied to several inputs may then run once
    # on their concatenation along the batch axis (see Functional.run_graph).
    _batch_independent = False
    # True for layers called on several positional tensors (query, value, key) that
    # receive `mask` as the list of the masks of all of them, not of the first only.
    _mask_from_all_args = False
    # An InputSpec (or a list of them) the first call argument is checked against.
    input_spec = None

    def batch_independent(self, training=None) -> bool:
        """Whether each sample's output depends only on that sample in this mode."""
        return self._batch_independent and all(
            la.batch_independent(training) for la in self._sublayers
        )

    @property
    def dtype(self) -> str:
        """The dtype of the layer's variables."""
        return self.dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value) -> None:
        self.dtype_policy = dtype_policies.get(value)

    @property
    def compute_dtype(self) -> str:
        return self.dtype_policy.compute_dtype

    def _call_in_policy(self, args, kwargs):
        """Runs `call`, casting float inputs and variable reads to the compute dtype
        under a mixed policy."""
        policy = self.dtype_policy
        if not (self._autocast and policy.is_mixed):
            if dtype_policies.autocast_dtype() is None:
                return self._run_call(args, kwargs)
            with dtype_policies.autocast(None):
                return self._run_call(args, kwargs)
        compute = policy.compute_dtype
        first = jax.tree_util.tree_map(
            lambda x: x.astype(compute)
            if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) else x,
            args[0],
        )
        with dtype_policies.autocast(compute):
            return self._run_call((first, *args[1:]), kwargs)

    def _run_call(self, args, kwargs):
        scope = self.__dict__.get("_remat_scope")
        if scope is None:
            return self.call(*args, **kwargs)
        return remat_call(self, scope, args, kwargs)

    def __init__(self, trainable: bool = True, name: str | None = None, dtype=None,
                 activity_regularizer=None, **kwargs):
        unknown = [k for k in kwargs if k not in _BASE_KWARGS]
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {unknown}. "
                f"Check the spelling against the layer's documented arguments."
            )
        super().__init__(name=name)
        object.__setattr__(self, "_tracking", False)
        self._remat_scope = current_remat_scope()  # keras.RematScope active at creation
        self._trainable = bool(trainable)
        self.built = False
        self._own_variables: list[Variable] = []
        self._sublayers: list[Layer] = []
        self._seed_generators: list[SeedGenerator] = []
        self._losses: list = []
        self.supports_masking = False
        self.dtype_policy = dtype_policies.get(dtype)
        from jkeras import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._initial_weights = kwargs.get("weights")
        batch_input_shape = kwargs.get("batch_input_shape")
        if batch_input_shape is None:
            input_shape = kwargs.get("input_shape")
            if input_shape is None and kwargs.get("input_dim") is not None:
                input_shape = (kwargs["input_dim"],)
            if input_shape is None and kwargs.get("input_length") is not None:
                input_shape = (kwargs["input_length"],)
            if input_shape is not None:
                if isinstance(input_shape, int):
                    input_shape = (input_shape,)
                batch_input_shape = (kwargs.get("batch_size"), *input_shape)
        self._batch_input_shape = tuple(batch_input_shape) if batch_input_shape else None
        cls = type(self)
        self._call_has_training = _call_accepts(cls.call, "training")
        self._call_has_mask = _call_accepts(cls.call, "mask")
        self._tracking = True

    # attribute tracking -----------------------------------------------------
    def __setattr__(self, name, value):
        if getattr(self, "_tracking", False) and not name.startswith("_"):
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Layer) and item is not self and item not in self._sublayers:
                    self._sublayers.append(item)
                elif isinstance(item, SeedGenerator) and all(
                        g is not item for g in self._seed_generators):
                    self._seed_generators.append(item)
                elif getattr(item, "_is_metric", False):  # a Metric kept by a model
                    tracked = self.__dict__.setdefault("_tracked_metrics", [])
                    if all(m is not item for m in tracked):
                        tracked.append(item)
        object.__setattr__(self, name, value)

    # variables --------------------------------------------------------------
    def add_weight(self, name: str = "weight", shape=(), initializer="glorot_uniform",
                   dtype=None, trainable: bool = True, regularizer=None, constraint=None,
                   **kwargs) -> Variable:
        """Creates a variable owned by this layer and returns it."""
        from jkeras import constraints, initializers, regularizers

        if "shape" in kwargs:
            shape = kwargs.pop("shape")
        init = initializers.get(initializer)
        var = Variable(
            init,
            shape=tuple(int(d) for d in shape),
            dtype=dtype or self.dtype,
            trainable=trainable,
            name=name,
            path=_naming.scoped_path(f"{self.name}/{name}"),
            regularizer=regularizers.get(regularizer),
            constraint=constraints.get(constraint),
        )
        self._own_variables.append(var)
        return var

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._sublayers:
            layer.trainable = value

    def _collect(self, which: str) -> list:
        seen, out = set(), []

        def add(v):
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)

        own_t = [v for v in self._own_variables if v.trainable]
        own_nt = [v for v in self._own_variables if not v.trainable]
        if which == "all":
            for v in own_t + own_nt:
                add(v)
            for layer in self._sublayers:
                for v in layer.weights:
                    add(v)
        elif which == "trainable":
            if self.trainable:
                for v in own_t:
                    add(v)
                for layer in self._sublayers:
                    for v in layer.trainable_weights:
                        add(v)
        else:
            if not self.trainable:
                return self._collect("all")
            for v in own_nt:
                add(v)
            for layer in self._sublayers:
                for v in layer.non_trainable_weights:
                    add(v)
        return out

    @property
    def weights(self) -> list[Variable]:
        """The layer's weights (trainable first, then non-trainable, then those of
        sublayers): what is saved and what `get_weights` returns."""
        return self._collect("all")

    @property
    def trainable_weights(self) -> list[Variable]:
        return self._collect("trainable")

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return self._collect("non_trainable")

    def _seed_states(self) -> list[Variable]:
        """The state variables of the random generators of this layer and its sublayers."""
        seen, out, stack = set(), [], [self]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.extend(g.state for g in layer._seed_generators)
            stack.extend(reversed(layer._sublayers))
        return out

    @property
    def variables(self) -> list[Variable]:
        """Every variable of the layer: its weights, then the states of its random
        generators (as Keras 3: `weights` leaves those out)."""
        return self.weights + self._seed_states()

    @property
    def non_trainable_variables(self) -> list[Variable]:
        """The non-trainable weights and the random generators' states: with
        `trainable_variables`, everything `stateless_call` needs."""
        return self.non_trainable_weights + self._seed_states()

    def get_weights(self) -> list[np.ndarray]:
        """The layer's weights as numpy arrays, in `weights` order."""
        return [host_array(v.value) for v in self.weights]

    def set_weights(self, weights) -> None:
        """Sets the weights from a list of arrays in `weights` order."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects {len(params)} weight "
                f"arrays ({[v.path for v in params]}), but set_weights was given "
                f"{len(weights)}. Pass one array per weight, in `layer.weights` order."
            )
        for var, w in zip(params, weights):
            w = np.asarray(w)
            if tuple(w.shape) != var.shape:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): weight '{var.path}' has "
                    f"shape {var.shape}, but set_weights was given an array of shape "
                    f"{tuple(w.shape)}. Pass arrays shaped like layer.get_weights()."
                )
        for var, w in zip(params, weights):
            var.assign(w)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so its parameters are unknown. "
                f"Call it on an input (or call build(input_shape)) first."
            )
        return int(sum(v.size for v in self.weights))

    # losses -----------------------------------------------------------------
    def add_loss(self, loss) -> None:
        """Adds a scalar loss term (collected during training)."""
        s = _scope.current()
        if s is not None and s.collect_losses:
            s.losses.append(loss)
        else:
            self._losses.append(loss)

    @property
    def losses(self) -> list:
        out = list(self._losses)
        for layer in self._sublayers:
            out.extend(layer._losses)
        for v in self.trainable_weights:  # as Keras: frozen weights add no penalty
            if v.regularizer is not None:
                out.append(v.regularizer(v.value))
        return out

    def _clear_losses(self):
        self._losses = []
        for layer in self._sublayers:
            layer._clear_losses()

    # build / call -------------------------------------------------------------
    def build(self, input_shape) -> None:
        self.built = True

    def _maybe_build(self, inputs) -> None:
        if self.built:
            return
        shape = shapes_of(inputs)
        self._build_input_shape = shape
        self.build(shape)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_mask(self, inputs, mask=None):
        """The output mask: the input mask for layers that support masking."""
        if not self.supports_masking:
            return None
        return mask

    def _validate_input(self, inputs) -> None:
        """Raises a clear error if the layer cannot take these inputs (override)."""

    def __call__(self, *args, **kwargs):
        if not args and "inputs" in kwargs:
            args = (kwargs.pop("inputs"),)
        if not args:
            raise TypeError(f"Layer '{self.name}' was called with no input.")
        _check_not_operations(self, args[0])
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, args[0], self.name)
        if any_symbolic(args, kwargs):
            return self._symbolic_call(args, kwargs)
        return self._eager_call(args, kwargs)

    def _resolve_call_kwargs(self, kwargs, inputs):
        training = kwargs.pop("training", None)
        if training is None:
            training = getattr(_call_context, "training", None)
        if self._call_has_training and training is not None:
            kwargs["training"] = training
        mask = kwargs.get("mask")
        if not self._call_has_mask:
            kwargs.pop("mask", None)
        elif mask is None:
            kwargs.pop("mask", None)
        return kwargs, training

    def _eager_call(self, args, kwargs):
        inputs = args[0]
        if not self.built:
            self._validate_input(inputs)
            self._maybe_build(inputs)
        depth = getattr(_call_context, "depth", 0)
        in_mask = None
        if depth == 0:  # a user's call on arrays: masks travel as `_keras_mask`, as in Keras
            in_mask = _array_masks_of(list(args) if self._mask_from_all_args else inputs)
            if in_mask is not None and self._call_has_mask and kwargs.get("mask") is None:
                kwargs = dict(kwargs, mask=in_mask)
        kwargs, training = self._resolve_call_kwargs(dict(kwargs), inputs)
        outer = getattr(_call_context, "training", None)
        if depth == 0 and _scope.current() is None:
            self._clear_losses()
        _call_context.training = training
        _call_context.depth = depth + 1
        try:
            outputs = self._call_in_policy(args, kwargs)
        finally:
            _call_context.training = outer
            _call_context.depth = depth
        if self.activity_regularizer is not None:
            for o in flatten(outputs):
                self.add_loss(self.activity_regularizer(o))
        if depth == 0 and (in_mask is not None or _overrides_mask(self)):
            self._attach_array_mask(inputs, in_mask, outputs)
        return outputs

    def _attach_array_mask(self, inputs, in_mask, outputs) -> None:
        """Sets `_keras_mask` on concrete output arrays to `compute_mask`'s result."""
        outs = flatten(outputs)
        if not outs or any(isinstance(o, jax.core.Tracer) for o in outs):
            return
        out_mask = self.compute_mask(inputs, in_mask)
        ms = out_mask if isinstance(out_mask, (list, tuple)) else [out_mask]
        if len(ms) == 1 and len(outs) > 1:
            ms = ms * len(outs)
        for o, m in zip(outs, ms):
            try:
                o._keras_mask = m
            except AttributeError:  # an array type without attributes: no mask kept
                pass

    def _symbolic_call(self, args, kwargs):
        inputs = args[0]
        _check_string_inputs(self, args)
        self._validate_input(inputs)
        try:
            self._maybe_build(inputs)
        except (TypeError, ValueError) as e:
            raise type(e)(self._call_error(inputs, e)) from e
        call_kwargs = dict(kwargs)
        masks = _masks_of(list(args) if self._mask_from_all_args else inputs)
        if masks is not None and self._call_has_mask and call_kwargs.get("mask") is None:
            spec_kwargs = dict(call_kwargs, mask=masks)
        else:
            spec_kwargs = call_kwargs
        try:
            outputs = self.compute_output_spec(*args, **spec_kwargs)
        except (TypeError, ValueError) as e:
            if "Layer '" in str(e):
                raise
            raise ValueError(self._call_error(inputs, e)) from e
        Node(self, args, call_kwargs, outputs)
        self._attach_symbolic_mask(inputs, masks, outputs)
        return outputs

    def _attach_symbolic_mask(self, inputs, masks, outputs):
        if masks is None and type(self).compute_mask is Layer.compute_mask:
            return
        if masks is None and not _overrides_mask(self):
            return
        try:
            out_masks = symbolic_eval(lambda i, m: self.compute_mask(i, m), (inputs, masks), {})
        except Exception:  # noqa: BLE001 - a mask that cannot be traced is dropped
            return
        outs = flatten(outputs)
        out_m = out_masks if isinstance(out_masks, (list, tuple)) else [out_masks]
        if len(out_m) == 1 and len(outs) > 1:
            out_m = out_m * len(outs)
        for o, m in zip(outs, out_m):
            if isinstance(m, KerasTensor):
                o._keras_mask = m

    def _call_error(self, inputs, error) -> str:
        return (
            f"Layer '{self.name}' ({type(self).__name__}) cannot be called on input(s) of "
            f"shape {shapes_of(inputs)} and dtype {_dtypes_of(inputs)}: {error}"
        )

    def compute_output_shape(self, input_shape):
        raise NotImplementedError

    def compute_output_spec(self, *args, **kwargs):
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            inputs = args[0]
            shape = self.compute_output_shape(shapes_of(inputs))
            dtype = (_first_dtype(inputs, self.compute_dtype) if self._keeps_input_dtype
                     else self.compute_dtype)
            return _specs_from_shapes(shape, dtype)
        kwargs = dict(kwargs)
        if self._call_has_training:
            kwargs.setdefault("training", False)

        # Weights enter as abstract values: shapes are found without allocating them.
        variables = self.weights if self.built else []
        specs = [jax.ShapeDtypeStruct(v.shape, v.dtype) for v in variables]

        def fn(values, *a, **k):
            mapping = {id(v): x for v, x in zip(variables, values)}
            with _scope.StatelessScope(mapping, rng=jax.random.key(0), collect_losses=True):
                k2, _ = self._resolve_call_kwargs(dict(k), a[0])
                return self._call_in_policy(a, k2)

        return symbolic_eval(fn, args, kwargs, extra_specs=specs)

    def stateless_call(self, trainable_variables, non_trainable_variables, *args,
                       return_losses: bool = False, **kwargs):
        """The call as a pure function of the variables (Keras 3's JAX API): with
        `trainable_variables` / `non_trainable_variables` bound to the given values
        (lists in the order of those properties), returns (outputs, new
        non-trainable values) and, with `return_losses=True`, the added losses.
        The layer's own variables are left unchanged."""
        return layer_stateless_call(self, trainable_variables, non_trainable_variables, args,
                                    kwargs, return_losses)

    # config -------------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": self.dtype_policy.name}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _overrides_mask(layer) -> bool:
    return type(layer).compute_mask is not Layer.compute_mask
