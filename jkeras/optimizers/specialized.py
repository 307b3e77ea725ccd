"""Keras 3's specialised optimizers: Adafactor (factored second moments),
Ftrl (FTRL-Proximal), Lamb (layer-wise trust ratio), Muon (orthogonalized
momentum for matrices, Adam for the rest) and ScheduleFreeAdamW.

Like the classic ones (`algorithms.py`), each is the optax transformation of
one step built from its arguments and the step count; `transforms.py` holds
the transformations optax lacks or writes differently from Keras. Every
optimizer also accepts the base arguments (weight_decay, clipnorm, clipvalue,
global_clipnorm, use_ema, loss_scale_factor, name). Their state is saved in
jkeras's own layout.
"""

from __future__ import annotations

import re

import jax.numpy as jnp
import optax

from jkeras.optimizers import transforms
from jkeras.optimizers.algorithms import _count, _step
from jkeras.optimizers.base import Optimizer


def _check(owner: str, arg: str, ok: bool, value, expected: str) -> None:
    if not ok:
        raise ValueError(f"{owner}: {arg} must be {expected}, got {value!r}.")


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018) as Keras 3 writes it. For a
    parameter of rank >= 2 the second moment of the gradient is kept factored
    over its last two axes (row and column averages of g**2 + epsilon_1, with
    decay 1 - t**beta_2_decay), otherwise in full; the normalized update
    u = g / sqrt(v) is clipped to an RMS of at most `clip_threshold` and the
    step is min(lr, 1 / sqrt(t)) * max(epsilon_2, rms(param)) * u. (Keras
    applies the min(lr, 1/sqrt(t)) cap whatever `relative_step` says; so does
    jkeras, and keeps the argument for configs.)"""

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, name="adafactor", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        _check("Adafactor", "clip_threshold", clip_threshold > 0, clip_threshold, "> 0")
        self.beta_2_decay = float(beta_2_decay)
        self.epsilon_1 = float(epsilon_1)
        self.epsilon_2 = float(epsilon_2)
        self.clip_threshold = float(clip_threshold)
        self.relative_step = bool(relative_step)

    def _transform(self, lr, iterations):
        t = _step(iterations)
        decay = 1.0 - jnp.power(t, self.beta_2_decay)
        return optax.chain(
            transforms.scale_by_factored_moments(decay, self.epsilon_1),
            optax.clip_by_block_rms(self.clip_threshold),
            optax.scale_by_param_block_rms(min_scale=self.epsilon_2),
            optax.scale_by_learning_rate(jnp.minimum(lr, 1.0 / jnp.sqrt(t))),
        )

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}


class Ftrl(Optimizer):
    """FTRL-Proximal ("Follow The Regularized Leader") with Keras's arguments:
    `learning_rate_power` (<= 0; -0.5 is Adagrad-like), accumulators starting
    at `initial_accumulator_value` (>= 0), L1 / L2 regularization strengths,
    `l2_shrinkage_regularization_strength` (an L2 penalty on the gradient
    only) and `beta` (added to the L2 strength as beta / (2 lr))."""

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, name="ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)):
            _check("Ftrl", arg, value >= 0.0, value, ">= 0")
        _check("Ftrl", "learning_rate_power", learning_rate_power <= 0.0, learning_rate_power,
               "<= 0")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _transform(self, lr, iterations):
        return transforms.ftrl(
            lr, self.learning_rate_power, self.initial_accumulator_value,
            self.l1_regularization_strength, self.l2_regularization_strength,
            self.l2_shrinkage_regularization_strength, self.beta)

    def _keras_slot_groups(self):
        return [("accumulator", "linear")]

    def _keras_slots(self, inner):
        return {"accumulator": list(inner.accumulator), "linear": list(inner.linear)}

    def _keras_inner(self, inner, slots, iterations):
        return transforms.FtrlState(list(slots["accumulator"]), list(slots["linear"]))

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lamb(Optimizer):
    """LAMB (You et al., 2019): the Adam direction m_hat / (sqrt(v_hat) +
    epsilon) scaled per parameter by the trust ratio ||param|| / ||direction||
    (1 when either norm is 0), then by the learning rate."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="lamb",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def _transform(self, lr, iterations):
        return optax.chain(
            optax.scale_by_adam(b1=self.beta_1, b2=self.beta_2, eps=self.epsilon),
            optax.scale_by_trust_ratio(),
            optax.scale_by_learning_rate(lr),
        )

    # Keras slots: momentum = optax's mu, velocity = nu.
    def _keras_slot_groups(self):
        return [("momentum", "velocity")]

    def _keras_slots(self, inner):
        return {"momentum": list(inner[0].mu), "velocity": list(inner[0].nu)}

    def _keras_inner(self, inner, slots, iterations):
        first = inner[0]._replace(count=_count(inner[0].count, iterations),
                                  mu=list(slots["momentum"]), nu=list(slots["velocity"]))
        return (first, *inner[1:])

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Muon(Optimizer):
    """Muon (Jordan et al., 2024) with Keras's choices: 2D parameters get
    momentum (`momentum`, Nesterov by default) orthogonalized by `ns_steps`
    Newton-Schulz iterations (coefficients muon_a, muon_b, muon_c) and scaled
    by sqrt(max(rows, cols)) * rms_rate (Moonlight); every other parameter,
    embeddings (`exclude_embeddings`: 'embedding' in the variable path) and
    variables whose path matches a regex of `exclude_layers` get Adam with
    learning rate lr * adam_lr_ratio. Weight decay is `weight_decay` for Muon
    parameters and `adam_weight_decay` for Adam ones. Which parameters are
    which is decided from the variables given to `build` (from the shapes
    alone when only arrays are known)."""

    _init_needs_variables = True  # the split depends on variable paths

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, name="muon",
                 exclude_layers=None, exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750,
                 muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
                 rms_rate=0.2, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, name=name,
                         **kwargs)
        _check("Muon", "ns_steps", isinstance(ns_steps, int) and ns_steps >= 1, ns_steps,
               "an int >= 1")
        self.adam_beta_1 = float(adam_beta_1)
        self.adam_beta_2 = float(adam_beta_2)
        self.adam_weight_decay = None if adam_weight_decay is None else float(adam_weight_decay)
        self.epsilon = float(epsilon)
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a, self.muon_b, self.muon_c = float(muon_a), float(muon_b), float(muon_c)
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = float(momentum)
        self.ns_steps = int(ns_steps)
        self.nesterov = bool(nesterov)
        self.rms_rate = rms_rate
        self._adam_flags: tuple | None = None

    def _uses_adam(self, variable) -> bool:
        """Whether `variable` (or an array) gets Adam rather than Muon."""
        if len(getattr(variable, "shape", ())) != 2:
            return True
        path = getattr(variable, "path", None)
        if path is None:
            return False
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build(self, variables) -> None:
        flags = tuple(self._uses_adam(v) for v in variables)
        if flags != self._adam_flags:
            self.__dict__.pop("_jit_updates", None)  # compiled for the previous split
        self._adam_flags = flags
        super().build(variables)

    def _flags(self, params) -> tuple:
        if self._adam_flags is not None and len(self._adam_flags) == len(params):
            return self._adam_flags
        return tuple(self._uses_adam(p) for p in params)

    def _fresh_inner(self, params):
        return self._muon(self._flags(list(params)), 0.0, jnp.ones(())).init(list(params))

    def _muon(self, flags, lr, t):
        return transforms.muon_with_adam(
            flags, lr, t, momentum=self.momentum, nesterov=self.nesterov,
            ns_coeffs=(self.muon_a, self.muon_b, self.muon_c), ns_steps=self.ns_steps,
            rms_rate=self.rms_rate, adam_lr_ratio=self.adam_lr_ratio, beta_1=self.adam_beta_1,
            beta_2=self.adam_beta_2, epsilon=self.epsilon)

    def update(self, grads, state, params):
        self._step_flags = self._flags(list(params))
        return super().update(grads, state, params)

    def _transform(self, lr, iterations):
        return self._muon(self._step_flags, lr, _step(iterations))

    def _apply_weight_decay(self, params, lr):
        flags = self._flags(params)
        mask = self._decay_mask if (
            self._decay_mask is not None and len(self._decay_mask) == len(params)) else None
        out = []
        for i, (p, use_adam) in enumerate(zip(params, flags)):
            rate = self.adam_weight_decay if use_adam else self.weight_decay
            if not rate or (mask is not None and not mask[i]):
                out.append(p)
            else:
                out.append(p - (lr * rate * p).astype(p.dtype))
        return out

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW (Defazio et al., 2024): no learning-rate schedule
    needed; the model's weights are the interpolation y between the SGD
    sequence z (Keras's `momentum` slot) and its running average x. Optional
    linear warmup over `warmup_steps`. Weight decay as in every optimizer
    (decoupled, set with `weight_decay`)."""

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, name="schedule_free_adamw", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        _check("ScheduleFreeAdamW", "beta_1", 0.0 < beta_1 <= 1.0, beta_1, "in (0, 1]")
        _check("ScheduleFreeAdamW", "warmup_steps", int(warmup_steps) >= 0, warmup_steps,
               ">= 0")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.warmup_steps = int(warmup_steps)

    def _transform(self, lr, iterations):
        t = _step(iterations)
        if self.warmup_steps > 0:
            lr = lr * jnp.minimum(t / self.warmup_steps, 1.0)
        return transforms.schedule_free_adamw(lr, t, self.beta_1, self.beta_2, self.epsilon)

    # Keras slots: momentum = z, velocity = v.
    def _keras_slot_groups(self):
        return [("momentum", "velocity")]

    def _keras_slots(self, inner):
        return {"momentum": list(inner.z), "velocity": list(inner.v)}

    def _keras_inner(self, inner, slots, iterations):
        return transforms.ScheduleFreeState(list(slots["momentum"]), list(slots["velocity"]))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "warmup_steps": self.warmup_steps}
