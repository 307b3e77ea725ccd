"""The pure step functions of training and evaluation, and their compiled forms.

One training step is a pure function of the loop's state

    state = {"tv": trainable values, "ntv": non-trainable values,
             "opt": optimizer state, "mv": metric variable values, "rng": key}

and a batch `(x list, y list, sw list, valid)` (`valid`: 1 for real rows, 0 for
padding). It runs the forward pass (`model_io.forward`), the losses (in
float32, whatever the compute dtype), the gradients, the optimizer update
(dynamic loss scaling when the optimizer is a `LossScaleOptimizer`) and the
metric updates.

Compiled forms (`StepFunctions`), each jit-compiled once per input signature
and cached:

- `batch`: one step on a batch given as arrays (generators, train_on_batch).
- `window_step`: one step on the batch at position `ctl[0]` of a data window
  (arrays of `R` rows on the device, `perm` the order of their rows), gathered
  inside the compiled function.
- `window_block`: `ctl[1]` steps from position `ctl[0]` of a window in one call
  (`lax.fori_loop`; the number of steps is an argument, so any block size runs
  without recompiling).

Window forms take `ctl = int32[start, nsteps]`; `perm` holds, for each batch
position, the window row to take, or -1 for a padding row (masked). Under a
distribution the window and `perm` are laid out by the mesh's batch axis and
each device gathers its rows of a batch from its own part (`batch_taker`), so
the same forms run fused on any mesh. Each form
returns the new state and the metric results after its last step (small
arrays: the logs, fetched only when someone looks). The state argument is
donated: parameters, optimizer slots and metric values are updated in place.
The state's "rng" is raw key data (`jax.random.key_data`), so a fit's first key
is made on the host without compiling anything.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.backend.scope import StatelessScope
from jkeras.training.model_io import forward

F32 = jnp.float32


def _bcast_to(w, shape):
    while w.ndim < len(shape):
        w = w[..., None]
    return jnp.broadcast_to(w, shape)


def _f32(a):
    """Predictions in float32 for losses and metrics (mixed precision outputs)."""
    if jnp.issubdtype(a.dtype, jnp.floating) and a.dtype != F32:
        return a.astype(F32)
    return a


def take_batch(window, perm, step, batch_size: int):
    """Batch `step` of a window: rows `perm[step*bs : (step+1)*bs]` of every array
    (-1 marks a padding row: row 0 is taken and masked out) and the mask of real
    rows."""
    xs, ys, sws = window
    idx = jax.lax.dynamic_slice(perm, (step * batch_size,), (batch_size,))
    valid = (idx >= 0).astype(F32)

    def take(a):
        return jnp.take(a, idx, axis=0, mode="clip")

    return [take(a) for a in xs], [take(a) for a in ys], [take(a) for a in sws], valid


def batch_taker(batch_size: int, layout=None) -> tuple:
    """(key, take) where `take(window, perm, step)` gives batch `step` of a window
    as `take_batch` does: on one device, or under a distribution's DataLayout
    `layout` each device its share from its part of the window. Equal keys take
    the same way."""
    bs = int(batch_size)
    if layout is None:
        return bs, lambda window, perm, step: take_batch(window, perm, step, bs)
    rows = bs // layout.local_groups

    def take(window, perm, step):
        taken, valid = layout.take(window, perm, step, rows)
        xs, ys, sws = taken
        return list(xs), list(ys), list(sws), valid

    return (layout.key, bs), take


def _active_layout():
    from jkeras.distribution import batching, runtime

    return batching.layout_of(runtime.active())


def _wrap_rng(state: dict) -> dict:
    """The state with its key as a typed PRNG key (the loop keeps raw key data)."""
    if state.get("rng") is None:
        return state
    return dict(state, rng=jax.random.wrap_key_data(state["rng"]))


def _unwrap_rng(state: dict) -> dict:
    if state.get("rng") is None:
        return state
    return dict(state, rng=jax.random.key_data(state["rng"]))


_EXECUTOR = None


def _executor():
    global _EXECUTOR
    if _EXECUTOR is None:
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jkeras-compile")
    return _EXECUTOR


class _Precompiled:
    """A jitted function whose executable for known argument types is being
    compiled in a background thread (XLA releases the GIL, so the loop can
    prepare data meanwhile). Calls with other types (another window size), or
    all calls if that compilation failed, go to the jitted function."""

    def __init__(self, jitted, future, avals):
        self.jitted = jitted
        self._future = future
        self._compiled = None
        self._signature = _signature(avals)

    def __call__(self, *args):
        if self._future is not None:
            try:
                self._compiled = self._future.result()
            except Exception:  # noqa: BLE001 - compile again on the ordinary path
                self._compiled = None
            self._future = None
        if self._compiled is not None and _signature(args) == self._signature:
            try:
                return self._compiled(*args)
            except (TypeError, ValueError):  # checked before running: nothing donated
                self._compiled = None
        return self.jitted(*args)


def _signature(args) -> tuple:
    """Shapes and dtypes of the data arguments (everything after the state)."""
    return tuple((tuple(a.shape), str(a.dtype)) for a in jax.tree_util.tree_leaves(args[1:]))


class StepFunctions:
    """The step functions of one Trainer for one set of variables.

    `owner` is the Trainer (its model, io, config, optimizer, metric variables
    and `trace_counts`); `tvars`, `ntvars`, `updatable` fix which variables the
    state holds, in order."""

    def __init__(self, owner, tvars, ntvars, updatable):
        self.owner = owner
        self.tvars = list(tvars)
        self.ntvars = list(ntvars)
        self.updatable = tuple(updatable)
        self._jitted: dict = {}

    # ------------------------------------------------------------------ pieces
    @property
    def _outputs(self):
        return self.owner.config.outputs

    @property
    def _targets(self) -> list[int]:
        return [i for i, o in enumerate(self._outputs) if o.has_target]

    def losses(self, y, preds, sw, valid, extra, masks=None):
        """Total loss (weighted sum of output losses + extra terms) and the
        per-output losses. Each output loss is the loss's own reduction of the
        per-sample losses weighted by the sample weights, with padded rows
        masked out (so 'sum_over_batch_size' divides by the real row count).
        Computed in float32."""
        total = None
        per_out = {}
        for k, i in enumerate(self._targets):
            spec = self._outputs[i]
            if spec.loss is None:
                continue
            loss = spec.loss
            yt, yp = y[k], _f32(preds[i])
            dtype = getattr(loss, "dtype", "float32")
            shape = jax.eval_shape(
                loss.call, jax.ShapeDtypeStruct(yt.shape, dtype),
                jax.ShapeDtypeStruct(yp.shape, dtype)).shape
            if len(shape) == 0:
                shape = valid.shape
            w = _bcast_to(sw[k], shape)
            mask = _bcast_to(valid, shape) > 0
            om = masks[i] if masks is not None else None
            if om is not None and len(om.shape) <= len(shape):
                mask = jnp.logical_and(mask, _bcast_to(om, shape).astype(bool))
            li = _f32(loss(yt, yp, sample_weight=w, mask=mask))
            per_out[i] = li
            term = li * spec.loss_weight
            total = term if total is None else total + term
        for e in extra:
            e = jnp.sum(jnp.asarray(e, dtype=F32))
            total = e if total is None else total + e
        if total is None:
            raise ValueError(
                f"Model '{self.owner.model.name}' has nothing to minimize: compile() was given "
                f"no loss and the model adds no loss (add_loss / regularizers). Pass "
                f"loss=... to compile()."
            )
        return total, per_out

    def update_metrics(self, mv, y, preds, sw, valid, loss, per_out, masks=None):
        mvars = self.owner._metric_vars
        n_real = jnp.sum(valid)
        with StatelessScope(dict(zip((id(v) for v in mvars), mv))) as scope:
            for _, tracker, out in self.owner.config.loss_trackers:
                value = loss if out is None else per_out[out]
                tracker.update_state(value, sample_weight=n_real)
            for k, i in enumerate(self._targets):
                yp = _f32(preds[i])
                per_shape = yp.shape[:-1] if yp.ndim >= 2 else yp.shape
                om = masks[i] if masks is not None else None
                for _, metric, weighted in self._outputs[i].metrics:
                    w = _bcast_to(valid, per_shape)
                    if om is not None and len(om.shape) <= len(per_shape):
                        w = w * _bcast_to(om, per_shape).astype(w.dtype)
                    if weighted:
                        w = w * _bcast_to(sw[k], per_shape)
                    metric.update_state(y[k], yp, sample_weight=w)
        return [scope.updates.get(id(v), a) for v, a in zip(mvars, mv)]

    def results(self, mv) -> list:
        """The metrics' results (loss trackers first) for metric values `mv`."""
        mvars = self.owner._metric_vars
        metrics = [m for _, m in self.owner.config.all_metrics()]
        with StatelessScope(dict(zip((id(v) for v in mvars), mv))):
            return [m.result() for m in metrics]

    # ------------------------------------------------------------------ pure steps
    def train_step(self, state: dict, batch) -> dict:
        """One optimization step (see the module doc); pure."""
        owner = self.owner
        owner.trace_counts["train"] += 1
        model, io, opt = owner.net, owner.io, owner.optimizer
        tvars, ntvars, updatable = self.tvars, self.ntvars, self.updatable
        variables = tvars + ntvars
        nt = len(tvars)
        constraints = [v.constraint for v in tvars]
        x, y, sw, valid = batch
        scale_in_state = getattr(opt, "scale_loss_in_state", None)

        def scale(loss):
            if scale_in_state is not None:
                return scale_in_state(loss, state["opt"])
            return opt.scale_loss(loss)

        def loss_fn(tv):
            outs, masks, new_values, extra, rng = forward(
                model, variables, list(tv) + list(state["ntv"]), io.pack_x(x),
                training=True, rng=state["rng"], with_masks=io.masked_outputs,
            )
            preds = io.flatten_out(outs)
            masks = io.flatten_masks(masks)
            total, per_out = self.losses(y, preds, sw, valid, extra, masks)
            return scale(total), (total, preds, new_values[nt:], per_out, rng, masks)

        if nt:
            (_, (loss, preds, new_ntv, per_out, rng, masks)), grads = jax.value_and_grad(
                loss_fn, has_aux=True)(state["tv"])
            new_tv, new_opt = opt.update(list(grads), state["opt"], list(state["tv"]))
            new_tv = [c(v) if c is not None else v for c, v in zip(constraints, new_tv)]
        else:
            _, (loss, preds, new_ntv, per_out, rng, masks) = loss_fn(state["tv"])
            new_tv, new_opt = state["tv"], state["opt"]
        new_ntv = [n if u else o for n, o, u in zip(new_ntv, state["ntv"], updatable)]
        mv = self.update_metrics(state["mv"], y, preds, sw, valid, loss, per_out, masks)
        return {"tv": list(new_tv), "ntv": list(new_ntv), "opt": new_opt, "mv": mv,
                "rng": rng}

    def eval_step(self, tv, ntv, mv, batch) -> list:
        """Metric values after one evaluation batch (inference mode); pure."""
        owner = self.owner
        owner.trace_counts["eval"] += 1
        io = owner.io
        x, y, sw, valid = batch
        outs, masks, _, extra, _ = forward(owner.net, self.tvars + self.ntvars,
                                           list(tv) + list(ntv), io.pack_x(x), training=False,
                                           rng=None, with_masks=io.masked_outputs)
        preds = io.flatten_out(outs)
        masks = io.flatten_masks(masks)
        loss, per_out = self.losses(y, preds, sw, valid, extra, masks)
        return self.update_metrics(mv, y, preds, sw, valid, loss, per_out, masks)

    # ------------------------------------------------------------------ compiled forms
    def _jit(self, key, fn, donate=()):
        f = self._jitted.get(key)
        if f is None:
            opts = self.owner.compiler_options() or None
            f = fn if self.owner.run_eagerly else jax.jit(fn, donate_argnums=donate,
                                                          compiler_options=opts)
            self._jitted[key] = f
        return f

    def precompile(self, kind: str, batch_size: int, avals: tuple) -> bool:
        """Traces the training function of `kind` for arguments of types `avals`
        (jax.ShapeDtypeStruct pytrees) now and compiles it in a background
        thread; its first call waits for that. Returns whether it started."""
        if self.owner.run_eagerly:
            return False
        key = ("train", kind) if kind == "batch" else \
            ("train", kind, batch_taker(batch_size, _active_layout())[0])
        if key in self._jitted:
            return False
        jitted = self.train(kind, batch_size)
        try:
            lowered = jitted.trace(*avals).lower()
        except Exception:  # noqa: BLE001 - the first call compiles as usual
            return False
        self._jitted[key] = _Precompiled(jitted, _executor().submit(lowered.compile), avals)
        return True

    def train(self, kind: str, batch_size: int | None = None):
        """The compiled training function of `kind` ('batch', 'window_step',
        'window_block'); see the module doc for signatures. Window forms gather
        batches for the distribution active now (`batch_taker`)."""
        if kind == "batch":
            def batch_fn(state, batch):
                state = self.train_step(_wrap_rng(state), batch)
                return _unwrap_rng(state), self.results(state["mv"])

            return self._jit(("train", kind), batch_fn, donate=(0,))
        how, take = batch_taker(batch_size, _active_layout())

        if kind == "window_step":
            def window_step(state, window, perm, ctl):
                batch = take(window, perm, ctl[0])
                state = self.train_step(_wrap_rng(state), batch)
                return _unwrap_rng(state), self.results(state["mv"])

            return self._jit(("train", kind, how), window_step, donate=(0,))

        def window_block(state, window, perm, ctl):
            start = ctl[0]

            def body(i, st):
                return self.train_step(st, take(window, perm, start + i))

            state = jax.lax.fori_loop(0, ctl[1], body, _wrap_rng(state))
            return _unwrap_rng(state), self.results(state["mv"])

        return self._jit(("train", kind, how), window_block, donate=(0,))

    def evaluate(self, kind: str, batch_size: int | None = None):
        """The compiled evaluation function of `kind` (as `train`), taking
        (tv, ntv, mv, ...) and returning (mv, results)."""
        if kind == "batch":
            def batch_fn(tv, ntv, mv, batch):
                mv = self.eval_step(tv, ntv, mv, batch)
                return mv, self.results(mv)

            return self._jit(("eval", kind), batch_fn, donate=(2,))
        how, take = batch_taker(batch_size, _active_layout())

        if kind == "window_step":
            def window_step(tv, ntv, mv, window, perm, ctl):
                mv = self.eval_step(tv, ntv, mv, take(window, perm, ctl[0]))
                return mv, self.results(mv)

            return self._jit(("eval", kind, how), window_step, donate=(2,))

        def window_block(tv, ntv, mv, window, perm, ctl):
            start = ctl[0]

            def body(i, m):
                return self.eval_step(tv, ntv, m, take(window, perm, start + i))

            mv = jax.lax.fori_loop(0, ctl[1], body, mv)
            return mv, self.results(mv)

        return self._jit(("eval", kind, how), window_block, donate=(2,))

    def results_fn(self):
        """`results(mv)` compiled (for metric values not produced by a step)."""
        return self._jit(("results",), self.results)
