"""`keras.ops.linalg`: matrix decompositions, solvers, norms and `jvp`, on arrays,
jkeras Variables and symbolic tensors (batched over leading axes where noted)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from jkeras.ops.numpy_base import floating, keras_op, tensor


def _matrices(x, op: str, square: bool = True):
    """`x` as an array of (square) matrices, or a clear ValueError."""
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"ops.{op} needs a tensor of rank >= 2 (matrices in the last two "
                         f"axes); received shape {x.shape}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"ops.{op} needs square matrices; received shape {x.shape}.")
    return x


def _right_hand_side(a, b, op: str):
    """Checks that `b` fits the (..., M, M) `a`: a vector (M,) or matrices
    (..., M, K) (numpy's rule: only a 1-D `b` is a vector)."""
    b = tensor(b)
    if b.ndim < 1:
        raise ValueError(f"ops.{op}: `b` must have rank >= 1; received a scalar.")
    rows = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if rows != a.shape[-1]:
        raise ValueError(f"ops.{op}: `b` must have {a.shape[-1]} rows to match `a`; "
                         f"received a.shape={a.shape}, b.shape={b.shape}.")
    return b


def _is_traced(x) -> bool:
    return isinstance(x, jax.core.Tracer)


@keras_op
def cholesky(x, upper=False):
    """The Cholesky factor of the positive definite matrices `x`: lower L with
    x = L L^H (upper U with x = U^H U when `upper`). Called eagerly on a matrix that
    is not positive definite it raises ValueError (under jit the result is NaN)."""
    x = _matrices(x, "cholesky")
    out = jnp.linalg.cholesky(x, upper=upper)
    if not _is_traced(out) and bool(jnp.any(jnp.isnan(out))):
        raise ValueError("ops.cholesky: the decomposition failed; the input is not a "
                         "(numerically) positive definite matrix.")
    return out


@keras_op
def cholesky_inverse(x, upper=False):
    """The inverse of A from its Cholesky factor `x` (lower L with A = L L^T, or
    upper U with A = U^T U when `upper`)."""
    x = _matrices(x, "cholesky_inverse")
    eye = jnp.broadcast_to(jnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    inv_factor = jsl.solve_triangular(x, eye, lower=not upper)
    inv_t = jnp.swapaxes(inv_factor, -1, -2)
    return inv_factor @ inv_t if upper else inv_t @ inv_factor


@keras_op
def det(x):
    """Determinants of the square matrices `x`."""
    return jnp.linalg.det(_matrices(x, "det"))


@keras_op
def eig(x):
    """(eigenvalues, eigenvectors) of general square matrices (complex results;
    columns of the second are the eigenvectors). CPU only under jax."""
    return jnp.linalg.eig(_matrices(x, "eig"))


@keras_op
def eigh(x):
    """(eigenvalues ascending, eigenvectors as columns) of symmetric/Hermitian
    matrices (only the lower triangle is read)."""
    return jnp.linalg.eigh(_matrices(x, "eigh"))


@keras_op
def inv(x):
    """Inverses of the square matrices `x`."""
    return jnp.linalg.inv(_matrices(x, "inv"))


@keras_op
def lu_factor(x):
    """(lu, pivots): the LU factorisation with partial pivoting of the matrices
    `x` in scipy's compact form (L below the diagonal with unit diagonal, U on and
    above it) and the int32 row-swap pivots."""
    x = _matrices(x, "lu_factor", square=False)
    fn = jsl.lu_factor
    for _ in range(x.ndim - 2):
        fn = jax.vmap(fn)
    return fn(x)


_MATRIX_ORDS = ("fro", "nuc", float("inf"), float("-inf"), 1, -1, 2, -2, None)


@keras_op
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
    """Vector norm (`axis` an int, or None on a 1-D tensor) or matrix norm (`axis`
    a pair, or None on a 2-D tensor) of order `ord` (numpy's meanings; "fro" and
    "nuc" for matrices). Integer inputs give floatx; None with rank > 2 is the
    2-norm of the flattened tensor."""
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ValueError(f"ops.norm: a string `ord` must be 'fro' or 'nuc'; received {ord!r}.")
    x = floating(x)
    axes = (axis,) if isinstance(axis, int) else axis
    if axes is not None and len(axes) == 1 and isinstance(ord, str):
        raise ValueError(f"ops.norm: ord={ord!r} is a matrix norm; a vector norm (one axis) "
                         f"takes a number or None.")
    if axes is not None and len(axes) == 2 and ord not in _MATRIX_ORDS:
        raise ValueError(f"ops.norm: the matrix norm of order {ord!r} is not defined; use "
                         f"one of {_MATRIX_ORDS}.")
    return jnp.linalg.norm(x, ord=ord, axis=tuple(axes) if axes is not None else None,
                           keepdims=keepdims)


@keras_op
def qr(x, mode="reduced"):
    """(q, r) with x = q r, q orthonormal columns; "reduced": q (..., M, K),
    r (..., K, N) with K = min(M, N); "complete": q (..., M, M), r (..., M, N)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"ops.qr: `mode` must be 'reduced' or 'complete'; received {mode!r}.")
    return jnp.linalg.qr(_matrices(x, "qr", square=False), mode=mode)


@keras_op
def solve(a, b):
    """The solution x of a x = b for square `a` (..., M, M) and `b` (M,) or
    (..., M, K)."""
    a = _matrices(a, "solve")
    return jnp.linalg.solve(a, _right_hand_side(a, b, "solve"))


@keras_op
def solve_triangular(a, b, lower=False):
    """The solution x of a x = b for triangular `a` (upper, or lower when `lower`);
    `b` (M,) or (..., M, K), as `solve`."""
    a = _matrices(a, "solve_triangular")
    b = _right_hand_side(a, b, "solve_triangular")
    if b.ndim == 1:
        b = jnp.broadcast_to(b[:, None], (*a.shape[:-1], 1))
        return jsl.solve_triangular(a, b, lower=lower)[..., 0]
    return jsl.solve_triangular(a, b, lower=lower)


@keras_op
def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh) with x = u diag(s) vh, singular values `s` descending; only `s`
    when `compute_uv` is False. `full_matrices=False` gives the reduced u and vh."""
    out = jnp.linalg.svd(_matrices(x, "svd", square=False), full_matrices=full_matrices,
                         compute_uv=compute_uv)
    return out


@keras_op
def lstsq(a, b, rcond=None):
    """The least-squares solution x (minimal norm) of a x = b, for `a` (M, N) and
    `b` (M,) or (M, K); singular values below `rcond` times the largest count as
    zero. Only the solution is returned (not numpy's residuals/rank/s)."""
    a, b = tensor(a), tensor(b)
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"ops.lstsq needs `a` of shape (M, N) and `b` of shape (M,) or "
                         f"(M, K); received a.shape={a.shape}, b.shape={b.shape}.")
    return jnp.linalg.lstsq(a, b, rcond=rcond)[0]


@keras_op
def matrix_rank(x, tol=None):
    """Rank (int32) of each matrix: the number of singular values above `tol`
    (default: the largest singular value x max(M, N) x the dtype's epsilon)."""
    x = _matrices(x, "matrix_rank", square=False)
    return jnp.linalg.matrix_rank(x, tol=tol).astype("int32")


@keras_op
def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverses (..., N, M) of the matrices `x`; singular
    values up to `rcond` times the largest count as zero."""
    return jnp.linalg.pinv(_matrices(x, "pinv", square=False), rcond=rcond)


@keras_op
def jvp(fun, primals, tangents, has_aux=False):
    """(fun(*primals), J_fun(primals) @ tangents), plus `fun`'s auxiliary output
    when `has_aux` (then `fun` returns (output, aux)). `primals` and `tangents` are
    tuples/lists of matching structures."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("ops.jvp: `primals` and `tangents` must be tuples or lists (one "
                        "entry per positional argument of `fun`).")
    return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq",
    "lu_factor", "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd",
]
