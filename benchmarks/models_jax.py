"""The benchmark models as plain JAX functions (no framework), as a JAX user writes them.

`init(key, seed)` returns a dict of parameters with exactly the Keras models' shapes (so the
parameter counts equal the Keras ones); `apply(key, params, inputs)` returns a tuple of
logits; `loss(key, logits, targets)` takes logits (optax's losses), as users of plain JAX do;
`probabilities` applies the softmax/sigmoid for predict. Images are NHWC, kernels HWIO.
The LSTM precomputes its input projection for all steps and scans the recurrence (gate
order i, f, c, o as in Keras).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax


def _glorot(rng: np.random.Generator, shape: tuple, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def _dense(rng, n_in: int, n_out: int) -> dict:
    return {"w": _glorot(rng, (n_in, n_out), n_in, n_out), "b": np.zeros(n_out, np.float32)}


def _conv(rng, k: int, c_in: int, c_out: int) -> dict:
    return {"w": _glorot(rng, (k, k, c_in, c_out), k * k * c_in, k * k * c_out),
            "b": np.zeros(c_out, np.float32)}


def init(key: str, seed: int = 0) -> dict:
    """Parameters for benchmark model `key` (Keras-like initialisation), as jnp arrays."""
    rng = np.random.default_rng(seed)
    if key == "a":
        p = {"d1": _dense(rng, 784, 64), "d2": _dense(rng, 64, 64), "d3": _dense(rng, 64, 10)}
    elif key == "b":
        units = 32
        q, _ = np.linalg.qr(rng.standard_normal((4 * units, units)))
        p = {"emb": rng.uniform(-0.05, 0.05, (10000, 512)).astype(np.float32),
             "lstm": {"w": _glorot(rng, (512, 4 * units), 512, 4 * units),
                      "u": q.T.astype(np.float32),
                      "b": np.zeros(4 * units, np.float32)},
             "aux": _dense(rng, units, 1),
             "d1": _dense(rng, units + 5, 64), "d2": _dense(rng, 64, 64),
             "d3": _dense(rng, 64, 64), "main": _dense(rng, 64, 1)}
    elif key == "c":
        p = {"conv1": _conv(rng, 3, 1, 64), "conv2": _conv(rng, 3, 64, 64),
             "out": _dense(rng, 2 * 11 * 11 * 64, 1)}
    elif key == "d":
        p = {"t1a": _conv(rng, 1, 3, 16), "t1b": _conv(rng, 3, 16, 16),
             "t2a": _conv(rng, 1, 3, 16), "t2b": _conv(rng, 5, 16, 16),
             "t3": _conv(rng, 1, 3, 16), "out": _dense(rng, 48, 10)}
    else:
        raise ValueError(f"unknown benchmark model {key!r}")
    return jax.tree_util.tree_map(jnp.asarray, p)


def count_params(params: dict) -> int:
    return int(sum(np.prod(a.shape) for a in jax.tree_util.tree_leaves(params)))


def _apply_dense(p, x):
    return x @ p["w"] + p["b"]


def _apply_conv(p, x, padding: str):
    y = lax.conv_general_dilated(x, p["w"], (1, 1), padding,
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + p["b"]


def _max_pool(x, window: int, stride: int, padding: str):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, window, window, 1),
                             (1, stride, stride, 1), padding)


def _lstm(p, x):
    b, _, _ = x.shape
    units = p["u"].shape[0]
    xw = jnp.einsum("btd,dg->tbg", x, p["w"]) + p["b"]

    def step(carry, xw_t):
        h, c = carry
        z = xw_t + h @ p["u"]
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), None

    zeros = jnp.zeros((b, units), x.dtype)
    (h, _), _ = lax.scan(step, (zeros, zeros), xw)
    return h


def _tower(p, x):
    x = _apply_conv(p["conv1"], x, "VALID")
    x = _apply_conv(p["conv2"], x, "VALID")
    x = _max_pool(x, 2, 2, "VALID")
    return x.reshape(x.shape[0], -1)


def apply(key: str, params: dict, inputs) -> tuple:
    """Forward pass: a tuple of logits (one per model output)."""
    if key == "a":
        x = jax.nn.relu(_apply_dense(params["d1"], inputs[0]))
        x = jax.nn.relu(_apply_dense(params["d2"], x))
        return (_apply_dense(params["d3"], x),)
    if key == "b":
        headlines, extra = inputs
        h = _lstm(params["lstm"], params["emb"][headlines])
        x = jnp.concatenate([h, extra], axis=1)
        for name in ("d1", "d2", "d3"):
            x = jax.nn.relu(_apply_dense(params[name], x))
        return _apply_dense(params["main"], x), _apply_dense(params["aux"], h)
    if key == "c":
        a, b = inputs
        x = jnp.concatenate([_tower(params, a), _tower(params, b)], axis=1)
        return (_apply_dense(params["out"], x),)
    if key == "d":
        x = inputs[0]
        t1 = jax.nn.relu(_apply_conv(params["t1a"], x, "SAME"))
        t1 = jax.nn.relu(_apply_conv(params["t1b"], t1, "SAME"))
        t2 = jax.nn.relu(_apply_conv(params["t2a"], x, "SAME"))
        t2 = jax.nn.relu(_apply_conv(params["t2b"], t2, "SAME"))
        t3 = jax.nn.relu(_apply_conv(params["t3"], _max_pool(x, 3, 1, "SAME"), "SAME"))
        x = jnp.concatenate([t1, t2, t3], axis=-1).mean(axis=(1, 2))
        return (_apply_dense(params["out"], x),)
    raise ValueError(f"unknown benchmark model {key!r}")


def loss(key: str, logits: tuple, targets) -> jax.Array:
    """Training loss from logits, weighted like the Keras compile (b: 1.0 and 0.2)."""
    if key in ("a", "d"):
        return optax.softmax_cross_entropy(logits[0], targets[0]).mean()
    if key == "b":
        main = optax.sigmoid_binary_cross_entropy(logits[0], targets[0]).mean()
        aux = optax.sigmoid_binary_cross_entropy(logits[1], targets[1]).mean()
        return main + 0.2 * aux
    return optax.sigmoid_binary_cross_entropy(logits[0], targets[0]).mean()


def probabilities(key: str, logits: tuple) -> tuple:
    """Logits -> what the Keras model outputs (softmax or sigmoid)."""
    if key in ("a", "d"):
        return (jax.nn.softmax(logits[0], axis=-1),)
    return tuple(jax.nn.sigmoid(z) for z in logits)


def optimizer(learning_rate: float, rho: float, epsilon: float) -> optax.GradientTransformation:
    """Keras's RMSprop in optax: Keras 3 adds epsilon inside the square root,
    lr * g / sqrt(v + eps), which is optax's default (eps_in_sqrt=True)."""
    return optax.rmsprop(learning_rate, decay=rho, eps=epsilon, eps_in_sqrt=True)
