"""Distillation losses: how a student's outputs (or intermediate features) are
compared with a teacher's.

`DistillationLoss` is the base class (`compute_loss`, `validate_outputs`,
`validate_model_compatibility`); `LogitsDistillation` compares temperature-
softened output distributions, `FeatureDistillation` compares the outputs of
named intermediate layers (or the final outputs). Their `loss` argument is a
loss identifier or a structure (list, tuple, dict) of them matching the
models' outputs, `None` entries skipping an output.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jkeras import losses as _losses
from jkeras.distillation.features import feature_spec, shapes_compatible

_F32 = jnp.float32


# loss identifiers ----------------------------------------------------------------------
def _is_none(x) -> bool:
    return x is None


def _flat(structure) -> list:
    return jax.tree_util.tree_leaves(structure, is_leaf=_is_none)


def resolve_loss(identifier, owner: str):
    """A loss callable for one identifier: a jkeras loss function name ('mse',
    'kl_divergence') gives the function, as `keras.losses.get` does; a class name,
    `Loss` instance or class gives a `Loss`; a function `fn(y_true, y_pred)` stays
    as it is; None stays None."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        fn = getattr(_losses, identifier, None)
        if fn in _losses.ALL_OBJECTS and not isinstance(fn, type):
            return fn
        try:
            return _losses.get(identifier)
        except ValueError as e:
            raise ValueError(f"{owner}: unknown loss {identifier!r} in `loss`. {e}") from None
    if isinstance(identifier, _losses.Loss) or (
            isinstance(identifier, type) and issubclass(identifier, _losses.Loss)):
        return _losses.get(identifier)
    if isinstance(identifier, dict) and "class_name" in identifier:
        return _losses.deserialize(identifier)
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise TypeError(
        f"{owner}: each entry of `loss` must be a loss name, a jkeras.losses.Loss, a "
        f"function fn(y_true, y_pred) or None; got {type(identifier).__name__} "
        f"{identifier!r:.60}."
    )


def resolve_loss_structure(loss, owner: str):
    """`loss` with every identifier resolved (lists, tuples and dicts kept); at least
    one entry must be a loss."""
    def is_leaf(x):
        return not isinstance(x, (list, tuple, dict)) or (isinstance(x, dict)
                                                           and "class_name" in x)

    resolved = jax.tree_util.tree_map(lambda item: resolve_loss(item, owner), loss,
                                      is_leaf=is_leaf)
    if all(item is None for item in _flat(resolved)):
        raise ValueError(
            f"{owner}: `loss` must contain at least one loss that is not None, got "
            f"{loss!r:.80}. Use None only to skip some outputs of a multi-output model."
        )
    return resolved


def same_structure(a, b) -> bool:
    """Whether two structures of tensors/losses nest alike (None counts as a leaf)."""
    return (jax.tree_util.tree_structure(a, is_leaf=_is_none)
            == jax.tree_util.tree_structure(b, is_leaf=_is_none))


def _is_single(loss) -> bool:
    return not isinstance(loss, (list, tuple, dict))


def map_losses(owner: str, fn, loss, teacher_outputs, student_outputs) -> list:
    """[fn(loss_i, teacher_i, student_i)] over the outputs. A single loss applies to
    every output; a structure of losses must match the outputs' structure (a None
    entry skips its output)."""
    if _is_single(loss):
        pairs = zip(_flat(teacher_outputs), _flat(student_outputs))
        return [fn(loss, t, s) for t, s in pairs]
    if not same_structure(loss, teacher_outputs):
        raise ValueError(
            f"{owner}: the structure of `loss` ({_describe(loss)}) does not match the "
            f"structure of the outputs ({_describe(teacher_outputs)}). Give one loss per "
            f"output (None to skip one), or a single loss for all of them."
        )
    return [fn(lo, t, s) for lo, t, s in zip(_flat(loss), _flat(teacher_outputs),
                                               _flat(student_outputs)) if lo is not None]


def _describe(structure) -> str:
    def leaf(x):
        if x is None:
            return "None"
        shape = getattr(x, "shape", None)
        if shape is not None:
            return f"tensor{tuple(shape)}"
        return getattr(x, "__name__", None) or type(x).__name__

    return str(jax.tree_util.tree_map(leaf, structure, is_leaf=_is_none))


