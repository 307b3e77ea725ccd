"""keras.ops core ops: control flow, scatter/slice, unstack, rearrange, casts and
custom_gradient, on arrays, Variables, symbolic tensors and under jit / grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import ops
from jkeras.backend.keras_tensor import KerasTensor


def test_control_flow_under_jit(rng):
    x = rng.standard_normal((4, 6)).astype("float32")

    def run(x):
        return dict(
            scan=ops.scan(lambda c, row: (c + row, c * row), jnp.zeros(6), x),
            scan_len=ops.scan(lambda c, _: (c + 1, c), 0, length=4, reverse=True, unroll=2),
            assoc=ops.associative_scan(jnp.add, x, axis=1),
            assoc_rev=ops.associative_scan(jnp.multiply, x, reverse=True),
            cond=ops.cond(x[0, 0] > 0, lambda: x * 2, lambda: -x),
            switch=ops.switch(1, [lambda a: a + 1, lambda a: a * 3], x),
            fori=ops.fori_loop(0, 5, lambda i, v: v + i, x),
            while_one=ops.while_loop(lambda i: i < 5, lambda i: i + 2, 0),
            while_tuple=ops.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (0, 0),
                                       maximum_iterations=3),
            while_list=ops.while_loop(lambda a, b: a < 10, lambda a, b: [a * 2, b + 1], [1, 0]),
            map=ops.map(lambda row: jnp.sum(row ** 2), x),
            vmap=ops.vectorized_map(lambda row: jnp.outer(row, row), x),
        )

    got = jax.jit(run)(x)
    carries, ys = got["scan"]
    np.testing.assert_allclose(carries, x.sum(0), rtol=1e-5)
    prefix = np.concatenate([np.zeros((1, 6)), np.cumsum(x, 0)[:-1]])
    np.testing.assert_allclose(ys, prefix * x, rtol=1e-5, atol=1e-6)
    assert int(got["scan_len"][0]) == 4
    np.testing.assert_array_equal(got["scan_len"][1], [3, 2, 1, 0])  # reversed
    np.testing.assert_allclose(got["assoc"], np.cumsum(x, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["assoc_rev"], np.cumprod(x[::-1], 0)[::-1], rtol=1e-5)
    np.testing.assert_allclose(got["cond"], x * 2 if x[0, 0] > 0 else -x)
    np.testing.assert_allclose(got["switch"], x * 3)
    np.testing.assert_allclose(got["fori"], x + 10, rtol=1e-6)
    assert int(got["while_one"]) == 6
    assert isinstance(got["while_tuple"], tuple)
    assert [int(v) for v in got["while_tuple"]] == [3, 3]  # stopped by maximum_iterations
    assert isinstance(got["while_list"], list)
    assert [int(v) for v in got["while_list"]] == [16, 4]
    np.testing.assert_allclose(got["map"], (x ** 2).sum(1), rtol=1e-5)
    np.testing.assert_allclose(got["vmap"], x[:, :, None] * x[:, None, :], rtol=1e-6)
    with pytest.raises(ValueError, match="unroll"):
        ops.scan(lambda c, v: (c, v), 0, x, unroll=0)
    with pytest.raises(ValueError, match="must return 2 values"):
        ops.while_loop(lambda a, b: a < 3, lambda a, b: a + 1, (0, 0))


def test_indexing_ops(rng):
    got = jax.jit(lambda: dict(
        scatter=ops.scatter(jnp.array([[0, 1], [1, 1], [0, 1]]), jnp.array([1.0, 2, 3]), (2, 3)),
        update=ops.scatter_update(jnp.zeros((2, 3)), jnp.array([[0, 1], [1, 2]]),
                                  jnp.array([5.0, 6])),
        add=ops.scatter_update(jnp.ones((2, 3)), jnp.array([[0, 1], [0, 1]]), jnp.array([5.0, 6]),
                               reduction="add"),
        max=ops.scatter_update(jnp.ones((2, 3)), jnp.array([[0, 1], [1, 0]]),
                               jnp.array([5.0, -6]), reduction="MAX"),
        slice=ops.slice(jnp.arange(12).reshape(3, 4), (1, 1), (-1, 2)),
        slice_update=ops.slice_update(jnp.zeros((3, 4)), (1, 2), jnp.ones((2, 2))),
        unstack=ops.unstack(jnp.arange(6).reshape(2, 3), axis=1),
    ))()
    np.testing.assert_array_equal(got["scatter"], [[0, 4, 0], [0, 2, 0]])  # repeats add up
    np.testing.assert_array_equal(got["update"], [[0, 5, 0], [0, 0, 6]])
    np.testing.assert_array_equal(got["add"], [[1, 12, 1], [1, 1, 1]])
    np.testing.assert_array_equal(got["max"], [[1, 5, 1], [1, 1, 1]])
    np.testing.assert_array_equal(got["slice"], [[5, 6], [9, 10]])
    expected = np.zeros((3, 4))
    expected[1:3, 2:4] = 1
    np.testing.assert_array_equal(got["slice_update"], expected)
    assert [list(np.asarray(u)) for u in got["unstack"]] == [[0, 3], [1, 4], [2, 5]]
    with pytest.raises(ValueError, match="reduction"):
        ops.scatter_update(np.zeros(3), np.array([[0]]), np.ones(1), reduction="sum")
    with pytest.raises(ValueError, match="num=3"):
        ops.unstack(np.zeros((2, 4)), num=3)


def test_rearrange():
    x = np.arange(2 * 12 * 5).reshape(2, 12, 5)
    np.testing.assert_array_equal(ops.rearrange(x, "b (h w) c -> c b w h", h=3),
                                  x.reshape(2, 3, 4, 5).transpose(3, 0, 2, 1))
    np.testing.assert_array_equal(ops.rearrange(x, "b s c -> b (c s)"),
                                  x.transpose(0, 2, 1).reshape(2, 60))
    np.testing.assert_array_equal(ops.rearrange(x, "b (h w) c -> (b h) w c", w=6),
                                  x.reshape(4, 6, 5))
    y = ops.rearrange(KerasTensor((None, 12, 5)), "b (h w) c -> b h (w c)", h=3)
    assert y.shape == (None, 3, 20)
    for pattern, message in [("b s -> b s", "has 2 axes"), ("b s c -> b s", "same axes"),
                             ("b (h w) c -> b h w c", "cannot all be inferred"),
                             ("b s c -> b s s", "twice"), ("b s c => b c s", "->")]:
        with pytest.raises(ValueError, match=message):
            ops.rearrange(x, pattern)
    with pytest.raises(ValueError, match="cannot be split"):
        ops.rearrange(x, "b (h w) c -> b h w c", h=5)


def test_casts_and_conversions():
    got = jax.jit(lambda: dict(
        u8=ops.saturate_cast(jnp.array([-300.0, 1e10, 3.7, -2.2]), "uint8"),
        i32=ops.saturate_cast(jnp.array([-3e10, 1e10, 3.7]), "int32"),
        f16=ops.saturate_cast(jnp.array([70000, -5]), "float16"),
        i8=ops.saturate_cast(jnp.array([300, -5], "int32"), "int8"),
        cast=ops.cast(jnp.array([1.7, -1.7]), "int32"),
    ))()
    np.testing.assert_array_equal(got["u8"], [0, 255, 3, 0])
    np.testing.assert_array_equal(got["i32"], [-2 ** 31, 2 ** 31 - 128, 3])
    np.testing.assert_array_equal(got["f16"], [65504, -5])
    np.testing.assert_array_equal(got["i8"], [127, -5])
    np.testing.assert_array_equal(got["cast"], [1, -1])
    assert got["i32"].dtype == np.int32 and got["f16"].dtype == np.float16

    v = jkeras.Variable(np.ones((2, 3), "float32"))
    assert ops.convert_to_tensor(v, "float16").dtype == jnp.float16
    assert isinstance(ops.convert_to_numpy(v), np.ndarray)
    assert ops.shape(v) == (2, 3) and ops.dtype(v) == "float32"
    assert ops.is_tensor(jnp.ones(2)) and not ops.is_tensor(np.ones(2))
    assert not ops.is_tensor(KerasTensor((None, 2)))
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)
    assert ops.cast(KerasTensor((None, 2)), "int8").dtype == "int8"
    assert ops.saturate_cast(KerasTensor((None, 2)), "uint8").dtype == "uint8"


def test_custom_gradient_and_stop_gradient():
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

        return ops.log(1 + e), grad

    # the naive gradient of log(1 + e^x) is nan at x = 100; the custom one is 1
    assert float(jax.grad(log1pexp)(100.0)) == 1.0
    np.testing.assert_allclose(jax.jit(jax.grad(log1pexp))(0.5), 1 / (1 + np.exp(-0.5)),
                               rtol=1e-6)

    @ops.custom_gradient
    def scaled_product(x, y):
        return x * y, lambda g: (2 * g * y, 3 * g * x)

    assert [float(g) for g in jax.grad(scaled_product, argnums=(0, 1))(2.0, 5.0)] == [10, 6]
    assert float(jax.grad(lambda x: x * ops.stop_gradient(x))(3.0)) == 3.0


def test_symbolic_control_flow_and_indexing():
    x = KerasTensor((None, 4))
    carry, ys = ops.scan(lambda c, row: (c + row, c), jnp.zeros(4), x)
    assert carry.shape == (4,) and ys.shape == (None, 4)
    assert ops.while_loop(lambda v: jnp.sum(v) < 5, lambda v: v + 2, x).shape == (None, 4)
    assert ops.fori_loop(0, 3, lambda i, v: v * 2, x).shape == (None, 4)
    assert ops.switch(0, [lambda a: a + 1, lambda a: a * 2], x).shape == (None, 4)
    assert ops.vectorized_map(lambda r: r * 2, KerasTensor((3, 4))).shape == (3, 4)
    assert [t.shape for t in ops.unstack(x, axis=1)] == [(None,)] * 4
    with pytest.raises(ValueError, match="pass `num`"):
        ops.unstack(x)
    assert ops.slice(KerasTensor((None, 6)), (0, 2), (-1, 3)).shape == (None, 3)
    assert ops.scatter(KerasTensor((None, 2), "int32"), KerasTensor((None,)), (4, 5)).shape == (
        4, 5)

    # a running sum over the features, between layers of a model
    inp = jkeras.Input((3,))
    out = ops.scan(lambda c, col: (c + col, c + col), inp[:, 0] * 0, ops.transpose(inp))[1]
    model = jkeras.Model(inp, ops.transpose(out))
    data = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(model.predict(data, verbose=0), np.cumsum(data, 1))


def test_keras_core_and_math_names_are_ops():
    names = ("associative_scan cast cond convert_to_numpy convert_to_tensor custom_gradient "
             "dtype fori_loop is_tensor map rearrange saturate_cast scan scatter "
             "scatter_update shape slice slice_update stop_gradient switch unstack "
             "vectorized_map while_loop view_as_complex view_as_real cdist erf erfc erfinv "
             "extract_sequences fft fft2 ifft2 in_top_k irfft istft logdet logsumexp rfft "
             "rsqrt segment_max segment_min segment_prod segment_sum stft top_k").split()
    assert [n for n in names if not callable(getattr(ops, n, None))] == []
