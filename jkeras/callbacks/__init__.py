"""Training callbacks (`keras.callbacks`)."""

from jkeras.callbacks.callback import Callback, CallbackList, History, LambdaCallback
from jkeras.callbacks.files import BackupAndRestore, CSVLogger, ModelCheckpoint
from jkeras.callbacks.monitors import (
    EarlyStopping,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from jkeras.callbacks.progbar_logger import ProgbarLogger
from jkeras.callbacks.tensorboard import TensorBoard

from jkeras.callbacks.ema import SwapEMAWeights  # isort: skip
from jkeras.callbacks.orbax import OrbaxCheckpoint  # isort: skip
from jkeras.callbacks.remote import RemoteMonitor  # isort: skip

__all__ = [
    "OrbaxCheckpoint", "RemoteMonitor", "SwapEMAWeights",
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
    "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
    "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
