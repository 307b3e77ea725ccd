"""optax gradient transformations for Keras update rules optax lacks or
writes differently: Adafactor's second moments factored over the last two
axes, FTRL-Proximal, schedule-free AdamW (uniform averaging, Keras's
recovery of x from y and z) and Muon's momentum orthogonalization mixed
with Adam for the parameters Muon does not handle.

Each takes the step's hyperparameters (learning rate, 1-based step `t` as a
float) as arguments: the optimizers build them anew for every step from
their own state, like the rest of `jkeras.optimizers`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import optax


class FactoredMomentsState(NamedTuple):
    """Per parameter: row and column statistics (rank >= 2; () placeholders
    otherwise) and the unfactored second moment (rank < 2; () otherwise)."""

    r: list
    c: list
    v: list


def _placeholder(p):
    return jnp.zeros((), p.dtype)


def scale_by_factored_moments(decay, epsilon_1: float) -> optax.GradientTransformation:
    """Divides gradients by the square root of Adafactor's second-moment
    estimate: for rank >= 2 parameters, moving averages r (over the last axis)
    and c (over the second-to-last) of g**2 + epsilon_1 with v = r / mean(r)
    (outer) c; for smaller ranks the plain moving average. `decay` is this
    step's beta_2."""

    def init_fn(params):
        params = list(params)
        return FactoredMomentsState(
            r=[jnp.zeros(p.shape[:-1], p.dtype) if p.ndim >= 2 else _placeholder(p)
               for p in params],
            c=[jnp.zeros(p.shape[:-2] + p.shape[-1:], p.dtype) if p.ndim >= 2
               else _placeholder(p) for p in params],
            v=[_placeholder(p) if p.ndim >= 2 else jnp.zeros_like(p) for p in params])

    def update_fn(updates, state, params=None):
        del params
        out, rs, cs, vs = [], [], [], []
        for g, r, c, v in zip(updates, state.r, state.c, state.v):
            g2 = jnp.square(g) + epsilon_1
            if g.ndim >= 2:
                r = decay * r + (1.0 - decay) * jnp.mean(g2, axis=-1)
                c = decay * c + (1.0 - decay) * jnp.mean(g2, axis=-2)
                estimate = (r / jnp.mean(r, axis=-1, keepdims=True))[..., None] * c[..., None, :]
            else:
                v = decay * v + (1.0 - decay) * g2
                estimate = v
            out.append(g / jnp.sqrt(estimate))
            rs.append(r)
            cs.append(c)
            vs.append(v)
        return out, FactoredMomentsState(rs, cs, vs)

    return optax.GradientTransformation(init_fn, update_fn)


class FtrlState(NamedTuple):
    accumulator: list
    linear: list


def ftrl(learning_rate, learning_rate_power: float, initial_accumulator_value: float,
         l1: float, l2: float, l2_shrinkage: float, beta: float) -> optax.GradientTransformation:
    """FTRL-Proximal (McMahan et al., 2013) as Keras writes it: with
    n' = n + g**2 and sigma = (n'**-p - n**-p) / lr (p = learning_rate_power),
    the linear term z += g + 2 * l2_shrinkage * w - sigma * w and the new
    weight is (clip(z, -l1, l1) - z) / (n'**-p / lr + 2 * (l2 + beta / (2 lr))).
    The update is the difference to the current weight (`params` required)."""

    def init_fn(params):
        params = list(params)
        return FtrlState([jnp.full_like(p, initial_accumulator_value) for p in params],
                         [jnp.zeros_like(p) for p in params])

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("ftrl needs the parameters to compute its update.")
        l2_total = l2 + beta / (2.0 * learning_rate)
        out, accs, lins = [], [], []
        for g, w, n, z in zip(updates, params, state.accumulator, state.linear):
            new_n = n + jnp.square(g)
            sigma = (jnp.power(new_n, -learning_rate_power)
                     - jnp.power(n, -learning_rate_power)) / learning_rate
            z = z + g + 2.0 * l2_shrinkage * w - sigma * w
            quadratic = jnp.power(new_n, -learning_rate_power) / learning_rate + 2.0 * l2_total
            new_w = (jnp.clip(z, -l1, l1) - z) / quadratic
            out.append(new_w - w)
            accs.append(new_n)
            lins.append(z)
        return out, FtrlState(accs, lins)

    return optax.GradientTransformation(init_fn, update_fn)


