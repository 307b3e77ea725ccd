"""`keras.mixed_precision`: compute in bfloat16/float16 with float32 variables."""

from jkeras.backend.dtype_policy import (  # noqa: F401
    DTypePolicy,
    Policy,
    global_policy,
    set_global_policy,
)


def set_dtype_policy(policy) -> None:
    set_global_policy(policy)


def dtype_policy():
    return global_policy()


def __getattr__(name: str):
    # Lazy: the loss-scaling wrapper lives with the trainer (jkeras.training).
    if name == "LossScaleOptimizer":
        from jkeras.training.loss_scale import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module 'jkeras.mixed_precision' has no attribute '{name}'")
