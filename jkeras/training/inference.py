"""predict / predict_on_batch: batched, jit-compiled forward passes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.engine.stateless import stateless_call


def _forward_fn(model):
    """A jitted pure function (values, flat_inputs) -> flat outputs, cached on the
    model for its current variable list."""
    variables = model.weights
    key = tuple(id(v) for v in variables)
    cached = getattr(model, "_predict_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1], variables

    def forward(values, flat_inputs):
        inputs = model.pack_inputs(flat_inputs) if hasattr(model, "pack_inputs") else (
            flat_inputs[0] if len(flat_inputs) == 1 else list(flat_inputs)
        )
        outputs, _, _ = stateless_call(model, variables, values, inputs, training=False)
        return jax.tree_util.tree_leaves(outputs)

    fn = jax.jit(forward)
    model._predict_cache = (key, fn)
    return fn, variables


def _to_arrays(model, x) -> list[np.ndarray]:
    flat = model.flatten_inputs(x)
    out = []
    for a in flat:
        if getattr(a, "_is_variable", False):
            a = a.value
        out.append(a if isinstance(a, jax.Array) else np.asarray(a))
    return out


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


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    from jkeras.training import data_adapter as da

    if da.is_dataset(x):  # a generator, PyDataset, DataLoader or tf.data source
        from jkeras.training.trainer import predict_generator_model

        return predict_generator_model(model, x, steps=steps)
    if not model.built:
        model(np.asarray(x)[:1] if not isinstance(x, (list, dict, tuple)) else x)
    batch_size = int(batch_size or 32)
    arrays = _to_arrays(model, x)
    n = _num_samples(model, arrays)
    if n == 0:
        raise ValueError(f"Model '{model.name}'.predict got no samples (x has 0 rows).")
    fn, variables = _forward_fn(model)
    values = [v.value for v in variables]
    from jkeras.distribution import runtime

    dist = runtime.active()
    if dist is not None:  # batch_size is global: each process predicts its share of rows
        runtime.check_before_training(dist, variables, batch_size)
        values = runtime.place_tree(values, runtime.variable_shardings(dist, variables))
        batch_size = runtime.local_batch_size(batch_size)
    chunks: list[list[np.ndarray]] = []
    num_batches = -(-n // batch_size)
    if steps is not None:
        num_batches = min(num_batches, int(steps))
    if dist is not None:
        runtime.assert_same_across_processes(num_batches, "the batches of predict's x")
    for b in range(num_batches):
        start = b * batch_size
        batch = [a[start:start + batch_size] for a in arrays]
        real = batch[0].shape[0]
        if real < batch_size and (num_batches > 1 or dist is not None):
            batch = [_pad(a, batch_size) for a in batch]
        outs = fn(values, runtime.place_batch(dist, batch))
        chunks.append([runtime.local_rows(o)[:real] for o in outs])
    flat = [np.concatenate([c[i] for c in chunks], axis=0) for i in range(len(chunks[0]))]
    return _pack(model, flat)


def _pad(a, size):
    pad = size - a.shape[0]
    widths = [(0, pad)] + [(0, 0)] * (a.ndim - 1)
    if isinstance(a, jax.Array):
        return jnp.pad(a, widths)
    return np.pad(a, widths)


def predict_on_batch(model, x):
    if not model.built:
        model(x)
    arrays = _to_arrays(model, x)
    _num_samples(model, arrays)
    fn, variables = _forward_fn(model)
    outs = fn([v.value for v in variables], arrays)
    return _pack(model, [np.asarray(o) for o in outs])