class ScheduleFreeState(NamedTuple):
    z: list  # Keras's `momentum`: the plain SGD sequence, starting at the parameters
    v: list  # Keras's `velocity`: the second-moment average


def schedule_free_adamw(learning_rate, t, beta_1: float, beta_2: float,
                        epsilon: float) -> optax.GradientTransformation:
    """Schedule-free AdamW (Defazio et al., 2024) as Keras writes it: the
    parameters are y; z -= lr * g / (sqrt(v_hat) + eps); x, recovered from y
    and the previous z, is averaged with weight 1/t towards z; y = (1 - beta_1)
    z + beta_1 x. `t` is the 1-based step."""

    def init_fn(params):
        params = list(params)
        return ScheduleFreeState([jnp.array(p) for p in params],
                                 [jnp.zeros_like(p) for p in params])

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("schedule_free_adamw needs the parameters to compute its update.")
        correction = 1.0 - jnp.power(beta_2, t)
        weight = 1.0 / t
        out, zs, vs = [], [], []
        for g, y, z_old, v in zip(updates, params, state.z, state.v):
            v = v + (jnp.square(g) - v) * (1.0 - beta_2)
            z = z_old - learning_rate * g / (jnp.sqrt(v / correction) + epsilon)
            x_old = (y - (1.0 - beta_1) * z_old) / beta_1
            x = (1.0 - weight) * x_old + weight * z
            out.append((1.0 - beta_1) * z + beta_1 * x - y)
            zs.append(z)
            vs.append(v)
        return out, ScheduleFreeState(zs, vs)

    return optax.GradientTransformation(init_fn, update_fn)


def orthogonalize(x, coeffs: tuple, steps: int):
    """Newton-Schulz approximation of the orthogonal factor U V^T of a
    matrix (x scaled to Frobenius norm ~1, then `steps` quintic iterations
    x <- a x + (b A + c A^2) x with A = x x^T, on the wide orientation).
    (optax has this iteration, but not as public API.)"""
    a, b, c = coeffs
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / (jnp.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


class MuonState(NamedTuple):
    momentum: list  # every parameter
    velocity: list  # Adam's second moment; () placeholders for Muon parameters


def muon_with_adam(flags: tuple, learning_rate, t, *, momentum: float, nesterov: bool,
                   ns_coeffs: tuple, ns_steps: int, rms_rate, adam_lr_ratio: float,
                   beta_1: float, beta_2: float, epsilon: float) -> optax.GradientTransformation:
    """Muon for the parameters whose flag is False: momentum m = momentum * m +
    g (Nesterov: g + momentum * m), orthogonalized by Newton-Schulz iterations
    (`orthogonalize`), scaled by sqrt(max(rows, cols)) * rms_rate (Moonlight's rule;
    none when rms_rate is None) and by -lr. Parameters flagged True get Keras's
    Adam with learning rate lr * adam_lr_ratio. (optax's `contrib.muon`
    bias-corrects an averaged momentum and scales by fan ratios instead.)"""
    def init_fn(params):
        params = list(params)
        return MuonState([jnp.zeros_like(p) for p in params],
                         [jnp.zeros_like(p) if f else _placeholder(p)
                          for p, f in zip(params, flags)])

    def update_fn(updates, state, params=None):
        del params
        adam_lr = learning_rate * adam_lr_ratio
        alpha = adam_lr * jnp.sqrt(1.0 - jnp.power(beta_2, t)) / (1.0 - jnp.power(beta_1, t))
        out, ms, vs = [], [], []
        for g, m, v, use_adam in zip(updates, state.momentum, state.velocity, flags):
            if use_adam:
                m = m + (g - m) * (1.0 - beta_1)
                v = v + (jnp.square(g) - v) * (1.0 - beta_2)
                out.append(-alpha * m / (jnp.sqrt(v) + epsilon))
            else:
                m = momentum * m + g
                direction = g + momentum * m if nesterov else m
                u = orthogonalize(direction, ns_coeffs, ns_steps)
                if rms_rate is not None:
                    u = u * jnp.sqrt(float(max(u.shape[0], u.shape[1]))) * rms_rate
                out.append(-learning_rate * u)
            ms.append(m)
            vs.append(v)
        return out, MuonState(ms, vs)

    return optax.GradientTransformation(init_fn, update_fn)

