"""jkeras.ops.linalg (also at jkeras.ops): values against numpy (computed in one
jitted function), Keras's result structures, symbolic shapes, gradients, jvp and
argument errors."""

import jax
import numpy as np
import pytest

import jkeras
from jkeras import ops
from jkeras.backend.keras_tensor import KerasTensor

LINALG_NAMES = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq",
                "lu_factor", "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular",
                "svd"]

A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], np.float32)  # SPD
AB = np.stack([A, A[::-1, ::-1] + np.eye(3, dtype=np.float32)])  # a batch of two SPD
R = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]], np.float32)  # 3 x 2
W = np.array([[1.0, 2.0, 3.0, 1.0], [0.0, 1.0, -1.0, 2.0], [1.0, 3.0, 2.0, 3.0]],
             np.float32)  # rank 2
B2 = np.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 3.0]], np.float32)
BV = np.array([1.0, -2.0, 0.5], np.float32)
LOW = np.tril(A)
L = np.linalg.cholesky(A).astype(np.float32)


@pytest.fixture(scope="module")
def out():
    def compute():
        return {
            "chol": ops.cholesky(A), "chol_upper": ops.cholesky(AB, upper=True),
            "chol_inv": ops.cholesky_inverse(L), "chol_inv_upper": ops.cholesky_inverse(
                L.T, upper=True),
            "det": ops.det(AB), "inv": ops.inv(AB), "eigh": ops.eigh(A),
            "lu": ops.lu_factor(AB), "lu_rect": ops.lu_factor(R),
            "norm": ops.norm(W), "norm_axis": ops.norm(W, ord=1, axis=0),
            "norm_fro": ops.norm(W, ord="fro", keepdims=True), "norm_nuc": ops.norm(W, "nuc"),
            "norm_inf": ops.norm(W, np.inf), "norm_2": ops.norm(W, 2),
            "norm_int": ops.norm(np.array([3, 4], np.int32)),
            "norm_batch": ops.norm(AB, axis=(1, 2)),
            "qr": ops.qr(R), "qr_complete": ops.qr(R, mode="complete"),
            "solve": ops.solve(A, B2), "solve_vec": ops.solve(A, BV),
            "solve_batch": ops.solve(AB, np.stack([B2, B2])),
            "tri": ops.solve_triangular(LOW, B2, lower=True),
            "tri_upper_vec": ops.solve_triangular(LOW.T, BV),
            "tri_batch_vec": ops.solve_triangular(np.stack([LOW, LOW]), BV, lower=True),
            "svd": ops.svd(W), "svd_reduced": ops.svd(W, full_matrices=False),
            "svd_s": ops.svd(AB, compute_uv=False),
            "lstsq": ops.lstsq(R, BV), "lstsq_mat": ops.lstsq(R, B2, rcond=1e-3),
            "rank": ops.matrix_rank(W), "rank_tol": ops.matrix_rank(A, tol=2.5),
            "pinv": ops.pinv(W), "pinv_batch": ops.pinv(AB),
        }

    return jax.jit(compute)()


def test_every_keras_linalg_name_exists():
    for name in LINALG_NAMES:
        assert callable(getattr(ops.linalg, name))
        assert getattr(ops, name) is getattr(ops.linalg, name)


