"""compile / fit / evaluate / train_on_batch / test_on_batch.

The train step is one pure function of
`state = {tv: trainable values, ntv: non-trainable values, opt: optimizer state,
mv: metric variable values, rng}` and a batch `(x, y, sw, valid)`, built with
`stateless_call` (here `_forward`, which also returns the random key and the
output masks) and jit-compiled once per batch signature (the function object
is cached on the trainer, so later epochs and later fit calls reuse it). The
model's Variables are written only at sync points: before callbacks that look at
the model (epoch ends, and batch hooks of user callbacks), and when fit/evaluate
return (also on an exception). Batches are gathered on the device by index
(see data_adapter); a smaller last batch is padded and masked with `valid`, so
losses and metrics are exact and no retrace happens.
"""

from __future__ import annotations

import numbers
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.scope import StatelessScope
from jkeras.training import data_adapter as da
from jkeras.training.compile_utils import CompileConfig, loss_kind, shape_tuple

_STATS_LAYERS = ("BatchNormalization", "SyncBatchNormalization")
_SPLIT = object()  # marks validation arrays cut from x by validation_split

_STANDARD_LOSSES = {
    "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle",
    "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "kld",
    "kullback_leibler_divergence", "poisson", "cosine_similarity", "huber", "huber_loss",
    "log_cosh", "logcosh", "binary_crossentropy", "binary_focal_crossentropy",
}


# ------------------------------------------------------------------------------------------
# model structure
# ------------------------------------------------------------------------------------------
def _updatable_ids(model) -> set:
    """Ids of non-trainable variables that training may change (BatchNorm
    statistics): those of layers that are trainable, as are all their parents."""
    ids, seen, stack = set(), set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen or not layer.trainable:
            continue
        seen.add(id(layer))
        ids.update(id(v) for v in layer._own_variables)
        stack.extend(getattr(layer, "_sublayers", []))
    return ids


def _forward(model, variables, values, inputs, training, rng, with_masks=False):
    """`engine.stateless.stateless_call` that also returns the random key left
    in the scope after the call (keys are split only as often as layers draw
    them, so a model without randomness compiles no key arithmetic, and the
    next step continues the key sequence) and, with `with_masks`, the
    outputs' Keras masks. Returns (outputs, masks, new_values, losses, rng)."""
    mapping = {id(v): val for v, val in zip(variables, values)}
    masks = None
    with StatelessScope(mapping, rng=rng) as scope:
        if with_masks:
            outputs, masks = model.call_with_masks(inputs, training)
        else:
            outputs = model(inputs, training=training)
        losses = list(scope.losses)
        for v in variables:
            if v.regularizer is not None:
                losses.append(v.regularizer(v.value))
    new_values = [scope.updates.get(id(v), val) for v, val in zip(variables, values)]
    return outputs, masks, new_values, losses, scope.rng


def _rows(x, n: int):
    return da.map_structure(lambda a: a[:n], x)


class ModelIO:
    """How user data maps onto the model's inputs and outputs."""

    def __init__(self, model):
        from jkeras.engine.functional import Functional

        self.model = model
        self.functional = isinstance(model, Functional)
        self.output_names: list[str] | None = None
        self.output_shapes: list[tuple] | None = None
        self._out_kind = "single"
        self._x_treedef = None
        self.input_dtypes: list | None = None
        self.masked_outputs = False
        if self.functional and model.built:
            self._from_graph()

    @property
    def ready(self) -> bool:
        return self.output_names is not None

    def _from_graph(self) -> None:
        m = self.model
        self.input_names = m.input_names
        self.input_dtypes = [t.dtype for t in m.inputs]
        self.output_names = list(m.output_names)
        self.output_shapes = [shape_tuple(t.shape) for t in m.outputs]
        s = m._outputs_struct
        self._out_kind = "dict" if isinstance(s, dict) else "list" if isinstance(
            s, (list, tuple)) else "single"
        self.masked_outputs = any(t._keras_mask is not None for t in m.outputs)

    def ensure_built(self, x) -> None:
        """Builds an unbuilt model (Sequential without input shape, subclassed) by
        calling it on the first rows of `x`."""
        if self.ready:
            return
        m = self.model
        sample = _rows(x, 2)
        if self.functional:
            m(sample)
            self._from_graph()
            return
        leaves, treedef = jax.tree_util.tree_flatten(sample)
        self._x_treedef = treedef
        self.input_dtypes = [None] * len(leaves)
        outs = m(sample)
        if isinstance(outs, dict):
            self._out_kind = "dict"
            self.output_names = list(outs)
            flat = [outs[k] for k in self.output_names]
        elif isinstance(outs, (list, tuple)):
            self._out_kind = "list"
            flat = list(outs)
            self.output_names = [f"output_{i + 1}" for i in range(len(flat))]
        else:
            flat = [outs]
            self.output_names = ["output_1"]
        self.output_shapes = [(None, *tuple(o.shape)[1:]) for o in flat]

    def flatten_x(self, x) -> list:
        if self.functional:
            return list(self.model.flatten_inputs(x))
        leaves, treedef = jax.tree_util.tree_flatten(x)
        if self._x_treedef is not None and treedef != self._x_treedef:
            raise ValueError(
                f"Model '{self.model.name}' was first called on inputs structured as "
                f"{self._x_treedef}, but got {treedef}. Pass inputs with the same structure."
            )
        return leaves

    def pack_x(self, flat: list):
        if self.functional:
            return flat[0] if len(flat) == 1 else list(flat)
        return jax.tree_util.tree_unflatten(self._x_treedef, list(flat))

    def flatten_masks(self, masks) -> list:
        if masks is None:
            return [None] * len(self.output_names)
        if self._out_kind == "single" or not isinstance(masks, (list, tuple, dict)):
            return [masks]
        return self.flatten_out(masks)

    def flatten_out(self, outs) -> list:
        if self._out_kind == "dict":
            return [outs[k] for k in self.output_names]
        if self._out_kind == "list":
            return list(outs)
        return [outs]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _as_array(a, what: str):
    a = da.to_host(a)
    if not isinstance(a, (np.ndarray, jax.Array)):
        raise TypeError(f"`{what}` must be an array, got {type(a).__name__}.")
    return a


def _cast_default(a, dtype=None):
    """float64 -> float32 and int64 -> int32 (JAX's defaults), or to `dtype`."""
    dt = np.dtype(a.dtype)
    if dtype is not None:
        target = np.dtype(dtype)
        if dt != target and not (np.issubdtype(target, np.integer)
                                 and np.issubdtype(dt, np.floating)):
            return a.astype(target)
        return a
    if dt == np.float64:
        return a.astype(np.float32)
    if dt == np.int64:
        return a.astype(np.int32)
    if dt == np.uint64:
        return a.astype(np.uint32)
    if dt == np.bool_:
        return a.astype(np.float32)
    return a