def _loss_function(loss):
    """The underlying jkeras loss function of a loss (itself for a function)."""
    return loss if not isinstance(loss, _losses.Loss) else getattr(loss, "fn", None)


def _from_logits(loss) -> bool:
    if isinstance(loss, _losses.Loss):
        return bool(getattr(loss, "_fn_kwargs", {}).get("from_logits", False))
    return False


def _mean_loss(loss, y_true, y_pred):
    return jnp.mean(jnp.asarray(loss(y_true, y_pred), _F32))


def _float32(x):
    x = jnp.asarray(x)
    return x.astype(_F32) if jnp.issubdtype(x.dtype, jnp.floating) else x


def _sum(values: list):
    return jnp.sum(jnp.stack([jnp.asarray(v, _F32) for v in values])) if values else \
        jnp.zeros((), _F32)


def serialize_loss_structure(loss):
    """The config of a loss structure; jkeras's loss functions are written as Keras 3
    writes its own ({'module': 'builtins', 'class_name': 'function', ...}), which
    both libraries load."""
    from jkeras.saving.serialization import serialize_keras_object

    def one(item):
        if item in _losses.ALL_OBJECTS and not isinstance(item, type):
            return {"module": "builtins", "class_name": "function",
                    "config": item.__name__, "registered_name": "function"}
        return serialize_keras_object(item)

    return jax.tree_util.tree_map(one, loss, is_leaf=lambda x: not isinstance(
        x, (list, tuple, dict)))


def deserialize_loss_structure(config):
    from jkeras.saving.serialization import deserialize_keras_object

    return deserialize_keras_object(config, kind="loss")


# classes ------------------------------------------------------------------------------
class DistillationLoss:
    """Base class of distillation losses: subclasses implement
    `compute_loss(teacher_outputs, student_outputs, **kwargs)` returning a scalar.

    `validate_outputs` checks the two outputs before each use (same structure by
    default); `validate_model_compatibility(teacher, student)` checks the models
    once, when a `Distiller` is made (nothing by default)."""

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The scalar loss between the teacher's and the student's outputs."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement compute_loss(teacher_outputs, "
            f"student_outputs, **kwargs) returning a scalar."
        )

    def validate_outputs(self, teacher_outputs, student_outputs) -> None:
        """Raises ValueError unless the outputs have the same structure."""
        if not same_structure(teacher_outputs, student_outputs):
            raise ValueError(
                f"{type(self).__name__}: the teacher's outputs ({_describe(teacher_outputs)}) "
                f"and the student's ({_describe(student_outputs)}) have different "
                f"structures; they must match."
            )

    def validate_model_compatibility(self, teacher, student) -> None:
        """Raises ValueError when this loss cannot be used with these models."""

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """An instance from `get_config()`'s dict (a 'loss' entry deserialized)."""
        config = dict(config)
        if "loss" in config:
            config["loss"] = deserialize_loss_structure(config["loss"])
        return cls(**config)


