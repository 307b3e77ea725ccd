"""fit / evaluate / predict through a model's own `train_step` / `test_step` /
`predict_step` (Keras 3's JAX signatures), for models that override them (or
`compute_loss`, `compute_loss_and_updates`, `compute_metrics`).

Each step is jit-compiled once per input signature (`trainer.trace_counts`
counts traces) and called on one batch at a time: batches keep the structure
the user gave (arrays, lists, dicts), the state is the tuple of array lists
Keras 3 defines, and the model's Variables are written back at epoch ends
(and around user callbacks' batch hooks). Models that override none of these
train through the fused steps of `steps`/`loops` instead. Under a distribution
the state is laid out as `fit` lays it out and each batch (this process's rows)
is split over the mesh's batch axis (`_OnMesh`).
"""

from __future__ import annotations

import jax
import numpy as np

from jkeras.training import arguments as args
from jkeras.training import data_adapter as da

TRAIN_HOOKS = ("train_step", "compute_loss", "compute_loss_and_updates", "compute_metrics",
               "stateless_compute_loss")
TEST_HOOKS = ("test_step", "compute_loss", "compute_metrics", "stateless_compute_loss")
PREDICT_HOOKS = ("predict_step",)

_NARROW = {np.dtype(np.float64): np.float32, np.dtype(np.int64): np.int32,
           np.dtype(np.uint64): np.uint32}


def overrides(model, hooks) -> bool:
    """Whether the model's class overrides one of these Model methods."""
    from jkeras.engine.model import Model

    cls = type(model)
    return any(getattr(cls, name, None) is not getattr(Model, name) for name in hooks)


def _host(a):
    a = da.to_host(a)
    if isinstance(a, jax.Array):
        return a
    a = np.asarray(a)
    target = _NARROW.get(a.dtype)
    return a.astype(target) if target is not None else a


def _host_tree(s):
    return None if s is None else jax.tree_util.tree_map(_host, s)


def _pack(x, y, sw):
    if y is None and sw is None:
        return (x,)
    if sw is None:
        return (x, y)
    return (x, y, sw)