def _all_finite(a) -> bool:
    if not np.issubdtype(np.dtype(a.dtype), np.floating):
        return True
    if isinstance(a, jax.Array):
        return bool(jnp.isfinite(a).all())
    return bool(np.isfinite(a).all())


def _first_bad(a) -> int:
    bad = ~np.isfinite(np.asarray(a).reshape(len(a), -1)).all(axis=1)
    return int(np.argmax(bad))


def _nrows(a) -> int | None:
    return int(a.shape[0]) if getattr(a, "ndim", 0) > 0 else None


def _bcast_to(w, shape):
    while w.ndim < len(shape):
        w = w[..., None]
    return jnp.broadcast_to(w, shape)


def _scalar(v):
    a = np.asarray(v)
    return float(a) if a.ndim == 0 else a


# ------------------------------------------------------------------------------------------
# Trainer
# ------------------------------------------------------------------------------------------
class Trainer:
    """Holds what compile() set up and runs fit/evaluate for one model."""

    def __init__(self, model, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                 weighted_metrics=None, sample_weight_mode=None, run_eagerly=False,
                 steps_per_execution=1, jit_compile="auto"):
        from jkeras import optimizers

        self.model = model
        self.optimizer = optimizers.get(optimizer)
        self.config = CompileConfig(loss, metrics, loss_weights, weighted_metrics,
                                    sample_weight_mode)
        # jit_compile=False (as in Keras on JAX) runs the steps without jax.jit
        self.run_eagerly = bool(run_eagerly) or jit_compile is False
        self.steps_per_execution = int(steps_per_execution or 1)
        self.jit_compile = jit_compile
        self.io = ModelIO(model)
        self.trace_counts = {"train": 0, "eval": 0}
        self._fns: dict = {}
        self._opt_key = None
        self._metric_vars: list | None = None
        self._last_mv = None
        if self.io.ready:
            self.config.resolve(self.io.output_names, model.name)

    # ------------------------------------------------------------------ structure
    @property
    def outputs(self):
        return self.config.outputs

    def _prepare(self, x_sample) -> None:
        self.io.ensure_built(x_sample)
        self.config.resolve(self.io.output_names, self.model.name)

    @property
    def _targets(self) -> list[int]:
        return [i for i, o in enumerate(self.outputs) if o.has_target]

    def _variables(self):
        model = self.model
        tvars = list(model.trainable_weights)
        tids = {id(v) for v in tvars}
        ntvars = [v for v in model.weights if id(v) not in tids]
        upd = _updatable_ids(model)
        updatable = tuple(id(v) in upd for v in ntvars)
        return tvars, ntvars, updatable

    def _pad_ok(self, training: bool) -> bool:
        """Whether padding a short batch (masked rows) is exact: every layer must
        compute each sample independently of the others (`_batch_independent`,
        or BatchNormalization outside training) and add no activity loss.
        Otherwise short batches run at their size (one more trace)."""
        from jkeras.engine.functional import Functional

        seen, stack = set(), [self.model]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if getattr(layer, "activity_regularizer", None) is not None:
                return False
            if getattr(layer, "_batch_dependent", False):
                return False
            if isinstance(layer, Functional):
                stack.extend(layer._sublayers)  # a graph: as independent as its layers
                continue
            if getattr(layer, "_batch_independent", False):
                continue  # the whole layer, sublayers (an RNN's cell) included
            if not training and type(layer).__name__ in _STATS_LAYERS:
                continue
            return False
        return True

    # ------------------------------------------------------------------ metrics state
    def _build_metrics(self, y_shapes: list) -> None:
        targets = self._targets
        ys = [None] * len(self.outputs)
        for k, i in enumerate(targets):
            ys[i] = y_shapes[k] if k < len(y_shapes) else None
        built = self.config._metrics_built
        self.config.build_metrics(ys, self.io.output_shapes)
        if not built or self._metric_vars is None:
            seen, mvars = set(), []
            for _, m in self.config.all_metrics():
                for v in m.variables:
                    if id(v) not in seen:
                        seen.add(id(v))
                        mvars.append(v)
            self._metric_vars = mvars
            self._fns = {}  # the compiled steps update these metrics
            self._last_mv = None

    def _initial_mv(self) -> list:
        for _, m in self.config.all_metrics():
            m.reset_state()
        return [v.value for v in self._metric_vars]

    def _results_fn(self):
        fn = self._fns.get(("results",))
        if fn is None:
            metrics = [m for _, m in self.config.all_metrics()]
            mvars = self._metric_vars

            def results(mv):
                with StatelessScope(dict(zip((id(v) for v in mvars), mv))):
                    return [m.result() for m in metrics]

            fn = results if self.run_eagerly else jax.jit(results)
            self._fns[("results",)] = fn
        return fn

    def logs_from(self, mv) -> dict:
        names = [n for n, _ in self.config.all_metrics()]
        vals = jax.device_get(self._results_fn()(mv))
        return {n: _scalar(v) for n, v in zip(names, vals)}

    def _push_metrics(self, mv) -> None:
        for v, a in zip(self._metric_vars, mv):
            v.assign(a)
        self._last_mv = mv

    # ------------------------------------------------------------------ losses & metrics
    def _losses(self, y, preds, sw, valid, extra, masks=None):
        """Total loss (weighted sum of output losses + extra terms) and the
        per-output losses. Each output loss is the loss's own reduction of the
        per-sample losses weighted by the sample weights, with padded rows
        masked out (so 'sum_over_batch_size' divides by the real row count)."""
        total = None
        per_out = {}
        for k, i in enumerate(self._targets):
            spec = self.outputs[i]
            if spec.loss is None:
                continue
            loss = spec.loss
            yt, yp = y[k], preds[i]
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
            li = loss(yt, yp, sample_weight=w, mask=mask)
            per_out[i] = li
            term = li * spec.loss_weight
            total = term if total is None else total + term
        for e in extra:
            e = jnp.sum(jnp.asarray(e, dtype="float32"))
            total = e if total is None else total + e
        if total is None:
            raise ValueError(
                f"Model '{self.model.name}' has nothing to minimize: compile() was given no "
                f"loss and the model adds no loss (add_loss / regularizers). Pass "
                f"loss=... to compile()."
            )
        return total, per_out

    def _update_metrics(self, mv, y, preds, sw, valid, loss, per_out, masks=None):
        mvars = self._metric_vars
        n_real = jnp.sum(valid)
        with StatelessScope(dict(zip((id(v) for v in mvars), mv))) as scope:
            for _, tracker, out in self.config.loss_trackers:
                value = loss if out is None else per_out[out]
                tracker.update_state(value, sample_weight=n_real)
            for k, i in enumerate(self._targets):
                yp = preds[i]
                per_shape = yp.shape[:-1] if yp.ndim >= 2 else yp.shape
                om = masks[i] if masks is not None else None
                for _, metric, weighted in self.outputs[i].metrics:
                    w = _bcast_to(valid, per_shape)
                    if om is not None and len(om.shape) <= len(per_shape):
                        w = w * _bcast_to(om, per_shape).astype(w.dtype)
                    if weighted:
                        w = w * _bcast_to(sw[k], per_shape)
                    metric.update_state(y[k], yp, sample_weight=w)
        return [scope.updates.get(id(v), a) for v, a in zip(mvars, mv)]

    # ------------------------------------------------------------------ step functions
    def _train_fn(self, tvars, ntvars, updatable):
        key = ("train", tuple(map(id, tvars)), tuple(map(id, ntvars)), updatable)
        fn = self._fns.get(key)
        if fn is not None:
            return fn
        model, io, opt = self.model, self.io, self.optimizer
        variables = list(tvars) + list(ntvars)
        nt = len(tvars)
        constraints = [v.constraint for v in tvars]
        scale = getattr(opt, "scale_loss", None) or (lambda loss: loss)

        def step(state, batch):
            self.trace_counts["train"] += 1
            x, y, sw, valid = batch

            def loss_fn(tv):
                outs, masks, new_values, extra, rng = _forward(
                    model, variables, list(tv) + list(state["ntv"]), io.pack_x(x),
                    training=True, rng=state["rng"], with_masks=io.masked_outputs,
                )
                preds = io.flatten_out(outs)
                masks = io.flatten_masks(masks)
                total, per_out = self._losses(y, preds, sw, valid, extra, masks)
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
            mv = self._update_metrics(state["mv"], y, preds, sw, valid, loss, per_out, masks)
            return {"tv": list(new_tv), "ntv": list(new_ntv), "opt": new_opt, "mv": mv,
                    "rng": rng}

        fn = step if self.run_eagerly else jax.jit(step)
        self._fns[key] = fn
        return fn

    def _eval_fn(self, tvars, ntvars):
        key = ("eval", tuple(map(id, tvars)), tuple(map(id, ntvars)))
        fn = self._fns.get(key)
        if fn is not None:
            return fn
        model, io = self.model, self.io
        variables = list(tvars) + list(ntvars)

        def step(tv, ntv, mv, batch):
            self.trace_counts["eval"] += 1
            x, y, sw, valid = batch
            outs, masks, _, extra, _ = _forward(model, variables, list(tv) + list(ntv),
                                                io.pack_x(x), training=False, rng=None,
                                                with_masks=io.masked_outputs)
            preds = io.flatten_out(outs)
            masks = io.flatten_masks(masks)
            loss, per_out = self._losses(y, preds, sw, valid, extra, masks)
            return self._update_metrics(mv, y, preds, sw, valid, loss, per_out, masks)

        fn = step if self.run_eagerly else jax.jit(step)
        self._fns[key] = fn
        return fn

    # ------------------------------------------------------------------ optimizer
    def _ensure_optimizer(self, tvars) -> None:
        """Builds the optimizer state for the trainable variables of this fit
        (kept when they are the same; fresh when layers were frozen/unfrozen)."""
        opt = self.optimizer
        if hasattr(opt, "build"):
            opt.build(tvars)
            return
        key = tuple(map(id, tvars))
        if self._opt_key != key or getattr(opt, "state", None) is None:
            opt.state = opt.init([v.value for v in tvars])
            self._opt_key = key

    # ------------------------------------------------------------------ data
    def _flatten_targets(self, y, what: str) -> list:
        names = self.io.output_names
        n = len(names)
        if y is None:
            return [None] * n
        if isinstance(y, dict):
            unknown = [k for k in y if k not in names]
            if unknown:
                raise ValueError(
                    f"`{what}` has key(s) {unknown} that name no output of model "
                    f"'{self.model.name}'. Valid output names: {names}."
                )
            return [y.get(k) for k in names]
        if isinstance(y, (list, tuple)) and not da.is_array_like(y):
            if n == 1 and (len(y) != 1 or not da.is_array_like(y[0])):
                return [np.asarray(y)]
            if len(y) != n:
                raise ValueError(
                    f"`{what}` is a list of {len(y)} arrays, but model '{self.model.name}' has "
                    f"{n} output(s) {names}. Pass one array per output, in that order, or a "
                    f"dict keyed by output name."
                )
            return list(y)
        if n > 1:
            raise ValueError(
                f"`{what}` is a single array, but model '{self.model.name}' has {n} outputs "
                f"{names}. Pass a list of {n} arrays (one per output, in that order) or a dict "
                f"keyed by output name."
            )
        return [y]

    def _check_target(self, i: int, y, what: str):
        spec = self.outputs[i]
        name = spec.name
        pred = self.io.output_shapes[i]
        kind = loss_kind(spec.loss) if spec.loss is not None else ""
        units = pred[-1] if pred else None
        ys = tuple(y.shape)
        if kind == "categorical":
            if len(ys) == len(pred) - 1 or (len(ys) == len(pred) and ys[-1] == 1
                                            and units not in (None, 1)):
                raise ValueError(
                    f"Output '{name}' is trained with categorical_crossentropy, which expects "
                    f"one-hot targets of shape {pred}, but `{what}` has shape {ys} (class ids). "
                    f"Use loss='sparse_categorical_crossentropy' for integer class ids, or "
                    f"one-hot encode them with jkeras.utils.to_categorical(y, num_classes="
                    f"{units})."
                )
        if kind == "sparse":
            if len(ys) == len(pred) and ys[-1] == units and units not in (None, 1):
                raise ValueError(
                    f"Output '{name}' is trained with sparse_categorical_crossentropy, which "
                    f"expects integer class ids of shape {pred[:-1]}, but `{what}` has shape "
                    f"{ys} (one-hot). Use loss='categorical_crossentropy' for one-hot targets, "
                    f"or pass the class ids (y.argmax(axis=-1))."
                )
            ok_rank = len(ys) == len(pred) - 1 or (len(ys) == len(pred) and ys[-1] == 1)
            if not ok_rank:
                raise ValueError(
                    f"Output '{name}' has shape {pred}; sparse_categorical_crossentropy needs "
                    f"class ids of shape {pred[:-1]}, but `{what}` has shape {ys}."
                )
            if y.size and units is not None:
                arr = np.asarray(y)
                if np.issubdtype(arr.dtype, np.floating) and not np.all(np.mod(arr, 1) == 0):
                    raise ValueError(
                        f"Output '{name}' is trained with sparse_categorical_crossentropy, "
                        f"which expects integer class ids, but `{what}` holds non-integer "
                        f"values. Pass class ids 0..{units - 1}."
                    )
                lo, hi = int(arr.min()), int(arr.max())
                if lo < 0 or hi >= units:
                    raise ValueError(
                        f"`{what}` for output '{name}' holds class id(s) in [{lo}, {hi}], but the "
                        f"output has {units} units, so ids must be in [0, {units - 1}]. Give the "
                        f"last layer as many units as there are classes (Dense({hi + 1})) or "
                        f"fix the labels."
                    )
            return y
        if len(ys) == len(pred) - 1 and units == 1:
            y = y.reshape(*ys, 1)
            ys = tuple(y.shape)
        if kind == "binary" and y.size:
            arr = np.asarray(y)
            lo, hi = float(arr.min()), float(arr.max())
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"Output '{name}' is trained with binary_crossentropy, which expects targets "
                    f"in [0, 1], but `{what}` holds values in [{lo:g}, {hi:g}]. For several "
                    f"classes use a softmax output with sparse_categorical_crossentropy."
                )
        standard = kind in ("categorical", "binary") or _loss_name(spec.loss) in _STANDARD_LOSSES
        if standard and (len(ys) != len(pred) or any(
                p is not None and p != d for p, d in zip(pred[1:], ys[1:]))):
            raise ValueError(
                f"Output '{name}' has shape {pred}, but its target `{what}` has shape {ys}. "
                f"Targets must have the output's shape (batch first)."
            )
        return y

    def _standardize(self, x, y, sw, *, what_x="x", what_y="y", what_sw="sample_weight",
                     check_finite=True, checks=True):
        """Flat, checked numpy/jax arrays: (x list, y list, sw list) over the
        model inputs and the outputs that have a loss or metrics."""
        io = self.io
        x = da.map_structure(da.to_host, x)
        try:
            flat_x = io.flatten_x(x)
        except ValueError as e:
            raise ValueError(f"`{what_x}`: {e}") from None
        xs = []
        for j, a in enumerate(flat_x):
            a = _as_array(a, what_x)
            dt = io.input_dtypes[j] if io.input_dtypes else None
            xs.append(_cast_default(a, dt))
        targets = self._targets
        flat_y = self._flatten_targets(y, what_y)
        names = io.output_names
        ys = []
        missing = [names[i] for i in targets if flat_y[i] is None]
        if missing:
            if y is None:
                raise ValueError(
                    f"Model '{self.model.name}' has a loss (or metrics) for output(s) {missing}, "
                    f"so it needs targets: pass `{what_y}` (one array per output, or a dict "
                    f"keyed by output name)."
                )
            raise ValueError(
                f"No targets given for output(s) {missing} of model '{self.model.name}', which "
                f"have a loss or metrics. Pass them in `{what_y}`, or set their loss to None."
            )
        for i in targets:
            a = _cast_default(_as_array(flat_y[i], what_y))
            lbl = what_y if len(names) == 1 else f"{what_y}['{names[i]}']"
            ys.append(self._check_target(i, a, lbl) if checks else a)
        counts = {}
        for j, a in enumerate(xs):
            counts[f"{what_x}[{j}]" if len(xs) > 1 else what_x] = _nrows(a)
        for k, i in enumerate(targets):
            counts[f"{what_y}['{names[i]}']" if len(names) > 1 else what_y] = _nrows(ys[k])
        sizes = {v for v in counts.values() if v is not None}
        if len(sizes) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
            raise ValueError(
                f"Data cardinality is ambiguous: the arrays have different numbers of samples "
                f"({detail}). Make sure `{what_x}` and `{what_y}` hold the same number of "
                f"samples (rows)."
            )
        n = sizes.pop() if sizes else 0
        sws = self._standardize_weights(sw, n, ys, what_sw)
        if check_finite:
            for j, a in enumerate(xs):
                if not _all_finite(a):
                    nm = io.input_names[j] if io.functional else str(j)
                    raise ValueError(
                        f"`{what_x}` (input '{nm}') contains NaN or infinite values (first at "
                        f"sample {_first_bad(a)}). Clean or impute the data before training, "
                        f"or pass check_finite=False to skip this check."
                    )
            for k, a in enumerate(ys):
                if not _all_finite(a):
                    raise ValueError(
                        f"`{what_y}` (output '{names[targets[k]]}') contains NaN or infinite "
                        f"values (first at sample {_first_bad(a)}). Clean the targets, or pass "
                        f"check_finite=False to skip this check."
                    )
        return xs, ys, sws

    def _standardize_weights(self, sw, n: int, ys: list, what: str) -> list:
        targets = self._targets
        names = self.io.output_names
        if sw is None:
            per = [None] * len(names)
        elif isinstance(sw, dict):
            unknown = [k for k in sw if k not in names]
            if unknown:
                raise ValueError(
                    f"`{what}` has key(s) {unknown} that name no output of model "
                    f"'{self.model.name}'. Valid output names: {names}."
                )
            per = [sw.get(k) for k in names]
        elif isinstance(sw, (list, tuple)) and not da.is_array_like(sw) and (
                len(names) > 1 or (len(sw) == 1 and da.is_array_like(sw[0]))):
            if len(sw) != len(names):
                raise ValueError(
                    f"`{what}` is a list of {len(sw)} arrays, but model '{self.model.name}' has "
                    f"{len(names)} outputs {names}. Pass one per output or a dict by name."
                )
            per = list(sw)
        else:
            per = [sw] * len(names)
        out = []
        for i in targets:
            w = per[i]
            if w is None:
                out.append(np.ones((n,), dtype="float32"))
                continue
            w = np.asarray(da.to_host(w), dtype="float32")
            pred = self.io.output_shapes[i]
            per_rank = max(len(pred) - 1, 1)
            lbl = what if len(names) == 1 else f"{what}['{names[i]}']"
            if w.ndim == 2 and w.shape[1] == 1 and per_rank == 1:
                w = w[:, 0]
            if w.ndim == 0 or w.shape[0] != n:
                raise ValueError(
                    f"`{lbl}` has shape {w.shape}, but there are {n} samples: give one weight "
                    f"per sample, shape ({n},)."
                )
            if w.ndim > 1:
                time_ok = (w.ndim <= per_rank and all(
                    p is None or p == d for p, d in zip(pred[1:w.ndim], w.shape[1:])))
                if not time_ok:
                    raise ValueError(
                        f"`{lbl}` has shape {w.shape}; expected ({n},) (one weight per sample)"
                        f"{' or (' + str(n) + ', timesteps) per timestep' if per_rank > 1 else ''}"
                        f". Output '{names[i]}' has shape {pred}. For per-timestep weights "
                        f"use compile(sample_weight_mode='temporal') with a sequence output."
                    )
            if not np.isfinite(w).all():
                raise ValueError(f"`{lbl}` contains NaN or infinite weights.")
            out.append(w)
        return out

    def _class_weight_tables(self, class_weight) -> list:
        """Per target output: a dict {class id: weight} or None."""
        targets = self._targets
        names = self.io.output_names
        if class_weight is None:
            return [None] * len(targets)
        if not isinstance(class_weight, (dict, list, tuple)):
            raise TypeError(
                f"class_weight must be a dict {{class id: weight}} (or a dict of such dicts "
                f"keyed by output name), got {type(class_weight).__name__}."
            )
        if isinstance(class_weight, (list, tuple)):
            if len(class_weight) != len(names):
                raise ValueError(
                    f"class_weight is a list of {len(class_weight)} dicts, but the model has "
                    f"{len(names)} outputs {names}."
                )
            per = list(class_weight)
        elif class_weight and all(isinstance(k, str) for k in class_weight):
            unknown = [k for k in class_weight if k not in names]
            if unknown:
                raise ValueError(
                    f"class_weight has key(s) {unknown} that name no output of model "
                    f"'{self.model.name}'. Valid output names: {names}. (For a single output, "
                    f"use a dict of class ids: {{0: 1.0, 1: 5.0}}.)"
                )
            per = [class_weight.get(k) for k in names]
        else:
            if len(names) > 1:
                raise ValueError(
                    f"class_weight for model '{self.model.name}' with several outputs {names} "
                    f"must be a dict keyed by output name, each value a dict {{class id: "
                    f"weight}}."
                )
            per = [class_weight]
        out = []
        for i in targets:
            cw = per[i]
            if cw is None:
                out.append(None)
                continue
            if not isinstance(cw, dict):
                raise TypeError(
                    f"class_weight for output '{names[i]}' must be a dict {{class id: weight}}, "
                    f"got {type(cw).__name__}."
                )
            table = {}
            for k, v in cw.items():
                if not isinstance(k, (numbers.Integral, np.integer)) or k < 0:
                    raise ValueError(
                        f"class_weight keys must be non-negative integer class ids; got {k!r} "
                        f"for output '{names[i]}'."
                    )
                table[int(k)] = float(v)
            out.append(table)
        return out

    def _apply_class_weights(self, tables, ys, sws, what="class_weight") -> list:
        out = []
        for k, i in enumerate(self._targets):
            table = tables[k] if k < len(tables) else None
            if table is None:
                out.append(sws[k])
                continue
            y = np.asarray(ys[k])
            pred = self.io.output_shapes[i]
            kind = loss_kind(self.outputs[i].loss)
            if kind == "sparse" or y.ndim == len(pred) - 1 or y.shape[-1] == 1:
                ids = np.rint(y).astype("int64")
                if y.ndim == len(pred) and y.shape[-1] == 1:
                    ids = ids[..., 0]
            else:
                ids = np.argmax(y, axis=-1)
            present = np.unique(ids)
            missing = [int(c) for c in present if int(c) not in table]
            if missing:
                raise ValueError(
                    f"`{what}` for output '{self.outputs[i].name}' has no weight for class(es) "
                    f"{missing}, which occur in the targets. Give every class a weight "
                    f"(classes present: {[int(c) for c in present]})."
                )
            lut = np.ones(int(max(max(table), present.max(initial=0))) + 1, dtype="float32")
            for c, v in table.items():
                lut[c] = v
            cw = lut[ids]
            w = sws[k]
            if w.ndim < cw.ndim:
                w = w.reshape(w.shape + (1,) * (cw.ndim - w.ndim))
            out.append((w * cw).astype("float32"))
        return out

    def _make_handler(self, x, y, sw, *, batch_size, shuffle, steps, class_weight,
                      check_finite, training, what_x="x", what_y="y", workers=None,
                      max_queue_size=10, cache_one_shot=False, samples_per_epoch=None):
        """A DataHandler for arrays or a dataset; builds the model and metrics."""
        pad = self._pad_ok(training)
        if da.is_dataset(x):
            if y is not None:
                raise ValueError(
                    f"`{what_y}` must not be given when `{what_x}` is a dataset or generator: "
                    f"the dataset yields (x, y) or (x, y, sample_weight) batches."
                )
            if sw is not None:
                raise ValueError(
                    "sample_weight must not be given with a dataset or generator; yield "
                    "(x, y, sample_weight) batches instead."
                )
            tables = None

            def standardize(item, first):
                nonlocal tables
                bx, by, bsw = da.unpack_batch(item)
                if first:
                    self._prepare(da.map_structure(da.to_host, bx))
                    tables = self._class_weight_tables(class_weight)
                xs, ys, sws = self._standardize(
                    bx, by, bsw, what_x=f"{what_x} batch", what_y=f"{what_x} batch targets",
                    what_sw=f"{what_x} batch sample_weight",
                    check_finite=check_finite and first, checks=first)
                if class_weight is not None:
                    sws = self._apply_class_weights(tables, ys, sws)
                if first:
                    self._build_metrics([tuple(a.shape) for a in ys])
                return xs, ys, sws

            return da.IterableHandler(x, standardize, steps=steps, shuffle=shuffle, pad=pad,
                                      workers=workers, max_queue_size=max_queue_size,
                                      cache_one_shot=cache_one_shot,
                                      samples_per_epoch=samples_per_epoch, what=what_x)
        if x is None:
            raise ValueError(f"`{what_x}` is required: pass the input data.")
        std = self._standardize_arrays(x, y, sw, what_x=what_x, what_y=what_y,
                                       check_finite=check_finite)
        xs, ys, sws = std
        if class_weight is not None:
            sws = self._apply_class_weights(self._class_weight_tables(class_weight), ys, sws)
        return self._array_handler(xs, ys, sws, batch_size, shuffle, steps, pad, what_x)

    def _standardize_arrays(self, x, y, sw, what_x="x", what_y="y", check_finite=True):
        hx = da.map_structure(da.to_host, x)
        self._prepare(hx)
        std = self._standardize(hx, y, sw, what_x=what_x, what_y=what_y,
                                check_finite=check_finite)
        self._build_metrics([tuple(a.shape) for a in std[1]])
        return std

    def _array_handler(self, xs, ys, sws, batch_size, shuffle, steps, pad, what_x="x"):
        n = da.num_rows(xs + ys + sws)
        if n == 0:
            raise ValueError(
                f"`{what_x}` holds no samples (0 rows): pass a non-empty dataset."
            )
        return da.ArrayHandler(xs, ys, sws, batch_size, shuffle=shuffle, steps=steps, pad=pad)

    # ------------------------------------------------------------------ sync
    def _state_from_model(self, tvars, ntvars, with_opt=True) -> dict:
        st = {"tv": [v.value for v in tvars], "ntv": [v.value for v in ntvars]}
        if with_opt:
            st["opt"] = self.optimizer.state
        return st

    def _push(self, st, tvars, ntvars) -> None:
        for v, a in zip(tvars, st["tv"]):
            v.assign(a)
        for v, a in zip(ntvars, st["ntv"]):
            v.assign(a)
        if "opt" in st:
            self.optimizer.state = st["opt"]

    def _pull(self, st, tvars, ntvars) -> None:
        st["tv"] = [v.value for v in tvars]
        st["ntv"] = [v.value for v in ntvars]
        if "opt" in st:
            st["opt"] = self.optimizer.state

    # ------------------------------------------------------------------ evaluation loop
    def _eval_loop(self, handler, tv, ntv, tvars, ntvars, callbacks, run_index=0):
        fn = self._eval_fn(tvars, ntvars)
        mv = self._initial_mv()
        begin = callbacks.has_batch_hooks("test_begin")
        end = callbacks.has_batch_hooks("test_end")
        callbacks.on_test_begin()
        for step, batch in enumerate(handler.epoch(run_index)):
            if begin:
                callbacks.on_test_batch_begin(step)
            mv = fn(tv, ntv, mv, batch)
            if end:
                callbacks.on_test_batch_end(step, lambda mv=mv: self.logs_from(mv))
        logs = self.logs_from(mv)
        callbacks.on_test_end(logs)
        return logs, mv

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=None,
            use_multiprocessing=False, check_finite=True, samples_per_epoch=None,
            validation_samples=None):
        from jkeras.callbacks import CallbackList

        model = self.model
        batch_size = _check_batch_size(batch_size, "batch_size")
        epochs = _check_int(epochs, "epochs", minimum=0)
        initial_epoch = _check_int(initial_epoch, "initial_epoch", minimum=0)
        verbose = _check_verbose(verbose)
        if steps_per_epoch is not None:
            steps_per_epoch = _check_int(steps_per_epoch, "steps_per_epoch", minimum=1)
        if validation_steps is not None:
            validation_steps = _check_int(validation_steps, "validation_steps", minimum=1)
        if not isinstance(validation_split, numbers.Number) or not 0 <= validation_split < 1:
            raise ValueError(
                f"validation_split must be a fraction in [0, 1), got {validation_split!r}."
            )
        freq = _check_validation_freq(validation_freq)
        is_ds = da.is_dataset(x)
        if validation_split and is_ds:
            raise ValueError(
                "validation_split only works with array inputs: it cannot split a generator "
                "or dataset. Pass validation_data=... (arrays or another dataset) instead."
            )
        if validation_split and validation_data is not None:
            warnings.warn("fit(): both validation_data and validation_split given; "
                          "validation_data is used.", stacklevel=3)
            validation_split = 0.0
        if validation_data is not None:
            validation_data = _unpack_validation(validation_data)

        # ---- data
        if is_ds:
            train = self._make_handler(x, y, sample_weight, batch_size=batch_size,
                                       shuffle=shuffle, steps=steps_per_epoch,
                                       class_weight=class_weight, check_finite=check_finite,
                                       training=True, workers=workers,
                                       max_queue_size=max_queue_size,
                                       samples_per_epoch=samples_per_epoch)
        else:
            if x is None:
                raise ValueError("fit() needs input data: pass x (and y).")
            xs, ys, sws = self._standardize_arrays(x, y, sample_weight,
                                                   check_finite=check_finite)
            val_arrays = None
            if validation_split:
                n = da.num_rows(xs + ys + sws)
                split = int(n * (1.0 - validation_split))
                if split == 0 or split == n:
                    raise ValueError(
                        f"validation_split={validation_split} leaves "
                        f"{'no training' if split == 0 else 'no validation'} samples out of "
                        f"{n}. Use a split that keeps samples on both sides."
                    )
                val_arrays = ([a[split:] for a in xs], [a[split:] for a in ys],
                              [a[split:] for a in sws])
                xs, ys, sws = ([a[:split] for a in xs], [a[:split] for a in ys],
                               [a[:split] for a in sws])
            if class_weight is not None:
                sws = self._apply_class_weights(self._class_weight_tables(class_weight), ys,
                                                sws)
            train = self._array_handler(xs, ys, sws, batch_size, shuffle, steps_per_epoch,
                                        self._pad_ok(True))
            if val_arrays is not None:
                validation_data = (_SPLIT, val_arrays)
        val = None
        if validation_data is not None:
            vbs = _check_batch_size(validation_batch_size or batch_size,
                                    "validation_batch_size")
            if validation_data[0] is _SPLIT:
                vx, vy, vsw = validation_data[1]
                val = self._array_handler(vx, vy, vsw, vbs, False, validation_steps,
                                          self._pad_ok(False), "validation_data")
            else:
                vx, vy, vsw = validation_data
                val = self._make_handler(vx, vy, vsw, batch_size=vbs, shuffle=False,
                                         steps=validation_steps, class_weight=None,
                                         check_finite=check_finite, training=False,
                                         what_x="validation_data x",
                                         what_y="validation_data y", cache_one_shot=True,
                                         samples_per_epoch=validation_samples)

        # ---- state
        tvars, ntvars, updatable = self._variables()
        self._ensure_optimizer(tvars)
        train_fn = self._train_fn(tvars, ntvars, updatable)
        from jkeras.backend.random import next_key

        state = self._state_from_model(tvars, ntvars)
        state["rng"] = next_key()
        state["mv"] = self._initial_mv()

        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                           verbose=verbose, epochs=epochs, steps=train.steps,
                           batch_size=batch_size, samples=train.num_samples,
                           do_validation=val is not None,
                           metrics=self._param_metrics(val is not None))
        model.stop_training = False
        model._initial_epoch = None
        begin_hooks = cbs.has_batch_hooks("train_begin")
        end_hooks = cbs.has_batch_hooks("train_end")
        sync_begin = cbs.needs_batch_sync("train_begin")
        sync_end = cbs.needs_batch_sync("train_end")
        epoch_logs: dict = {}
        val_runs = 0
        try:
            self._push(state, tvars, ntvars)
            cbs.on_train_begin()
            self._pull(state, tvars, ntvars)
            if model._initial_epoch is not None:
                initial_epoch = int(model._initial_epoch)
            for epoch in range(initial_epoch, epochs):
                state["mv"] = self._initial_mv()
                cbs.on_epoch_begin(epoch)
                self._pull(state, tvars, ntvars)
                steps_done = 0
                for step, batch in enumerate(train.epoch(epoch)):
                    if begin_hooks:
                        if sync_begin:
                            self._push(state, tvars, ntvars)
                        cbs.on_train_batch_begin(step)
                        if sync_begin:
                            self._pull(state, tvars, ntvars)
                    state = train_fn(state, batch)
                    steps_done += 1
                    if end_hooks:
                        if sync_end:
                            self._push(state, tvars, ntvars)
                        cbs.on_train_batch_end(step, lambda mv=state["mv"]: self.logs_from(mv))
                        if sync_end:
                            self._pull(state, tvars, ntvars)
                    if model.stop_training:
                        break
                if steps_done == 0 and train.exhausted:
                    break
                train.on_epoch_end()
                epoch_logs = self.logs_from(state["mv"])
                self._last_mv = state["mv"]
                if val is not None and freq(epoch):
                    val_logs, _ = self._eval_loop(val, state["tv"], state["ntv"], tvars, ntvars,
                                                  cbs, val_runs)
                    val_runs += 1
                    val.on_epoch_end()
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                self._push(state, tvars, ntvars)
                cbs.on_epoch_end(epoch, epoch_logs)
                self._pull(state, tvars, ntvars)
                if model.stop_training or train.exhausted:
                    break
        finally:
            self._push(state, tvars, ntvars)
            self._push_metrics(state["mv"])
            train.close()
            if val is not None:
                val.close()
        cbs.on_train_end(epoch_logs)
        return cbs.history

    def _param_metrics(self, with_val: bool) -> list[str]:
        names = self.config.metric_names()
        return names + (["val_" + n for n in names] if with_val else [])

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, check_finite=True,
                 max_queue_size=10, workers=None, use_multiprocessing=False, samples=None):
        from jkeras.callbacks import CallbackList

        batch_size = _check_batch_size(batch_size, "batch_size")
        verbose = _check_verbose(verbose)
        if steps is not None:
            steps = _check_int(steps, "steps", minimum=1)
        handler = self._make_handler(x, y, sample_weight, batch_size=batch_size, shuffle=False,
                                     steps=steps, class_weight=None, check_finite=check_finite,
                                     training=False, workers=workers,
                                     max_queue_size=max_queue_size, samples_per_epoch=samples)
        tvars, ntvars, _ = self._variables()
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self.model,
                           verbose=verbose, epochs=1, steps=handler.steps)
        st = self._state_from_model(tvars, ntvars, with_opt=False)
        try:
            logs, mv = self._eval_loop(handler, st["tv"], st["ntv"], tvars, ntvars, cbs)
        finally:
            handler.close()
        self._push_metrics(mv)
        return self._format(logs, return_dict)

    def _format(self, logs: dict, return_dict: bool):
        if return_dict:
            return dict(logs)
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ on batch
    def _batch_arrays(self, x, y, sample_weight, class_weight):
        xs, ys, sws = self._standardize_arrays(x, y, sample_weight, check_finite=True)
        if class_weight is not None:
            sws = self._apply_class_weights(self._class_weight_tables(class_weight), ys, sws)
        n = da.num_rows(xs + ys + sws)
        if n == 0:
            raise ValueError("The batch holds no samples (0 rows).")
        to = jnp.asarray
        return ([to(a) for a in xs], [to(a) for a in ys], [to(a) for a in sws],
                jnp.ones((n,), dtype="float32"))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        batch = self._batch_arrays(x, y, sample_weight, class_weight)
        tvars, ntvars, updatable = self._variables()
        self._ensure_optimizer(tvars)
        fn = self._train_fn(tvars, ntvars, updatable)
        from jkeras.backend.random import next_key

        st = self._state_from_model(tvars, ntvars)
        st["rng"] = next_key()
        st["mv"] = self._initial_mv() if reset_metrics or self._last_mv is None else \
            self._last_mv
        st = fn(st, batch)
        self._push(st, tvars, ntvars)
        self._push_metrics(st["mv"])
        return self._format(self.logs_from(st["mv"]), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        batch = self._batch_arrays(x, y, sample_weight, None)
        tvars, ntvars, _ = self._variables()
        fn = self._eval_fn(tvars, ntvars)
        st = self._state_from_model(tvars, ntvars, with_opt=False)
        mv = self._initial_mv() if reset_metrics or self._last_mv is None else self._last_mv
        mv = fn(st["tv"], st["ntv"], mv, batch)
        self._push_metrics(mv)
        return self._format(self.logs_from(mv), return_dict)

    def reset_metrics(self) -> None:
        for _, m in self.config.all_metrics():
            m.reset_state()
        self._last_mv = None


# ------------------------------------------------------------------------------------------
# argument checks
# ------------------------------------------------------------------------------------------
def _check_int(v, name: str, minimum: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise TypeError(f"{name} must be an integer, got {v!r}.")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}.")
    return int(v)


def _check_batch_size(v, name: str) -> int:
    if v is None:
        return 32
    return _check_int(v, name, minimum=1)


def _check_verbose(v) -> int:
    if isinstance(v, str) and v == "auto":
        return 1
    if isinstance(v, (numbers.Integral, np.integer)) and int(v) in (0, 1, 2):
        return int(v)
    raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {v!r}.")


def _check_validation_freq(freq):
    if isinstance(freq, (numbers.Integral, np.integer)) and not isinstance(freq, bool):
        if freq < 1:
            raise ValueError(f"validation_freq must be >= 1, got {freq}.")
        f = int(freq)
        return lambda epoch: (epoch + 1) % f == 0
    if isinstance(freq, (list, tuple, set, range)):
        epochs = {int(e) for e in freq}
        return lambda epoch: (epoch + 1) in epochs
    raise TypeError(
        f"validation_freq must be an integer (validate every N epochs) or a list of epochs "
        f"(1-based), got {freq!r}."
    )


def _unpack_validation(data):
    if da.is_dataset(data):
        return data, None, None
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        return tuple(data) if len(data) == 3 else (data[0], data[1], None)
    raise ValueError(
        "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), "
        f"or a dataset/generator; got {type(data).__name__}"
        f"{' of length ' + str(len(data)) if hasattr(data, '__len__') else ''}."
    )


def _loss_name(loss) -> str:
    for obj in (loss, getattr(loss, "fn", None)):
        for attr in ("name", "__name__"):
            v = getattr(obj, attr, None)
            if isinstance(v, str) and v.lower() in _STANDARD_LOSSES:
                return v.lower()
    return ""

# ------------------------------------------------------------------------------------------
# entry points used by Model methods
# ------------------------------------------------------------------------------------------
_COMPILE_EXTRA = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss",
                  "pss_evaluation_shards")


