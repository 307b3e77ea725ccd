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

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
    "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
    "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
