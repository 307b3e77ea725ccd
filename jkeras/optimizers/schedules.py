"""Learning-rate schedules: callables of the optimizer step (Keras semantics).

Every schedule is pure jnp, so `schedule(step)` works with a Python int or a
traced int32 step inside `jax.jit`, and returns a float32 scalar array.
"""

from __future__ import annotations

import math

import jax.numpy as jnp


def _f(x):
    return jnp.asarray(x, jnp.float32)


def _positive_steps(owner: str, arg: str, value) -> None:
    if value <= 0:
        raise ValueError(f"{owner}: {arg} must be > 0, got {value!r}.")


class LearningRateSchedule:
    """Base class: `schedule(step) -> learning rate` for step = optimizer iterations.
    A subclass either lists its constructor arguments in `_config_keys` (kept as
    attributes of those names) or overrides `get_config`."""

    _config_keys: tuple[str, ...] = ()

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step).")

    def get_config(self) -> dict:
        if not self._config_keys:
            raise NotImplementedError(f"{type(self).__name__} must implement get_config().")
        return {k: getattr(self, k) for k in self._config_keys}

    def _keep(self, **config) -> None:
        """Stores the constructor arguments as attributes (what get_config returns)."""
        for k, v in config.items():
            setattr(self, k, v)

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        try:
            return f"{type(self).__name__}({self.get_config()})"
        except NotImplementedError:
            return f"<{type(self).__name__}>"


class _StepRatioDecay(LearningRateSchedule):
    """A decay of `initial_learning_rate` by `decay_rate` as a function of
    step / decay_steps (floored with `staircase`)."""

    _config_keys = ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name")

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        _positive_steps(type(self).__name__, "decay_steps", decay_steps)
        self._keep(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                   decay_rate=decay_rate, staircase=staircase, name=name or type(self).__name__)

    def _ratio(self, step):
        p = _f(step) / _f(self.decay_steps)
        return jnp.floor(p) if self.staircase else p


class ExponentialDecay(_StepRatioDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps); with
    `staircase` the exponent is floored (decay in discrete intervals)."""

    def __call__(self, step):
        return _f(self.initial_learning_rate) * jnp.power(_f(self.decay_rate), self._ratio(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] for step <= boundaries[0], values[i] for boundaries[i-1] <
    step <= boundaries[i], values[-1] after the last boundary."""

    _config_keys = ("boundaries", "values", "name")

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                "PiecewiseConstantDecay: values must have one more element than boundaries; "
                f"got {len(boundaries)} boundaries and {len(values)} values."
            )
        self._keep(boundaries=list(boundaries), values=list(values), name=name)

    def __call__(self, step):
        s = _f(step)
        idx = jnp.sum(s > jnp.asarray(self.boundaries, jnp.float32))
        return jnp.asarray(self.values, jnp.float32)[idx]


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end;
    with `cycle`, decay_steps grows to the next multiple above step."""

    _config_keys = ("initial_learning_rate", "decay_steps", "end_learning_rate", "power",
                    "cycle", "name")

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        _positive_steps("PolynomialDecay", "decay_steps", decay_steps)
        self._keep(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                   end_learning_rate=end_learning_rate, power=power, cycle=cycle, name=name)

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


class InverseTimeDecay(_StepRatioDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (floored
    ratio with `staircase`)."""

    def __call__(self, step):
        return _f(self.initial_learning_rate) / (1.0 + _f(self.decay_rate) * self._ratio(step))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from `initial_learning_rate` (or, after a linear warmup of
    `warmup_steps` steps, from `warmup_target`) down to `alpha` times that
    value over `decay_steps` steps; constant afterwards."""

    _config_keys = ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target",
                    "warmup_steps")

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if not warmup_steps:
            _positive_steps("CosineDecay", "decay_steps", decay_steps)
        self._keep(initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
                   alpha=alpha, name=name, warmup_target=warmup_target,
                   warmup_steps=warmup_steps)

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


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of `first_decay_steps`
    growing by `t_mul`, each restart's peak scaled by `m_mul`."""

    _config_keys = ("initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha",
                    "name")

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _positive_steps("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self._keep(initial_learning_rate=initial_learning_rate,
                   first_decay_steps=first_decay_steps, t_mul=t_mul, m_mul=m_mul, alpha=alpha,
                   name=name)

    def __call__(self, step):
        frac = _f(step) / _f(self.first_decay_steps)
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            i_restart = jnp.floor(frac)
            frac = frac - i_restart
        else:
            i_restart = jnp.floor(jnp.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - jnp.power(t_mul, i_restart)) / (1.0 - t_mul)
            frac = (frac - sum_r) / jnp.power(t_mul, i_restart)
        m_fac = jnp.power(_f(self.m_mul), i_restart)
        cos = 0.5 * m_fac * (1.0 + jnp.cos(math.pi * frac))
        return _f(self.initial_learning_rate) * ((1.0 - self.alpha) * cos + self.alpha)


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
