"""compile / fit / evaluate / train_on_batch / test_on_batch.

The Trainer (one per compiled model) holds what compile() set up and runs the
loops. The work is split by job:

- `model_io`: the model's inputs/outputs as flat lists, its variables, the pure
  forward function, what its layers allow (padding, fusing steps);
- `targets`: user data checked and flattened (`Standardizer`);
- `data_adapter`: arrays as device windows / batches; `data_iterables`: datasets;
- `steps`: the pure train/eval steps and their compiled forms (`StepFunctions`);
- `loops`: the epoch loops, steps per call (`steps_per_execution`), callbacks;
- `placement`: where batches and state live (`place_batch`, `place_state`);
- `loss_scale`: dynamic loss scaling for float16; `compilation_cache`: JAX's
  persistent cache;
- `resume` and `data_order`: what a backup keeps besides the weights (random
  key, shuffle seed, position, metric and callback state), so a killed fit
  resumes exactly (BackupAndRestore).

The loop's state `{tv, ntv, opt, mv, rng}` lives on the device during fit; the
model's Variables and the optimizer's `state` are written only at sync points:
before callbacks that look at the model (epoch ends, and batch hooks of user
callbacks), and when fit/evaluate return (also on an exception). Compiled
functions are cached on the trainer, so later epochs and later fit calls reuse
them; data of a similar size reuses them too (window sizes are bucketed), and a
short last batch is padded and masked, so losses and metrics are exact and
nothing recompiles per epoch.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np

from jkeras.distribution import runtime
from jkeras.training import arguments as args
from jkeras.training import compilation_cache, custom_loop, data_checks, loops
from jkeras.training import data_adapter as da
from jkeras.training import model_io as mio
from jkeras.training.compile_utils import CompileConfig
from jkeras.training.data_iterables import IterableHandler
from jkeras.training.host_prefix import host_prefix_of
from jkeras.training.placement import place_batch, place_state
from jkeras.training.resume import FitProgress
from jkeras.training.steps import StepFunctions
from jkeras.training.targets import Standardizer

_SPLIT = object()  # marks validation arrays cut from x by validation_split

# Re-exported for code that imported them from here.
ModelIO = mio.ModelIO
_forward = mio.forward
_updatable_ids = mio.updatable_ids


def _scalar(v):
    a = np.asarray(v)
    return float(a) if a.ndim == 0 else a


_KEY_SHAPE: list = []


def _key_data_shape() -> tuple:
    """Shape of the default PRNG implementation's raw key data (uint32)."""
    if not _KEY_SHAPE:
        spec = jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0)))
        _KEY_SHAPE.append(tuple(spec.shape))
    return _KEY_SHAPE[0]


def _fit_key() -> np.ndarray:
    """Raw key data for a fit's random stream: the next position of the global
    stream (`set_random_seed` makes it repeatable), mixed on the host, so no
    program is compiled for it."""
    from jkeras.backend.random import reserve_host_seed

    seed, counter = reserve_host_seed()
    shape = _key_data_shape()
    words = int(np.prod(shape, dtype=np.int64))
    data = np.random.SeedSequence([seed % (1 << 63), counter]).generate_state(words, np.uint32)
    return data.reshape(shape)