def test_decompositions_match_numpy(out):
    close = lambda got, want: np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    close(out["chol"], L)
    close(out["chol_upper"], np.swapaxes(np.linalg.cholesky(AB), -1, -2))
    close(out["chol_inv"], np.linalg.inv(A))
    close(out["chol_inv_upper"], np.linalg.inv(A))
    close(out["det"], np.linalg.det(AB))
    close(out["inv"], np.linalg.inv(AB))
    values, vectors = out["eigh"]
    assert out["eigh"].eigenvalues is values
    close(values, np.linalg.eigvalsh(A))
    close(vectors @ np.diag(values) @ vectors.T, A)
    for lu, piv, a in [(out["lu"][0][0], out["lu"][1][0], AB[0]),
                       (out["lu"][0][1], out["lu"][1][1], AB[1]),
                       (out["lu_rect"][0], out["lu_rect"][1], R)]:
        lu, piv = np.asarray(lu), np.asarray(piv)
        assert piv.dtype == np.int32
        k = min(a.shape)
        lower = np.tril(lu, -1)[:, :k] + np.eye(a.shape[0], k)
        perm = np.arange(a.shape[0])
        for i, p in enumerate(piv):
            perm[[i, p]] = perm[[p, i]]
        close(lower @ np.triu(lu)[:k], a[perm])
    q, r = out["qr"]
    assert (q.shape, r.shape) == ((3, 2), (2, 2)) and out["qr"].R is r
    close(q @ r, R)
    close(np.triu(r), r)
    qc, rc = out["qr_complete"]
    assert (qc.shape, rc.shape) == ((3, 3), (3, 2))
    close(qc @ rc, R)
    close(qc.T @ qc, np.eye(3))
    u, s, vh = out["svd"]
    assert (u.shape, s.shape, vh.shape) == ((3, 3), (3,), (4, 4))
    close(s, np.linalg.svd(W, compute_uv=False))
    close(u[:, :3] @ np.diag(s) @ vh[:3], W)
    assert [t.shape for t in out["svd_reduced"]] == [(3, 3), (3,), (3, 4)]
    close(out["svd_s"], np.linalg.svd(AB, compute_uv=False))


def test_eig_on_cpu():
    # jax implements the general eigendecomposition on CPU only (as in Keras's jax backend).
    with jax.default_device(jax.devices("cpu")[0]):
        values, vectors = ops.eig(AB)
    assert values.dtype == np.complex64 and vectors.shape == (2, 3, 3)
    np.testing.assert_allclose(np.sort(np.asarray(values).real, -1),
                               np.sort(np.linalg.eigvals(AB).real, -1), rtol=1e-5)
    np.testing.assert_allclose(AB @ vectors, vectors * values[:, None, :], atol=1e-5)


def test_solvers_norms_and_ranks_match_numpy(out):
    close = lambda got, want: np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    close(out["norm"], np.linalg.norm(W))
    close(out["norm_axis"], np.linalg.norm(W, ord=1, axis=0))
    close(out["norm_fro"], np.linalg.norm(W, ord="fro", keepdims=True))
    close(out["norm_nuc"], np.linalg.norm(W, "nuc"))
    close(out["norm_inf"], np.linalg.norm(W, np.inf))
    close(out["norm_2"], np.linalg.norm(W, 2))
    close(out["norm_int"], 5.0)
    assert out["norm_int"].dtype == np.float32
    close(out["norm_batch"], np.linalg.norm(AB, axis=(1, 2)))
    close(out["solve"], np.linalg.solve(A, B2))
    close(out["solve_vec"], np.linalg.solve(A, BV))
    close(out["solve_batch"], np.linalg.solve(AB, np.stack([B2, B2])))
    close(out["tri"], np.linalg.solve(LOW, B2))
    close(out["tri_upper_vec"], np.linalg.solve(LOW.T, BV))
    close(out["tri_batch_vec"], np.stack([np.linalg.solve(LOW, BV)] * 2))
    close(out["lstsq"], np.linalg.lstsq(R, BV, rcond=None)[0])
    close(out["lstsq_mat"], np.linalg.lstsq(R, B2, rcond=1e-3)[0])
    assert int(out["rank"]) == 2 and out["rank"].dtype == np.int32
    assert int(out["rank_tol"]) == np.sum(np.linalg.svd(A, compute_uv=False) > 2.5)
    close(out["pinv"], np.linalg.pinv(W))
    close(out["pinv_batch"], np.linalg.inv(AB))