class Batches:
    """The batches of arrays or of a dataset, as the `data` a step receives."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                 steps=None, class_weight=None, what="x"):
        self.dataset = da.is_dataset(x)
        self.steps = steps
        self.class_weight = class_weight
        if self.dataset:
            if y is not None or sample_weight is not None:
                raise ValueError(
                    f"`y` and `sample_weight` must not be given when `{what}` is a dataset or "
                    f"generator: its batches hold (x, y[, sample_weight])."
                )
            self.source = x
            if steps is None and da.is_pydataset(x):
                self.steps = len(x)
            return
        if x is None:
            raise ValueError(f"`{what}` is required: pass the input data.")
        self.x, self.y, self.sw = _host_tree(x), _host_tree(y), _host_tree(sample_weight)
        leaves = jax.tree_util.tree_leaves((self.x, self.y, self.sw))
        counts = {int(a.shape[0]) for a in leaves if getattr(a, "ndim", 0) > 0}
        if len(counts) != 1:
            raise ValueError(
                f"All arrays of `{what}`, y and sample_weight must have the same number of "
                f"samples, got {sorted(counts)}."
            )
        self.n = counts.pop()
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.steps = -(-self.n // self.batch_size) if steps is None else int(steps)
        if class_weight is not None:
            self.sw = _class_weights(self.y, self.sw, class_weight)

    def first(self):
        """The first batch (for building the model and its metrics)."""
        return next(iter(self.epoch(shuffle=False)))

    def epoch(self, shuffle=None):
        shuffle = self.shuffle if shuffle is None else shuffle
        if self.dataset:
            yield from self._dataset_epoch()
            return
        order = np.random.permutation(self.n) if shuffle else np.arange(self.n)
        bs = self.batch_size
        full = -(-self.n // bs)
        for i in range(self.steps):
            rows = order[(i % full) * bs:(i % full + 1) * bs]

            def take(a, rows=rows):
                return a[rows] if getattr(a, "ndim", 0) > 0 else a

            yield _pack(*(None if s is None else jax.tree_util.tree_map(take, s)
                          for s in (self.x, self.y, self.sw)))

    def _dataset_epoch(self):
        src = self.source
        it = (src[i] for i in range(len(src))) if da.is_pydataset(src) else iter(src)
        for count, item in enumerate(it):
            if self.steps is not None and count >= self.steps:
                break
            x, y, sw = da.unpack_batch(item)
            y, sw = _host_tree(y), _host_tree(sw)
            if self.class_weight is not None:
                sw = _class_weights(y, sw, self.class_weight)
            yield _pack(_host_tree(x), y, sw)


def _class_weights(y, sw, class_weight):
    """Sample weights from `class_weight` for a single array of targets."""
    if not isinstance(class_weight, dict) or not hasattr(y, "shape"):
        raise ValueError(
            "class_weight with a custom train_step takes a dict {class id: weight} and one "
            "array of targets; for several outputs pass sample_weight instead."
        )
    labels = np.asarray(y)
    labels = labels.argmax(-1) if labels.ndim > 1 and labels.shape[-1] > 1 else \
        labels.reshape(labels.shape[0], -1)[:, 0]
    table = np.ones(int(max(max(class_weight), labels.max(initial=0))) + 1, np.float32)
    for k, v in class_weight.items():
        table[int(k)] = float(v)
    weights = table[labels.astype(np.int64)]
    return weights if sw is None else np.asarray(sw, np.float32) * weights


def _python_logs(logs) -> dict:
    """A step's logs as a flat dict of Python floats (dict results flattened)."""
    out = {}
    for k, v in jax.device_get(dict(logs)).items():
        if isinstance(v, dict):
            out.update(_python_logs(v))
        else:
            a = np.asarray(v)
            out[k] = float(a) if a.ndim == 0 else a
    return out


def _build(trainer, data) -> None:
    """Builds the model, its compiled metrics and the optimizer for `data`."""
    x, y, _ = da.unpack_batch(data)
    trainer._prepare(x)
    if trainer.config.outputs is None:
        return
    idx = [i for i, o in enumerate(trainer.config.outputs) if o.has_target]
    if y is None:
        if not idx:  # unlabeled data (a compute_loss override needing no y): the loss tracker
            trainer._build_metrics([])
        return
    from jkeras.training.stateless_api import _per_output

    ys = _per_output(trainer, y, "y")
    trainer._build_metrics([tuple(np.shape(ys[i])) for i in idx if ys[i] is not None])


def _fresh_metric_values(model) -> list:
    out = []
    for m in model.metrics:
        out.extend(m.stateless_reset_state())
    return out


def _jit(trainer, kind: str, fn):
    key = ("custom", kind)
    f = trainer._fns.get(key)
    if f is None:
        def counted(state, data):
            trainer.trace_counts[kind] += 1
            return fn(state, data)

        f = counted if trainer.run_eagerly else jax.jit(counted)
        trainer._fns[key] = f
    return f


def _assign(variables, values) -> None:
    for v, a in zip(variables, values):
        v.assign(a)


class _OnMesh:
    """The active distribution's layout for a custom loop: state parts by the
    variables they hold (`layouts`: a list of variables, or None for replicated
    values such as optimizer and metric state), batches split over the batch
    axis. Without a distribution everything passes through unchanged."""

    def __init__(self, batch_size=None, variables=()):
        from jkeras.distribution import runtime

        self.runtime = runtime
        self.dist = runtime.active()
        runtime.check_before_training(self.dist, variables, batch_size)

    def state(self, state, layouts):
        if self.dist is None:
            return state
        rep = self.runtime.replicated(self.dist)
        shardings = [[rep] * len(part) if group is None else
                     self.runtime.variable_shardings(self.dist, group)
                     for part, group in zip(state, layouts)]
        return tuple(self.runtime.place_tree(list(part), sh)
                     for part, sh in zip(state, shardings))

    def batch(self, data):
        return data if self.dist is None else self.runtime.place_batch(self.dist, data)