def _legacy(kwargs: dict, old: str, new: str, where: str):
    if old not in kwargs:
        return None
    warnings.warn(f"{where}({old}=...) is the Keras 1 spelling; use {new}=... instead.",
                  DeprecationWarning, stacklevel=4)
    return kwargs.pop(old)


def trainer_of(model, action: str) -> Trainer:
    trainer = getattr(model, "_trainer", None)
    if trainer is None:
        raise RuntimeError(
            f"Model '{model.name}' must be compiled before {action}: call "
            f"model.compile(optimizer=..., loss=...) first."
        )
    return trainer


def compile_model(model, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                  sample_weight_mode=None, weighted_metrics=None, **kwargs) -> None:
    """Configures `model` for training (see `Model.compile`)."""
    unknown = [k for k in kwargs if k not in _COMPILE_EXTRA]
    if unknown:
        raise TypeError(
            f"compile() got unexpected keyword argument(s) {unknown}. Valid arguments: "
            f"optimizer, loss, metrics, loss_weights, weighted_metrics, sample_weight_mode, "
            f"{', '.join(_COMPILE_EXTRA)}."
        )
    # Keras 3 positional order is (optimizer, loss, loss_weights, metrics): a list of
    # numbers in the metrics position is loss weights.
    if loss_weights is None and _all_numbers(metrics):
        loss_weights, metrics = metrics, None
    model._trainer = None
    trainer = Trainer(model, optimizer=optimizer, loss=loss, metrics=metrics,
                      loss_weights=loss_weights, weighted_metrics=weighted_metrics,
                      sample_weight_mode=sample_weight_mode,
                      run_eagerly=kwargs.get("run_eagerly") or False,
                      steps_per_execution=kwargs.get("steps_per_execution") or 1,
                      jit_compile=kwargs.get("jit_compile", "auto"))
    model._trainer = trainer
    model.optimizer = trainer.optimizer
    model.loss = loss
    model.loss_weights = loss_weights
    model._compile_config = {
        "optimizer": trainer.optimizer, "loss": loss, "metrics": metrics,
        "loss_weights": loss_weights, "weighted_metrics": weighted_metrics,
        **({"sample_weight_mode": sample_weight_mode} if sample_weight_mode else {}),
        **{k: kwargs[k] for k in ("steps_per_execution", "jit_compile", "run_eagerly")
           if k in kwargs},
    }
    model.compiled = True


