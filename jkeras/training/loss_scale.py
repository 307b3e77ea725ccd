"""Dynamic loss scaling for float16 training (Keras's `LossScaleOptimizer`).

float16 gradients underflow: the loss is multiplied by a scale before
differentiation and the gradients divided by it before the update. The scale
adapts: a step whose gradients contain inf/NaN is skipped (parameters and
optimizer state unchanged) and halves the scale; after `dynamic_growth_steps`
finite steps in a row the scale doubles. `compile()` wraps the optimizer
automatically when the model computes in float16 (`mixed_float16` policy) and
`auto_scale_loss` is True (the default), as Keras 3 does.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.optimizers.base import Optimizer


class LossScaleState(NamedTuple):
    """The state of a LossScaleOptimizer: the inner optimizer's, the current
    scale (float32) and the count of finite steps since the scale last changed."""

    inner: Any
    scale: Any
    good_steps: Any


class LossScaleOptimizer(Optimizer):
    """Wraps `inner_optimizer` with dynamic loss scaling (see the module doc).

    `initial_scale` (default 2**15) is the first scale; it doubles after
    `dynamic_growth_steps` (default 2000) consecutive finite steps and halves
    at each non-finite one (that step is skipped). Learning rate, iterations and
    configuration are the inner optimizer's."""

    def __init__(self, inner_optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None, **kwargs):
        from jkeras import optimizers

        if kwargs.pop("dynamic", True) is not True:
            raise ValueError("LossScaleOptimizer: only dynamic loss scaling is supported "
                             "(dynamic=True).")
        inner = optimizers.get(inner_optimizer)
        if isinstance(inner, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer: the inner optimizer is already a "
                             "LossScaleOptimizer; wrap the plain optimizer once.")
        if not initial_scale or initial_scale <= 0:
            raise ValueError(
                f"LossScaleOptimizer: initial_scale must be > 0, got {initial_scale!r}.")
        if int(dynamic_growth_steps) < 1:
            raise ValueError(f"LossScaleOptimizer: dynamic_growth_steps must be >= 1, got "
                             f"{dynamic_growth_steps!r}.")
        self.inner_optimizer = inner
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self._scale = None
        self._good = None
        self._ready = False  # Optimizer.__init__ resets `state`: not the inner's
        super().__init__(learning_rate=0.0, name=name or f"loss_scale_{inner.name}", **kwargs)
        self._ready = True

    # state: the inner optimizer's plus the scale ---------------------------------------
    @property
    def state(self):
        inner = getattr(self, "inner_optimizer", None)
        if inner is None or inner.state is None:
            return None
        if self._scale is None:
            self._reset_scale()
        return LossScaleState(inner.state, self._scale, self._good)

    @state.setter
    def state(self, value) -> None:
        inner = getattr(self, "inner_optimizer", None)
        if inner is None or not getattr(self, "_ready", False):
            return
        if value is None:
            inner.state = None
            self._scale = self._good = None
            return
        inner.state = value.inner
        self._scale, self._good = value.scale, value.good_steps

    def _reset_scale(self) -> None:
        self._scale = jnp.asarray(self.initial_scale, dtype=jnp.float32)
        self._good = jnp.zeros((), dtype=jnp.int32)

    @property
    def dynamic_scale(self) -> float:
        """The current loss scale."""
        return float(np.asarray(self._scale)) if self._scale is not None else \
            self.initial_scale

    loss_scale = dynamic_scale

    # delegated Keras API ------------------------------------------------------------------
    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    @property
    def iterations(self) -> int:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value) -> None:
        self.inner_optimizer.iterations = value

    @property
    def _init_needs_variables(self) -> bool:
        return getattr(self.inner_optimizer, "_init_needs_variables", False)

    def _current_lr(self, state):
        return self.inner_optimizer._current_lr(state.inner)

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def build(self, variables) -> None:
        self.inner_optimizer.build(variables)
        self._trainable_variables = list(variables)
        if self._scale is None:
            self._reset_scale()

    def init(self, params) -> LossScaleState:
        inner = self.inner_optimizer.init(params)
        scale = jnp.asarray(self.initial_scale, dtype=jnp.float32)
        good = jnp.zeros((), dtype=jnp.int32)
        if not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(params)):
            self._scale, self._good = scale, good
        return LossScaleState(inner, scale, good)

    # scaling ------------------------------------------------------------------------------
    def scale_loss(self, loss):
        """The loss times the current scale (eager use)."""
        return loss * self.dynamic_scale

    def scale_loss_in_state(self, loss, state: LossScaleState):
        """The loss times the scale held in `state` (inside a compiled step)."""
        return loss * state.scale.astype(jnp.result_type(loss))

    get_scaled_loss = scale_loss

    def get_unscaled_gradients(self, grads):
        """Keras 2 API: gradients divided by the current scale."""
        s = self.dynamic_scale
        return [None if g is None else g / s for g in grads]

    def update(self, grads, state: LossScaleState, params):
        """Unscales the gradients; applies the inner update if they are all finite
        (else keeps parameters and inner state); adjusts the scale. Pure."""
        params = list(params)
        grads = [jnp.zeros_like(p) if g is None else jnp.asarray(g).astype(jnp.result_type(p))
                 for g, p in zip(grads, params)]
        inv = (1.0 / state.scale).astype(jnp.float32)
        grads = [g * inv.astype(g.dtype) for g in grads]
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in grads])) if grads \
            else jnp.asarray(True)
        inner = self.inner_optimizer

        def apply(_):
            new_params, new_inner = inner.update(grads, state.inner, params)
            return list(new_params), new_inner

        def skip(_):
            return list(params), state.inner

        new_params, new_inner = jax.lax.cond(finite, apply, skip, None)
        good = jnp.where(finite, state.good_steps + 1, 0)
        grow = good >= self.dynamic_growth_steps
        scale = jnp.where(finite, jnp.where(grow, state.scale * 2.0, state.scale),
                          jnp.maximum(state.scale * 0.5, 1.0))
        good = jnp.where(grow, 0, good).astype(jnp.int32)
        return new_params, LossScaleState(new_inner, scale.astype(jnp.float32), good)

    # saving -------------------------------------------------------------------------------
    def set_state_arrays(self, arrays) -> None:
        self._require_built("set_state_arrays()")
        arrays = list(arrays)
        n_inner = len(jax.tree_util.tree_leaves(self.inner_optimizer.state))
        if len(arrays) != n_inner + 2:
            raise ValueError(
                f"Optimizer '{self.name}' has {n_inner + 2} state arrays but {len(arrays)} "
                f"were given. Save and restore with the same optimizer configuration."
            )
        self.inner_optimizer.set_state_arrays(arrays[:n_inner])
        self._scale = jnp.asarray(np.asarray(arrays[n_inner]), dtype=jnp.float32)
        self._good = jnp.asarray(np.asarray(arrays[n_inner + 1]), dtype=jnp.int32)

    set_weights = set_state_arrays

    def get_config(self) -> dict:
        from jkeras import optimizers

        return {"name": self.name,
                "inner_optimizer": optimizers.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from jkeras import optimizers

        config = dict(config)
        inner = config.pop("inner_optimizer")
        if isinstance(inner, dict):
            inner = optimizers.deserialize(inner, custom_objects)
        return cls(inner, **config)

    def __repr__(self):
        return (f"<LossScaleOptimizer inner={self.inner_optimizer!r} "
                f"scale={self.dynamic_scale:g}>")