class _TrainState:
    """The (trainable, non-trainable, optimizer, metrics) values of a custom fit,
    read from and written back to the model's Variables."""

    def __init__(self, model):
        self.model = model
        self.groups = None

    def pull(self, metric_values=None):
        m = self.model
        self.groups = (m.trainable_variables, m.non_trainable_variables,
                       list(m.optimizer.variables), m.metrics_variables)
        mv = metric_values if metric_values is not None else [v.value for v in self.groups[3]]
        return ([v.value for v in self.groups[0]], [v.value for v in self.groups[1]],
                [v.value for v in self.groups[2]], list(mv))

    def push(self, state) -> None:
        for variables, values in zip(self.groups, state):
            _assign(variables, values)


def fit(trainer, x, y, batch_size, epochs, verbose, callbacks, validation_split,
        validation_data, shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch,
        validation_steps, validation_batch_size, validation_freq):
    """`fit` through the model's `train_step` (see the module doc)."""
    from jkeras.callbacks import CallbackList

    model = trainer.model
    freq = args.check_validation_freq(validation_freq)
    if validation_split and not da.is_dataset(x):
        x, y, sample_weight, val = _split(x, y, sample_weight, validation_split)
        validation_data = validation_data if validation_data is not None else val
    batches = Batches(x, y, sample_weight, batch_size, shuffle, steps_per_epoch, class_weight)
    _build(trainer, batches.first())
    trainer._ensure_optimizer(model.trainable_variables)
    step = _jit(trainer, "train", model.train_step)
    mesh = _OnMesh(None if batches.dataset else batches.batch_size, model.weights)
    layouts = (model.trainable_variables, model.non_trainable_variables, None, None)
    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                       verbose=verbose, epochs=epochs, steps=batches.steps)
    sync_batches = cbs.needs_batch_sync("train_end") or cbs.needs_batch_sync("train_begin")
    holder = _TrainState(model)
    model.stop_training = False
    epoch_logs: dict = {}
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        state = holder.pull(_fresh_metric_values(model))
        cbs.on_epoch_begin(epoch)
        logs = {}
        for b, data in enumerate(batches.epoch()):
            cbs.on_train_batch_begin(b)
            logs, state = step(mesh.state(state, layouts), mesh.batch(data))
            batch_logs = _python_logs(logs)
            if sync_batches:
                holder.push(state)
            cbs.on_train_batch_end(b, batch_logs)
            if sync_batches:
                state = holder.pull(state[3])
            if model.stop_training:
                break
        holder.push(state)
        epoch_logs = _python_logs(logs) if logs else {}
        if validation_data is not None and freq(epoch):
            vx, vy, vsw = args.unpack_validation(validation_data)
            val_logs = model.evaluate(vx, vy, sample_weight=vsw, verbose=0, return_dict=True,
                                      batch_size=validation_batch_size or batch_size,
                                      steps=validation_steps, callbacks=None)
            epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)
    return cbs.history


def _split(x, y, sw, fraction):
    def cut(s, part):
        if s is None:
            return None
        n = int(jax.tree_util.tree_leaves(s)[0].shape[0])
        k = int(n * (1.0 - fraction))
        if k in (0, n):
            raise ValueError(
                f"validation_split={fraction} leaves {'no training' if k == 0 else 'no'} "
                f"samples out of {n}. Use a split that keeps samples on both sides."
            )
        sl = slice(0, k) if part == 0 else slice(k, None)
        return jax.tree_util.tree_map(lambda a: _host(a)[sl], s)

    return cut(x, 0), cut(y, 0), cut(sw, 0), (cut(x, 1), cut(y, 1), cut(sw, 1))


