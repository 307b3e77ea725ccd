"""The optimizers, with Keras 3's arguments and defaults, built from optax
transformations arranged to reproduce Keras's update formulas.

Every optimizer also accepts the base arguments (weight_decay, clipnorm,
clipvalue, global_clipnorm, loss_scale_factor, name), Keras 1's `lr=`
(renamed, with a DeprecationWarning) and Keras 1/2's `decay=` (time-based
decay lr / (1 + decay * iterations), with a DeprecationWarning).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import optax

from jkeras.engine.legacy import legacy_args
from jkeras.optimizers.base import Optimizer, _user_stacklevel

_lr_renamed = legacy_args({"lr": "learning_rate"}, include_common=False)


def _eps(value):
    # Keras 2 accepted epsilon=None for backend.epsilon().
    return 1e-7 if value is None else float(value)


def _check_unit(owner, arg, value):
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}: `{arg}` must be in [0, 1], got {value!r}.")


def _step(iterations):
    """Keras's `local_step`: the 1-based index of the step being taken."""
    return (iterations + 1).astype(jnp.float32)


def _count(old, iterations):
    """An optax step counter holding `iterations` (Keras keeps only its own)."""
    return jnp.asarray(iterations, dtype=jnp.asarray(old).dtype)


def _neg(arrays) -> list:
    return [-a for a in arrays]


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum. Like Keras, the
    velocity accumulates learning-rate-scaled gradients:
    v = momentum * v - lr * g; p += v (or p += momentum * v - lr * g)."""

    @_lr_renamed
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float in [0, 1], got {momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _transform(self, lr, iterations):
        txs = [optax.scale_by_learning_rate(lr)]
        if self.momentum:
            txs.append(optax.trace(decay=self.momentum, nesterov=self.nesterov))
        return optax.chain(*txs)

    # Keras slots: momentum = optax's trace (both accumulate -lr * g).
    def _keras_slot_groups(self):
        return [("momentum",)] if self.momentum else []

    def _keras_slots(self, inner):
        return {"momentum": list(inner[1].trace)} if self.momentum else {}

    def _keras_inner(self, inner, slots, iterations):
        if not self.momentum:
            return inner
        return (inner[0], inner[1]._replace(trace=list(slots["momentum"])))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop (Keras 3 formula, epsilon inside the square root):
    v = rho * v + (1 - rho) * g**2; step = lr * g / sqrt(v + epsilon)
    (centered: v - mean(g)**2 + epsilon); with momentum, m = momentum * m + step."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        _check_unit("RMSprop", "rho", rho)
        _check_unit("RMSprop", "momentum", momentum)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = _eps(epsilon)
        self.centered = bool(centered)

    def _transform(self, lr, iterations):
        if self.centered:
            scale = optax.scale_by_stddev(decay=self.rho, eps=self.epsilon, eps_in_sqrt=True)
        else:
            scale = optax.scale_by_rms(decay=self.rho, eps=self.epsilon, eps_in_sqrt=True)
        txs = [scale, optax.scale_by_learning_rate(lr)]
        if self.momentum > 0:
            txs.append(optax.trace(decay=self.momentum))
        return optax.chain(*txs)

    # Keras slots: velocity = optax's nu, average_gradient = mu (centered),
    # momentum = -trace (Keras accumulates +lr * step, optax -lr * step).
    def _keras_slot_groups(self):
        groups = [("velocity",)]
        if self.momentum > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return groups

    def _keras_slots(self, inner):
        slots = {"velocity": list(inner[0].nu)}
        if self.momentum > 0:
            slots["momentum"] = _neg(inner[-1].trace)
        if self.centered:
            slots["average_gradient"] = list(inner[0].mu)
        return slots

    def _keras_inner(self, inner, slots, iterations):
        scale = inner[0]._replace(nu=list(slots["velocity"]))
        if self.centered:
            scale = scale._replace(mu=list(slots["average_gradient"]))
        out = [scale, *inner[1:]]
        if self.momentum > 0:
            out[-1] = out[-1]._replace(trace=_neg(slots["momentum"]))
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Adam with Keras's "epsilon hat": p -= lr * sqrt(1 - beta_2**t) /
    (1 - beta_1**t) * m / (sqrt(v) + epsilon). `amsgrad` keeps the running
    maximum of v."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = _eps(epsilon)
        self.amsgrad = bool(amsgrad)

    def _transform(self, lr, iterations):
        b2_correction = 1.0 - jnp.power(jnp.float32(self.beta_2), _step(iterations))
        if self.amsgrad:
            # optax's AMSGrad on raw second moments, rescaled to Keras's formula.
            return optax.chain(
                optax.scale_by_amsgrad(b1=self.beta_1, b2=self.beta_2, eps=self.epsilon,
                                       bias_correction_nu=False),
                optax.scale(jnp.sqrt(b2_correction)),
                optax.scale_by_learning_rate(lr),
            )
        # m_hat / (sqrt(v_hat) + eps / sqrt(1 - beta_2**t)) is Keras's epsilon-hat form.
        return optax.chain(
            optax.scale_by_adam(b1=self.beta_1, b2=self.beta_2,
                                eps=self.epsilon / jnp.sqrt(b2_correction)),
            optax.scale_by_learning_rate(lr),
        )

    # Keras slots: momentum = optax's mu, velocity = nu, velocity_hat = nu_max;
    # optax's own step count follows `iterations`.
    def _keras_slot_groups(self):
        groups = [("momentum", "velocity")]
        if self.amsgrad:
            groups.append(("velocity_hat",))
        return groups

    def _keras_slots(self, inner):
        slots = {"momentum": list(inner[0].mu), "velocity": list(inner[0].nu)}
        if self.amsgrad:
            slots["velocity_hat"] = list(inner[0].nu_max)
        return slots

    def _keras_inner(self, inner, slots, iterations):
        first = inner[0]._replace(count=_count(inner[0].count, iterations),
                                  mu=list(slots["momentum"]), nu=list(slots["velocity"]))
        if self.amsgrad:
            first = first._replace(nu_max=list(slots["velocity_hat"]))
        return (first, *inner[1:])

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (p -= lr * weight_decay * p each step)."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a float, got None.")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)


class Adagrad(Optimizer):
    """Adagrad: a = a + g**2 (starting at initial_accumulator_value);
    p -= lr * g / sqrt(a + epsilon)."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = _eps(epsilon)

    def _transform(self, lr, iterations):
        return optax.chain(
            optax.scale_by_rss(initial_accumulator_value=self.initial_accumulator_value,
                               eps=self.epsilon),
            optax.scale_by_learning_rate(lr),
        )

    # Keras slot: accumulator = optax's sum_of_squares.
    def _keras_slot_groups(self):
        return [("accumulator",)]

    def _keras_slots(self, inner):
        return {"accumulator": list(inner[0].sum_of_squares)}

    def _keras_inner(self, inner, slots, iterations):
        return (inner[0]._replace(sum_of_squares=list(slots["accumulator"])), *inner[1:])

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta: step = sqrt(E[dx**2] + eps) / sqrt(E[g**2] + eps) * g, scaled by lr."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        _check_unit("Adadelta", "rho", rho)
        self.rho = float(rho)
        self.epsilon = _eps(epsilon)

    def _transform(self, lr, iterations):
        return optax.chain(optax.scale_by_adadelta(rho=self.rho, eps=self.epsilon),
                           optax.scale_by_learning_rate(lr))

    # Keras slots: accumulated_grad = optax's e_g, accumulated_delta_var = e_x.
    def _keras_slot_groups(self):
        return [("accumulated_grad", "accumulated_delta_var")]

    def _keras_slots(self, inner):
        return {"accumulated_grad": list(inner[0].e_g),
                "accumulated_delta_var": list(inner[0].e_x)}

    def _keras_inner(self, inner, slots, iterations):
        return (inner[0]._replace(e_g=list(slots["accumulated_grad"]),
                                  e_x=list(slots["accumulated_delta_var"])), *inner[1:])

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax (infinity-norm Adam): u = max(beta_2 * u, |g|);
    p -= lr * m / ((1 - beta_1**t) * u). optax adds epsilon inside the max
    (Keras adds it to u), a difference of order epsilon."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = _eps(epsilon)

    def _transform(self, lr, iterations):
        return optax.chain(
            optax.scale_by_adamax(b1=self.beta_1, b2=self.beta_2, eps=self.epsilon),
            optax.scale_by_learning_rate(lr),
        )

    # Keras slots: momentum = optax's mu, norm = nu (optax adds epsilon inside the
    # max, Keras to the denominator: the same state up to epsilon).
    def _keras_slot_groups(self):
        return [("momentum", "norm")]

    def _keras_slots(self, inner):
        return {"momentum": list(inner[0].mu), "norm": list(inner[0].nu)}

    def _keras_inner(self, inner, slots, iterations):
        return (inner[0]._replace(count=_count(inner[0].count, iterations),
                                  mu=list(slots["momentum"]), nu=list(slots["norm"])),
                *inner[1:])

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


