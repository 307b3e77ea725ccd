"""Optimizer base: Keras's optimizer API over optax gradient transformations.

An optimizer is a pure pair of functions over lists of arrays:

    state = opt.init(params)                            # OptimizerState pytree
    new_params, new_state = opt.update(grads, state, params)   # jittable

The state holds the step count (`iterations`), the learning rate (so that
changing it never retraces a compiled step) and the optax state. Each update
does what Keras 3 does, in order: unscale gradients (`loss_scale_factor`),
clip them (`clipnorm` per tensor, `global_clipnorm`, `clipvalue`), compute
the learning rate (schedule of the step, or the state's value, divided by
1 + decay * iterations for Keras 1's `decay`), apply the algorithm (optax
transformations chosen to reproduce Keras's formulas), subtract decoupled
weight decay `lr * weight_decay * param`, and count the step.

The object also keeps the current state in `opt.state` for the eager Keras
API (`apply_gradients`, `learning_rate` getter/setter, `iterations`,
`get_state_arrays`/`set_state_arrays`). A trainer that runs compiled steps
should pass `opt.state` in and assign the returned state back to
`opt.state`, reading it again after callbacks have run.
"""

from __future__ import annotations

import inspect
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jkeras.backend import naming as _naming
from jkeras.engine.variable import Variable, register_variable_class
from jkeras.optimizers import schedules as _schedules
from jkeras.optimizers.keras_layout import KerasStateLayout, OptimizerState

_IGNORED_CONFIG_KEYS = ("is_legacy_optimizer", "jit_compile")


class _VariableList(list):
    """A list that can also be called, so `opt.variables` (Keras 3) and
    `opt.variables()` (Keras 2) both work."""

    def __call__(self):
        return self


# a pytree like a list (it is passed to jax.jit as part of a training state)
jax.tree_util.register_pytree_node(_VariableList, lambda v: (list(v), None),
                                   lambda _, children: list(children))


class StateVariable(Variable):
    """One array of an optimizer's state seen as a Variable (see
    `Optimizer.variables`): its value is read from, and assigned into,
    `optimizer.state`."""

    def __init__(self, optimizer, index: int, name: str):
        leaf = jax.tree_util.tree_leaves(optimizer.state)[index]
        super().__init__(leaf, trainable=False, name=name, path=f"{optimizer.name}/{name}")
        self._array = None
        self._optimizer = optimizer
        self._index = index

    @property
    def _value(self):
        return jax.tree_util.tree_leaves(self._optimizer.state)[self._index]

    @_value.setter
    def _value(self, value) -> None:
        if getattr(self, "_optimizer", None) is None:  # during Variable.__init__
            return
        leaves, treedef = jax.tree_util.tree_flatten(self._optimizer.state)
        leaves[self._index] = value
        self._optimizer.state = jax.tree_util.tree_unflatten(treedef, leaves)


register_variable_class(StateVariable)




def _user_stacklevel() -> int:
    """The warnings stacklevel of the first frame outside jkeras."""
    import sys

    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("jkeras."):
        frame, level = frame.f_back, level + 1
    return level


def _is_traced(tree) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))


def _clip_by_norm(g, clipnorm):
    norm = jnp.sqrt(jnp.sum(jnp.square(g)))
    return g * (clipnorm / jnp.maximum(norm, clipnorm)).astype(g.dtype)