def evaluate(trainer, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict):
    """`evaluate` through the model's `test_step`."""
    from jkeras.callbacks import CallbackList

    model = trainer.model
    batches = Batches(x, y, sample_weight, batch_size, False, steps)
    _build(trainer, batches.first())
    step = _jit(trainer, "eval", model.test_step)
    mesh = _OnMesh(None if batches.dataset else batches.batch_size, model.weights)
    layouts = (model.trainable_variables, model.non_trainable_variables, None)
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=1, steps=batches.steps)
    cbs.on_test_begin()
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables], _fresh_metric_values(model))
    logs = {}
    for b, data in enumerate(batches.epoch()):
        cbs.on_test_batch_begin(b)
        logs, state = step(mesh.state(state, layouts), mesh.batch(data))
        cbs.on_test_batch_end(b, _python_logs(logs))
    _assign(model.metrics_variables, state[2])
    logs = _python_logs(logs) if logs else {}
    cbs.on_test_end(logs)
    return _format(logs, return_dict, model)


def predict(trainer_or_model, x, batch_size, verbose, steps, callbacks):
    """`predict` through the model's `predict_step`: outputs concatenated along
    the batch axis, in the structure the step returns."""
    from jkeras.training.inference import _callback_list

    model = getattr(trainer_or_model, "model", trainer_or_model)
    batches = Batches(x, None, None, batch_size, False, steps)
    if not model.built:
        model(da.unpack_batch(batches.first())[0])
    cache = model.__dict__.setdefault("_custom_predict", {})
    step = cache.get("step")
    if step is None:
        step = cache["step"] = jax.jit(model.predict_step)
    cbs = _callback_list(model, callbacks, verbose, batches.steps)
    cbs.on_predict_begin()
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    chunks = []
    for b, data in enumerate(batches.epoch()):
        cbs.on_predict_batch_begin(b)
        out, ntv = step((tv, ntv), data)
        out = jax.tree_util.tree_map(np.asarray, out)
        chunks.append(out)
        cbs.on_predict_batch_end(b, {"outputs": out})
    cbs.on_predict_end()
    if not chunks:
        raise ValueError(f"Model '{model.name}'.predict got no batches.")
    return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *chunks)


def train_on_batch(trainer, x, y, sample_weight, class_weight, reset_metrics, return_dict):
    """One call of the model's `train_step` on one batch (see `Model.train_on_batch`)."""
    model = trainer.model
    batches = Batches(x, y, sample_weight, None, False, 1, class_weight)
    batches.batch_size = batches.n  # the whole batch at once
    data = batches.first()
    _build(trainer, data)
    trainer._ensure_optimizer(model.trainable_variables)
    holder = _TrainState(model)
    state = holder.pull(_fresh_metric_values(model) if reset_metrics else None)
    logs, state = _jit(trainer, "train", model.train_step)(state, data)
    holder.push(state)
    return _format(_python_logs(logs), return_dict, model)


def test_on_batch(trainer, x, y, sample_weight, reset_metrics, return_dict):
    """One call of the model's `test_step` on one batch."""
    model = trainer.model
    batches = Batches(x, y, sample_weight, None, False, 1)
    batches.batch_size = batches.n
    data = batches.first()
    _build(trainer, data)
    mv = _fresh_metric_values(model) if reset_metrics else \
        [v.value for v in model.metrics_variables]
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables], mv)
    logs, state = _jit(trainer, "eval", model.test_step)(state, data)
    _assign(model.metrics_variables, state[2])
    return _format(_python_logs(logs), return_dict, model)


def _format(logs: dict, return_dict: bool, model):
    if return_dict:
        return logs
    # Keras's order: the metrics' order in `model.metrics`, then the other logs sorted
    # (the logs of a jitted step come back with sorted keys)
    order = [m.name for m in model.metrics]
    keys = [k for k in order if k in logs] + sorted(k for k in logs if k not in order)
    values = [logs[k] for k in keys]
    return values[0] if len(values) == 1 else values