def _all_numbers(v) -> bool:
    if isinstance(v, dict):
        vals = list(v.values())
    elif isinstance(v, (list, tuple)):
        vals = list(v)
    else:
        return False
    return bool(vals) and all(isinstance(a, numbers.Number) and not isinstance(a, bool)
                              for a in vals)


_FIT_EXTRA = ("validation_steps", "validation_batch_size", "validation_freq", "max_queue_size",
              "workers", "use_multiprocessing", "check_finite")


def fit_model(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
              validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
              sample_weight=None, initial_epoch=0, steps_per_epoch=None, **kwargs):
    """Trains `model` (see `Model.fit`); returns the History."""
    nb_epoch = _legacy(kwargs, "nb_epoch", "epochs", "fit")
    if nb_epoch is not None:
        if epochs not in (1, nb_epoch):
            raise ValueError(f"fit() got both epochs={epochs} and nb_epoch={nb_epoch}; use "
                             f"epochs only.")
        epochs = nb_epoch
    unknown = [k for k in kwargs if k not in _FIT_EXTRA]
    if unknown:
        raise TypeError(
            f"fit() got unexpected keyword argument(s) {unknown}. Valid extra arguments: "
            f"{list(_FIT_EXTRA)} (and Keras 1 nb_epoch)."
        )
    trainer = trainer_of(model, "fit")
    return trainer.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                       callbacks=callbacks, validation_split=validation_split,
                       validation_data=validation_data, shuffle=shuffle,
                       class_weight=class_weight, sample_weight=sample_weight,
                       initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch, **kwargs)


