"""`Distiller`: a Model that trains a student model from a frozen teacher
model (knowledge distillation), with `compile`/`fit` like any model.

Its `compute_loss` combines the compiled loss of the student's outputs on the
labels with the distillation losses between teacher and student, so `fit`
trains it through the custom-step path (`jkeras.training.custom_loop`);
`predict`/`evaluate` run the student.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jkeras.distillation.features import (
    FINAL,
    FeatureTaps,
    shapes_compatible,
    symbolic_outputs,
)
from jkeras.distillation.losses import BUILTIN_LOSSES, DistillationLoss
from jkeras.engine.model import Model

_F32 = jnp.float32
_OWNER = "Distiller"


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_models(teacher, student) -> None:
    for role, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, Model):
            raise ValueError(
                f"{_OWNER}: `{role}` must be a keras Model (Functional, Sequential or "
                f"subclassed), got {type(model).__name__} {model!r:.60}."
            )
    if not teacher.built:
        raise ValueError(
            f"{_OWNER}: the teacher model '{teacher.name}' is not built, so it has no "
            f"weights to distill from. Give it an Input, or call it once on a batch "
            f"(teacher(x)), or load its trained weights, before making the Distiller."
        )
    for what, get in (("input", lambda m: getattr(m, "inputs", None)),
                      ("output", symbolic_outputs)):
        t, s = get(teacher), get(student)
        if t is None or s is None:
            continue
        t_leaves, s_leaves = jax.tree_util.tree_leaves(t), jax.tree_util.tree_leaves(s)
        if len(t_leaves) != len(s_leaves):
            raise ValueError(
                f"{_OWNER}: the teacher has {len(t_leaves)} {what}(s) and the student "
                f"{len(s_leaves)}; the student must take the teacher's inputs and give "
                f"outputs like the teacher's."
            )
        for ti, si in zip(t_leaves, s_leaves):
            _check_same_shape(tuple(ti.shape), tuple(si.shape), what)
            if ti.dtype != si.dtype:
                raise ValueError(
                    f"{_OWNER}: teacher and student {what} dtypes must match, got teacher "
                    f"{ti.dtype} and student {si.dtype}."
                )


def _check_same_shape(teacher_shape, student_shape, what: str) -> None:
    if not shapes_compatible(teacher_shape, student_shape):
        raise ValueError(
            f"{_OWNER}: teacher and student {what} shapes are incompatible: teacher "
            f"{teacher_shape}, student {student_shape}. Every dimension must match (None "
            f"matches any size)."
        )


def _check_losses(distillation_losses, distillation_loss_weights):
    """(losses list, weights list) from the constructor's arguments."""
    if distillation_losses is None:
        raise ValueError(
            f"{_OWNER}: `distillation_losses` is required: a distillation loss such as "
            f"keras.distillation.LogitsDistillation() or FeatureDistillation(...), or a "
            f"list of them."
        )
    single = not isinstance(distillation_losses, (list, tuple))
    losses = [distillation_losses] if single else list(distillation_losses)
    if not losses:
        raise ValueError(f"{_OWNER}: `distillation_losses` is an empty list; give at least "
                         f"one distillation loss.")
    for i, loss in enumerate(losses):
        if not isinstance(loss, DistillationLoss):
            raise TypeError(
                f"{_OWNER}: `distillation_losses` entries must be DistillationLoss objects "
                f"(LogitsDistillation, FeatureDistillation or a subclass of "
                f"keras.distillation.DistillationLoss), got {type(loss).__name__} "
                f"{loss!r:.60} at index {i}."
            )
    weights = distillation_loss_weights
    if weights is None:
        weights = [1.0] * len(losses)
    elif _is_number(weights) and single:
        weights = [weights]
    if not isinstance(weights, (list, tuple)) or len(weights) != len(losses):
        got = f"{len(weights)} weights" if isinstance(weights, (list, tuple)) else repr(weights)
        raise ValueError(
            f"{_OWNER}: `distillation_loss_weights` must give one weight per distillation "
            f"loss: {len(losses)} loss(es), got {got}."
        )
    for w in weights:
        if not _is_number(w) or not math.isfinite(w):
            raise ValueError(
                f"{_OWNER}: `distillation_loss_weights` must be finite numbers, got {w!r:.40} "
                f"in {list(weights)}."
            )
    return losses, list(weights)


def _check_student_loss_weight(value) -> float:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{_OWNER}: `student_loss_weight` must be a number between 0.0 and 1.0 (the "
            f"share of the student's own loss; the distillation losses get the rest), got "
            f"{value!r:.40}."
        )
    return value


