"""An optimizer's state in Keras 3's layout (the order Keras saves `optimizer.variables`
in .keras and .weights.h5 files), so optimizer state exchanges with Keras 3."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class OptimizerState(NamedTuple):
    """The optimizer's whole state: a pytree of arrays."""

    iterations: Any  # int32 scalar: number of updates applied
    learning_rate: Any  # float32 scalar: the settable learning rate
    inner: Any  # the optax state of the algorithm
    ema: Any = None  # with use_ema: the moving averages of the parameters (a list)


class KerasStateLayout:
    """Mixed into Optimizer: maps its optax state to and from Keras's list of
    state variables (see the comment below). Uses the optimizer's `state`,
    `_schedule`, `_lr`, `_trainable_variables`, `name` and `_require_built`."""

    # state in Keras 3's layout ------------------------------------------------------------
    # Keras 3 keeps an optimizer's state as a list of variables, saved in that order
    # under optimizer/vars/0, 1, ... of a .keras or .weights.h5 file: `iteration`,
    # `learning_rate` (absent with a LearningRateSchedule), then the slots. Slots come
    # in groups; for each group Keras walks the trainable variables and creates one
    # slot per name of the group (Adam: momentum, velocity interleaved per variable;
    # then velocity_hat for every variable when amsgrad). Keras 3.6 to 3.15 use this
    # order. Scalars of an algorithm (Nadam's `u_product`) come before the slots up
    # to Keras 3.9 and after them from Keras 3.10 (`_keras_scalars_last`); jkeras
    # writes the newer order and reads both. Subclasses map their optax state with
    # the hooks below.
    _keras_scalars_last = True

    def _keras_slot_groups(self) -> list[tuple[str, ...]] | None:
        """Keras's slot groups (see above), or None when this optimizer has no
        Keras layout (its state is then saved in jkeras's own layout)."""
        return None

    def _keras_slots(self, inner) -> dict[str, list]:
        """{Keras slot name: one array per parameter} from the optax state."""
        raise NotImplementedError

    def _keras_inner(self, inner, slots: dict[str, list], iterations):
        """The optax state `inner` with its slots replaced by `slots` (arrays of
        the right dtypes) and its step counters set to `iterations`."""
        raise NotImplementedError

    def _keras_scalars(self, state: OptimizerState) -> list[tuple[str, Any]]:
        """Keras's scalar variables of the algorithm: [(name, value)]. jkeras
        derives them from `iterations`, so loading does not restore them."""
        return []

    def _keras_layout(self, scalars_last: bool | None = None):
        """(names, arrays, slot_start) of the current state in Keras's layout;
        slot_start is the index of the first slot."""
        self._require_built("reading the state in Keras's layout")
        if scalars_last is None:
            scalars_last = self._keras_scalars_last
        state = self.state
        names = ["iteration"]
        arrays = [np.asarray(state.iterations, dtype=np.int32)]
        if self._schedule is None:
            names.append("learning_rate")
            arrays.append(np.asarray(state.learning_rate, dtype=np.float32))
        scalars = [(name, np.asarray(value)) for name, value in self._keras_scalars(state)]
        if not scalars_last:
            names += [n for n, _ in scalars]
            arrays += [a for _, a in scalars]
        slot_start = len(arrays)
        slots = self._keras_slots(state.inner)
        variables = self._trainable_variables or []
        for i, average in enumerate(state.ema or []):  # Keras creates them first
            var = variables[i] if i < len(variables) else None
            names.append(f"average/{getattr(var, 'path', None) or i}")
            arrays.append(np.asarray(average))
        for group in self._keras_slot_groups():
            for i in range(len(slots[group[0]])):
                var = variables[i] if i < len(variables) else None
                label = getattr(var, "path", None) or str(i)
                for name in group:
                    names.append(f"{name}/{label}")
                    arrays.append(np.asarray(slots[name][i]))
        if scalars_last:
            names += [n for n, _ in scalars]
            arrays += [a for _, a in scalars]
        return names, arrays, slot_start

    def keras_state_names(self) -> list[str]:
        """Names of the arrays of `keras_state_arrays()`, in order (slots as
        '<slot>/<variable path>')."""
        if self._keras_slot_groups() is None:
            return [v.name for v in self.variables]
        return self._keras_layout()[0]

    def keras_state_arrays(self) -> list[np.ndarray]:
        """The state as Keras 3 saves it (`optimizer.variables` order, see the
        comment above): what `model.save` writes to optimizer/vars, so that
        Keras 3 restores it. Optimizers without a Keras layout return
        `get_state_arrays()`."""
        if self._keras_slot_groups() is None:
            return self.get_state_arrays()
        return self._keras_layout()[1]

    def _match_keras_layout(self, arrays: list) -> int:
        """The slot_start of the layout `arrays` (a Keras state) follows; raises
        ValueError naming the mismatch when it fits none."""
        placements = [self._keras_scalars_last]
        if self._keras_scalars(self.state):
            placements.append(not self._keras_scalars_last)
        problem = None
        for last in placements:
            names, current, slot_start = self._keras_layout(last)
            if len(arrays) != len(current):
                problem = problem or (
                    f"Optimizer '{self.name}' ({type(self).__name__}) has {len(current)} "
                    f"state variables in Keras's layout ({', '.join(names[:4])}"
                    f"{', ...' if len(names) > 4 else ''}), but {len(arrays)} were given. "
                    f"Save and restore with the same optimizer configuration and model.")
                continue
            bad = next(((n, o, a) for n, o, a in zip(names, current, arrays)
                        if tuple(np.shape(a)) != tuple(o.shape)), None)
            if bad is None:
                return slot_start
            problem = problem or (
                f"Optimizer '{self.name}': state variable '{bad[0]}' has shape "
                f"{tuple(bad[1].shape)}, but the given array has shape {tuple(np.shape(bad[2]))}.")
        raise ValueError(problem)

    def check_keras_state_arrays(self, arrays) -> None:
        """Raises ValueError (naming the problem) unless `set_keras_state_arrays`
        would accept `arrays`: right count, shapes and numeric types."""
        if self._keras_slot_groups() is None:
            leaves = jax.tree_util.tree_leaves(self.state) if self.state is not None else []
            shapes = [tuple(np.shape(x)) for x in leaves]
            given = [tuple(np.shape(a)) for a in arrays]
            if shapes != given:
                raise ValueError(
                    f"Optimizer '{self.name}' has state arrays of shapes {shapes[:6]}"
                    f"{'...' if len(shapes) > 6 else ''}, but arrays of shapes {given[:6]}"
                    f"{'...' if len(given) > 6 else ''} were given.")
            return
        arrays = [np.asarray(a) for a in arrays]
        self._match_keras_layout(arrays)
        for i, a in enumerate(arrays):
            if a.dtype.kind not in "biuf":
                raise ValueError(
                    f"Optimizer '{self.name}': state variable {i} must be numeric, got "
                    f"{a.dtype}.")
        if int(arrays[0]) < 0:
            raise ValueError(
                f"Optimizer '{self.name}': the saved iteration count is {int(arrays[0])} (< 0).")

    def set_keras_state_arrays(self, arrays) -> None:
        """Restores a state saved by Keras 3 (3.6 to 3.15) or by
        `keras_state_arrays`: same optimizer configuration, built for the same
        variables in the same order. Raises ValueError, changing nothing, on a
        wrong count or shape."""
        if self._keras_slot_groups() is None:
            self.set_state_arrays(arrays)
            return
        self._require_built("set_keras_state_arrays()")
        arrays = [np.asarray(a) for a in arrays]
        self.check_keras_state_arrays(arrays)
        pos = self._match_keras_layout(arrays)
        state = self.state
        iterations = int(arrays[0])
        lr = state.learning_rate
        if self._schedule is None:
            lr = jnp.asarray(arrays[1], dtype=jnp.float32)
        ema = None
        if state.ema is not None:
            ema = [jnp.asarray(arrays[pos + i], dtype=jnp.asarray(a).dtype)
                   for i, a in enumerate(state.ema)]
            pos += len(ema)
        old_slots = self._keras_slots(state.inner)
        slots = {name: [None] * len(values) for name, values in old_slots.items()}
        for group in self._keras_slot_groups():
            for i in range(len(old_slots[group[0]])):
                for name in group:
                    like = old_slots[name][i]
                    slots[name][i] = jnp.asarray(arrays[pos], dtype=jnp.asarray(like).dtype)
                    pos += 1
        inner = self._keras_inner(state.inner, slots, iterations)
        self.state = OptimizerState(jnp.asarray(iterations, dtype=jnp.int32), lr, inner, ema)
        if self._schedule is None:
            self._lr = float(np.asarray(lr))
