"""predict / predict_on_batch: batched, jit-compiled forward passes.

`predict` serves the inputs as device windows (see `data_adapter`): for a model
without convolutions one compiled call runs all the batches of a window
(`lax.fori_loop`, outputs written into one buffer); a model with convolutions
runs one compiled call per batch (XLA:CPU runs convolutions in a loop slowly).
On CPU, such a call covers at most as many rows as keep the model's
activations within `ACTIVATION_BUDGET_BYTES` (`rows_per_call`): a large
`batch_size` then gives the same outputs with a bounded peak memory (and, for
convolutions on CPU, no loss of speed). Calls are queued without waiting;
outputs come back to the host once per window, into one preallocated array per
output. Under a distribution the same windows are laid out for the mesh (see
`data_adapter`): each device reads its rows of a batch from its own part of the
window and writes its outputs into its own part of the buffer; each process
gets its own rows back (`batch_size` is this process's batch, as in `fit`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.engine.stateless import stateless_call
from jkeras.training import compilation_cache, data_checks
from jkeras.training import data_adapter as da
from jkeras.training.host_prefix import host_prefix_of


def _forward(model, variables, values, flat_inputs):
    inputs = model.pack_inputs(flat_inputs)
    outputs, _, _ = stateless_call(model, variables, values, inputs, training=False)
    return model.record_output_structure(outputs)


class _PredictFunctions:
    """The compiled forward functions of a model, for its current variable list."""

    def __init__(self, model):
        from jkeras.training.model_io import has_convolutions, step_compiler_options

        self.model = model
        self.variables = model.weights
        self.key = tuple(id(v) for v in self.variables)
        self.fused = not has_convolutions(model)
        self.options = step_compiler_options(model) or None
        self._fns: dict = {}

    def batch(self):
        """(values, flat inputs) -> flat outputs."""
        fn = self._fns.get("batch")
        if fn is None:
            model, variables = self.model, self.variables
            fn = self._fns["batch"] = jax.jit(
                lambda values, flat: _forward(model, variables, values, flat),
                compiler_options=self.options)
        return fn

    def window(self, batch_size: int, fused: bool, layout=None):
        """(values, window xs, perm, ctl=[start, nsteps]) -> flat outputs of the
        window's batches `start` .. `start + nsteps - 1` (fused: in a buffer of the
        window's rows, laid out like the window; else: of batch `start` only).
        `layout`: the distribution's DataLayout the window is placed by (None: one
        device)."""
        from jkeras.training.steps import batch_taker

        how, take = batch_taker(batch_size, layout)
        key = ("window", how, fused)
        fn = self._fns.get(key)
        if fn is not None:
            return fn
        model, variables, bs = self.model, self.variables, int(batch_size)

        def batch_out(values, xs, perm, step):
            flat = take((xs, [], []), perm, step)[0]
            return _forward(model, variables, values, flat)

        def write(bufs, outs, step):
            if layout is not None:
                return layout.scatter(bufs, outs, step, bs // layout.local_groups)
            return [jax.lax.dynamic_update_slice_in_dim(b, o, step * bs, axis=0)
                    for b, o in zip(bufs, outs)]

        if not fused:
            def one(values, xs, perm, ctl):
                return batch_out(values, xs, perm, ctl[0])

            fn = jax.jit(one, compiler_options=self.options)
        else:
            def block(values, xs, perm, ctl):
                rows = perm.shape[0]
                shapes = jax.eval_shape(lambda: batch_out(values, xs, perm, 0))
                bufs = [jnp.zeros((rows, *s.shape[1:]), s.dtype) for s in shapes]

                def body(i, bufs):
                    step = ctl[0] + i
                    return write(bufs, batch_out(values, xs, perm, step), step)

                return jax.lax.fori_loop(0, ctl[1], body, bufs)

            fn = jax.jit(block, compiler_options=self.options)
        self._fns[key] = fn
        return fn


ACTIVATION_BUDGET_BYTES = 64 << 20  # per predict call of a model with convolutions, on CPU


def activation_bytes_per_row(model) -> int | None:
    """Bytes of all the intermediate tensors one sample produces in `model`'s graph
    (nested models counted once per call; an upper bound on what is live at once),
    or None when the model is not a graph of layers."""
    from jkeras.engine.functional import Functional

    if not isinstance(model, Functional):
        return None
    total = 0
    for node in model._nodes:
        op = node.operation
        if isinstance(op, Functional) and op is not model:
            inner = activation_bytes_per_row(op)
            total += inner or 0
        for t in node.output_tensors:
            shape = getattr(t, "shape", None)
            if shape is None or any(d is None for d in shape[1:]):
                return None
            total += int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(t.dtype).itemsize
    return total


def rows_per_call(model, batch_size: int, fused: bool) -> int:
    """Rows one compiled predict call takes for `batch_size`: `batch_size`, or on
    CPU for a per-batch (convolutional) model whose samples are independent, the
    largest power of two (at least 8) whose activations fit
    `ACTIVATION_BUDGET_BYTES` when `batch_size` does not."""
    if fused or jax.default_backend() != "cpu" or not model.batch_independent(False):
        return batch_size
    per_row = activation_bytes_per_row(model)
    if not per_row or batch_size * per_row <= ACTIVATION_BUDGET_BYTES:
        return batch_size
    fit = max(1, ACTIVATION_BUDGET_BYTES // per_row)
    return min(batch_size, max(8, 1 << (int(fit).bit_length() - 1)))


def _functions(model) -> _PredictFunctions:
    cached = getattr(model, "_predict_cache", None)
    key = tuple(id(v) for v in model.weights)
    if isinstance(cached, _PredictFunctions) and cached.key == key:
        return cached
    fns = _PredictFunctions(model)
    model._predict_cache = fns
    return fns


def _to_arrays(model, x) -> list:
    """The inputs as flat arrays checked against the inputs' declared dtypes
    (`data_checks.check_inputs`), 64-bit types narrowed as JAX would."""
    narrow = {np.dtype(np.float64): np.float32, np.dtype(np.int64): np.int32,
              np.dtype(np.uint64): np.uint32}
    flat = model.flatten_inputs(data_checks.single_input_list(model, x, "x"))
    graph = data_checks.input_count(model) is not None and model.built
    out = []
    for a in data_checks.check_inputs(flat, "x", model.input_names if graph else None,
                          [t.dtype for t in model.inputs] if graph else None):
        target = narrow.get(np.dtype(a.dtype))
        out.append(a.astype(target) if target is not None else a)
    return out


def check_predict_arguments(batch_size, verbose, steps) -> tuple:
    """predict's `batch_size` (None: 32), `verbose` and `steps` (None or >= 1),
    checked as fit checks them, before anything runs."""
    from jkeras.training import arguments

    batch_size = arguments.check_batch_size(batch_size, "predict(): batch_size")
    verbose = arguments.check_verbose(verbose)
    if steps is not None:
        steps = arguments.check_int(steps, "predict(): steps", minimum=1)
    return batch_size, verbose, steps


def _build_on(model, x) -> None:
    """Builds an unbuilt model (a Sequential without input shape) on the first
    rows of `x`, once `x` is known to hold numbers."""
    if model.built:
        return
    x = data_checks.single_input_list(model, x, "x")
    x = da.map_structure(lambda a: data_checks.to_array(a, "x"), x)
    model(x[:1] if not isinstance(x, (list, dict, tuple)) else x)


def _num_samples(model, arrays) -> int:
    counts = {int(a.shape[0]) if a.ndim else 1 for a in arrays}
    if len(counts) != 1:
        raise ValueError(
            f"Model '{model.name}': all inputs must have the same number of samples, got "
            f"{[int(a.shape[0]) for a in arrays]}."
        )
    return counts.pop()


def _pack(model, flat):
    return model.pack_outputs(flat)


def _callback_list(model, callbacks, verbose, steps):
    """The predict callbacks (a progress bar with verbose=1, as Keras)."""
    from jkeras.callbacks import CallbackList
    from jkeras.distribution import runtime
    from jkeras.training import arguments

    verbose = arguments.check_verbose(verbose)
    return CallbackList(callbacks, add_progbar=verbose == 1 and runtime.is_process_zero(),
                        model=model, verbose=verbose, epochs=1, steps=steps)


def _user_batch_hooks(cbs) -> bool:
    """Whether a callback other than the progress bar has predict batch hooks
    (then every batch runs in its own call and the hook gets its outputs)."""
    from jkeras.callbacks.callback import implements_batch
    from jkeras.callbacks.progbar_logger import ProgbarLogger

    return any(not isinstance(cb, ProgbarLogger) and (
        implements_batch(cb, "predict_begin") or implements_batch(cb, "predict_end"))
        for cb in cbs)


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    """Outputs of `model` on `x` (numpy, shaped like the model's outputs). `x` may
    also be a generator, PyDataset, DataLoader or tf.data source of batches.
    Callbacks get `on_predict_begin`, `on_predict_batch_begin/end` (the batch
    outputs as `logs["outputs"]`) and `on_predict_end`."""
    from jkeras.training import arguments, custom_loop

    batch_size, verbose, steps = check_predict_arguments(batch_size, verbose, steps)
    _, steps = arguments.debugging_caps(None, steps)
    if custom_loop.overrides(model, custom_loop.PREDICT_HOOKS):
        return custom_loop.predict(model, x, batch_size, verbose, steps, callbacks)
    if da.is_dataset(x):
        from jkeras.training.trainer import predict_generator_model

        return predict_generator_model(model, x, steps=steps, verbose=verbose,
                                       callbacks=callbacks)
    host = host_prefix_of(model)
    if host is not None:  # string inputs: the host layers here, the rest compiled
        return predict(host.core, host.transform(model.flatten_inputs(x)),
                       batch_size=batch_size, verbose=verbose, steps=steps,
                       callbacks=callbacks)
    compilation_cache.enable()
    _build_on(model, x)
    arrays = _to_arrays(model, x)
    n = _num_samples(model, arrays)
    if n == 0:
        raise ValueError(f"Model '{model.name}'.predict got no samples (x has 0 rows).")
    from jkeras.distribution import batching, runtime

    dist = runtime.active()
    layout = batching.layout_of(dist)
    if dist is not None:
        runtime.check_before_training(dist, model.weights, batch_size, "predict(): batch_size")
    num_batches = -(-n // batch_size)
    if steps is not None:
        num_batches = min(num_batches, int(steps))
    if dist is not None:
        runtime.assert_same_across_processes(num_batches, "the batches of predict's x")
    cbs = _callback_list(model, callbacks, verbose, num_batches)
    cbs.on_predict_begin()
    if _user_batch_hooks(cbs):
        outs = _predict_batch_by_batch(model, arrays, batch_size, num_batches, n, cbs)
        cbs.on_predict_end()
        return outs
    rows = min(n, num_batches * batch_size)
    fns = _functions(model)
    values = [v.value for v in fns.variables]  # read after on_predict_begin (EMA swaps)
    if dist is not None:
        values = runtime.place_tree(values, runtime.variable_shardings(dist, fns.variables))
    user_batch_size = batch_size
    per_call = rows_per_call(model, batch_size, fns.fused) if dist is None else batch_size
    if per_call != batch_size:  # same rows in smaller calls (samples are independent)
        batch_size = per_call
        num_batches = -(-rows // batch_size)
    handler = da.ArrayHandler(arrays, [], [], batch_size, shuffle=False, steps=num_batches)
    outs: list | None = None
    pending: list = []  # (device outputs, first row, rows) not yet copied back

    def fetch(o, fused: bool) -> np.ndarray:
        """This process's rows of an output, in batch order."""
        if layout is None:
            return np.asarray(o)
        local = runtime.local_rows(o)
        return layout.window_unorder(local, batch_size) if fused else local

    def collect(upto: int) -> None:
        nonlocal outs
        while len(pending) > upto:
            dev, start, count = pending.pop(0)
            host = [fetch(o, fns.fused) for o in dev]
            if outs is None:
                outs = [np.empty((rows, *h.shape[1:]), h.dtype) for h in host]
            for buf, h in zip(outs, host):
                buf[start:start + count] = h[:count]

    done = 0
    for item in handler.windows(0):
        if fns.fused:
            fn = fns.window(batch_size, True, layout)
            ctl = np.array([item.start, item.steps], dtype=np.int32)
            res = fn(values, item.data[0], item.perm, ctl)
            count = min(item.steps * batch_size, rows - done)
            pending.append((res, done, count))
            done += count
        else:
            fn = fns.window(batch_size, False, layout)
            for s in range(item.start, item.start + item.steps):
                res = fn(values, item.data[0], item.perm, np.array([s, 1], dtype=np.int32))
                count = min(batch_size, rows - done)
                pending.append((res, done, count))
                done += count
        item.done.append(pending[-1][0])
        collect(upto=32 if not fns.fused else 1)  # bound device memory held by outputs
        cbs.on_predict_batch_end(-(-done // user_batch_size) - 1, {})
    collect(upto=0)
    cbs.on_predict_end()
    return _pack(model, outs)


def _predict_batch_by_batch(model, arrays, batch_size: int, num_batches: int, n: int, cbs):
    """predict with one compiled call per batch, calling the batch hooks of `cbs`
    around each (the batch's outputs in `logs["outputs"]`)."""
    from jkeras.distribution import runtime

    fns = _functions(model)
    values = [v.value for v in fns.variables]
    dist = runtime.active()
    if dist is not None:
        values = runtime.place_tree(values, runtime.variable_shardings(dist, fns.variables))
    fn = fns.batch()
    chunks = []
    for b in range(num_batches):
        cbs.on_predict_batch_begin(b, {})
        batch = [a[b * batch_size:min(n, (b + 1) * batch_size)] for a in arrays]
        real = batch[0].shape[0]
        if dist is not None:  # every batch has the same rows on the mesh: pad the last
            batch = runtime.place_batch(dist, [np.pad(a, [(0, batch_size - real)] + [
                (0, 0)] * (a.ndim - 1)) for a in batch])
        outs = [runtime.local_rows(o)[:real] for o in fn(values, batch)]
        chunks.append(outs)
        cbs.on_predict_batch_end(b, {"outputs": _pack(model, outs)})
    flat = [np.concatenate([c[i] for c in chunks], axis=0) for i in range(len(chunks[0]))]
    return _pack(model, flat)


def predict_on_batch(model, x):
    """Outputs of `model` on one batch `x` (numpy)."""
    host = host_prefix_of(model)
    if host is not None:
        return predict_on_batch(host.core, host.transform(model.flatten_inputs(x)))
    compilation_cache.enable()
    _build_on(model, x)
    arrays = _to_arrays(model, x)
    _num_samples(model, arrays)
    fns = _functions(model)
    outs = fns.batch()([v.value for v in fns.variables], arrays)
    return _pack(model, [np.asarray(o) for o in outs])