def test_symbolic_shapes():
    m = jkeras.Input((3, 3))
    r = jkeras.Input((4, 3))

    def spec(t):
        if isinstance(t, (tuple, list)):
            return [spec(x) for x in t]
        assert isinstance(t, KerasTensor)
        return t.shape

    assert spec(ops.det(m)) == (None,)
    assert spec(ops.inv(m)) == (None, 3, 3)
    assert spec(ops.eigh(m)) == [(None, 3), (None, 3, 3)]
    assert spec(ops.lu_factor(r)) == [(None, 4, 3), (None, 3)]
    assert spec(ops.qr(r)) == [(None, 4, 3), (None, 3, 3)]
    assert spec(ops.qr(r, mode="complete")) == [(None, 4, 4), (None, 4, 3)]
    assert spec(ops.svd(r)) == [(None, 4, 4), (None, 3), (None, 3, 3)]
    assert spec(ops.svd(r, compute_uv=False)) == (None, 3)
    assert spec(ops.pinv(r)) == (None, 3, 4)
    assert spec(ops.solve(m, r[:, :3, :2])) == (None, 3, 2)
    assert spec(ops.norm(r, axis=-1)) == (None, 4)
    assert spec(ops.matrix_rank(r)) == (None,)
    assert ops.matrix_rank(r).dtype == "int32"
    assert spec(ops.cholesky_inverse(m, upper=True)) == (None, 3, 3)
    primal, tangent = ops.jvp(lambda t: ops.sin(t) * 2.0, (r,), (r,))
    assert spec([primal, tangent]) == [(None, 4, 3), (None, 4, 3)]


def test_gradients_and_jvp():
    grad_det = jax.grad(lambda a: ops.det(a))(A)
    np.testing.assert_allclose(grad_det, np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-4)
    grad_solve = jax.grad(lambda b: ops.sum(ops.solve(A, b)))(BV)
    np.testing.assert_allclose(grad_solve, np.linalg.inv(A).T @ np.ones(3), rtol=1e-5)
    x = np.array([0.1, 0.2], np.float32)
    primal, tangent = ops.jvp(ops.sin, (x,), (np.ones(2, np.float32),))
    np.testing.assert_allclose(primal, np.sin(x), rtol=1e-6)
    np.testing.assert_allclose(tangent, np.cos(x), rtol=1e-6)
    primal, tangent, aux = ops.jvp(lambda t: (t * t, t + 1.0), [x], [x], has_aux=True)
    np.testing.assert_allclose(tangent, 2 * x * x, rtol=1e-6)
    np.testing.assert_allclose(aux, x + 1.0)


@pytest.mark.parametrize("call, error, match", [
    (lambda: ops.det(R), ValueError, "ops.det needs square matrices"),
    (lambda: ops.inv(BV), ValueError, "rank >= 2"),
    (lambda: ops.qr(R, mode="r"), ValueError, "'reduced' or 'complete'"),
    (lambda: ops.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]])), ValueError,
     "not a \\(numerically\\) positive definite"),
    (lambda: ops.norm(W, ord="max"), ValueError, "'fro' or 'nuc'"),
    (lambda: ops.norm(W, ord="fro", axis=0), ValueError, "matrix norm"),
    (lambda: ops.norm(W, ord=3, axis=(0, 1)), ValueError, "not defined"),
    (lambda: ops.solve(A, np.ones(2)), ValueError, "`b` must have 3 rows"),
    (lambda: ops.solve_triangular(A, np.ones((2, 2))), ValueError, "`b` must have 3 rows"),
    (lambda: ops.lstsq(A[None], BV), ValueError, "`a` of shape \\(M, N\\)"),
    (lambda: ops.matrix_rank(BV), ValueError, "rank >= 2"),
    (lambda: ops.pinv(BV), ValueError, "rank >= 2"),
    (lambda: ops.jvp(ops.sin, np.ones(2), np.ones(2)), TypeError, "tuples or lists"),
])
def test_argument_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