_NADAM_TERMS = 1024  # 0.96**1024 ~ 1e-18: later factors of the momentum product are 1.


def _nadam_log_u_product(beta_1, t):
    """log of prod_{i<=t} beta_1 * (1 - 0.5 * 0.96**i) for a traced float t."""
    i = jnp.arange(1, _NADAM_TERMS + 1, dtype=jnp.float32)
    terms = jnp.where(i <= t, jnp.log1p(-0.5 * jnp.power(jnp.float32(0.96), i)), 0.0)
    return t * jnp.log(jnp.float32(beta_1)) + jnp.sum(terms)


def _combine(first, second, c1, c2) -> optax.GradientTransformation:
    """c1 * first(g) + c2 * second(g): two optax transformations of the same gradient."""

    def init_fn(params):
        return (first.init(params), second.init(params))

    def update_fn(updates, state, params=None):
        u1, s1 = first.update(updates, state[0], params)
        u2, s2 = second.update(updates, state[1], params)
        return jax.tree_util.tree_map(lambda a, b: c1 * a + c2 * b, u1, u2), (s1, s2)

    return optax.GradientTransformation(init_fn, update_fn)


class Nadam(Optimizer):
    """Nesterov Adam with Keras's (Dozat's) momentum schedule
    u_t = beta_1 * (1 - 0.5 * 0.96**t):
    m_hat = u_{t+1} m / (1 - prod u_1..u_{t+1}) + (1 - u_t) g / (1 - prod u_1..u_t),
    p -= lr * m_hat / (sqrt(v / (1 - beta_2**t)) + epsilon).
    Built as a combination of optax's Adam direction m_hat/(sqrt(v_hat)+eps) and
    RMS direction g/(sqrt(v_hat)+eps)."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", schedule_decay=None, **kwargs):
        if schedule_decay is not None:
            warnings.warn(
                "Nadam: 'schedule_decay' is a Keras 1 argument and is ignored (Keras's "
                "momentum schedule uses the fixed 0.96 factor).",
                DeprecationWarning,
                stacklevel=_user_stacklevel(),
            )
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = _eps(epsilon)

    def _transform(self, lr, iterations):
        t = _step(iterations)
        b1 = jnp.float32(self.beta_1)
        u_t = b1 * (1.0 - 0.5 * jnp.power(jnp.float32(0.96), t))
        u_next = b1 * (1.0 - 0.5 * jnp.power(jnp.float32(0.96), t + 1.0))
        prod_t = jnp.exp(_nadam_log_u_product(self.beta_1, t))
        prod_next = prod_t * u_next
        # adam direction = m / (1 - beta_1**t) / D, rms direction = g / D
        c_m = u_next / (1.0 - prod_next) * (1.0 - jnp.power(b1, t))
        c_g = (1.0 - u_t) / (1.0 - prod_t)
        direction = _combine(
            optax.scale_by_adam(b1=self.beta_1, b2=self.beta_2, eps=self.epsilon),
            optax.scale_by_rms(decay=self.beta_2, eps=self.epsilon, eps_in_sqrt=False,
                               bias_correction=True),
            c_m, c_g,
        )
        return optax.chain(direction, optax.scale_by_learning_rate(lr))

    # Keras slots: momentum = mu and velocity = nu of both optax halves; plus the
    # scalar u_product (the momentum schedule's running product, which jkeras
    # computes from `iterations`), after the slots since Keras 3.10.
    def _keras_scalars(self, state):
        t = state.iterations.astype(jnp.float32)
        return [("u_product", jnp.exp(_nadam_log_u_product(self.beta_1, t)))]

    def _keras_slot_groups(self):
        return [("momentum", "velocity")]

    def _keras_slots(self, inner):
        adam_state = inner[0][0]
        return {"momentum": list(adam_state.mu), "velocity": list(adam_state.nu)}

    def _keras_inner(self, inner, slots, iterations):
        adam_state, rms_state = inner[0]
        adam_state = adam_state._replace(count=_count(adam_state.count, iterations),
                                         mu=list(slots["momentum"]),
                                         nu=list(slots["velocity"]))
        rms_state = rms_state._replace(count=_count(rms_state.count, iterations),
                                       nu=list(slots["velocity"]))
        return ((adam_state, rms_state), *inner[1:])

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion: p -= lr * sign(beta_1 * m + (1 - beta_1) * g);
    m = beta_2 * m + (1 - beta_2) * g."""

    @_lr_renamed
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name="lion", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(f"Lion: beta_1 must be in (0, 1], got {beta_1!r}.")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)

    def _transform(self, lr, iterations):
        return optax.chain(optax.scale_by_lion(b1=self.beta_1, b2=self.beta_2),
                           optax.scale_by_learning_rate(lr))

    # Keras slot: momentum = optax's mu.
    def _keras_slot_groups(self):
        return [("momentum",)]

    def _keras_slots(self, inner):
        return {"momentum": list(inner[0].mu)}

    def _keras_inner(self, inner, slots, iterations):
        return (inner[0]._replace(count=_count(inner[0].count, iterations),
                                  mu=list(slots["momentum"])), *inner[1:])

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