def _step_callable(fn):
    """A callable of the step from a schedule or a callable taking the step
    (or, as in Keras 3, no argument)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return fn
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_any = any(p.kind is p.VAR_POSITIONAL for p in params)
    if not required and not takes_any:
        return lambda step: fn()
    return fn


class Optimizer(KerasStateLayout):
    """Base class of jkeras optimizers. Subclasses define `_transform(lr,
    iterations)` returning the optax transformation of one step (including
    the learning-rate scaling) and `get_config`."""

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, decay=None, **kwargs):
        owner = type(self).__name__
        for key in _IGNORED_CONFIG_KEYS:
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(
                f"{owner} got unexpected argument(s) {sorted(kwargs)}. Valid arguments: "
                f"learning_rate, the algorithm's own arguments, weight_decay, clipnorm, "
                f"clipvalue, global_clipnorm, loss_scale_factor, name."
            )
        if use_ema and not 0.0 <= float(ema_momentum) <= 1.0:
            raise ValueError(f"{owner}: ema_momentum must be in [0, 1], got {ema_momentum!r}.")
        if use_ema and ema_overwrite_frequency is not None and int(ema_overwrite_frequency) < 1:
            raise ValueError(f"{owner}: ema_overwrite_frequency must be None or >= 1, got "
                             f"{ema_overwrite_frequency!r}.")
        if gradient_accumulation_steps and gradient_accumulation_steps > 1:
            raise NotImplementedError(
                f"{owner}: gradient_accumulation_steps is not supported by jkeras yet."
            )
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(
                f"{owner}: set only one of clipnorm and global_clipnorm (got clipnorm="
                f"{clipnorm}, global_clipnorm={global_clipnorm})."
            )
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm)):
            if value is not None and value <= 0:
                raise ValueError(f"{owner}: {arg} must be > 0 (or None), got {value!r}.")
        if decay:
            warnings.warn(
                f"{owner}: 'decay' is the Keras 1/2 time-based decay (learning_rate / (1 + "
                f"decay * iterations)); use learning_rate=keras.optimizers.schedules."
                f"InverseTimeDecay(...) instead.",
                DeprecationWarning,
                stacklevel=_user_stacklevel(),
            )
        self.name = name or _naming.unique_name(_naming.to_snake_case(owner))
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.loss_scale_factor = loss_scale_factor
        self.decay = float(decay or 0.0)
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.gradient_accumulation_steps = None
        self.state: OptimizerState | None = None
        self._trainable_variables: list | None = None
        self._num_params: int | None = None
        self._exclude_ids: set = set()
        self._exclude_pattern = None
        self._decay_mask: list | None = None
        self._schedule = None
        self._lr = 0.0
        self._set_initial_learning_rate(learning_rate)

    # learning rate ---------------------------------------------------------------
    def _set_initial_learning_rate(self, value):
        if isinstance(value, _schedules.LearningRateSchedule):
            self._schedule = value
            self._schedule_fn = value
        elif callable(value) and not hasattr(value, "__array__"):
            self._schedule = value
            self._schedule_fn = _step_callable(value)
        else:
            self._lr = self._as_float_lr(value)

    def _as_float_lr(self, value) -> float:
        try:
            v = float(np.asarray(value))
        except (TypeError, ValueError):
            raise ValueError(
                f"{type(self).__name__}: learning_rate must be a float, a "
                f"LearningRateSchedule or a callable of the step; got {value!r}."
            ) from None
        if v < 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0, got {v}.")
        return v

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update: the settable value, or a
        schedule's value at the current `iterations` (before Keras 1 `decay`)."""
        if self._schedule is not None:
            return float(np.asarray(self._schedule_fn(self.iterations)))
        if self.state is not None:
            return float(np.asarray(self.state.learning_rate))
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, _schedules.LearningRateSchedule) or (
                callable(value) and not hasattr(value, "__array__")):
            if self.state is not None and self._schedule is None:
                raise TypeError(
                    f"{type(self).__name__}: cannot switch a built optimizer from a float "
                    f"learning rate to a schedule; create the optimizer with the schedule."
                )
            self._set_initial_learning_rate(value)
            return
        if self._schedule is not None:
            raise TypeError(
                "This optimizer was created with a LearningRateSchedule (or callable) as its "
                "learning_rate, hence its learning rate is not settable. If you need the "
                "learning rate to be settable, create the optimizer with a float "
                "learning_rate."
            )
        self._lr = self._as_float_lr(value)
        if self.state is not None:
            self.state = self.state._replace(
                learning_rate=jnp.asarray(self._lr, dtype=jnp.float32))

    # Keras 2 spelling
    lr = learning_rate

    @property
    def iterations(self) -> int:
        """Number of updates applied so far."""
        return 0 if self.state is None else int(np.asarray(self.state.iterations))

    @iterations.setter
    def iterations(self, value) -> None:
        if self.state is None:
            raise ValueError(
                f"Optimizer '{self.name}' is not built yet; call build(variables) or "
                f"init(params) before setting iterations."
            )
        self.state = self.state._replace(iterations=jnp.asarray(int(value), dtype=jnp.int32))

    @property
    def built(self) -> bool:
        return self.state is not None

    def _current_lr(self, state: OptimizerState):
        it = state.iterations
        if self._schedule is not None:
            lr = jnp.asarray(self._schedule_fn(it), dtype=jnp.float32)
        else:
            lr = state.learning_rate
        if self.decay:
            lr = lr / (1.0 + self.decay * it.astype(jnp.float32))
        return lr

    # algorithm -------------------------------------------------------------------
    def _transform(self, lr, iterations) -> optax.GradientTransformation:
        raise NotImplementedError(f"{type(self).__name__} must implement _transform().")

    def _clip(self, grads: list) -> list:
        if self.clipnorm:
            grads = [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm:
            grads, _ = optax.clip_by_global_norm(self.global_clipnorm).update(
                grads, optax.EmptyState())
        if self.clipvalue:
            grads, _ = optax.clip(self.clipvalue).update(grads, optax.EmptyState())
        return list(grads)

    def scale_loss(self, loss):
        """The loss multiplied by `loss_scale_factor` (if set), before differentiation."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # pure API --------------------------------------------------------------------
    def init(self, params) -> OptimizerState:
        """A fresh state for `params` (a list of arrays): iterations 0, the
        current learning rate, zeroed algorithm slots. Called outside a trace,
        it also becomes `opt.state`."""
        params = list(params)
        lr0 = self._lr
        if self._schedule is not None:
            # (no float(): init may run under jax.jit, where the schedule's value is traced)
            lr0 = self._schedule_fn(jnp.zeros((), jnp.int32))
        state = OptimizerState(
            iterations=jnp.zeros((), dtype=jnp.int32),
            learning_rate=jnp.asarray(lr0, dtype=jnp.float32),
            inner=self._fresh_inner(params),
            ema=[jnp.zeros_like(p) for p in params] if self.use_ema else None,
        )
        if not _is_traced(params):
            self.state = state
            self._num_params = len(params)
            if self._decay_mask is not None and len(self._decay_mask) != len(params):
                self._decay_mask = None
        return state

    def update(self, grads, state: OptimizerState, params) -> tuple[list, OptimizerState]:
        """One optimization step: (new_params, new_state). Pure and jittable;
        `grads` and `params` are lists in the same order (a None gradient
        counts as zeros)."""
        params = list(params)
        grads = list(grads)
        if len(grads) != len(params):
            raise ValueError(
                f"Optimizer '{self.name}': got {len(grads)} gradients for {len(params)} "
                f"parameters; pass one gradient per parameter, in the same order."
            )
        # Like Keras, gradients take their variable's dtype.
        grads = [jnp.zeros_like(p) if g is None else jnp.asarray(g).astype(jnp.result_type(p))
                 for g, p in zip(grads, params)]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        grads = self._clip(grads)
        lr = self._current_lr(state)
        params = self._apply_weight_decay(params, lr)  # before the step, as Keras does
        tx = self._transform(lr, state.iterations)
        updates, inner = tx.update(grads, state.inner, params)
        # Keep the slot dtypes stable (a float32 learning rate must not promote
        # float16/bfloat16 slots, which would change the state's type every step).
        inner = jax.tree_util.tree_map(
            lambda new, old: new.astype(jnp.result_type(old)), inner, state.inner)
        new_params = list(optax.apply_updates(params, list(updates)))
        ema = state.ema
        if self.use_ema:
            new_params, ema = self._update_ema(new_params, ema, state.iterations)
        new_state = OptimizerState(state.iterations + 1, state.learning_rate, inner, ema)
        return new_params, new_state

    def _apply_weight_decay(self, params: list, lr) -> list:
        """The parameters after decoupled weight decay p - lr * weight_decay * p
        (variables excluded with `exclude_from_weight_decay` unchanged)."""
        if not self.weight_decay:
            return params
        mask = self._decay_mask if (
            self._decay_mask is not None and len(self._decay_mask) == len(params)) else None
        wd = lr * self.weight_decay
        return [p if (mask is not None and not mask[i]) else p - (wd * p).astype(p.dtype)
                for i, p in enumerate(params)]

    def _update_ema(self, params: list, ema: list, iterations):
        """(params, new averages) after one step: ema = m * ema + (1 - m) * params
        with m = ema_momentum (0 on the first step, so the average starts at the
        parameters); every `ema_overwrite_frequency` steps the parameters take
        the averages' values."""
        momentum = jnp.where(iterations == 0, 0.0, self.ema_momentum)
        ema = [(momentum * a + (1.0 - momentum) * p).astype(a.dtype)
               for a, p in zip(ema, params)]
        if self.ema_overwrite_frequency:
            overwrite = (iterations + 1) % int(self.ema_overwrite_frequency) == 0
            params = [jnp.where(overwrite, a, p) for a, p in zip(ema, params)]
        return params, ema

    def finalize_variable_values(self, var_list) -> None:
        """At the end of training: with `use_ema`, the variables take their
        moving averages (Keras calls this when fit ends)."""
        if not self.use_ema or self.state is None or self.state.ema is None:
            return
        var_list = list(var_list)
        if len(var_list) != len(self.state.ema):
            raise ValueError(
                f"Optimizer '{self.name}' keeps {len(self.state.ema)} moving averages but "
                f"{len(var_list)} variables were given: pass the variables it was built for."
            )
        for v, a in zip(var_list, self.state.ema):
            v.assign(a)

    # Keras API over Variables ----------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Leaves variables (by object, or names matching any of `var_names`)
        out of weight decay. Call before the optimizer is built."""
        if self.state is not None:
            raise ValueError(
                "exclude_from_weight_decay() can only be configured before the optimizer is "
                "built."
            )
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        if self._exclude_pattern is not None:
            name = getattr(variable, "name", "")
            path = getattr(variable, "path", name)
            if self._exclude_pattern.search(name) or self._exclude_pattern.search(path):
                return False
        return True

    def build(self, variables) -> None:
        """Creates the state for these variables (jkeras Variables, in the
        order `update` will see them). An existing state that fits them
        (same number and shapes, e.g. from `init` or a restored state) is kept."""
        variables = list(variables)
        if self._trainable_variables is not None and self.state is not None and [
                id(v) for v in variables] == [id(v) for v in self._trainable_variables]:
            return
        self._trainable_variables = variables
        self._decay_mask = [self._use_weight_decay(v) for v in variables]
        params = [getattr(v, "value", v) for v in variables]
        if self.state is not None:
            fresh = jax.eval_shape(self._fresh_inner, params)
            old = self.state.inner
            same = jax.tree_util.tree_structure(fresh) == jax.tree_util.tree_structure(old) and all(
                tuple(a.shape) == tuple(np.shape(b)) for a, b in zip(
                    jax.tree_util.tree_leaves(fresh), jax.tree_util.tree_leaves(old)))
            if same:
                self._num_params = len(params)
                return
            warnings.warn(
                f"Optimizer '{self.name}' is rebuilt for {len(variables)} different "
                f"variables: its state starts afresh.",
                stacklevel=2,
            )
        mask = self._decay_mask
        self.init(params)
        self._decay_mask = mask

    def _fresh_inner(self, params):
        tx = self._transform(jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32))
        return tx.init(list(params))

    def apply(self, grads, trainable_variables=None):
        """Applies gradients to jkeras Variables eagerly (Keras 3 API).
        Variables without a gradient (None) keep their value."""
        grads = list(grads)
        if not grads:
            return None
        if trainable_variables is None:
            if self._trainable_variables is None:
                raise ValueError(
                    "When passing gradients without variables, the optimizer must already "
                    "be built on a list of variables: call optimizer.build(variables) first."
                )
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if self._trainable_variables is None or self.state is None:
            self.build(trainable_variables)
        index = {id(v): i for i, v in enumerate(self._trainable_variables)}
        full = [None] * len(self._trainable_variables)
        missing = []
        for g, v in zip(grads, trainable_variables):
            i = index.get(id(v))
            if i is None:
                raise ValueError(
                    f"Unknown variable {v!r}: this optimizer was built for other variables. "
                    f"Create a new optimizer for a new set of variables."
                )
            if g is None:
                missing.append(getattr(v, "name", str(v)))
            full[i] = g
        if all(g is None for g in full):
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing}.", stacklevel=2)
        params = [v.value for v in self._trainable_variables]
        new_params, self.state = self._compiled_update()(full, self.state, params)
        for g, v, p in zip(full, self._trainable_variables, new_params):
            if g is None:
                continue
            if getattr(v, "constraint", None) is not None:
                p = v.constraint(p)
            v.assign(p)
        return self.iterations

    def _compiled_update(self):
        """`update` under jax.jit, cached per hyperparameter configuration (the
        learning rate lives in the state, so changing it does not recompile)."""
        cfg = self.get_config()
        if self._schedule is None:
            cfg.pop("learning_rate", None)
        key = (repr(sorted(cfg.items(), key=lambda kv: kv[0])), id(self._schedule),
               None if self._decay_mask is None else tuple(self._decay_mask))
        cache = self.__dict__.setdefault("_jit_updates", {})
        fn = cache.get(key)
        if fn is None:
            fn = cache[key] = jax.jit(self.update)
        return fn

    def apply_gradients(self, grads_and_vars, name=None, **kwargs):
        """Applies (gradient, variable) pairs eagerly; returns `iterations`."""
        pairs = list(grads_and_vars)
        if not pairs:
            return None
        grads, variables = zip(*pairs)
        return self.apply(list(grads), list(variables))

    def minimize(self, loss, var_list, tape=None):
        """Differentiates `loss()` (a callable reading the variables) with
        respect to `var_list` and applies one step."""
        from jkeras.backend.scope import StatelessScope

        var_list = list(var_list)

        def value_fn(values):
            with StatelessScope({id(v): x for v, x in zip(var_list, values)},
                                collect_losses=False):
                return jnp.asarray(loss() if callable(loss) else loss)

        grads = jax.grad(value_fn)([v.value for v in var_list])
        return self.apply_gradients(zip(grads, var_list))

    # state as arrays --------------------------------------------------------------------
    def _require_built(self, what):
        if self.state is None:
            raise ValueError(
                f"Optimizer '{self.name}' is not built yet, so {what} is not possible: call "
                f"optimizer.build(model.trainable_variables) (or init(params)) first."
            )

    def get_state_arrays(self) -> list[np.ndarray]:
        """The whole state as numpy arrays: iterations, learning_rate, then the slots."""
        self._require_built("get_state_arrays()")
        return [np.array(x) for x in jax.tree_util.tree_leaves(self.state)]

    def set_state_arrays(self, arrays) -> None:
        """Restores a state saved with `get_state_arrays` (same optimizer
        configuration and parameter shapes)."""
        self._require_built("set_state_arrays()")
        leaves, treedef = jax.tree_util.tree_flatten(self.state)
        arrays = list(arrays)
        if len(arrays) != len(leaves):
            raise ValueError(
                f"Optimizer '{self.name}' has {len(leaves)} state arrays but "
                f"{len(arrays)} were given. Save and restore with the same optimizer "
                f"configuration and model."
            )
        new = []
        for i, (old, a) in enumerate(zip(leaves, arrays)):
            a = np.asarray(a)
            if tuple(a.shape) != tuple(np.shape(old)):
                raise ValueError(
                    f"Optimizer '{self.name}': state array {i} has shape {np.shape(old)}, "
                    f"but the given array has shape {a.shape}."
                )
            new.append(jnp.asarray(a, dtype=jnp.asarray(old).dtype))
        self.state = jax.tree_util.tree_unflatten(treedef, new)
        if self._schedule is None:
            self._lr = float(np.asarray(self.state.learning_rate))

    get_weights = get_state_arrays
    set_weights = set_state_arrays

    def save_own_variables(self, store) -> None:
        """Writes the state arrays into `store` under '0', '1', ..."""
        for i, a in enumerate(self.get_state_arrays()):
            store[str(i)] = a

    def load_own_variables(self, store) -> None:
        """Reads the state arrays written by `save_own_variables`."""
        self.set_state_arrays([store[str(i)] for i in range(len(store.keys()))])

    @property
    def variables(self) -> list:
        """The state as jkeras Variables: iteration, learning_rate, then the slots
        (once built). They are bound to the optimizer: reading one gives the
        current state, assigning one changes it, so Keras 3's stateless loops
        can pass them to `stateless_apply` and assign the results back. Callable
        for Keras 2's `optimizer.variables()`."""
        state = self.state
        if state is None:  # not built: the scalars only, as a snapshot
            return _VariableList([
                Variable(np.zeros((), np.int32), trainable=False, name="iteration",
                         path=f"{self.name}/iteration"),
                Variable(np.asarray(self._lr, np.float32), trainable=False,
                         name="learning_rate", path=f"{self.name}/learning_rate")])
        flat, treedef = jax.tree_util.tree_flatten_with_path(state)
        cached = self.__dict__.get("_state_variables")
        if cached is not None and cached[0] == treedef:
            return cached[1]
        out = _VariableList()
        for i, (path, _) in enumerate(flat):
            if i == 0:
                name = "iteration"
            elif i == 1:
                name = "learning_rate"
            else:
                name = "slot_" + "_".join(
                    re.sub(r"\W+", "", jax.tree_util.keystr((k,))) for k in path[1:]) or str(i)
            out.append(StateVariable(self, i, name))
        self._state_variables = (treedef, out)
        return out

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """One update as a pure function (Keras 3's JAX API): the optimizer state
        as the list `optimizer.variables` gives (arrays or those variables), the
        gradients and the trainable values, in `build`'s order. Returns
        (new trainable values, new optimizer values); the optimizer itself is
        unchanged. Variable constraints are applied."""
        self._require_built("stateless_apply()")
        leaves, treedef = jax.tree_util.tree_flatten(self.state)
        values = [getattr(v, "value", v) for v in optimizer_variables]
        if len(values) != len(leaves):
            raise ValueError(
                f"Optimizer '{self.name}'.stateless_apply: got {len(values)} optimizer "
                f"values, but its state has {len(leaves)} (pass optimizer.variables, or the "
                f"values a previous stateless_apply returned, in that order)."
            )
        params = [getattr(p, "value", p) for p in trainable_variables]
        state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(v) for v in values])
        new_params, new_state = self.update(list(grads), state, params)
        variables = self._trainable_variables or []
        if len(variables) == len(new_params):
            new_params = [v.constraint(p) if getattr(v, "constraint", None) is not None else p
                          for v, p in zip(variables, new_params)]
        return list(new_params), jax.tree_util.tree_leaves(new_state)

    # config ----------------------------------------------------------------------------
    def _learning_rate_config(self):
        if self._schedule is None:
            return self.learning_rate
        if isinstance(self._schedule, _schedules.LearningRateSchedule):
            return _schedules.serialize(self._schedule)
        return self._schedule

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "learning_rate": self._learning_rate_config(),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": None,
        }
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        config = dict(config)
        lr = config.get("learning_rate", config.pop("lr", None))
        if isinstance(lr, dict):
            config["learning_rate"] = _schedules.deserialize(lr, custom_objects)
        elif lr is not None:
            config["learning_rate"] = lr
        if not config.get("decay"):
            config.pop("decay", None)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate}>"
