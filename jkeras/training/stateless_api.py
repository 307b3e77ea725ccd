"""Keras 3's stateless training API on JAX: the default `train_step`,
`test_step` and `predict_step` (pure functions of a state of array lists),
`compute_loss`, `stateless_compute_loss`, `compute_loss_and_updates` and
`compute_metrics`.

These serve models that override one of them (the custom-step loops of
`custom_loop`) and users writing their own `jax.jit` training loops; a model
that overrides none of them trains through jkeras's fused steps (`steps`).
The losses and metrics are the compiled ones (`compile_utils`), evaluated by
the same code as the fused steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jkeras.backend.scope import StatelessScope
from jkeras.training.data_adapter import unpack_batch
from jkeras.training.trainer import trainer_of

_F32 = jnp.float32


def _values(items) -> list:
    return [getattr(v, "value", v) for v in items]


def _per_output(trainer, value, what: str) -> list:
    """A target/weight structure as a list over the model's outputs (dicts by
    output name, lists in output order, an array for a single output)."""
    from jkeras.training.compile_utils import by_output_name

    names = trainer.io.output_names
    if value is None:
        return [None] * len(names)
    if isinstance(value, dict):
        return by_output_name(value, names, f"`{what}`", trainer.model.name)
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(
                f"`{what}` is a list of {len(value)} entries, but model "
                f"'{trainer.model.name}' has {len(names)} outputs {names}."
            )
        return list(value)
    return [value]


def _targets(trainer, y, y_pred, sample_weight):
    """(targets, predictions, weights, valid mask) lists for the outputs that have a
    target, as the compiled step functions take them."""
    io = trainer.io
    if not io.ready:
        io.describe_outputs(y_pred)
    trainer.config.resolve(io.output_names, trainer.model.name)
    preds = io.flatten_out(y_pred)
    ys = _per_output(trainer, y, "y")
    sws = _per_output(trainer, sample_weight, "sample_weight")
    idx = [i for i, o in enumerate(trainer.config.outputs) if o.has_target]
    n = preds[0].shape[0]
    valid = jnp.ones((n,), _F32)
    yt = []
    for i in idx:
        if ys[i] is None:
            raise ValueError(
                f"Model '{trainer.model.name}': no target given for output "
                f"'{io.output_names[i]}', which has a loss or metrics in compile()."
            )
        yt.append(jnp.asarray(ys[i]))
    sw = [jnp.ones((n,), _F32) if sws[i] is None else jnp.asarray(sws[i], _F32) for i in idx]
    return yt, preds, sw, valid


def _step_functions(trainer):
    return trainer.step_functions(*trainer._variables())


# losses --------------------------------------------------------------------------------
def added_losses(model) -> list:
    """The losses the model added in this step (`add_loss`, weight regularizers):
    those of the forward pass inside `compute_loss_and_updates`, else `model.losses`."""
    extra = getattr(model, "_losses_override", None)
    return list(model.losses) if extra is None else list(extra)


def _compiled_total(model, trainer, y, y_pred, sample_weight, extra):
    yt, preds, sw, valid = _targets(trainer, y, y_pred, sample_weight)
    total, per_out = _step_functions(trainer).losses(yt, preds, sw, valid, extra)
    model._per_output_losses = per_out
    return total


def compiled_loss(model, y, y_pred, sample_weight=None):
    """The compiled losses of the outputs alone (weighted by `loss_weights` and
    `sample_weight`, without the added losses), or None when compile() got no
    loss. For `compute_loss` overrides that weight the compiled loss themselves."""
    trainer = getattr(model, "_trainer", None)
    if trainer is None or trainer.config.loss is None:
        return None
    return _compiled_total(model, trainer, y, y_pred, sample_weight, [])


def compute_loss(model, x, y, y_pred, sample_weight, training):
    """The compiled losses (weighted) plus the model's added losses."""
    trainer = getattr(model, "_trainer", None)
    extra = added_losses(model)
    if trainer is None or trainer.config.loss is None:
        if not extra:
            raise ValueError(
                f"Model '{model.name}' has no loss to compute: pass loss=... to compile(), "
                f"or override compute_loss / add losses with add_loss()."
            )
        return sum(jnp.sum(jnp.asarray(e, _F32)) for e in extra)
    return _compiled_total(model, trainer, y, y_pred, sample_weight, extra)


def stateless_compute_loss(model, trainable_variables, non_trainable_variables,
                           metrics_variables, x, y, y_pred, sample_weight, training):
    """`compute_loss` with the model's variables bound to the given values;
    returns (loss, (trainable, non-trainable, metrics values))."""
    groups = (model.trainable_variables, model.non_trainable_variables,
              model.metrics_variables)
    given = [_values(trainable_variables), _values(non_trainable_variables),
             _values(metrics_variables)]
    mapping = {}
    for vars_, vals in zip(groups, given):
        mapping.update({id(v): x for v, x in zip(vars_, vals)})
    with StatelessScope(mapping) as scope:
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                  training=training)
    new = tuple([scope.updates.get(id(v), x) for v, x in zip(vars_, vals)]
                for vars_, vals in zip(groups, given))
    return loss, new


