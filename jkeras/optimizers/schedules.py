"""Learning-rate schedules: callables of the optimizer step (Keras semantics).

Every schedule is pure jnp, so `schedule(step)` works with a Python int or a
traced int32 step inside `jax.jit`, and returns a float32 scalar array.
"""

from __future__ import annotations

import math

import jax.numpy as jnp


def _f(x):
    return jnp.asarray(x, jnp.float32)


class LearningRateSchedule:
    """Base class: `schedule(step) -> learning rate` for step = optimizer iterations."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step).")

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config().")

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        try:
            return f"{type(self).__name__}({self.get_config()})"
        except NotImplementedError:
            return f"<{type(self).__name__}>"


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps); with
    `staircase` the exponent is floored (decay in discrete intervals)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"ExponentialDecay: decay_steps must be > 0, got {decay_steps!r}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _f(step) / _f(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _f(self.initial_learning_rate) * jnp.power(_f(self.decay_rate), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] for step <= boundaries[0], values[i] for boundaries[i-1] <
    step <= boundaries[i], values[-1] after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "PiecewiseConstantDecay: values must have one more element than boundaries; "
                f"got {len(boundaries)} boundaries and {len(values)} values."
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        s = _f(step)
        idx = jnp.sum(s > jnp.asarray(self.boundaries, jnp.float32))
        return jnp.asarray(self.values, jnp.float32)[idx]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end;
    with `cycle`, decay_steps grows to the next multiple above step."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"PolynomialDecay: decay_steps must be > 0, got {decay_steps!r}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        s = _f(step)
        steps = _f(self.decay_steps)
        if self.cycle:
            mult = jnp.where(s == 0, 1.0, jnp.ceil(s / steps))
            steps = steps * mult
        else:
            s = jnp.minimum(s, steps)
        p = s / steps
        init, end = _f(self.initial_learning_rate), _f(self.end_learning_rate)
        return (init - end) * jnp.power(1.0 - p, _f(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (floored
    ratio with `staircase`)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        if decay_steps <= 0:
            raise ValueError(f"InverseTimeDecay: decay_steps must be > 0, got {decay_steps!r}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _f(step) / _f(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _f(self.initial_learning_rate) / (1.0 + _f(self.decay_rate) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from `initial_learning_rate` (or, after a linear warmup of
    `warmup_steps` steps, from `warmup_target`) down to `alpha` times that
    value over `decay_steps` steps; constant afterwards."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if decay_steps <= 0 and not warmup_steps:
            raise ValueError(f"CosineDecay: decay_steps must be > 0, got {decay_steps!r}.")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, s, decay_from):
        frac = s / _f(self.decay_steps)
        cos = 0.5 * (1.0 + jnp.cos(math.pi * frac))
        return decay_from * ((1.0 - self.alpha) * cos + self.alpha)

    def __call__(self, step):
        s = _f(step)
        init = _f(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(jnp.minimum(s, _f(self.decay_steps)), init)
        target = _f(self.warmup_target)
        warm = _f(self.warmup_steps)
        s = jnp.minimum(s, _f(self.decay_steps) + warm)
        warmup = (target - init) * (s / jnp.maximum(warm, 1.0)) + init
        return jnp.where(s < warm, warmup, self._decay(s - warm, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of `first_decay_steps`
    growing by `t_mul`, each restart's peak scaled by `m_mul`."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        if first_decay_steps <= 0:
            raise ValueError(
                f"CosineDecayRestarts: first_decay_steps must be > 0, got {first_decay_steps!r}."
            )
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        frac = _f(step) / _f(self.first_decay_steps)
        t_mul = float(self._t_mul)
        if t_mul == 1.0:
            i_restart = jnp.floor(frac)
            frac = frac - i_restart
        else:
            i_restart = jnp.floor(jnp.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - jnp.power(t_mul, i_restart)) / (1.0 - t_mul)
            frac = (frac - sum_r) / jnp.power(t_mul, i_restart)
        m_fac = jnp.power(_f(self._m_mul), i_restart)
        cos = 0.5 * m_fac * (1.0 + jnp.cos(math.pi * frac))
        return _f(self.initial_learning_rate) * ((1.0 - self.alpha) * cos + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = {c.__name__: c for c in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """{'module', 'class_name', 'config', 'registered_name'} for a schedule."""
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """A schedule from `serialize`'s output."""
    custom_objects = custom_objects or {}
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = custom_objects.get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown learning rate schedule {name!r}. Known: {sorted(_CLASSES)}."
        )
    return cls.from_config(config.get("config") or {})


__all__ = [
    "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
    "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
    "serialize",
]
