"""Knowledge distillation (Keras 3's `keras.distillation`): `Distiller` trains a
student model from a frozen teacher with `compile`/`fit`; the distillation
losses `LogitsDistillation` and `FeatureDistillation` compare their outputs
and features; `DistillationLoss` is the base class for your own."""

from jkeras.distillation.distiller import Distiller
from jkeras.distillation.losses import DistillationLoss, FeatureDistillation, LogitsDistillation

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