def evaluate_model(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                   steps=None, callbacks=None, return_dict=False, **kwargs):
    """Loss and metrics of `model` on data (see `Model.evaluate`)."""
    unknown = [k for k in kwargs if k not in ("max_queue_size", "workers",
                                              "use_multiprocessing", "check_finite")]
    if unknown:
        raise TypeError(f"evaluate() got unexpected keyword argument(s) {unknown}.")
    trainer = trainer_of(model, "evaluate")
    return trainer.evaluate(x, y, batch_size=batch_size, verbose=verbose,
                            sample_weight=sample_weight, steps=steps, callbacks=callbacks,
                            return_dict=return_dict, **kwargs)


def fit_generator_model(model, generator, steps_per_epoch=None, epochs=1, verbose=1,
                        callbacks=None, validation_data=None, validation_steps=None,
                        validation_freq=1, class_weight=None, max_queue_size=10, workers=1,
                        use_multiprocessing=False, shuffle=True, initial_epoch=0, **kwargs):
    """Keras 1/2 `fit_generator`: fit on a generator of batches."""
    epochs_old = _legacy(kwargs, "nb_epoch", "epochs", "fit_generator")
    if epochs_old is not None:
        epochs = epochs_old
    samples = _legacy(kwargs, "samples_per_epoch", "steps_per_epoch", "fit_generator")
    val_samples = _legacy(kwargs, "nb_val_samples", "validation_steps", "fit_generator")
    w = _legacy(kwargs, "nb_worker", "workers", "fit_generator")
    workers = w if w is not None else workers
    q = _legacy(kwargs, "max_q_size", "max_queue_size", "fit_generator")
    max_queue_size = q if q is not None else max_queue_size
    _legacy(kwargs, "pickle_safe", "use_multiprocessing", "fit_generator")
    if kwargs:
        raise TypeError(f"fit_generator() got unexpected keyword argument(s) {sorted(kwargs)}.")
    if not da.is_dataset(generator):
        raise TypeError(
            f"fit_generator expects a generator or dataset of batches, got "
            f"{type(generator).__name__}. For arrays use fit(x, y)."
        )
    trainer = trainer_of(model, "fit_generator")
    return trainer.fit(generator, None, epochs=epochs, verbose=verbose, callbacks=callbacks,
                       validation_data=validation_data, validation_steps=validation_steps,
                       validation_freq=validation_freq, class_weight=class_weight,
                       max_queue_size=max_queue_size, workers=workers, shuffle=shuffle,
                       initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                       samples_per_epoch=samples, validation_samples=val_samples)


