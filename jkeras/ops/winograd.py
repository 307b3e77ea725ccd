"""Winograd convolutions: stride-1, undilated 3x3 convolutions as batched matrix products.

F(m x m, 3 x 3) cuts the (padded) input into overlapping (m + 2) x (m + 2) tiles, m apart,
and maps each tile and the kernel into a transform domain where convolving a tile is an
elementwise product summed over input channels: a = m + 2, a * a independent matrix
products (tiles x C_in) @ (C_in x C_out); the products are mapped back to m x m output
blocks. Per output value that is a^2 / m^2 multiplies per channel pair instead of 9: 4 for
F(2x2,3x3), 2.25 for F(4x4,3x3), paid for with the transforms (memory traffic) and, for
larger m, rounding error (larger transform entries).

The gradients are computed in the transform domain too (a custom VJP): with V the input
tiles' transforms, U the kernel's and dM the output gradient mapped by the adjoint of the
output transform, the kernel gradient is G^T (V^T dM) G and the input gradient the adjoint
of the input transform applied to dM U^T. Every transform is written in gather form (each
output element reads the inputs it depends on), so that XLA compiles it into loop fusions
without scatters.

Layouts: inputs NHWC, kernels HWIO (3, 3, C_in, C_out), as in `conv_kernels`. Forward-mode
differentiation (jax.jvp) is not supported: use the 'lax' or 'ynn' formulations for it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

# Transform matrices (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
# 2016): BT maps an input tile, G the kernel, AT the product back to an output block.
_F2 = (
    np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64),
    np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64),
    np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64),
)
_F4 = (
    np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
              [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], np.float64),
    np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float64),
    np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
              [0, 1, -1, 8, -8, 1]], np.float64),
)
TRANSFORMS = {2: _F2, 4: _F4}  # output tile size m -> (BT, G, AT)


def _combine(terms):
    """Sum of coefficient * array over (coefficient, array) pairs (zeros skipped, +-1
    applied as add/subtract); None when every coefficient is zero.

    On the CPU backend the sum is computed on complex64 values with zero imaginary parts
    and its real part returned: the same float32 arithmetic (the imaginary parts stay
    exactly zero), but in operations that XLA:CPU's YNNPACK elementwise fusion
    (`jkeras.backend.xla_flags`) does not take, so that XLA compiles each transform into
    one loop fusion instead of a kernel per addition with every intermediate written to
    memory (measured 2-3x slower)."""
    terms = [(c, a) for c, a in terms if c != 0]
    if not terms:
        return None
    hide = jax.default_backend() == "cpu"
    acc = None
    for c, a in terms:
        if hide:
            a = lax.complex(a, jnp.zeros_like(a))
        if acc is None:
            acc = a if c == 1 else (-a if c == -1 else a * np.float32(c))
        elif c == 1:
            acc = acc + a
        elif c == -1:
            acc = acc - a
        else:
            acc = acc + a * np.float32(c)
    return jnp.real(acc) if hide else acc


def _tiles(n_out: int, m: int) -> int:
    return -(-n_out // m)


def _taps(x, axis: int, m: int, count: int):
    """The `count` taps of the length-(T*m + 2) `axis` of x: tap i holds rows i, i + m,
    ..., i + (T - 1)*m (T tiles, m apart)."""
    t = (x.shape[axis] - 2) // m
    return [lax.slice_in_dim(x, i, i + m * (t - 1) + 1, stride=m, axis=axis)
            for i in range(count)]


def _transform_1d(x, axis: int, mat, m: int, out_axis: int):
    """Tiles along `axis` (length T*m + 2) mapped by `mat` (rows: outputs, columns: taps):
    `axis` becomes the T tiles and a new axis `out_axis` holds the rows of `mat`."""
    taps = _taps(x, axis, m, mat.shape[1])
    return jnp.stack([_combine(zip(row, taps)) for row in mat], out_axis)


def _transform_1d_adjoint(d, axis: int, mat, m: int):
    """Adjoint of `_transform_1d(x, axis, mat, m, 0)`: `d` has the rows of `mat` on
    axis 0 and T tiles on `axis`; returns x's shape with `axis` of length T*m + 2
    (dropping axis 0). Position m*s + r is tap r of tile s and, for taps r + m < a, of
    tile s - 1 (tiles outside the grid are zero)."""
    a = mat.shape[1]
    t = d.shape[axis]
    dp = jnp.pad(d, [(1, 1) if i == axis else (0, 0) for i in range(d.ndim)])
    this = lax.slice_in_dim(dp, 1, t + 2, axis=axis)  # tile s (s = 0..T, T is zero)
    prev = lax.slice_in_dim(dp, 0, t + 1, axis=axis)  # tile s - 1
    parts = []
    for r in range(m):
        terms = [(mat[k, r], this[k]) for k in range(mat.shape[0])]
        if r + m < a:
            terms += [(mat[k, r + m], prev[k]) for k in range(mat.shape[0])]
        parts.append(_combine(terms))
    y = jnp.stack(parts, axis)  # (..., T + 1, m, ...) with the block axis at `axis - 1`
    shape = list(y.shape)
    y = y.reshape(shape[:axis - 1] + [shape[axis - 1] * m] + shape[axis + 1:])
    return lax.slice_in_dim(y, 0, t * m + 2, axis=axis - 1)


def _input_transform(xp, m: int):
    """(N, Th*m + 2, Tw*m + 2, C) -> (a*a, N*Th*Tw, C): B^T d B of every tile d, as two
    passes of 1D transforms (rows, then columns)."""
    bt = TRANSFORMS[m][0]
    a = m + 2
    v = _transform_1d(xp, 1, bt, m, 0)  # (a, N, Th, W, C)
    v = _transform_1d(v, 3, bt, m, 1)  # (a, a, N, Th, Tw, C)
    return v.reshape(a * a, -1, xp.shape[-1])


def _input_transform_adjoint(dv, m: int, n: int, th: int, tw: int):
    """Adjoint of `_input_transform`: (a*a, N*Th*Tw, C) -> (N, Th*m + 2, Tw*m + 2, C)."""
    bt = TRANSFORMS[m][0]
    a = m + 2
    d = dv.reshape(a, a, n, th, tw, dv.shape[-1])
    d = _transform_1d_adjoint(d, 3, bt, m)  # (a, N, Th*m + 2, Tw, C): rows placed
    return _transform_1d_adjoint(d, 3, bt, m)  # (N, Th*m + 2, Tw*m + 2, C)


def _output_transform(prod, m: int, n: int, th: int, tw: int):
    """(a*a, N*Th*Tw, K) -> (N, Th*m, Tw*m, K): A^T M A of every tile, blocks placed."""
    at = TRANSFORMS[m][2]
    a = m + 2
    k = prod.shape[-1]
    mm = prod.reshape(a, a, n, th, tw, k)
    y = jnp.stack([_combine(zip(row, [mm[r] for r in range(a)])) for row in at], 3)
    # (a, N, Th, m, Tw, K): rows of each block; now the columns
    y = jnp.stack([_combine(zip(row, [y[s] for s in range(a)])) for row in at], 4)
    return y.reshape(n, th * m, tw * m, k)


def _output_transform_adjoint(g, m: int):
    """Adjoint of `_output_transform`: (N, Th*m, Tw*m, K) -> (a*a, N*Th*Tw, K)."""
    at = TRANSFORMS[m][2]
    n, h, w, k = g.shape
    blocks = g.reshape(n, h // m, m, w // m, m, k)
    d = jnp.stack([_combine(zip(at[:, r], [blocks[:, :, p] for p in range(m)]))
                   for r in range(m + 2)], 0)  # (a, N, Th, Tw, m, K)
    d = jnp.stack([_combine(zip(at[:, s], [d[:, :, :, :, q] for q in range(m)]))
                   for s in range(m + 2)], 1)  # (a, a, N, Th, Tw, K)
    return d.reshape((m + 2) ** 2, -1, k)


def _kernel_transform(kernel, m: int):
    """(3, 3, C_in, C_out) -> (a*a, C_in, C_out): G k G^T for every channel pair."""
    g = jnp.asarray(TRANSFORMS[m][1], kernel.dtype)
    a = m + 2
    return jnp.einsum("ri,ijck,sj->rsck", g, kernel, g).reshape(a * a, *kernel.shape[2:])


def _kernel_transform_adjoint(du, m: int):
    """Adjoint of `_kernel_transform`: (a*a, C_in, C_out) -> (3, 3, C_in, C_out)."""
    g = jnp.asarray(TRANSFORMS[m][1], du.dtype)
    a = m + 2
    return jnp.einsum("ri,rsck,sj->ijck", g, du.reshape(a, a, *du.shape[1:]), g)


def _geometry(x_shape, pads, m: int):
    """Output size, tile counts and the padding that makes whole tiles."""
    (lo_h, hi_h), (lo_w, hi_w) = pads
    _, h, w, _ = x_shape
    ho, wo = h + lo_h + hi_h - 2, w + lo_w + hi_w - 2
    th, tw = _tiles(ho, m), _tiles(wo, m)
    full = ((0, 0), (lo_h, hi_h + th * m - ho), (lo_w, hi_w + tw * m - wo), (0, 0))
    return ho, wo, th, tw, full


def _forward(x, kernel, pads, m):
    n = x.shape[0]
    ho, wo, th, tw, full = _geometry(x.shape, pads, m)
    v = _input_transform(jnp.pad(x, full), m)
    u = _kernel_transform(kernel, m)
    y = _output_transform(jnp.einsum("bpc,bck->bpk", v, u), m, n, th, tw)
    return y[:, :ho, :wo], (v, u)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _winograd_conv(x, kernel, pads, m):
    return _forward(x, kernel, pads, m)[0]


def _winograd_fwd(x, kernel, pads, m):
    y, (v, u) = _forward(x, kernel, pads, m)
    return y, (v, u, x.shape)


def _winograd_bwd(pads, m, res, g):
    v, u, x_shape = res
    n = x_shape[0]
    ho, wo, th, tw, full = _geometry(x_shape, pads, m)
    gp = jnp.pad(g, ((0, 0), (0, th * m - ho), (0, tw * m - wo), (0, 0)))
    dm = _output_transform_adjoint(gp, m)
    dkernel = _kernel_transform_adjoint(jnp.einsum("bpc,bpk->bck", v, dm), m)
    dxp = _input_transform_adjoint(jnp.einsum("bpk,bck->bpc", dm, u), m, n, th, tw)
    (_, _), (lo_h, _), (lo_w, _), _ = full
    dx = dxp[:, lo_h:lo_h + x_shape[1], lo_w:lo_w + x_shape[2]]
    return dx, dkernel


_winograd_conv.defvjp(_winograd_fwd, _winograd_bwd)


def applies(x, kernel, strides, dilation, groups) -> bool:
    """Whether a Winograd formulation covers this convolution: 2D, a 3x3 kernel, stride 1,
    no dilation, no groups, float32."""
    return (len(strides) == 2 and tuple(kernel.shape[:2]) == (3, 3)
            and all(s == 1 for s in strides) and all(d == 1 for d in dilation)
            and groups == 1 and x.dtype == jnp.float32 and kernel.dtype == jnp.float32)


def padding_supported(spatial: Sequence[int], pads) -> bool:
    """Whether `conv3x3` takes this padding of an input of this spatial size: no
    cropping (negative) padding and a non-empty output."""
    return (all(lo >= 0 and hi >= 0 for lo, hi in pads)
            and all(n + lo + hi >= 3 for n, (lo, hi) in zip(spatial, pads)))


def conv3x3(x, kernel, pads, m: int = 2):
    """The stride-1, undilated convolution of NHWC `x` with a (3, 3, C_in, C_out) kernel
    after padding by `pads` ((low, high) per spatial axis, non-negative), as
    F(m x m, 3 x 3) (m = 2 or 4), differentiable in both arguments (reverse mode)."""
    if m not in TRANSFORMS:
        raise ValueError(f"Winograd tile size m={m!r} is not supported: expected one of "
                         f"{list(TRANSFORMS)}.")
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    if not padding_supported(x.shape[1:3], pads):
        raise ValueError(f"Winograd convolution: padding {pads} of an input of spatial size "
                         f"{tuple(x.shape[1:3])} must be non-negative and leave an output "
                         "of at least 1x1; use jax.lax.conv_general_dilated for others.")
    return _winograd_conv(x, kernel, pads, m)