def compute_loss_and_updates(model, trainable_variables, non_trainable_variables,
                             metrics_variables, x, y, sample_weight, training,
                             optimizer_variables):
    """The forward pass and the loss, pure: (loss scaled for the optimizer,
    (unscaled loss, y_pred, non-trainable values, metrics values))."""
    y_pred, ntv, losses = model.stateless_call(trainable_variables, non_trainable_variables,
                                               x, return_losses=True, training=training)
    model._losses_override = losses
    try:
        loss, (_, _, mv) = model.stateless_compute_loss(
            trainable_variables, ntv, metrics_variables, x=x, y=y, y_pred=y_pred,
            sample_weight=sample_weight, training=training)
    finally:
        model._losses_override = None
    unscaled = loss
    opt = getattr(model, "optimizer", None)
    if training and opt is not None and optimizer_variables is not None:
        scale = getattr(opt, "scale_loss_in_state", None)
        if scale is not None:
            treedef = jax.tree_util.tree_structure(opt.state)
            state = jax.tree_util.tree_unflatten(treedef, _values(optimizer_variables))
            loss = scale(loss, state)
        else:
            loss = opt.scale_loss(loss)
    return loss, (unscaled, y_pred, ntv, mv)


# metrics -------------------------------------------------------------------------------
def _flat_results(metrics) -> dict:
    out = {}
    for m in metrics:
        r = m.result()
        if isinstance(r, dict):
            out.update(r)
        else:
            out[m.name] = r
    return out


def metrics_result(model) -> dict:
    """{name: result} of `model.metrics` (dict results flattened)."""
    return _flat_results(model.metrics)


def compute_metrics(model, x, y, y_pred, sample_weight) -> dict:
    """Updates the compiled metrics (and the per-output loss trackers, from the
    last `compute_loss`) with a batch; returns the results of `model.metrics`."""
    trainer = getattr(model, "_trainer", None)
    if trainer is not None and trainer.config.outputs is not None:
        yt, preds, sw, valid = _targets(trainer, y, y_pred, sample_weight)
        if not trainer.config._metrics_built:
            trainer._build_metrics([tuple(a.shape) for a in yt])
        per_out = getattr(model, "_per_output_losses", None) or {}
        n = jnp.sum(valid)
        for _, tracker, out in trainer.config.loss_trackers:
            if out is not None and out in per_out:
                tracker.update_state(per_out[out], sample_weight=n)
        targets = [i for i, o in enumerate(trainer.config.outputs) if o.has_target]
        for k, i in enumerate(targets):
            yp = preds[i].astype(_F32) if jnp.issubdtype(preds[i].dtype, jnp.floating) \
                else preds[i]
            for _, metric, weighted in trainer.config.outputs[i].metrics:
                metric.update_state(yt[k], yp, sample_weight=sw[k] if weighted else None)
    return metrics_result(model)


def loss_tracker(model):
    """The Mean that tracks the total loss ("loss"), once the metrics are built."""
    trainer = getattr(model, "_trainer", None)
    if trainer is None or not trainer.config._metrics_built:
        return None
    return trainer.config.loss_trackers[0][1]


def _update_metrics(model, metrics_variables, loss, x, y, y_pred, sample_weight):
    """(logs, new metrics values): the loss tracker and `compute_metrics`, pure."""
    mvars = model.metrics_variables
    values = _values(metrics_variables)
    with StatelessScope({id(v): x for v, x in zip(mvars, values)}) as scope:
        tracker = loss_tracker(model)
        if tracker is not None:
            n = jax.tree_util.tree_leaves(x)[0].shape[0]
            tracker.update_state(loss, sample_weight=n)
        logs = model.compute_metrics(x, y, y_pred, sample_weight)
    return logs, [scope.updates.get(id(v), x) for v, x in zip(mvars, values)]


# default steps --------------------------------------------------------------------------
def default_train_step(model, state, data):
    """Keras 3's default JAX `train_step` (see `Model.train_step`)."""
    trainer_of(model, "train_step")
    tv, ntv, ov, mv = state
    x, y, sample_weight = unpack_batch(data)

    def loss_fn(trainable):
        return model.compute_loss_and_updates(trainable, ntv, mv, x, y, sample_weight,
                                              training=True, optimizer_variables=ov)

    (_, (unscaled, y_pred, ntv, mv)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        _values(tv))
    tv, ov = model.optimizer.stateless_apply(ov, grads, tv)
    logs, mv = _update_metrics(model, mv, unscaled, x, y, y_pred, sample_weight)
    return logs, (tv, ntv, ov, mv)


def default_test_step(model, state, data):
    """Keras 3's default JAX `test_step`: state (trainable, non-trainable,
    metrics values) -> (logs, new state)."""
    trainer_of(model, "test_step")
    tv, ntv, mv = state
    x, y, sample_weight = unpack_batch(data)
    # the forward pass and compute_loss directly: a compute_loss_and_updates override
    # written for a custom train_step may take other arguments
    _, (unscaled, y_pred, ntv, mv) = compute_loss_and_updates(
        model, tv, ntv, mv, x, y, sample_weight, False, None)
    logs, mv = _update_metrics(model, mv, unscaled, x, y, y_pred, sample_weight)
    return logs, (tv, ntv, mv)


def default_predict_step(model, state, data):
    """Keras 3's default JAX `predict_step`: (outputs, non-trainable values)."""
    tv, ntv = state
    x, _, _ = unpack_batch(data)
    return model.stateless_call(tv, ntv, x, training=False)