def _batch_size(*structures):
    for s in structures:
        leaves = [a for a in jax.tree_util.tree_leaves(s) if getattr(a, "ndim", 0) > 0]
        if leaves:
            return leaves[0].shape[0]
    return 1


class Distiller(Model):
    """Trains `student` to match a trained, frozen `teacher` (knowledge distillation).

    `distillation_losses`: a `DistillationLoss` (`LogitsDistillation`,
    `FeatureDistillation`, or a subclass) or a list of them, weighted by
    `distillation_loss_weights` (one number per loss; all 1.0 by default).
    `student_loss_weight` (between 0 and 1, default 0.5) splits the total loss:

        loss = student_loss_weight * compiled_loss(y, student(x))
               + (1 - student_loss_weight) * sum_i(weight_i * distillation_loss_i)
               + the student's added losses (weight regularizers, add_loss)

    `compile(optimizer="adam", loss=..., metrics=...)` takes the student's loss on
    the labels (required unless `student_loss_weight=0`, which trains on the
    teacher alone, with or without labels). `fit` updates only the student (the
    teacher is set `trainable=False` here); calling the distiller, `predict` and
    `evaluate` run the student. Logs: 'loss', the compiled metrics, and
    'student_loss', 'distillation_loss' (the weighted sum before the
    `1 - student_loss_weight` factor) and 'total_loss', means over the samples.
    After training, use `distiller.student`.

    Unlike Keras 3.15, the student's loss honours `sample_weight`, `loss_weights`
    and the student's regularizers, the loss trackers are weighted by batch size
    (so 'total_loss' equals 'loss'), a single loss takes its weight from
    `distillation_loss_weights`, and the student loss is saved with the model.
    """

    _keras_module = "keras.distillation"

    def __init__(self, teacher, student, distillation_losses, distillation_loss_weights=None,
                 student_loss_weight=0.5, name="distiller", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_models(teacher, student)
        self.student_loss_weight = _check_student_loss_weight(student_loss_weight)
        losses, weights = _check_losses(distillation_losses, distillation_loss_weights)
        for loss in losses:
            loss.validate_model_compatibility(teacher, student)
        self.teacher = teacher
        self.student = student
        self.distillation_losses = losses
        self.distillation_loss_weights = weights
        # not Layer attributes: the extractors share the models' layers and weights
        self._taps = {
            role: FeatureTaps(model, [getattr(lo, f"{role}_layer_name", None) for lo in losses
                                      if getattr(lo, f"{role}_layer_name", None)])
            for role, model in (("teacher", teacher), ("student", student))}
        self.teacher.trainable = False
        from jkeras.metrics import Mean

        self.student_loss_tracker = Mean(name="student_loss")
        self.distillation_loss_tracker = Mean(name="distillation_loss")
        self.total_loss_tracker = Mean(name="total_loss")

    @property
    def _teacher_feature_extractor(self):
        """The Functional model giving the teacher's features (None without named layers)."""
        return self._taps["teacher"].extractor

    @property
    def _student_feature_extractor(self):
        return self._taps["student"].extractor

    # training -----------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs) -> None:
        """Configures training: `loss` is the student's loss on the labels (any form
        `Model.compile` takes), required unless `student_loss_weight` is 0."""
        if loss is None and self.student_loss_weight > 0:
            raise ValueError(
                f"{_OWNER}.compile: `loss` (the student's loss on the labels, e.g. "
                f"'sparse_categorical_crossentropy') is required when student_loss_weight="
                f"{self.student_loss_weight} > 0."
            )
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config: dict) -> None:
        """Compiles with a saved compile config. Keras 3.15 saves no student loss, so
        a distiller loaded from its files stays uncompiled (with a warning)."""
        if config.get("loss") is None and self.student_loss_weight > 0:
            import warnings

            warnings.warn(
                f"{_OWNER} '{self.name}': the saved compile config has no student loss "
                f"(Keras 3.15 does not save it), so the distiller is left uncompiled; call "
                f"compile(loss=...) before training it.", stacklevel=2)
            return
        self.compile(**config)

    def call(self, inputs, training=None, **kwargs):
        """The student's outputs."""
        return self.student(inputs, training=training, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of a batch (see the class doc); updates the loss trackers."""
        from jkeras.training.stateless_api import added_losses, compiled_loss

        if y_pred is None:
            y_pred = self(x, training=training)
        w = float(self.student_loss_weight)
        student_loss = jnp.zeros((), _F32)
        if w > 0.0:
            if y is None:
                raise ValueError(
                    f"{_OWNER}: student_loss_weight={w} needs labels y for the student's "
                    f"loss; pass y to fit/evaluate, or set student_loss_weight=0.0 to train "
                    f"on the teacher alone."
                )
            compiled = compiled_loss(self, y, y_pred, sample_weight)
            if compiled is None:
                raise ValueError(
                    f"{_OWNER}: no student loss was compiled; call compile(loss=...) first.")
            student_loss = jnp.asarray(compiled, _F32)
        distillation_loss = jnp.zeros((), _F32)
        if w < 1.0:
            distillation_loss = self._distillation_loss(x, y_pred, training)
        total = w * student_loss + (1.0 - w) * distillation_loss
        for extra in added_losses(self):
            total = total + jnp.sum(jnp.asarray(extra, _F32))
        n = _batch_size(x, y_pred)
        self.student_loss_tracker.update_state(student_loss, sample_weight=n)
        self.distillation_loss_tracker.update_state(distillation_loss, sample_weight=n)
        self.total_loss_tracker.update_state(total, sample_weight=n)
        return total

    def _distillation_loss(self, x, y_pred, training):
        """sum_i weight_i * distillation_loss_i(teacher features, student features)."""
        if x is None:
            raise ValueError(f"{_OWNER}: the distillation losses need the inputs x.")
        teacher = jax.lax.stop_gradient(self._taps["teacher"](x, training=False))
        student = self._taps["student"](x, training=training, outputs=y_pred)
        if self._taps["student"].extractor is not None:
            student[FINAL] = y_pred
        total = jnp.zeros((), _F32)
        for loss, weight in zip(self.distillation_losses, self.distillation_loss_weights):
            t = teacher[getattr(loss, "teacher_layer_name", None) or FINAL]
            s = student[getattr(loss, "student_layer_name", None) or FINAL]
            loss.validate_outputs(t, s)
            value = jnp.asarray(loss.compute_loss(t, s), _F32)
            if value.ndim != 0:
                raise ValueError(
                    f"{_OWNER}: {type(loss).__name__}.compute_loss returned a loss of shape "
                    f"{value.shape}; it must return a scalar (reduce it, e.g. with "
                    f"keras.ops.mean)."
                )
            total = total + float(weight) * value
        return total

    # saving -------------------------------------------------------------------------
    def get_config(self) -> dict:
        from jkeras.saving.serialization import serialize_keras_object

        config = super().get_config()
        config.update({
            "teacher": serialize_keras_object(self.teacher),
            "student": serialize_keras_object(self.student),
            "distillation_losses": [serialize_distillation_loss(lo)
                                    for lo in self.distillation_losses],
            "distillation_loss_weights": list(self.distillation_loss_weights),
            "student_loss_weight": self.student_loss_weight,
        })
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from jkeras.saving.serialization import deserialize_keras_object

        config = dict(config)
        for key in ("teacher", "student"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key], custom_objects,
                                                       kind="layer")
        losses = config.get("distillation_losses")
        if isinstance(losses, (list, tuple)):
            config["distillation_losses"] = [
                deserialize_distillation_loss(lo, custom_objects) for lo in losses]
        return cls(**config)


def serialize_distillation_loss(loss) -> dict:
    """The Keras 3 config of a distillation loss (module 'keras.distillation' for
    jkeras's own classes)."""
    from jkeras.saving.serialization import serialize_keras_object

    if BUILTIN_LOSSES.get(type(loss).__name__) is type(loss):
        return {"module": "keras.distillation", "class_name": type(loss).__name__,
                "config": serialize_keras_object(loss.get_config()),
                "registered_name": None}
    return serialize_keras_object(loss)


def deserialize_distillation_loss(config, custom_objects: dict | None = None):
    """A distillation loss from its config (jkeras's classes, or registered/custom
    subclasses of DistillationLoss)."""
    if isinstance(config, DistillationLoss):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"{_OWNER}: invalid distillation loss config {config!r:.80}.")
    from jkeras.saving.object_registration import get_registered_object

    name = config["class_name"]
    module = str(config.get("module") or "")
    custom = get_registered_object(config.get("registered_name") or name, custom_objects)
    if custom is None and name in BUILTIN_LOSSES and module.split(".")[0] in (
            "keras", "jkeras", ""):
        return BUILTIN_LOSSES[name].from_config(dict(config.get("config") or {}))
    from jkeras.saving.serialization import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects)
