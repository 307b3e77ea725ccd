"""Epoch loops: run a handler's windows and batches through the compiled step
functions, several steps per call, and call the callbacks.

Steps per call (`steps_per_execution`):

- an integer N: every call runs N steps (the last call of a window fewer);
  N = 1 runs one step per call. Batch-level callbacks are called once per call
  with the index of its last batch, as Keras 3 does.
- 'auto' (the default): models with convolutions run one step per call (XLA:CPU
  runs convolution steps fused in a loop several times slower). Other models
  run fused blocks whose size is measured during the first calls: 1, 4, 16, ...
  steps until one call takes at least `AUTO_TARGET_SECONDS` (or
  `AUTO_MAX_STEPS` is reached); that size is kept for later epochs and fits.
  With a user callback that has batch hooks, 'auto' runs one step per call, so
  the callback sees every batch as in Keras.

The loop never waits for the device except to time calibration calls, when a
callback looks at the logs (the progress bar fetches them only when it
redraws), and at the end of an epoch.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from jkeras.distribution import runtime
from jkeras.training.data_adapter import Window

AUTO_TARGET_SECONDS = 0.02
AUTO_MAX_STEPS = 1024

# Built-in callbacks whose batch hooks work per block (they show or log progress, or
# back up at the first block end after every `save_freq` batches).
_BLOCK_AWARE = ("ProgbarLogger", "TensorBoard", "TerminateOnNaN", "History",
                "BackupAndRestore")


class AutoSize:
    """The calibrated number of steps per call for one kind of loop (kept by the
    trainer across fits)."""

    def __init__(self):
        self.k = 1
        self.done = False
        self._compiled = False

    def next(self, remaining: int) -> tuple[int, bool]:
        """(steps for the next call, whether to time it)."""
        if self.done:
            return min(self.k, remaining), False
        if not self._compiled:
            return 1, False
        return min(self.k, remaining), True

    def record(self, k: int, seconds: float | None, whole: bool = False) -> None:
        """After a call of `k` steps that took `seconds` (None: not timed);
        `whole`: the call ran all the steps its window had."""
        if not self._compiled:
            self._compiled = True
            self.k = 4
            return
        if seconds is None or self.done:
            return
        if seconds >= AUTO_TARGET_SECONDS or self.k >= AUTO_MAX_STEPS or (whole and k < self.k):
            self.done = True  # long enough, or one call per window already
            self.k = max(k, 1) if k < self.k else self.k
        elif k >= self.k:
            self.k = min(self.k * 4, AUTO_MAX_STEPS)
        if runtime.is_multiprocess():  # every process runs the same calls: process 0 decides
            k_done = runtime.broadcast_from_process_zero(np.array([self.k, self.done], np.int64))
            self.k, self.done = int(k_done[0]), bool(k_done[1])


class BlockPlan:
    """Which compiled form runs and how many steps per call, for one loop."""

    def __init__(self, setting, fused_ok: bool, auto: AutoSize | None,
                 per_batch: bool = False):
        self.auto = None
        if setting == "auto":
            if not fused_ok or per_batch or auto is None:
                self.kind, self.k = ("window_block" if fused_ok else "window_step"), 1
            else:
                self.kind, self.k, self.auto = "window_block", 1, auto
        else:
            self.k = int(setting)
            self.kind = "window_block" if self.k > 1 else "window_step"

    def next(self, remaining: int) -> tuple[int, bool]:
        if self.auto is not None:
            return self.auto.next(remaining)
        return min(self.k, remaining), False

    def record(self, k: int, seconds: float | None, whole: bool = False) -> None:
        if self.auto is not None:
            self.auto.record(k, seconds, whole)


def needs_every_batch(callbacks) -> bool:
    """Whether a callback wants every training batch (a user callback with batch
    hooks, or a built-in one counting batches)."""
    from jkeras.callbacks.callback import implements_batch

    for cb in callbacks:
        if not (implements_batch(cb, "train_begin") or implements_batch(cb, "train_end")):
            continue
        if type(cb).__name__ in _BLOCK_AWARE and type(cb).__module__.startswith("jkeras."):
            continue
        return True
    return False


def _ctl(start: int, k: int) -> np.ndarray:
    return np.array([start, k], dtype=np.int32)


class Hooks:
    """Which batch hooks a CallbackList has, and whether they need the weights."""

    def __init__(self, cbs, kind: str):
        self.begin = cbs.has_batch_hooks(f"{kind}_begin")
        self.end = cbs.has_batch_hooks(f"{kind}_end")
        self.sync_begin = kind == "train" and cbs.needs_batch_sync("train_begin")
        self.sync_end = kind == "train" and cbs.needs_batch_sync("train_end")


def run_train_epoch(trainer, handler, fns, plan: BlockPlan, state: dict, cbs, hooks: Hooks,
                    epoch: int, sync, start_step: int = 0) -> tuple[dict, object, int]:
    """One training epoch from batch `start_step` (non-zero: an epoch resumed from
    a backup; callbacks see the batch indices of an uninterrupted epoch). Returns
    (state, last results, index after the last batch run). `sync` is (push,
    pull): writes the state to the model / reads it back, around hooks that look
    at the weights."""
    model = trainer.model
    bs = handler.batch_size
    step = start_step
    results = None
    for item in handler.windows(epoch, start_step):
        if not isinstance(item, Window):
            state, results, step = _train_call(
                trainer, cbs, hooks, sync, state, step, 1,
                lambda st, item=item: fns.train("batch")(st, item))
            if model.stop_training:
                break
            continue
        s, end = item.start, item.start + item.steps
        while s < end:
            k, timed = plan.next(end - s)
            fn = fns.train(plan.kind, bs)
            if timed and results is not None:
                jax.block_until_ready(results)
            t0 = time.perf_counter()
            state, results, step = _train_call(
                trainer, cbs, hooks, sync, state, step, k,
                lambda st, fn=fn, w=item, s=s, k=k: fn(st, w.data, w.perm, _ctl(s, k)))
            if timed:
                jax.block_until_ready(results)
            plan.record(k, time.perf_counter() - t0 if timed else None,
                        whole=s == item.start and k == item.steps)
            s += k
            if model.stop_training:
                break
        item.done.append(results)
        if model.stop_training:
            break
    return state, results, step


def _train_call(trainer, cbs, hooks, sync, state, step, k, call):
    push, pull = sync
    if hooks.begin:
        if hooks.sync_begin:
            push(state)
        cbs.on_train_batch_begin(step)
        if hooks.sync_begin:
            state = pull(state)
    state, results = call(state)
    step += k
    if hooks.end:
        if hooks.sync_end:
            push(state)
        cbs.on_train_batch_end(step - 1, lambda r=results: trainer.logs_from_results(r))
        if trainer.fit_progress is not None:  # backups taken once every hook has run
            trainer.fit_progress.run_deferred()
        if hooks.sync_end:
            state = pull(state)
    return state, results, step


def run_eval(trainer, handler, fns, plan: BlockPlan, tv, ntv, mv, cbs, hooks: Hooks,
             run_index: int = 0):
    """One pass of evaluation. Returns (mv, results)."""
    bs = handler.batch_size
    step = 0
    results = None
    for item in handler.windows(run_index):
        if not isinstance(item, Window):
            if hooks.begin:
                cbs.on_test_batch_begin(step)
            mv, results = fns.evaluate("batch")(tv, ntv, mv, item)
            step += 1
            if hooks.end:
                cbs.on_test_batch_end(step - 1, lambda r=results: trainer.logs_from_results(r))
            continue
        s, end = item.start, item.start + item.steps
        while s < end:
            k, timed = plan.next(end - s)
            fn = fns.evaluate(plan.kind, bs)
            if hooks.begin:
                cbs.on_test_batch_begin(step)
            if timed and results is not None:
                jax.block_until_ready(results)
            t0 = time.perf_counter()
            mv, results = fn(tv, ntv, mv, item.data, item.perm, _ctl(s, k))
            if timed:
                jax.block_until_ready(results)
            plan.record(k, time.perf_counter() - t0 if timed else None,
                        whole=s == item.start and k == item.steps)
            s += k
            step += k
            if hooks.end:
                cbs.on_test_batch_end(step - 1, lambda r=results: trainer.logs_from_results(r))
        item.done.append(results)
    return mv, results
