"""jkeras.ops numpy-style ops on symbolic tensors (shapes/dtypes, value-dependent
ops), in functional models, under jax.grad, and their argument errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import ops
from jkeras.backend.keras_tensor import KerasTensor


def _spec(t):
    if isinstance(t, (tuple, list)):
        return [_spec(x) for x in t]
    assert isinstance(t, KerasTensor)
    return (t.shape, t.dtype)


@pytest.fixture
def x():
    return jkeras.Input((3, 4))  # (None, 3, 4) float32


@pytest.fixture
def xi():
    return jkeras.Input((6,), dtype="int32")  # (None, 6) int32


def test_symbolic_shapes_and_dtypes(x, xi):
    expected = {
        "sum": (ops.sum(x, axis=-1), ((None, 3), "float32")),
        "mean_int": (ops.mean(xi, axis=1, keepdims=True), ((None, 1), "float32")),
        "nanstd": (ops.nanstd(x, axis=(1, 2)), ((None,), "float32")),
        "quantile": (ops.quantile(x, [0.1, 0.9], axis=2), ((2, None, 3), "float32")),
        "cumsum": (ops.cumsum(xi, axis=1), ((None, 6), "int32")),
        "ceil_int": (ops.ceil(xi), ((None, 6), "float32")),
        "divide": (ops.divide(xi, 2), ((None, 6), "float32")),
        "logaddexp2": (ops.logaddexp2(x, 1.0), ((None, 3, 4), "float32")),
        "bitwise_and": (ops.bitwise_and(xi, 3), ((None, 6), "int32")),
        "reshape": (ops.reshape(x, (-1, 2, 6)), ((None, 2, 6), "float32")),
        "rot90": (ops.rot90(x, axes=(1, 2)), ((None, 4, 3), "float32")),
        "swapaxes": (ops.swapaxes(x, 1, 2), ((None, 4, 3), "float32")),
        "pad": (ops.pad(x, ((0, 0), (1, 1), (0, 2))), ((None, 5, 6), "float32")),
        "take": (ops.take(x, [0, 2], axis=2), ((None, 3, 2), "float32")),
        "get_item": (x[:, 1:, None], ((None, 2, 1, 4), "float32")),
        "get_item_op": (ops.get_item(x, (Ellipsis, 0)), ((None, 3), "float32")),
        "split": (ops.split(x, [1], axis=2), [((None, 3, 1), "float32"),
                                               ((None, 3, 3), "float32")]),
        "array_split_batch": (ops.array_split(x, 2, axis=0), [((None, 3, 4), "float32")] * 2),
        "split_batch": (ops.split(x, 3, axis=0), [((None, 3, 4), "float32")] * 3),
        "dsplit": (ops.dsplit(x, 2), [((None, 3, 2), "float32")] * 2),
        "diagonal": (ops.diagonal(x, axis1=1, axis2=2), ((None, 3), "float32")),
        "matmul": (ops.matmul(x, ops.ones((4, 5))), ((None, 3, 5), "float32")),
        "einsum": (ops.einsum("bij,bkj->bik", x, x), ((None, 3, 3), "float32")),
        "kron": (ops.kron(ops.ones((2, 2)), x[0]), ((6, 8), "float32")),
        "slogdet": (ops.slogdet(x[:, :, :3]), [((None,), "float32"), ((None,), "float32")]),
        "argpartition": (ops.argpartition(xi, 2), ((None, 6), "int32")),
        "searchsorted": (ops.searchsorted(np.arange(5.0), x), ((None, 3, 4), "int32")),
        "digitize": (ops.digitize(x, [0.0, 1.0]), ((None, 3, 4), "int32")),
        "isin": (ops.isin(xi, [1, 2]), ((None, 6), "bool")),
        "histogram": (ops.histogram(x[0, 0], bins=5), [((5,), "float32"), ((6,), "float32")]),
        "size": (ops.size(x), ((), "int32")),
        "unique_size": (ops.unique(xi, size=4), ((4,), "int32")),
        "where3": (ops.where(x > 0, x, 0.0), ((None, 3, 4), "float32")),
        "select": (ops.select([x > 0], [x]), ((None, 3, 4), "float32")),
        "linspace": (ops.linspace(x[:, 0, 0], 1.0, 5, axis=-1), ((None, 5), "float32")),
        "unravel": (ops.unravel_index(xi, (2, 3)), [((None, 6), "int32")] * 2),
    }
    got = {name: _spec(t) for name, (t, _) in expected.items()}
    assert got == {name: spec for name, (_, spec) in expected.items()}


def test_value_dependent_ops_give_unknown_dimensions(x, xi):
    assert _spec(ops.nonzero(x)) == [((None,), "int32")] * 3
    assert _spec(ops.where(x > 0)) == [((None,), "int32")] * 3
    assert _spec(ops.unique(xi)) == ((None,), "int32")
    assert _spec(ops.unique(xi, return_index=True, return_inverse=True, return_counts=True)) == [
        ((None,), "int32"), ((None,), "int32"), ((None, 6), "int32"), ((None,), "int32")]
    assert _spec(ops.unique(xi, axis=1, return_inverse=True)) == [
        ((None, None), "int32"), ((6,), "int32")]
    assert _spec(ops.bincount(xi)) == ((None, None), "int32")
    assert _spec(ops.bincount(xi[0], weights=ops.ones((6,)))) == ((None,), "float32")


def test_symbolic_errors_are_clear(x, xi):
    with pytest.raises(ValueError, match="ops.arange cannot be applied to symbolic tensors"):
        ops.arange(ops.sum(xi[0]))
    with pytest.raises(ValueError, match="ops.repeat cannot be applied to symbolic"):
        ops.repeat(xi, xi[0], axis=1)
    with pytest.raises(TypeError, match="ops.hanning needs concrete numbers"):
        ops.hanning(xi[0, 0])
    with pytest.raises(TypeError, match=r"symbolic inputs of shapes \[\(None, 3, 4\)\].*"
                                         r"stand-in sizes"):
        ops.reshape(x, (5, 5))


def test_graph_of_new_ops_runs_in_a_model():
    inp = jkeras.Input((4,))
    h = ops.logaddexp2(inp, ops.flip(inp, axis=1))
    h = ops.concatenate([ops.nancumsum(h, axis=1), ops.cbrt(inp), ops.hypot(inp, 1.0)], axis=1)
    out = ops.divide_no_nan(h, ops.sum(ops.abs(inp), axis=1, keepdims=True))
    model = jkeras.Model(inp, out)
    data = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    lae = np.logaddexp2(data, data[:, ::-1])
    want = np.concatenate([np.cumsum(lae, 1), np.cbrt(data), np.hypot(data, 1.0)], axis=1)
    denom = np.abs(data).sum(1, keepdims=True)
    want = np.where(denom == 0, 0.0, want / np.where(denom == 0, 1.0, denom))
    np.testing.assert_allclose(model.predict(data, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_value_dependent_ops_eagerly():
    a = np.array([[0, 3, 0], [2, 0, 1]], np.int32)
    for got, want in zip(ops.nonzero(a), np.nonzero(a)):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(ops.where(a > 0), np.nonzero(a > 0)):
        np.testing.assert_array_equal(got, want)
    flat = np.array([3, 1, 3, 0, 1, 3], np.int32)
    for got, want in zip(ops.unique(flat, return_index=True, return_inverse=True,
                                    return_counts=True),
                         np.unique(flat, return_index=True, return_inverse=True,
                                   return_counts=True)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ops.unique(a, axis=0), np.unique(a, axis=0))
    np.testing.assert_array_equal(ops.bincount(flat, minlength=6),
                                  np.bincount(flat, minlength=6))
    weights = np.arange(6, dtype=np.float32)
    np.testing.assert_allclose(ops.bincount(flat, weights=weights),
                               np.bincount(flat, weights=weights))
    rows = np.array([[1, 2], [0, 1]], np.int32)  # rows of different maxima share one length
    np.testing.assert_array_equal(ops.bincount(rows), [[0, 1, 1], [1, 1, 0]])
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0], np.float32)
    part = np.asarray(ops.argpartition(x, 2))
    assert x[part[2]] == 3.0 and max(x[part[:2]]) <= 3.0 <= min(x[part[3:]])


def test_vectorize_and_symbolic_use():
    f = ops.vectorize(lambda a, b: a * b + 1.0, signature="(),()->()")
    np.testing.assert_allclose(f(np.arange(3.0), 2.0), [1.0, 3.0, 5.0])
    dot = ops.vectorize(jnp.dot, signature="(n),(n)->()")
    assert _spec(dot(jkeras.Input((5,)), np.ones(5))) == ((None,), "float32")
    with pytest.raises(ValueError, match="callable"):
        ops.vectorize(3)


def test_gradients_through_new_ops():
    def loss(a):
        return (ops.sum(ops.hypot(a, 2.0)) + ops.sum(ops.logaddexp2(a, 0.0))
                + ops.sum(ops.divide_no_nan(1.0, a)) + ops.nanmean(ops.cbrt(a * a + 1.0)))

    a = np.array([0.0, 1.5, -2.0], np.float32)
    got = jax.grad(loss)(a)
    want = (a / np.hypot(a, 2.0) + 1.0 / (1.0 + 2.0 ** (-a))
            - np.where(a == 0, 0.0, 1.0 / np.where(a == 0, 1.0, a) ** 2)
            + (2 * a / 3.0) * (a * a + 1.0) ** (-2.0 / 3.0) / 3.0)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, error, match", [
    (lambda: ops.array_split(np.ones(4), [1, 2]), TypeError, "indices_or_sections` must be"),
    (lambda: ops.array_split(np.ones(4), 0), ValueError, "must be >= 1"),
    (lambda: ops.histogram(np.ones(3), bins=2.5), TypeError, "`bins` must be a Python int"),
    (lambda: ops.histogram(np.ones(3), range=[0, 1]), ValueError, "range` must be a tuple"),
    (lambda: ops.histogram(np.ones((2, 2))), ValueError, "needs a 1-D tensor"),
    (lambda: ops.rot90(np.ones(3)), ValueError, "rank >= 2"),
    (lambda: ops.rot90(np.ones((2, 2)), axes=(1, 1)), ValueError, "two different axes"),
    (lambda: ops.pad(np.ones(2), 1, mode="reflect", constant_values=1), ValueError,
     "only be given with mode='constant'"),
    (lambda: ops.pad(np.ones(2), 1, mode="mirror"), ValueError, "unknown mode 'mirror'"),
    (lambda: ops.where(np.ones(2) > 0, 1.0), ValueError, "give both `x1` and `x2`"),
    (lambda: ops.ldexp(np.ones(2), np.ones(2)), TypeError, "integer dtype"),
    (lambda: ops.fabs(np.ones(2, np.complex64)), TypeError, "complex"),
    (lambda: ops.vander(np.ones((2, 2))), ValueError, "1-D input"),
    (lambda: ops.vander(np.ones(2), N=-1), ValueError, "`N` must be >= 0"),
    (lambda: ops.select(np.ones(2) > 0, [np.ones(2)]), ValueError, "must be lists"),
    (lambda: ops.select([], []), ValueError, "must not be empty"),
    (lambda: ops.correlate(np.ones(3), np.ones(2), mode="circular"), ValueError, "`mode`"),
    (lambda: ops.correlate(np.ones((2, 2)), np.ones(2)), ValueError, "two 1-D tensors"),
    (lambda: ops.searchsorted(np.ones((2, 2)), 1.0), ValueError, "1-D `sorted_sequence`"),
    (lambda: ops.digitize(np.ones(2), np.ones((2, 2))), ValueError, "`bins` must be 1-D"),
    (lambda: ops.bincount(np.ones(3, np.int32), sparse=True), ValueError, "sparse=True"),
    (lambda: ops.bincount(np.ones(3)), TypeError, "integer values"),
    (lambda: jax.jit(ops.bincount)(np.ones(3, np.int32)), ValueError, "cannot run under jax.jit"),
    (lambda: ops.eye(2.0), TypeError, "`N` must be an integer"),
    (lambda: ops.reshape(np.ones(4), (-1, -1)), ValueError, "at most one -1"),
    (lambda: ops.diagonal(np.ones((2, 2)), axis1=0, axis2=-2), ValueError, "must differ"),
    (lambda: ops.argpartition(np.ones(3), 1.5), ValueError, "`kth` must be a Python int"),
    (lambda: ops.meshgrid(np.ones(2), indexing="xyz"), ValueError, "'xy' or 'ij'"),
    (lambda: ops.searchsorted(np.ones(2), 1.0, side="middle"), ValueError, "'left' or"),
])
def test_argument_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