class Trainer:
    """Holds what compile() set up and runs fit/evaluate for one model."""

    def __init__(self, model, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                 weighted_metrics=None, sample_weight_mode=None, run_eagerly=False,
                 steps_per_execution="auto", jit_compile="auto"):
        from jkeras import optimizers

        self.model = model
        # A model with string inputs computes through `net`, the compiled part after
        # its host preprocessing layers (see host_prefix); other models: `net` is the model.
        self.host = host_prefix_of(model)
        self.net = self.host.core if self.host is not None else model
        self.optimizer = optimizers.get(optimizer)
        self.config = CompileConfig(loss, metrics, loss_weights, weighted_metrics,
                                    sample_weight_mode)
        # jit_compile=False (as in Keras on JAX) runs the steps without jax.jit
        self.run_eagerly = bool(run_eagerly) or jit_compile is False
        self.steps_per_execution = args.check_steps_per_execution(steps_per_execution)
        self.jit_compile = jit_compile
        self.io = mio.ModelIO(self.net)
        self.data = Standardizer(self)
        self.trace_counts = {"train": 0, "eval": 0}
        self._fns: dict = {}
        self._auto: dict = {}
        self._metric_vars: list | None = None
        self._mv_init: list | None = None
        self._last_mv = None
        self._fuse_ok: bool | None = None
        self.data_resident: bool | None = None
        self.fit_progress: FitProgress | None = None
        if self.io.ready:
            self.config.resolve(self.io.output_names, model.name)

    # ------------------------------------------------------------------ structure
    @property
    def outputs(self):
        return self.config.outputs

    def _prepare(self, x_sample) -> None:
        if not self.io.ready:  # builds on x: it must hold numbers (data_checks)
            x_sample = self.data.host_x(x_sample)
        self.io.ensure_built(x_sample)
        self.config.resolve(self.io.output_names, self.model.name)

    @property
    def _targets(self) -> list[int]:
        return [i for i, o in enumerate(self.outputs) if o.has_target]

    def _variables(self):
        return mio.split_variables(self.net)

    def _pad_ok(self, training: bool) -> bool:
        return mio.pad_ok(self.net, training)

    @property
    def fuse_ok(self) -> bool:
        """Whether 'auto' may fuse several steps per call (no convolutions, jit on)."""
        if self._fuse_ok is None:
            self._fuse_ok = not mio.has_convolutions(self.net)
        return self._fuse_ok and not self.run_eagerly

    def compiler_options(self) -> dict:
        """Per-compile XLA options for the step functions (`model_io.step_compiler_options`)."""
        return mio.step_compiler_options(self.net)

    def _plan(self, kind: str, batch_size: int, per_batch: bool = False) -> loops.BlockPlan:
        setting = 1 if self.run_eagerly else self.steps_per_execution
        auto = self._auto.setdefault((kind, batch_size), loops.AutoSize())
        return loops.BlockPlan(setting, self.fuse_ok, auto, per_batch=per_batch)

    def step_functions(self, tvars, ntvars, updatable) -> StepFunctions:
        """The (cached) compiled step functions for this set of variables."""
        key = (tuple(map(id, tvars)), tuple(map(id, ntvars)), tuple(updatable))
        fns = self._fns.get(key)
        if fns is None:
            fns = self._fns[key] = StepFunctions(self, tvars, ntvars, updatable)
        return fns

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
            self._mv_init = None
            self._fns = {}  # the compiled steps update these metrics
            self._last_mv = None

    def _initial_mv(self) -> list:
        """Fresh metric values (reset state), as new device buffers."""
        if self._mv_init is None:
            for _, m in self.config.all_metrics():
                m.reset_state()
            self._mv_init = [np.asarray(v.value) for v in self._metric_vars]
        return list(jax.device_put(self._mv_init))

    def logs_from_results(self, results) -> dict:
        """Logs {name: value} from the metric results a compiled step returned."""
        names = [n for n, _ in self.config.all_metrics()]
        vals = jax.device_get(results)
        return {n: _scalar(v) for n, v in zip(names, vals)}

    def logs_from(self, mv) -> dict:
        tvars, ntvars, upd = self._variables()
        return self.logs_from_results(self.step_functions(tvars, ntvars, upd).results_fn()(mv))

    def _push_metrics(self, mv) -> None:
        for v, a in zip(self._metric_vars, mv):
            v.assign(a)
        self._last_mv = mv

    # ------------------------------------------------------------------ optimizer
    def _ensure_optimizer(self, tvars) -> None:
        """Builds the optimizer state for the trainable variables of this fit
        (kept when they are the same; fresh when layers were frozen/unfrozen).
        A first build evaluates the optimizer's init on the host when it can
        (see `host_eval`), else in one compiled call."""
        from jkeras.training.host_eval import evaluate_on_host

        opt = self.optimizer
        if getattr(opt, "state", None) is None and tvars and hasattr(opt, "init") and \
                not getattr(opt, "_init_needs_variables", False):  # (build makes the state)
            avals = [jax.ShapeDtypeStruct(tuple(v.shape), v.dtype) for v in tvars]
            state = evaluate_on_host(opt.init, avals)
            opt.state = jax.device_put(state) if state is not None else \
                jax.jit(opt.init)([v.value for v in tvars])
        opt.build(tvars)

    def _opt_state_avals(self, tvars):
        """Types of the optimizer state `_ensure_optimizer` will give (no work)."""
        opt = self.optimizer
        st = getattr(opt, "state", None)
        known = getattr(opt, "_trainable_variables", None)
        if st is None or known is None or [id(v) for v in known] != [id(v) for v in tvars]:
            avals = [jax.ShapeDtypeStruct(tuple(v.shape), v.dtype) for v in tvars]
            return jax.eval_shape(opt.init, avals)
        return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), st)

    def _precompile_train(self, fns, plan, handler, tvars, ntvars) -> None:
        """Traces the fit's train function now and compiles it in the background
        while variables, optimizer state and the first data window are made."""
        from jkeras.distribution import runtime

        if self.run_eagerly or not isinstance(handler, da.ArrayHandler) or \
                runtime.active() is not None:
            return

        def sds(shape, dtype):
            return jax.ShapeDtypeStruct(tuple(shape), np.dtype(dtype))

        try:
            mv = self._initial_mv()
            state = {"tv": [sds(v.shape, v.dtype) for v in tvars],
                     "ntv": [sds(v.shape, v.dtype) for v in ntvars],
                     "opt": self._opt_state_avals(tvars),
                     "mv": [sds(a.shape, a.dtype) for a in mv],
                     "rng": sds(_key_data_shape(), np.uint32)}
            window, perm = handler.window_avals()
        except Exception:  # noqa: BLE001 - the first call compiles as usual
            return
        fns.precompile(plan.kind, handler.batch_size, (state, window, perm, sds((2,), np.int32)))

    # ------------------------------------------------------------------ data
    def _standardize(self, x, y, sw, **kw):
        return self.data.standardize(x, y, sw, **kw)

    def _class_weight_tables(self, class_weight) -> list:
        return self.data.class_weight_tables(class_weight)

    def _apply_class_weights(self, tables, ys, sws, what="class_weight") -> list:
        return self.data.apply_class_weights(tables, ys, sws, what)

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
                bx = self.to_net_inputs(bx)
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

            shard = runtime.dataset_shard(runtime.active())
            handler = IterableHandler(x, standardize, steps=steps, shuffle=shuffle, pad=pad,
                                      workers=workers, max_queue_size=max_queue_size,
                                      cache_one_shot=cache_one_shot,
                                      samples_per_epoch=samples_per_epoch, what=what_x,
                                      shard=shard)
            if shard is not None:  # every process reads the dataset whole
                runtime.check_dataset_is_global(handler.peek(), what_x)
            if runtime.active() is not None:
                runtime.assert_same_across_processes(
                    -1 if handler.steps is None else handler.steps, f"the steps over `{what_x}`")
            return handler
        if x is None:
            raise ValueError(f"`{what_x}` is required: pass the input data.")
        std = self._standardize_arrays(x, y, sw, what_x=what_x, what_y=what_y,
                                       check_finite=check_finite)
        xs, ys, sws = std
        if class_weight is not None:
            sws = self._apply_class_weights(self._class_weight_tables(class_weight), ys, sws)
        return self._array_handler(xs, ys, sws, batch_size, shuffle, steps, pad, what_x)

    def to_net_inputs(self, x):
        """`x` as `net` takes it: for a model with string inputs, its host layers'
        outputs (computed here, on the host) and its other inputs."""
        if self.host is None or x is None:
            return x
        return self.host.transform(self.model.flatten_inputs(x))

    def _standardize_arrays(self, x, y, sw, what_x="x", what_y="y", check_finite=True):
        hx = self.to_net_inputs(da.map_structure(da.to_host, x))
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
        dist = runtime.active()
        if dist is not None:  # batch_size: this process's rows per step (distribution/batching)
            runtime.check_before_training(dist, self.model.weights, batch_size,
                                          "batch_size" if what_x == "x" else f"{what_x} batch")
            if steps is None:
                runtime.check_short_batch(dist, n, batch_size, pad, what_x)
        handler = da.ArrayHandler(xs, ys, sws, batch_size, shuffle=shuffle, steps=steps,
                                  pad=pad)
        if dist is not None:
            runtime.assert_same_across_processes(handler.steps, f"the steps over `{what_x}`")
            runtime.assert_same_across_processes(handler.window_rows,
                                                 f"the data window size of `{what_x}`")
        return handler

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

    def _pull(self, st, tvars, ntvars) -> dict:
        st = dict(st)
        st["tv"] = [v.value for v in tvars]
        st["ntv"] = [v.value for v in ntvars]
        if "opt" in st:
            st["opt"] = self.optimizer.state
        return place_state(st, tvars, ntvars)

    def _sync_fns(self, tvars, ntvars):
        def push(st):
            self._push(st, tvars, ntvars)

        def pull(st):
            return self._pull(st, tvars, ntvars)

        return push, pull

    # ------------------------------------------------------------------ evaluation loop
    def _eval_loop(self, handler, tv, ntv, tvars, ntvars, callbacks, run_index=0):
        _, _, upd = self._variables()
        fns = self.step_functions(tvars, ntvars, upd)
        plan = self._plan("eval", handler.batch_size or 0)
        hooks = loops.Hooks(callbacks, "test")
        mv = self._initial_mv()
        callbacks.on_test_begin()
        if tv is None:  # read now: on_test_begin may swap weights in (SwapEMAWeights)
            st = place_state(self._state_from_model(tvars, ntvars, with_opt=False), tvars,
                             ntvars)
            tv, ntv = st["tv"], st["ntv"]
        mv, results = loops.run_eval(self, handler, fns, plan, tv, ntv, mv, callbacks, hooks,
                                     run_index)
        logs = self.logs_from_results(results) if results is not None else self.logs_from(mv)
        callbacks.on_test_end(logs)
        return logs, mv

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=None,
            use_multiprocessing=False, check_finite=True, samples_per_epoch=None,
            validation_samples=None):
        import numbers

        from jkeras.callbacks import CallbackList
        from jkeras.callbacks.callback import implements

        compilation_cache.enable()
        model = self.model
        batch_size = args.check_batch_size(batch_size, "batch_size")
        epochs = args.check_int(epochs, "epochs", minimum=0)
        initial_epoch = args.check_int(initial_epoch, "initial_epoch", minimum=0)
        verbose = args.check_verbose(verbose)
        if steps_per_epoch is not None:
            steps_per_epoch = args.check_int(steps_per_epoch, "steps_per_epoch", minimum=1)
        if validation_steps is not None:
            validation_steps = args.check_int(validation_steps, "validation_steps", minimum=1)
        if not isinstance(validation_split, numbers.Number) or not 0 <= validation_split < 1:
            raise ValueError(
                f"validation_split must be a fraction in [0, 1), got {validation_split!r}."
            )
        epochs, steps_per_epoch = args.debugging_caps(epochs, steps_per_epoch)
        if custom_loop.overrides(model, custom_loop.TRAIN_HOOKS):
            return custom_loop.fit(
                self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                validation_data, shuffle, class_weight, sample_weight, initial_epoch,
                steps_per_epoch, validation_steps, validation_batch_size, validation_freq)
        freq = args.check_validation_freq(validation_freq)
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
            validation_data = args.unpack_validation(validation_data)

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
            self.data_resident = train.resident  # whether the data stayed on the device
            if val_arrays is not None:
                validation_data = (_SPLIT, val_arrays)
        val = None
        if validation_data is not None:
            vbs = args.check_batch_size(validation_batch_size or batch_size,
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
            data_checks.check_validation_inputs(self, train, val)  # before any step

        # ---- state
        tvars, ntvars, updatable = self._variables()
        runtime.check_before_training(runtime.active(), tvars + ntvars)
        fns = self.step_functions(tvars, ntvars, updatable)
        cbs = CallbackList(callbacks, add_history=True,
                           add_progbar=verbose != 0 and runtime.is_process_zero(), model=model,
                           verbose=verbose, epochs=epochs, steps=train.steps,
                           batch_size=batch_size, samples=train.num_samples,
                           do_validation=val is not None,
                           metrics=self._param_metrics(val is not None))
        plan = self._plan("train", batch_size, per_batch=loops.needs_every_batch(cbs))
        self._precompile_train(fns, plan, train, tvars, ntvars)
        self._ensure_optimizer(tvars)
        push, pull = self._sync_fns(tvars, ntvars)
        # what BackupAndRestore saves and restores besides weights (training/resume.py)
        self.fit_progress = progress = FitProgress(train, cbs, _key_data_shape(),
                                                   self._initial_mv)
        push = progress.track(push)
        hooks = loops.Hooks(cbs, "train")
        swaps_weights = any(implements(cb, "on_test_begin") for cb in cbs)
        model.stop_training = False
        model._initial_epoch = None
        epoch_logs: dict = {}
        val_runs = 0
        state = self._state_from_model(tvars, ntvars)
        state["rng"] = _fit_key()
        state["mv"] = self._initial_mv()
        try:
            push(state)
            cbs.on_train_begin()
            state, start_step = progress.after_train_begin(state)
            state = pull(state)
            if model._initial_epoch is not None:
                initial_epoch = int(model._initial_epoch)
            for epoch in range(initial_epoch, epochs):
                state["mv"] = self._initial_mv()
                cbs.on_epoch_begin(epoch)
                state = pull(progress.after_epoch_begin(state))
                state, results, steps_done = loops.run_train_epoch(
                    self, train, fns, plan, state, cbs, hooks, epoch, (push, pull), start_step)
                start_step = 0
                if steps_done == 0 and train.exhausted:
                    break
                train.on_epoch_end()
                epoch_logs = self.logs_from_results(results) if results is not None else \
                    self.logs_from(state["mv"])
                self._last_mv = state["mv"]
                if val is not None and freq(epoch):
                    if swaps_weights:  # the model's Variables hold the state while it runs
                        push(state)
                    val_logs, _ = self._eval_loop(
                        val, None if swaps_weights else state["tv"],
                        None if swaps_weights else state["ntv"], tvars, ntvars, cbs, val_runs)
                    if swaps_weights:
                        state = pull(state)
                    val_runs += 1
                    val.on_epoch_end()
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                push(state)
                cbs.on_epoch_end(epoch, epoch_logs)
                progress.run_deferred()
                state = pull(state)
                if model.stop_training or train.exhausted:
                    break
        finally:
            push(state)
            self.fit_progress = None
            self._push_metrics(state["mv"])
            train.close()
            if val is not None:
                val.close()
        if epochs > initial_epoch and hasattr(self.optimizer, "finalize_variable_values"):
            self.optimizer.finalize_variable_values(tvars)  # use_ema: averages into the model
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

        compilation_cache.enable()
        batch_size = args.check_batch_size(batch_size, "batch_size")
        verbose = args.check_verbose(verbose)
        if steps is not None:
            steps = args.check_int(steps, "steps", minimum=1)
        _, steps = args.debugging_caps(None, steps)
        if custom_loop.overrides(self.model, custom_loop.TEST_HOOKS):
            return custom_loop.evaluate(self, x, y, batch_size, verbose, sample_weight, steps,
                                        callbacks, return_dict)
        handler = self._make_handler(x, y, sample_weight, batch_size=batch_size, shuffle=False,
                                     steps=steps, class_weight=None, check_finite=check_finite,
                                     training=False, workers=workers,
                                     max_queue_size=max_queue_size, samples_per_epoch=samples)
        tvars, ntvars, _ = self._variables()
        runtime.check_before_training(runtime.active(), tvars + ntvars)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0 and runtime.is_process_zero(),
                           model=self.model,
                           verbose=verbose, epochs=1, steps=handler.steps)
        try:
            logs, mv = self._eval_loop(handler, None, None, tvars, ntvars, cbs)
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
        xs, ys, sws = place_batch((list(xs), list(ys), list(sws)))
        return (list(xs), list(ys), list(sws), place_batch(np.ones((n,), dtype="float32")))

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        compilation_cache.enable()
        batch = self._batch_arrays(x, y, sample_weight, class_weight)
        tvars, ntvars, updatable = self._variables()
        self._ensure_optimizer(tvars)
        fn = self.step_functions(tvars, ntvars, updatable).train("batch")
        st = self._state_from_model(tvars, ntvars)
        st["rng"] = _fit_key()
        st["mv"] = self._initial_mv() if reset_metrics or self._last_mv is None else \
            self._last_mv
        st = place_state(st, tvars, ntvars)
        st, results = fn(st, batch)
        self._push(st, tvars, ntvars)
        self._push_metrics(st["mv"])
        return self._format(self.logs_from_results(results), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        compilation_cache.enable()
        batch = self._batch_arrays(x, y, sample_weight, None)
        tvars, ntvars, upd = self._variables()
        fn = self.step_functions(tvars, ntvars, upd).evaluate("batch")
        st = self._state_from_model(tvars, ntvars, with_opt=False)
        mv = self._initial_mv() if reset_metrics or self._last_mv is None else self._last_mv
        mv = place_state({"mv": mv})["mv"]
        mv, results = fn(st["tv"], st["ntv"], mv, batch)
        self._push_metrics(mv)
        return self._format(self.logs_from_results(results), return_dict)

    def reset_metrics(self) -> None:
        for _, m in self.config.all_metrics():
            m.reset_state()
        self._last_mv = None


# ------------------------------------------------------------------------------------------
# entry points used by Model methods
# ------------------------------------------------------------------------------------------
_COMPILE_EXTRA = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss",
                  "pss_evaluation_shards")
