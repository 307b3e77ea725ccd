"""jkeras.random: Keras 3's seeds (int, SeedGenerator, None), values equal to Keras 3
on JAX (raw [seed, counter] keys), draws inside jit, and clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import random as jrandom
from jkeras.backend.scope import StatelessScope


def _key(seed, counter=0):
    return jnp.array([seed, counter], dtype=jnp.uint32)


@pytest.fixture(scope="module")
def draws():
    """Every op with int seeds, in one compiled function (one compile for all)."""

    @jax.jit
    def all_draws(x, logits):
        return {
            "normal": jrandom.normal((2, 3), seed=42),
            "normal_scaled": jrandom.normal((2, 3), mean=1.0, stddev=2.0, seed=42),
            "normal_f16": jrandom.normal((2,), dtype="float16", seed=1),
            "uniform": jrandom.uniform((4,), 2.0, 3.0, seed=5),
            "randint": jrandom.randint((50,), 3, 7, seed=1),
            "truncated": jrandom.truncated_normal((2000,), seed=3),
            "gamma": jrandom.gamma((3000,), alpha=2.0, seed=2),
            "binomial": jrandom.binomial((3000,), counts=10, probabilities=0.3, seed=2),
            "beta": jrandom.beta((3000,), alpha=2.0, beta=2.0, seed=2),
            "categorical": jrandom.categorical(logits, 20, seed=3),
            "dropout": jrandom.dropout(x, 0.25, seed=4),
            "dropout_rows": jrandom.dropout(x, 0.5, noise_shape=(None, 1), seed=4),
            "dropout_all": jrandom.dropout(x, 1.0),
            "shuffle": jrandom.shuffle(jnp.arange(10), seed=2),
            # the reference: Keras 3 on JAX draws with the raw key [seed, 0]
            "ref_normal": jax.random.normal(_key(42), (2, 3)),
            "ref_uniform": jax.random.uniform(_key(5), (4,), minval=2.0, maxval=3.0),
        }

    logits = jnp.log(jnp.array([[0.0001, 0.9998, 0.0001], [0.9998, 0.0001, 0.0001]]))
    return jax.device_get(all_draws(jnp.ones((200, 10)), logits))


def test_int_seed_values_are_keras_values(draws):
    np.testing.assert_array_equal(draws["normal"], draws["ref_normal"])
    np.testing.assert_allclose(draws["normal_scaled"], draws["ref_normal"] * 2.0 + 1.0,
                               rtol=1e-6)
    np.testing.assert_array_equal(draws["uniform"], draws["ref_uniform"])
    assert draws["normal_f16"].dtype == np.float16
    r = draws["randint"]
    assert r.dtype == np.int32 and r.min() >= 3 and r.max() < 7
    assert np.max(np.abs(draws["truncated"])) <= 2.0
    assert abs(draws["gamma"].mean() - 2.0) < 0.15
    assert abs(draws["binomial"].mean() - 3.0) < 0.2
    assert abs(draws["beta"].mean() - 0.5) < 0.03
    # eager draws with the same int seed give the same values every call
    np.testing.assert_array_equal(jrandom.normal((2, 3), seed=42), draws["ref_normal"])
    np.testing.assert_array_equal(jrandom.normal((2, 3), seed=42), draws["ref_normal"])
    assert jrandom.uniform((2,), seed=1).dtype == jnp.float32  # floatx


def test_seed_generator_sequence_and_state():
    gen = jrandom.SeedGenerator(7)
    first = jrandom.uniform((2,), seed=gen)
    second = jrandom.uniform((2,), seed=gen)
    np.testing.assert_array_equal(first, jax.random.uniform(_key(7, 0), (2,)))
    np.testing.assert_array_equal(second, jax.random.uniform(_key(7, 1), (2,)))
    np.testing.assert_array_equal(np.asarray(gen.state.value), [7, 2])
    assert gen.get_config() == {"seed": 7, "name": gen.name}
    with pytest.raises(ValueError, match="`seed` must be an integer or None, got 'x'"):
        jrandom.SeedGenerator("x")
    with pytest.raises(ValueError, match="must be an integer, a jkeras.random.SeedGenerator"):
        jrandom.normal((2,), seed="abc")


def test_categorical_dropout_shuffle(draws):
    c = draws["categorical"]
    assert c.shape == (2, 20) and c.dtype == np.int32
    assert np.all(c[0] == 1) and np.all(c[1] == 0)
    with pytest.raises(ValueError, match=r"shape \(batch_size, num_classes\)"):
        jrandom.categorical(jnp.zeros((3,)), 2, seed=1)
    y = draws["dropout"]
    np.testing.assert_allclose(np.unique(y), [0.0, 1.0 / 0.75], rtol=1e-6)
    assert abs(float(np.mean(y == 0)) - 0.25) < 0.05
    ys = draws["dropout_rows"]
    assert np.all(ys == ys[:, :1])  # one draw per row
    np.testing.assert_array_equal(draws["dropout_all"], np.zeros((200, 10)))
    s = draws["shuffle"]
    assert sorted(s.tolist()) == list(range(10)) and s.tolist() != list(range(10))
    with pytest.raises(ValueError, match="`rate` must be in"):
        jrandom.dropout(jnp.ones(3), 1.5)


def test_seed_generator_inside_jit_through_a_stateless_scope():
    gen = jrandom.SeedGenerator(11)

    @jax.jit
    def draw(state):
        with StatelessScope({id(gen.state): state}) as scope:
            values = jrandom.normal((3,), seed=gen)
        return values, scope.updates[id(gen.state)]

    v1, s1 = draw(gen.state.value)
    v2, s2 = draw(s1)
    np.testing.assert_array_equal(v1, jax.random.normal(_key(11, 0), (3,)))
    np.testing.assert_array_equal(v2, jax.random.normal(_key(11, 1), (3,)))
    np.testing.assert_array_equal(s2, [11, 2])
    np.testing.assert_array_equal(gen.state.value, [11, 0])  # the object itself is untouched

    with pytest.raises(ValueError, match="SeedGenerator .* inside a traced JAX function"):
        jax.jit(lambda: jrandom.normal((2,), seed=gen))()
    with pytest.raises(ValueError, match="seed=None was called inside a traced JAX function"):
        jax.jit(lambda: jrandom.normal((2,)))()


def test_layers_hold_seed_generators_in_non_trainable_variables():
    layer = jkeras.layers.Dropout(0.5, seed=3)
    assert layer.weights == [] and layer.variables == [layer.seed_generator.state]
    assert layer.non_trainable_variables == [layer.seed_generator.state]
    inputs = jkeras.Input((4,))
    model = jkeras.Model(inputs, jkeras.layers.Dropout(0.5)(jkeras.layers.Dense(3)(inputs)))
    assert len(model.weights) == 2 and len(model.non_trainable_variables) == 1
    x = np.ones((2, 4), "float32")
    a = np.asarray(layer(x, training=True))
    assert not np.array_equal(a, layer(x, training=True))  # the generator advanced
    np.testing.assert_array_equal(jkeras.layers.Dropout(0.5, seed=3)(x, training=True), a)


def test_set_random_seed_makes_seedless_draws_repeatable():
    jkeras.utils.set_random_seed(5)
    a = np.asarray(jrandom.normal((4,)))
    b = np.asarray(jrandom.normal((4,)))
    jkeras.utils.set_random_seed(5)
    np.testing.assert_array_equal(jrandom.normal((4,)), a)
    assert not np.array_equal(a, b)


def test_variable_passes_through_jit_and_device_put():
    v = jkeras.Variable(np.arange(3.0, dtype="float32"))
    np.testing.assert_array_equal(jax.jit(lambda a: a * 2)(v), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(jax.device_put(v), [0.0, 1.0, 2.0])
    out = jax.jit(lambda state: [s + 1 for s in state])([v, v])
    assert isinstance(out[0], jax.Array)
    # a Variable used in a functional graph stays live (read when the graph runs)
    inputs = jkeras.Input((3,))
    model = jkeras.Model(inputs, jkeras.ops.add(inputs, v))
    v.assign(np.ones(3, "float32"))
    np.testing.assert_array_equal(model.predict(np.zeros((1, 3), "float32"), verbose=0),
                                  [[1.0, 1.0, 1.0]])