def evaluate_generator_model(model, generator, steps=None, max_queue_size=10, workers=1,
                             use_multiprocessing=False, verbose=0, **kwargs):
    """Keras 1/2 `evaluate_generator`."""
    samples = _legacy(kwargs, "val_samples", "steps", "evaluate_generator")
    for old, new in (("nb_worker", "workers"), ("max_q_size", "max_queue_size"),
                     ("pickle_safe", "use_multiprocessing")):
        _legacy(kwargs, old, new, "evaluate_generator")
    if kwargs:
        raise TypeError(
            f"evaluate_generator() got unexpected keyword argument(s) {sorted(kwargs)}."
        )
    trainer = trainer_of(model, "evaluate_generator")
    return trainer.evaluate(generator, None, steps=steps, verbose=verbose,
                            max_queue_size=max_queue_size, workers=workers, samples=samples)


def predict_generator_model(model, generator, steps=None, verbose=0, **kwargs):
    """Keras 1/2 `predict_generator`: predictions for the batches of a generator
    (items may be x, or (x, y) whose y is ignored)."""
    from jkeras.training.inference import predict_on_batch

    samples = _legacy(kwargs, "val_samples", "steps", "predict_generator")
    for old in ("nb_worker", "max_q_size", "pickle_safe", "max_queue_size", "workers",
                "use_multiprocessing"):
        kwargs.pop(old, None)
    if kwargs:
        raise TypeError(
            f"predict_generator() got unexpected keyword argument(s) {sorted(kwargs)}."
        )
    it = iter(generator) if not da.is_pydataset(generator) else (
        generator[i] for i in range(len(generator)))
    chunks, seen, count = [], 0, 0
    for item in it:
        bx, _, _ = da.unpack_batch(item)
        out = predict_on_batch(model, da.map_structure(da.to_host, bx))
        chunks.append(out)
        count += 1
        seen += da.num_rows(jax.tree_util.tree_leaves(da.map_structure(da.to_host, bx)))
        if steps is not None and count >= steps:
            break
        if samples is not None and seen >= samples:
            break
    if not chunks:
        raise ValueError("predict_generator: the generator produced no batch.")
    first = chunks[0]
    if isinstance(first, dict):
        return {k: np.concatenate([c[k] for c in chunks]) for k in first}
    if isinstance(first, list):
        return [np.concatenate([c[i] for c in chunks]) for i in range(len(first))]
    return np.concatenate(chunks)