_legacy = args.legacy
_all_numbers = args.all_numbers


def _computes_in_float16(model) -> bool:
    for layer in mio.walk_layers(model):
        policy = getattr(layer, "dtype_policy", None)
        if policy is not None and getattr(policy, "compute_dtype", None) == "float16":
            return True
    return False


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
    user_optimizer = optimizer
    if kwargs.get("auto_scale_loss", True) and _computes_in_float16(model):
        from jkeras import optimizers
        from jkeras.training.loss_scale import LossScaleOptimizer

        opt = optimizers.get(optimizer)
        if not isinstance(opt, LossScaleOptimizer):
            optimizer = LossScaleOptimizer(opt)
    compilation_cache.enable()
    trainer = Trainer(model, optimizer=optimizer, loss=loss, metrics=metrics,
                      loss_weights=loss_weights, weighted_metrics=weighted_metrics,
                      sample_weight_mode=sample_weight_mode,
                      run_eagerly=kwargs.get("run_eagerly") or False,
                      steps_per_execution=kwargs.get("steps_per_execution", "auto"),
                      jit_compile=kwargs.get("jit_compile", "auto"))
    model._trainer = trainer
    model.optimizer = trainer.optimizer
    model.loss = loss
    model.loss_weights = loss_weights
    # the user's optimizer: compiling from this config wraps it again when needed
    inner = getattr(trainer.optimizer, "inner_optimizer", None)
    saved_opt = inner if inner is not None and user_optimizer is not trainer.optimizer else \
        trainer.optimizer
    model._compile_config = {
        "optimizer": saved_opt, "loss": loss, "metrics": metrics,
        "loss_weights": loss_weights, "weighted_metrics": weighted_metrics,
        **({"sample_weight_mode": sample_weight_mode} if sample_weight_mode else {}),
        **{k: kwargs[k] for k in ("steps_per_execution", "jit_compile", "run_eagerly")
           if k in kwargs},
    }
    model.compiled = True


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


