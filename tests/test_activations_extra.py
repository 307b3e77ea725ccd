"""The activations Keras 3 added (celu, glu, hard_silu, sparsemax, ...): values against
their formulas, Keras's defaults, lookup by name and serialization in layer configs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import activations, ops

X = np.linspace(-3, 3, 13, dtype="float32")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


EXPECTED = {
    "celu": np.where(X > 0, X, np.expm1(X)),
    "hard_shrink": np.where(np.abs(X) > 0.5, X, 0),
    "hard_silu": X * np.clip(X + 3, 0, 6) / 6,
    "hard_swish": X * np.clip(X + 3, 0, 6) / 6,
    "hard_tanh": np.clip(X, -1, 1),
    "log_sigmoid": np.log(_sigmoid(X)),
    "soft_shrink": np.where(X > 0.5, X - 0.5, np.where(X < -0.5, X + 0.5, 0)),
    "sparse_plus": np.where(X <= -1, 0, np.where(X >= 1, X, (X + 1) ** 2 / 4)),
    "sparse_sigmoid": np.clip((X + 1) / 2, 0, 1),
    "squareplus": (X + np.sqrt(X ** 2 + 4)) / 2,
    "tanh_shrink": X - np.tanh(X),
    # activations.gelu is exact by default (ops.gelu is the tanh approximation)
    "gelu": X * 0.5 * (1 + np.vectorize(math.erf)(X / np.sqrt(2))),
}


def test_new_activations_match_their_formulas():
    names = sorted(EXPECTED)
    got, got_ops = jax.jit(lambda x: (
        {n: getattr(activations, n)(x) for n in names},
        {n: getattr(ops, n)(x) for n in names if n != "gelu"},
    ))(X)
    for name in names:
        np.testing.assert_allclose(got[name], EXPECTED[name], rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    for name, value in got_ops.items():  # the op of the same name computes the same
        np.testing.assert_allclose(value, EXPECTED[name], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ops.gelu(X), X * _sigmoid(1.5957691 * (X + 0.044715 * X ** 3)),
                               rtol=1e-4, atol=1e-6)


def test_arguments_and_defaults():
    np.testing.assert_allclose(activations.celu(X, alpha=2.0),
                               np.where(X > 0, X, 2 * np.expm1(X / 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activations.hard_shrink(X, threshold=1.2),
                               np.where(np.abs(X) > 1.2, X, 0))
    np.testing.assert_allclose(activations.threshold(X, 0.3, -2.0), np.where(X > 0.3, X, -2))
    np.testing.assert_allclose(activations.squareplus(X, b=1),
                               (X + np.sqrt(X ** 2 + 1)) / 2, rtol=1e-6)
    x2 = X.reshape(-1, 1) * np.array([[1.0, -0.5, 2.0, 0.3]], "float32")
    a, b = x2[:, :2], x2[:, 2:]
    np.testing.assert_allclose(activations.glu(x2), a * _sigmoid(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activations.glu(x2.T, axis=0), (a * _sigmoid(b)).T, rtol=1e-5,
                               atol=1e-6)
    # Keras's relu options: slope below threshold, cap
    np.testing.assert_allclose(
        activations.relu(X, negative_slope=0.1, max_value=1.5, threshold=0.2),
        np.where(X > 0.2, np.minimum(X, 1.5), 0.1 * (X - 0.2)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(activations.relu(X, max_value=6), np.clip(X, 0, 6))
    np.testing.assert_allclose(activations.relu(X), np.maximum(X, 0))


def test_sparsemax_projects_onto_the_simplex(rng):
    x = rng.standard_normal((5, 7)).astype("float32") * 2
    y, y_axis0, small = jax.jit(lambda x: (
        activations.sparsemax(x), ops.sparsemax(x.T, axis=0),
        activations.sparsemax(jnp.array([[1.0, 2.0, 3.0], [1.0, 1.2, 0.0]]))))(x)
    np.testing.assert_allclose(y.sum(-1), 1, rtol=1e-5)
    assert np.all(np.asarray(y) >= 0)
    # Euclidean projection: y = max(x - tau, 0) for the one tau that makes it sum to one
    for row_x, row_y in zip(x, np.asarray(y)):
        support = row_y > 0
        tau = (row_x[support].sum() - 1) / support.sum()
        np.testing.assert_allclose(row_y, np.maximum(row_x - tau, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_axis0, np.asarray(y).T, rtol=1e-6)
    np.testing.assert_allclose(small, [[0, 0, 1], [0.4, 0.6, 0]], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["celu", "glu", "hard_shrink", "hard_silu", "hard_swish",
                                  "hard_tanh", "log_sigmoid", "soft_shrink", "sparse_plus",
                                  "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink",
                                  "threshold"])
def test_lookup_by_name(name):
    fn = activations.get(name)
    assert fn is getattr(activations, name)
    expected = "hard_silu" if name == "hard_swish" else name  # Keras writes hard_silu
    assert activations.serialize(fn) == expected
    assert activations.deserialize(activations.serialize(fn)) is fn


def test_layer_configs_round_trip_the_new_names():
    model = jkeras.Sequential([jkeras.Input((4,)), jkeras.layers.Dense(3, activation="celu"),
                               jkeras.layers.Dense(2, activation="hard_swish")])
    config = model.get_config()
    dense_configs = [lay["config"] for lay in config["layers"] if lay["class_name"] == "Dense"]
    assert [c["activation"] for c in dense_configs] == ["celu", "hard_silu"]
    clone = jkeras.Sequential.from_config(config)
    assert clone.layers[0].activation is activations.celu
    assert clone.layers[1].activation is activations.hard_silu
    with pytest.raises(ValueError, match="Unknown activation"):
        activations.get("hard_swishh")


def test_symbolic_use_and_gradients():
    inp = jkeras.Input((6,))
    out = activations.glu(ops.squareplus(inp))
    assert out.shape == (None, 3)
    model = jkeras.Model(inp, activations.sparsemax(out))
    data = np.arange(12, dtype="float32").reshape(2, 6) / 6
    np.testing.assert_allclose(model.predict(data, verbose=0).sum(-1), 1, rtol=1e-5)
    grads = jax.jit(jax.grad(lambda x: jnp.sum(
        activations.celu(x) + activations.soft_shrink(x) + activations.hard_tanh(x)
        + activations.log_sigmoid(x) + activations.sparse_plus(x))))(X)
    sparse_plus_grad = np.where(X <= -1, 0, np.where(X >= 1, 1, (X + 1) / 2))
    expected = (np.where(X > 0, 1, np.exp(X)) + (np.abs(X) > 0.5) + (np.abs(X) < 1)
                + (1 - _sigmoid(X)) + sparse_plus_grad)
    interior = ~np.isin(np.round(np.abs(X), 3), [0.5, 1.0, 0.0])  # away from the kinks
    np.testing.assert_allclose(grads[interior], expected[interior], rtol=1e-5, atol=1e-6)
