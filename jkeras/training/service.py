"""The training service the engine calls (see `jkeras.engine.services`):
compile/fit/evaluate/predict and Keras 3's stateless training API."""

from __future__ import annotations

from jkeras.training import custom_loop
from jkeras.training.inference import predict, predict_on_batch  # noqa: F401
from jkeras.training.stateless_api import (  # noqa: F401
    compute_loss,
    compute_loss_and_updates,
    compute_metrics,
    default_predict_step,
    default_test_step,
    default_train_step,
    metrics_result,
    stateless_compute_loss,
)
from jkeras.training.trainer import (  # noqa: F401
    compile_model,
    evaluate_generator_model,
    evaluate_model,
    fit_generator_model,
    fit_model,
    predict_generator_model,
    trainer_of,
)


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None,
                   reset_metrics=True, return_dict=False):
    """One training step on one batch (see `Model.train_on_batch`)."""
    trainer = trainer_of(model, "train_on_batch")
    if custom_loop.overrides(model, custom_loop.TRAIN_HOOKS):
        return custom_loop.train_on_batch(trainer, x, y, sample_weight, class_weight,
                                          reset_metrics, return_dict)
    return trainer.train_on_batch(
        x, y, sample_weight=sample_weight, class_weight=class_weight,
        reset_metrics=reset_metrics, return_dict=return_dict)


def test_on_batch(model, x, y=None, sample_weight=None, reset_metrics=True,
                  return_dict=False):
    """Loss and metrics on one batch (see `Model.test_on_batch`)."""
    trainer = trainer_of(model, "test_on_batch")
    if custom_loop.overrides(model, custom_loop.TEST_HOOKS):
        return custom_loop.test_on_batch(trainer, x, y, sample_weight, reset_metrics,
                                         return_dict)
    return trainer.test_on_batch(
        x, y, sample_weight=sample_weight, reset_metrics=reset_metrics,
        return_dict=return_dict)
