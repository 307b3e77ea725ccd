"""What a fit must get back, besides its weights and optimizer state, to continue
from a backup exactly as an uninterrupted fit would.

- the loop's random key ("rng" in the step state: dropout and other random
  layers draw from it, and it advances every step);
- the data order: the handler's `shuffle_seed` (see `data_order`);
- the position: the epoch and the first batch to run in it;
- the metric values accumulated so far in that epoch;
- the state of callbacks that carry state across epochs: the attributes named
  by their class's `_resume_attrs` (EarlyStopping's patience counter and best
  value, ModelCheckpoint's best value, ...).

The Trainer makes one `FitProgress` per fit. A backup callback reads it with
`snapshot()` and hands a saved one back with `restore()` in `on_train_begin`.
The fit applies it once every callback's `on_train_begin` has run (they reset
their state there); a backup taken in the middle of an epoch is applied again
after that epoch's `on_epoch_begin` (whose effects, e.g. a learning-rate
schedule, the backup already holds), so the epoch continues from the backed-up
state itself. Work that must see every callback's hook first (a backup at an
epoch end) is queued with `defer` and run by the loop after the hooks.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np


def host_array(a) -> np.ndarray:
    """`a` as a numpy array; an array spread over processes is read from this
    process's first copy (the loop's key and metric values are replicated)."""
    if isinstance(a, jax.Array) and not a.is_fully_addressable:
        a = a.addressable_data(0)
    return np.asarray(a)


def _host_value(v):
    if isinstance(v, (list, tuple)) and v and all(hasattr(a, "shape") for a in v):
        return [host_array(a) for a in v]
    if isinstance(v, np.generic) or (hasattr(v, "shape") and not np.shape(v)):
        return np.asarray(v).item()
    return v


def callback_states(callbacks) -> dict:
    """{"<index>:<class name>": {attribute: value}} for the callbacks that name
    resumable attributes in `_resume_attrs` (index: among those callbacks)."""
    out = {}
    for i, cb in enumerate(cb for cb in callbacks if getattr(cb, "_resume_attrs", ())):
        out[f"{i}:{type(cb).__name__}"] = {
            a: _host_value(getattr(cb, a)) for a in cb._resume_attrs if hasattr(cb, a)}
    return out


def set_callback_states(callbacks, states: dict) -> list[str]:
    """Sets what `callback_states` returned on the matching callbacks; returns the
    keys that matched no callback (the callbacks changed since the backup)."""
    current = callback_states(callbacks)
    resumable = [cb for cb in callbacks if getattr(cb, "_resume_attrs", ())]
    unmatched = []
    for key, attrs in states.items():
        if key not in current:
            unmatched.append(key)
            continue
        cb = resumable[int(key.split(":", 1)[0])]
        for name, value in attrs.items():
            if name in cb._resume_attrs:
                setattr(cb, name, value)
    return unmatched


class FitProgress:
    """The progress of one running fit (see the module doc)."""

    def __init__(self, handler, callbacks, key_shape: tuple, initial_metrics: Callable):
        self.handler = handler
        self.callbacks = callbacks
        self.state: dict | None = None  # the loop state last written to the model
        self._key_shape = tuple(key_shape)
        self._initial_metrics = initial_metrics
        self._pending: tuple | None = None
        self._deferred: list[Callable] = []

    # saving --------------------------------------------------------------------------------
    def track(self, push: Callable) -> Callable:
        """`push` (writes the loop state to the model) that also records the state."""
        def tracked(state):
            self.state = state
            push(state)

        return tracked

    def snapshot(self) -> dict:
        """The loop's key, metric values, data-order seed and callbacks' state now
        (host values). Valid in hooks that see the model's weights."""
        if self.state is None:
            raise RuntimeError("FitProgress.snapshot() needs a running fit.")
        st = self.state
        return {"rng": None if st.get("rng") is None else host_array(st["rng"]),
                "metrics": [host_array(a) for a in st["mv"]],
                "shuffle_seed": getattr(self.handler, "shuffle_seed", None),
                "callbacks": callback_states(self.callbacks)}

    def defer(self, fn: Callable) -> None:
        """Runs `fn` once the current hook has been called on every callback."""
        self._deferred.append(fn)

    def run_deferred(self) -> None:
        fns, self._deferred = self._deferred, []
        for fn in fns:
            fn()

    # resuming ------------------------------------------------------------------------------
    def restore(self, snapshot: dict, step: int, apply_model: Callable, source: str) -> None:
        """Resume at batch `step` of the fit's first epoch from `snapshot`;
        `apply_model()` puts the backed-up weights and optimizer state back."""
        rng = snapshot.get("rng")
        if rng is not None and tuple(np.shape(rng)) != self._key_shape:
            raise ValueError(
                f"BackupAndRestore: the random key in {source} has shape {np.shape(rng)}, but "
                f"this JAX makes keys of shape {self._key_shape} (another PRNG "
                f"implementation). Resume with the same JAX settings, or delete the backup."
            )
        self._pending = (snapshot, int(step), apply_model, source)

    def _apply(self, state: dict) -> dict:
        snapshot, step, apply_model, source = self._pending
        apply_model()
        seed = snapshot.get("shuffle_seed")
        if seed is not None and getattr(self.handler, "shuffle_seed", None) is not None:
            self.handler.shuffle_seed = int(seed)
        unmatched = set_callback_states(self.callbacks, snapshot.get("callbacks") or {})
        if unmatched:
            import warnings

            warnings.warn(
                f"BackupAndRestore: {source} holds the state of callbacks {unmatched} that "
                f"this fit does not have; their state is not restored (pass the callbacks "
                f"of the interrupted run, in the same order, to resume exactly).",
                RuntimeWarning, stacklevel=3)
        if snapshot.get("rng") is not None:
            state = dict(state, rng=np.asarray(snapshot["rng"], dtype=np.uint32))
        if step:
            init = self._initial_metrics()
            saved = snapshot.get("metrics") or []
            if len(saved) != len(init) or any(
                    np.shape(a) != np.shape(b) for a, b in zip(saved, init)):
                raise ValueError(
                    f"BackupAndRestore: the metric state in {source} does not match this "
                    f"model's metrics (compile the model with the metrics of the interrupted "
                    f"run, or delete the backup)."
                )
            state = dict(state, mv=[np.asarray(a, dtype=b.dtype) for a, b in zip(saved, init)])
        return state

    def after_train_begin(self, state: dict) -> tuple[dict, int]:
        """(state, first batch of the first epoch) once `on_train_begin` ran."""
        if self._pending is None:
            return state, 0
        step = self._pending[1]
        if step == 0:
            state = self._apply(state)
            self._pending = None
        return state, step

    def after_epoch_begin(self, state: dict) -> dict:
        """The state once the first epoch's `on_epoch_begin` ran (a backup taken
        within that epoch is applied now)."""
        if self._pending is None:
            return state
        state = self._apply(state)
        self._pending = None
        return state