def predict_generator_model(model, generator, steps=None, verbose=0, callbacks=None,
                            **kwargs):
    """Keras 1/2 `predict_generator`: predictions for the batches of a generator
    (items may be x, or (x, y) whose y is ignored), with predict's callbacks."""
    from jkeras.training.inference import _callback_list, predict_on_batch

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
    known = steps if steps is not None else (len(generator) if da.is_pydataset(generator)
                                             else None)
    cbs = _callback_list(model, callbacks, verbose, known)
    cbs.on_predict_begin()
    chunks, seen, count = [], 0, 0
    for item in it:
        bx, _, _ = da.unpack_batch(item)
        cbs.on_predict_batch_begin(count, {})
        out = predict_on_batch(model, da.map_structure(da.to_host, bx))
        chunks.append(out)
        cbs.on_predict_batch_end(count, {"outputs": out})
        count += 1
        seen += da.num_rows(jax.tree_util.tree_leaves(da.map_structure(da.to_host, bx)))
        if steps is not None and count >= steps:
            break
        if samples is not None and seen >= samples:
            break
    if not chunks:
        raise ValueError("predict_generator: the generator produced no batch.")
    cbs.on_predict_end()
    first = chunks[0]
    if isinstance(first, dict):
        return {k: np.concatenate([c[k] for c in chunks]) for k in first}
    if isinstance(first, list):
        return [np.concatenate([c[i] for c in chunks]) for i in range(len(first))]
    return np.concatenate(chunks)