class LogitsDistillation(DistillationLoss):
    """Compares the teacher's and the student's final outputs (logits), both
    divided by `temperature`.

    With a KL divergence loss (the default, 'kl_divergence', as a name, function or
    `KLDivergence`), the loss is KL(softmax(t / T) || softmax(s / T)) * T**2, the
    factor T**2 keeping gradient sizes independent of the temperature (Hinton et
    al., 2015). A categorical crossentropy loss is applied to the teacher's
    softened probabilities as targets (and the student's probabilities, or its
    scaled logits when `from_logits=True`), also times T**2. Any other loss is
    applied to the scaled logits directly. `loss` may be a structure matching the
    outputs, None skipping an output.

    Keras 3.15 applies the softmax and T**2 only to a `KLDivergence` instance: the
    default `loss="kl_divergence"` (which Keras resolves to a function) and the
    crossentropy losses are applied to the raw scaled logits there, which gives
    meaningless values (or NaN). jkeras treats them as documented."""

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        owner = "LogitsDistillation"
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(
                f"{owner}: `temperature` must be a positive number, got "
                f"{type(temperature).__name__} {temperature!r:.40}."
            )
        if not temperature > 0:
            raise ValueError(f"{owner}: `temperature` must be positive, got {temperature}.")
        self.temperature = temperature
        self.loss = resolve_loss_structure(loss, owner)

    def _one(self, loss, teacher_logits, student_logits):
        t = float(self.temperature)
        teacher = _float32(teacher_logits) / t
        student = _float32(student_logits) / t
        fn = _loss_function(loss)
        if fn is _losses.kl_divergence:
            probs = jax.nn.softmax(teacher, axis=-1), jax.nn.softmax(student, axis=-1)
            return _mean_loss(loss, *probs) * t * t
        if fn is _losses.categorical_crossentropy:
            pred = student if _from_logits(loss) else jax.nn.softmax(student, axis=-1)
            return _mean_loss(loss, jax.nn.softmax(teacher, axis=-1), pred) * t * t
        return _mean_loss(loss, teacher, student)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The sum over the outputs of the loss between the softened outputs."""
        return _sum(map_losses("LogitsDistillation", self._one, self.loss, teacher_outputs,
                               student_outputs))

    def get_config(self) -> dict:
        return {"temperature": self.temperature, "loss": serialize_loss_structure(self.loss)}


class FeatureDistillation(DistillationLoss):
    """Compares features: the outputs of the teacher's layer `teacher_layer_name`
    and of the student's layer `student_layer_name` (each side's final outputs
    when its name is None), with `loss` ('mse' by default; a name, loss, function,
    or a structure of them matching the features, None skipping an entry).

    Named layers need Functional or Sequential models (their layers' outputs are
    symbolic tensors). With one of jkeras's own losses the two features must have
    the same shape, checked when the `Distiller` is made."""

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        owner = "FeatureDistillation"
        for arg, value in (("teacher_layer_name", teacher_layer_name),
                           ("student_layer_name", student_layer_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(
                    f"{owner}: `{arg}` must be a layer name (a non-empty string) or None, "
                    f"got {value!r:.60}."
                )
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = resolve_loss_structure(loss, owner)

    def validate_model_compatibility(self, teacher, student) -> None:
        specs = [feature_spec(model, name, role, "FeatureDistillation")
                 for model, name, role in ((teacher, self.teacher_layer_name, "teacher"),
                                           (student, self.student_layer_name, "student"))]
        if any(s is None for s in specs) or not self._builtin_losses():
            return
        self._check_shapes(*specs)

    def _builtin_losses(self) -> bool:
        """Whether every loss is one of jkeras's own (elementwise on equal shapes)."""
        def builtin(loss):
            fn = _loss_function(loss)
            return fn is not None and fn in _losses.ALL_OBJECTS

        return all(builtin(lo) for lo in _flat(self.loss) if lo is not None)

    def _check_shapes(self, teacher_spec, student_spec) -> None:
        t_leaves, s_leaves = _flat(teacher_spec), _flat(student_spec)
        names = (self.teacher_layer_name or "final outputs",
                 self.student_layer_name or "final outputs")
        if len(t_leaves) != len(s_leaves):
            raise ValueError(
                f"FeatureDistillation: the teacher's {names[0]!r} give {len(t_leaves)} "
                f"tensors and the student's {names[1]!r} give {len(s_leaves)}; they must "
                f"match."
            )
        for t, s in zip(t_leaves, s_leaves):
            ts, ss = tuple(t.shape), tuple(s.shape)
            if not shapes_compatible(ts, ss):
                raise ValueError(
                    f"FeatureDistillation: the teacher's features ({names[0]!r}, shape "
                    f"{ts}) and the student's ({names[1]!r}, shape {ss}) have different "
                    f"shapes; the loss compares them element by element. Pick layers with "
                    f"the same output shape, or give a loss function that maps between "
                    f"them."
                )

    def validate_outputs(self, teacher_outputs, student_outputs) -> None:
        super().validate_outputs(teacher_outputs, student_outputs)
        if not _is_single(self.loss):
            map_losses("FeatureDistillation", lambda *a: None, self.loss, teacher_outputs,
                       student_outputs)

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The sum over the features of the mean loss between them."""
        def one(loss, teacher, student):
            return _mean_loss(loss, _float32(teacher), _float32(student))

        return _sum(map_losses("FeatureDistillation", one, self.loss, teacher_outputs,
                               student_outputs))

    def get_config(self) -> dict:
        return {"loss": serialize_loss_structure(self.loss),
                "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}


BUILTIN_LOSSES: dict[str, Any] = {c.__name__: c for c in (
    DistillationLoss, LogitsDistillation, FeatureDistillation)}
