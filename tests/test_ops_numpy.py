"""jkeras.ops numpy-style ops: every Keras 3 name exists, values match numpy (all
computed in one jitted function), and result dtypes follow Keras's rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import ops

# The public names of keras.ops.numpy in Keras 3.15 (each is also at keras.ops).
KERAS_NUMPY_NAMES = """
abs absolute add all allclose amax amin angle any append arange arccos arccosh arcsin arcsinh
arctan arctan2 arctanh argmax argmin argpartition argsort array array_split average bartlett
bincount bitwise_and bitwise_invert bitwise_left_shift bitwise_not bitwise_or
bitwise_right_shift bitwise_xor blackman broadcast_to cbrt ceil clip concatenate conj conjugate
copy corrcoef correlate cos cosh count_nonzero cross cumprod cumsum deg2rad diag diagflat
diagonal diff digitize divide divide_no_nan dot dsplit dstack einsum empty empty_like equal exp
exp2 expand_dims expm1 eye fabs flip fliplr flipud floor floor_divide fmax fmin fmod full
full_like gcd geomspace get_item greater greater_equal hamming hanning heaviside histogram
hsplit hstack hypot i0 identity imag inner isclose isfinite isin isinf isnan isneginf isposinf
isreal kaiser kron lcm ldexp left_shift less less_equal linspace log log10 log1p log2 logaddexp
logaddexp2 logical_and logical_not logical_or logical_xor logspace matmul max maximum mean
median meshgrid min minimum mod moveaxis multiply nan_to_num nanargmax nanargmin nancumprod
nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod nanquantile nanstd nansum nanvar
ndim negative nextafter nonzero not_equal ones ones_like outer pad percentile power prod ptp
quantile rad2deg ravel real reciprocal repeat reshape right_shift roll rot90 round searchsorted
select sign signbit sin sinc sinh size slogdet sort split sqrt square squeeze stack std subtract
sum swapaxes take take_along_axis tan tanh tensordot tile trace transpose trapezoid tri tril
triu true_divide trunc unique unravel_index vander var vdot vectorize view vsplit vstack where
zeros zeros_like
""".split()

X = np.array([[1.5, -2.0, 0.5], [3.0, 4.5, -1.0]], np.float32)
P = np.array([[0.5, 1.5, 2.0], [3.0, 0.25, 1.0]], np.float32)  # positive
U = np.array([[0.1, -0.4, 0.7], [0.9, -0.2, 0.3]], np.float32)  # inside (-1, 1)
Z = np.array([[0.0, 2.0, 0.0], [4.0, 0.0, -0.5]], np.float32)  # with zeros
I = np.array([[6, -4, 0], [9, 12, -3]], np.int32)  # noqa: E741
J = np.array([[4, 6, 5], [6, 8, 2]], np.int32)
B = np.array([[True, False, True], [False, False, True]])
N = np.array([[1.0, np.nan, 2.0], [np.nan, 4.0, -1.0]], np.float32)
INF = np.array([1.0, np.inf, -np.inf, -0.0], np.float32)
V = np.array([0.5, -1.5, 2.5, 1.0], np.float32)
X3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
M = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], np.float32)
SORTED = np.array([-1.0, 0.5, 0.5, 3.0], np.float32)


def _cases():
    """(name, jkeras thunk, numpy reference) triples."""
    c = []

    def add(name, jk, ref):
        c.append((name, jk, ref))

    for name, arg in [("arccos", U), ("arcsin", U), ("arctan", X), ("arctanh", U),
                      ("arcsinh", X), ("cos", X), ("cosh", U), ("sin", X), ("sinh", U),
                      ("tan", U), ("tanh", X), ("sinc", X), ("ceil", X), ("floor", X),
                      ("exp", U), ("exp2", X), ("expm1", U), ("angle", X), ("abs", X),
                      ("absolute", X), ("cbrt", X), ("conj", X), ("conjugate", X),
                      ("copy", X), ("deg2rad", X), ("rad2deg", X), ("imag", X), ("real", X),
                      ("isfinite", INF), ("isinf", INF), ("isnan", N), ("isneginf", INF),
                      ("isposinf", INF), ("isreal", X), ("log", P), ("log10", P),
                      ("log1p", P), ("log2", P), ("negative", X), ("reciprocal", P),
                      ("sign", X), ("signbit", INF), ("square", X), ("sqrt", P),
                      ("logical_not", B), ("bitwise_invert", I), ("bitwise_not", I),
                      ("positive", X), ("fabs", X), ("i0", X), ("trunc", X), ("ravel", X3),
                      ("fliplr", X), ("flipud", X)]:
        ref_name = {"bitwise_invert": "invert", "bitwise_not": "invert"}.get(name, name)
        add(name, lambda n=name, a=arg: getattr(ops, n)(a), getattr(np, ref_name)(arg))
    add("arccosh", lambda: ops.arccosh(P + 1), np.arccosh(P + 1))
    add("round_1", lambda: ops.round(X * 1.13, 1), np.round(X * 1.13, 1))
    add("round_int_neg", lambda: ops.round(np.array([15, 25, -35, 44], np.int32), -1),
        np.round(np.array([15, 25, -35, 44]), -1))
    add("nan_to_num", lambda: ops.nan_to_num(N, nan=7.0), np.nan_to_num(N, nan=7.0))
    add("nan_to_num_inf", lambda: ops.nan_to_num(INF, posinf=9.0, neginf=-9.0),
        np.nan_to_num(INF, posinf=9.0, neginf=-9.0))
    add("clip", lambda: ops.clip(X, -1.0, 1.0), np.clip(X, -1.0, 1.0))
    add("clip_int", lambda: ops.clip(I, -1, 5), np.clip(I, -1, 5))

    for name in ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum",
                 "hypot", "arctan2", "logaddexp", "logaddexp2", "equal", "not_equal", "less",
                 "less_equal", "greater", "greater_equal", "nextafter", "isclose"]:
        add(name, lambda n=name: getattr(ops, n)(X, P), getattr(np, name)(X, P))
    for name in ["floor_divide", "mod", "fmod", "gcd", "lcm", "bitwise_and", "bitwise_or",
                 "bitwise_xor"]:
        add(name + "_int", lambda n=name: getattr(ops, n)(I, J), getattr(np, name)(I, J))
    for name in ["logical_and", "logical_or", "logical_xor"]:
        add(name, lambda n=name: getattr(ops, n)(B, X > 0), getattr(np, name)(B, X > 0))
    add("power", lambda: ops.power(P, X), np.power(P, X))
    add("fmax", lambda: ops.fmax(N, X), np.fmax(N, X))
    add("fmin", lambda: ops.fmin(N, X), np.fmin(N, X))
    add("heaviside", lambda: ops.heaviside(Z, 0.5), np.heaviside(Z, 0.5))
    for name in ["left_shift", "bitwise_left_shift", "right_shift", "bitwise_right_shift"]:
        ref = np.left_shift if "left" in name else np.right_shift
        add(name, lambda n=name: getattr(ops, n)(J, 2), ref(J, 2))
    add("divide_no_nan", lambda: ops.divide_no_nan(X, Z),
        np.where(Z == 0, 0.0, X / np.where(Z == 0, 1.0, Z)))
    add("ldexp", lambda: ops.ldexp(X, J % 3), np.ldexp(X, J % 3))
    add("allclose", lambda: ops.allclose(X, X + 1e-7), True)

    for name in ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any", "amax",
                 "amin", "argmax", "argmin", "median", "ptp", "nansum", "nanmean", "nanmax",
                 "nanmin", "nanprod", "nanstd", "nanvar", "nanmedian", "nanargmax",
                 "nanargmin"]:
        arg = N if name.startswith("nan") else X
        add(name, lambda n=name, a=arg: getattr(ops, n)(a), getattr(np, name)(arg))
        add(name + "_axis1", lambda n=name, a=arg: getattr(ops, n)(a, axis=1),
            getattr(np, name)(arg, axis=1))
    add("sum_keepdims", lambda: ops.sum(X, axis=(0, 1), keepdims=True),
        np.sum(X, axis=(0, 1), keepdims=True))
    add("mean_int", lambda: ops.mean(I, axis=0), np.mean(I, axis=0))
    add("var_list_axis", lambda: ops.var(X3, axis=[0, 2]), np.var(X3, axis=(0, 2)))
    add("max_initial", lambda: ops.max(X, axis=0, initial=2.0), np.max(X, axis=0, initial=2.0))
    add("min_initial", lambda: ops.min(I, initial=-10), np.min(I, initial=-10))
    add("count_nonzero", lambda: ops.count_nonzero(Z, axis=1), np.count_nonzero(Z, axis=1))
    add("average", lambda: ops.average(X, axis=1, weights=np.array([1.0, 2.0, 3.0])),
        np.average(X, axis=1, weights=[1.0, 2.0, 3.0]))
    add("average_int", lambda: ops.average(I), np.average(I))
    for name in ["cumsum", "cumprod", "nancumsum", "nancumprod"]:
        add(name, lambda n=name: getattr(ops, n)(N if "nan" in n else X, axis=1),
            getattr(np, name)(N if "nan" in name else X, axis=1))
    add("cumsum_flat", lambda: ops.cumsum(I), np.cumsum(I))
    for name, q in [("quantile", [0.25, 0.5]), ("percentile", [25.0, 50.0]),
                    ("nanquantile", [0.25, 0.5]), ("nanpercentile", [25.0, 50.0])]:
        arg = N if name.startswith("nan") else X
        add(name, lambda n=name, q=q, a=arg: getattr(ops, n)(a, q, axis=1),
            getattr(np, name)(arg, q, axis=1))
        for method in ["lower", "higher", "midpoint", "nearest"]:
            add(f"{name}_{method}", lambda n=name, q=q, a=arg, m=method: getattr(ops, n)(
                a, q[0], method=m, keepdims=True), getattr(np, name)(
                arg, q[0], method=method, keepdims=True))
    add("sort", lambda: ops.sort(X), np.sort(X))
    add("sort_axis0", lambda: ops.sort(X, axis=0), np.sort(X, axis=0))
    add("argsort", lambda: ops.argsort(X), np.argsort(X))
    add("argsort_none", lambda: ops.argsort(X, axis=None), np.argsort(X, axis=None))

    add("reshape", lambda: ops.reshape(X, (3, -1)), X.reshape(3, -1))
    add("reshape_kw", lambda: ops.reshape(X, newshape=6), X.reshape(6))
    add("transpose", lambda: ops.transpose(X3, (1, 0, 2)), X3.transpose(1, 0, 2))
    add("moveaxis", lambda: ops.moveaxis(X3, 0, -1), np.moveaxis(X3, 0, -1))
    add("swapaxes", lambda: ops.swapaxes(X3, 0, 2), np.swapaxes(X3, 0, 2))
    add("expand_dims", lambda: ops.expand_dims(X, (0, 3)), np.expand_dims(X, (0, 3)))
    add("squeeze", lambda: ops.squeeze(X[None, :, None], axis=(0, 2)), X)
    add("broadcast_to", lambda: ops.broadcast_to(V, (2, 4)), np.broadcast_to(V, (2, 4)))
    add("flip", lambda: ops.flip(X3, axis=(0, 2)), np.flip(X3, axis=(0, 2)))
    add("roll", lambda: ops.roll(X, (1, 2), axis=(0, 1)), np.roll(X, (1, 2), axis=(0, 1)))
    add("roll_flat", lambda: ops.roll(X, 2), np.roll(X, 2))
    add("rot90", lambda: ops.rot90(X3, k=3, axes=(1, 2)), np.rot90(X3, k=3, axes=(1, 2)))
    add("tile", lambda: ops.tile(V, (2, 1, 2)), np.tile(V, (2, 1, 2)))
    add("repeat", lambda: ops.repeat(X, [1, 2], axis=0), np.repeat(X, [1, 2], axis=0))
    add("repeat_flat", lambda: ops.repeat(X, 2), np.repeat(X, 2))
    add("concatenate", lambda: ops.concatenate([X, P], axis=1), np.concatenate([X, P], 1))
    add("concatenate_none", lambda: ops.concatenate([X, V], axis=None),
        np.concatenate([X, V], axis=None))
    add("stack", lambda: ops.stack([X, P], axis=-1), np.stack([X, P], axis=-1))
    add("hstack", lambda: ops.hstack([X, P]), np.hstack([X, P]))
    add("vstack", lambda: ops.vstack([X, P]), np.vstack([X, P]))
    add("dstack", lambda: ops.dstack([X, P]), np.dstack([X, P]))
    add("append", lambda: ops.append(X, P, axis=0), np.append(X, P, axis=0))
    add("append_flat", lambda: ops.append(X, V), np.append(X, V))
    add("split", lambda: ops.split(X3, [1, 3], axis=-1), np.split(X3, [1, 3], axis=-1))
    add("split_sections", lambda: ops.split(X3, 2), np.split(X3, 2))
    add("array_split", lambda: ops.array_split(X3, 3, axis=2), np.array_split(X3, 3, axis=2))
    add("hsplit", lambda: ops.hsplit(X3, 3), np.hsplit(X3, 3))
    add("vsplit", lambda: ops.vsplit(X3, [1]), np.vsplit(X3, [1]))
    add("dsplit", lambda: ops.dsplit(X3, 2), np.dsplit(X3, 2))
    add("pad", lambda: ops.pad(X, ((1, 0), (0, 2))), np.pad(X, ((1, 0), (0, 2))))
    add("pad_value", lambda: ops.pad(I, 1, "constant", 7), np.pad(I, 1, constant_values=7))
    for mode in ["reflect", "symmetric", "edge", "wrap", "maximum", "mean", "linear_ramp"]:
        add("pad_" + mode, lambda m=mode: ops.pad(X, [[1, 1], [2, 2]], mode=m),
            np.pad(X, [[1, 1], [2, 2]], mode=mode))
    add("pad_circular", lambda: ops.pad(X, 1, mode="circular"), np.pad(X, 1, mode="wrap"))
    add("take", lambda: ops.take(X, [0, 4]), np.take(X, [0, 4]))
    add("take_axis", lambda: ops.take(X, np.array([[2, 0]]), axis=1),
        np.take(X, [[2, 0]], axis=1))
    add("take_negative", lambda: ops.take(X, -1, axis=1), np.take(X, -1, axis=1))
    idx = np.array([[0, 2, 1], [1, 1, 0]])
    add("take_along_axis", lambda: ops.take_along_axis(X, idx, axis=1),
        np.take_along_axis(X, idx, axis=1))
    add("take_along_none", lambda: ops.take_along_axis(X, np.array([5, 0])),
        np.take_along_axis(X, np.array([5, 0]), axis=None))
    add("get_item", lambda: ops.get_item(X3, (0, slice(1, 3), slice(None, None, 2))),
        X3[0, 1:3, ::2])
    add("get_item_list", lambda: ops.get_item(X3, [Ellipsis, None, 1]), X3[..., None, 1])
    add("getitem", lambda: ops.getitem(X, np.array([1, 0])), X[[1, 0]])
    add("unravel_index", lambda: ops.unravel_index(np.array([1, 5, 7]), (2, 4)),
        np.unravel_index([1, 5, 7], (2, 4)))
    add("meshgrid", lambda: ops.meshgrid(V, V[:2]), np.meshgrid(V, V[:2]))
    add("meshgrid_ij", lambda: ops.meshgrid(V, V[:2], indexing="ij"),
        np.meshgrid(V, V[:2], indexing="ij"))
    add("diag", lambda: ops.diag(X, k=1), np.diag(X, k=1))
    add("diag_vec", lambda: ops.diag(V, -1), np.diag(V, -1))
    add("diagflat", lambda: ops.diagflat(X, k=1), np.diagflat(X, k=1))
    add("diagonal", lambda: ops.diagonal(X3, 1, 1, 2), np.diagonal(X3, 1, 1, 2))
    add("trace", lambda: ops.trace(X3, axis1=1, axis2=2), np.trace(X3, axis1=1, axis2=2))
    add("tril", lambda: ops.tril(M, -1), np.tril(M, -1))
    add("triu", lambda: ops.triu(X3, k=1), np.triu(X3, k=1))
    add("diff", lambda: ops.diff(X, 2, 1), np.diff(X, 2, 1))
    add("diff_axis0", lambda: ops.diff(I, axis=0), np.diff(I, axis=0))
    add("where", lambda: ops.where(B, X, P), np.where(B, X, P))
    add("where_scalars", lambda: ops.where(B, 1, 2.5), np.where(B, 1, 2.5))
    add("select", lambda: ops.select([X > 2, X < 0], [X, -X], 9.0),
        np.select([X > 2, X < 0], [X, -X], 9.0))

    add("arange", lambda: ops.arange(1, 7, 2), np.arange(1, 7, 2))
    add("arange_float", lambda: ops.arange(0, 1, 0.25), np.arange(0, 1, 0.25))
    add("linspace", lambda: ops.linspace(0, 10, 5, endpoint=False),
        np.linspace(0, 10, 5, endpoint=False))
    add("linspace_retstep", lambda: ops.linspace(0.0, 1.0, 5, retstep=True),
        np.linspace(0.0, 1.0, 5, retstep=True))
    add("linspace_axis", lambda: ops.linspace(V[:2], 3.0, 3, axis=1),
        np.linspace(V[:2], 3.0, 3, axis=1))
    add("logspace", lambda: ops.logspace(0, 2, 3, base=2), np.logspace(0, 2, 3, base=2))
    add("geomspace", lambda: ops.geomspace(1, 1000, 4), np.geomspace(1, 1000, 4))
    add("geomspace_open", lambda: ops.geomspace(1, 8, 3, endpoint=False),
        np.geomspace(1, 8, 3, endpoint=False))
    add("zeros", lambda: ops.zeros((2, 3)), np.zeros((2, 3)))
    add("ones", lambda: ops.ones([2], dtype="int32"), np.ones(2))
    add("full", lambda: ops.full((2, 2), 3), np.full((2, 2), 3.0))
    add("full_like", lambda: ops.full_like(X, 2), np.full_like(X, 2))
    add("zeros_like", lambda: ops.zeros_like(I), np.zeros_like(I))
    add("ones_like", lambda: ops.ones_like(I, dtype="float16"), np.ones_like(I))
    add("eye", lambda: ops.eye(3, 4, 1), np.eye(3, 4, 1))
    add("identity", lambda: ops.identity(3), np.identity(3))
    add("tri", lambda: ops.tri(3, 4, k=1), np.tri(3, 4, k=1))
    for name in ["bartlett", "blackman", "hamming", "hanning"]:
        add(name, lambda n=name: getattr(ops, n)(6), getattr(np, name)(6))
    add("kaiser", lambda: ops.kaiser(6, 14.0), np.kaiser(6, 14.0))
    add("vander", lambda: ops.vander(V, 3, increasing=True), np.vander(V, 3, increasing=True))
    add("view", lambda: ops.view(X, "int32"), X.view(np.int32))
    add("array", lambda: ops.array([[1, 2]], dtype="float16"), np.array([[1.0, 2.0]]))

    add("matmul", lambda: ops.matmul(X, X3[0, :, :2]), X @ X3[0, :, :2])
    add("matmul_batch", lambda: ops.matmul(X3, X3.transpose(0, 2, 1)),
        X3 @ X3.transpose(0, 2, 1))
    add("dot", lambda: ops.dot(X3, V), np.dot(X3, V))
    add("tensordot", lambda: ops.tensordot(X3, X3, axes=([0, 1], [0, 1])),
        np.tensordot(X3, X3, axes=([0, 1], [0, 1])))
    add("einsum", lambda: ops.einsum("ij,kj->ik", X, P), np.einsum("ij,kj->ik", X, P))
    add("outer", lambda: ops.outer(V, X), np.outer(V, X))
    add("inner", lambda: ops.inner(X, P), np.inner(X, P))
    add("vdot", lambda: ops.vdot(X, P), np.vdot(X, P))
    add("kron", lambda: ops.kron(X, I), np.kron(X, I))
    add("cross", lambda: ops.cross(X, P), np.cross(X, P))
    add("cross_axis", lambda: ops.cross(X3[:, :, :3], X3[:, :, 1:], axisa=1, axisb=1, axisc=0),
        np.cross(X3[:, :, :3], X3[:, :, 1:], axisa=1, axisb=1, axisc=0))
    for mode in ["valid", "same", "full"]:
        add("correlate_" + mode, lambda m=mode: ops.correlate(V, V[:3], mode=m),
            np.correlate(V, V[:3], mode=mode))
    add("corrcoef", lambda: ops.corrcoef(np.vstack([X, P])), np.corrcoef(np.vstack([X, P])))
    add("slogdet", lambda: ops.slogdet(M), np.linalg.slogdet(M))
    add("trapezoid", lambda: ops.trapezoid(X, dx=0.5), np.trapezoid(X, dx=0.5))
    add("trapezoid_x", lambda: ops.trapezoid(X, np.array([0.0, 1.0, 3.0]), axis=1),
        np.trapezoid(X, np.array([0.0, 1.0, 3.0]), axis=1))

    add("digitize", lambda: ops.digitize(X, [-1.0, 0.0, 2.0]), np.digitize(X, [-1.0, 0.0, 2.0]))
    add("searchsorted", lambda: ops.searchsorted(SORTED, X), np.searchsorted(SORTED, X))
    add("searchsorted_right", lambda: ops.searchsorted(SORTED, X, side="right"),
        np.searchsorted(SORTED, X, side="right"))
    add("isin", lambda: ops.isin(I, [0, 9, 12]), np.isin(I, [0, 9, 12]))
    add("isin_invert", lambda: ops.isin(I, J, invert=True), np.isin(I, J, invert=True))
    add("size", lambda: ops.size(X3), 24)
    add("ndim", lambda: ops.ndim(X3), 3)
    add("histogram", lambda: ops.histogram(V, bins=3, range=(-2.0, 3.0)),
        np.histogram(V, bins=3, range=(-2.0, 3.0)))
    add("histogram_data_range", lambda: ops.histogram(V, bins=4), np.histogram(V, bins=4))
    add("unique_size", lambda: ops.unique(np.array([3, 1, 3, 0]), size=4, fill_value=-1),
        np.array([0, 1, 3, -1]))
    return c


CASES = _cases()


@pytest.fixture(scope="module")
def jitted():
    thunks = {name: jk for name, jk, _ in CASES}
    return jax.jit(lambda: {name: f() for name, f in thunks.items()})()


def _compare(got, want) -> str | None:
    if isinstance(want, (tuple, list)):
        if len(got) != len(want):
            return f"{len(got)} outputs, expected {len(want)}"
        for g, w in zip(got, want):
            problem = _compare(g, w)
            if problem:
                return problem
        return None
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if not np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=2e-5, atol=2e-6,
                       equal_nan=True):
        return f"values {got.ravel()[:6]}, expected {want.ravel()[:6]}"
    return None


def test_every_keras_numpy_name_exists_in_both_namespaces():
    missing = [n for n in KERAS_NUMPY_NAMES if not callable(getattr(ops.numpy, n, None))]
    assert missing == []
    assert len(KERAS_NUMPY_NAMES) == 220
    assert [n for n in KERAS_NUMPY_NAMES if getattr(ops, n) is not getattr(ops.numpy, n)] == []


def test_values_match_numpy_under_jit(jitted):
    problems = []
    for name, _, want in CASES:
        problem = _compare(jitted[name], want)
        if problem:
            problems.append(f"{name}: {problem}")
    assert problems == []


def test_eager_calls_accept_lists_scalars_and_variables():
    v = jkeras.Variable(X)
    np.testing.assert_allclose(ops.nansum(v), X.sum())
    np.testing.assert_allclose(ops.concatenate([v, v], axis=0), np.concatenate([X, X]))
    np.testing.assert_allclose(ops.sin([0.0, 1.0]), np.sin([0.0, 1.0]), rtol=1e-6)
    assert ops.abs(-3).dtype == jnp.int32 and int(ops.abs(-3)) == 3
    np.testing.assert_allclose(ops.quantile([1.0, 2.0, 4.0], [0.5, 1.0]), [2.0, 4.0])


def _dtype(thunk) -> str:
    out = jax.eval_shape(thunk)
    return jnp.dtype(out.dtype).name


I8 = np.ones((2, 3), np.int8)
U8 = np.ones((2, 3), np.uint8)
H = X.astype(np.float16)


@pytest.mark.parametrize("thunk, expected", [
    (lambda: ops.mean(I), "float32"),
    (lambda: ops.mean(B), "float32"),
    (lambda: ops.mean(H), "float16"),
    (lambda: ops.var(I), "float32"),
    (lambda: ops.var(H), "float16"),
    (lambda: ops.std(I), "float32"),
    (lambda: ops.median(I), "float32"),
    (lambda: ops.average(I), "float32"),
    (lambda: ops.divide(I, J), "float32"),
    (lambda: ops.true_divide(I8, I8), "float32"),
    (lambda: ops.floor_divide(I, J), "int32"),
    (lambda: ops.ceil(I), "float32"),
    (lambda: ops.floor(U8), "float32"),
    (lambda: ops.sin(B), "float32"),
    (lambda: ops.exp(I8), "float32"),
    (lambda: ops.arctan2(I, J), "float32"),
    (lambda: ops.arctan2(H, 2.0), "float16"),
    (lambda: ops.sqrt(H), "float16"),
    (lambda: ops.i0(H), "float16"),
    (lambda: ops.i0(I), "float32"),
    (lambda: ops.trunc(I8), "int8"),
    (lambda: ops.round(I, -1), "int32"),
    (lambda: ops.clip(B, 0, 1), "int32"),
    (lambda: ops.clip(U8, 0, 3), "uint8"),
    (lambda: ops.add(U8, 3), "uint8"),
    (lambda: ops.add(H, 2.5), "float16"),
    (lambda: ops.multiply(I, 2.5), "float32"),
    (lambda: ops.left_shift(U8, 2), "uint8"),
    (lambda: ops.sum(B), "int32"),
    (lambda: ops.count_nonzero(X), "int32"),
    (lambda: ops.argmax(X), "int32"),
    (lambda: ops.argsort(X), "int32"),
    (lambda: ops.matmul(I8, I8.T), "int32"),
    (lambda: ops.einsum("ij,kj->ik", I8, I8), "int32"),
    (lambda: ops.matmul(U8, U8.T), "uint8"),
    (lambda: ops.full((2,), 1), "float32"),
    (lambda: ops.zeros((2,)), "float32"),
    (lambda: ops.ones((2,), "int8"), "int8"),
    (lambda: ops.empty((2,)), "float32"),
    (lambda: ops.eye(3), "float32"),
    (lambda: ops.identity(2), "float32"),
    (lambda: ops.tri(3), "float32"),
    (lambda: ops.zeros_like(I), "int32"),
    (lambda: ops.full_like(I, 2.5), "int32"),
    (lambda: ops.arange(5), "int32"),
    (lambda: ops.arange(5.0), "float32"),
    (lambda: ops.arange(1, 7.0, 2), "float32"),
    (lambda: ops.arange(5, dtype="float16"), "float16"),
    (lambda: ops.hamming(4), "float32"),
    (lambda: ops.isclose(X, P), "bool"),
    (lambda: ops.signbit(X), "bool"),
    (lambda: ops.searchsorted(SORTED, X), "int32"),
    (lambda: ops.digitize(X, [0.0]), "int32"),
    (lambda: ops.size(X), "int32"),
    (lambda: ops.where(B, 1, 2), "int32"),
    (lambda: ops.where(B, H, 0.0), "float16"),
    (lambda: ops.divide_no_nan(I, J), "float32"),
    (lambda: ops.histogram(V, 2, (0.0, 1.0))[0], "float32"),
    (lambda: ops.view(H, "int16"), "int16"),
])
def test_result_dtypes_follow_keras(thunk, expected):
    assert _dtype(thunk) == expected


def test_integer_inputs_of_float_ops_use_floatx():
    jkeras.backend.set_floatx("float16")
    try:
        assert _dtype(lambda: ops.cos(I)) == "float16"
        assert _dtype(lambda: ops.var(I)) == "float16"
        assert _dtype(lambda: ops.zeros((2,))) == "float16"
        assert _dtype(lambda: ops.bartlett(3)) == "float16"
    finally:
        jkeras.backend.set_floatx("float32")


def test_shape_results_of_keras_specific_argument_forms():
    assert ops.argsort(np.float32(3.0)).shape == (1,)
    parts = ops.array_split(X3, 3, axis=2)
    assert [p.shape for p in parts] == [(2, 3, 2), (2, 3, 1), (2, 3, 1)]
    assert ops.argpartition(X, 1, axis=None).shape == (6,)
    assert isinstance(ops.split(X3, 2), list)
