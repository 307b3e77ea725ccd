"""Building blocks of the image ops: layout handling, resampling at arbitrary points
(with Keras's fill modes), projective and elastic warps, separable filters.

Images here are batches `(batch, height, width, channels)` unless said otherwise;
`to_nhwc` brings any accepted layout there and back.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.config import standardize_data_format

# interpolation name -> spline order
INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def check_images(fn: str, images, name: str = "images") -> None:
    """Raises a ValueError naming `fn` unless `images` has rank 3 or 4."""
    if len(images.shape) not in (3, 4):
        raise ValueError(
            f"{fn}: `{name}` must be one image of rank 3 or a batch of rank 4, got shape "
            f"{tuple(images.shape)}."
        )


def to_nhwc(images, data_format=None):
    """(images as a (batch, height, width, channels) array, a function mapping such a
    batch back to the original layout and rank)."""
    data_format = standardize_data_format(data_format)
    unbatched = images.ndim == 3
    x = images[None] if unbatched else images
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)

    def restore(y):
        if data_format == "channels_first":
            y = jnp.moveaxis(y, -1, 1)
        return y[0] if unbatched else y

    return x, restore


def key_from_seed(seed):
    """A PRNG key from a seed: an int, a `SeedGenerator` (advanced by the draw), a key,
    or None (the next key of jkeras's random stream: fresh per step inside `fit`)."""
    from jkeras.engine.seed_generator import draw_key  # the engine sits above the ops

    return draw_key(seed)


def _fix_index(index, size: int, mode: str):
    """Maps integer sample positions outside [0, size) into it for `mode`."""
    if mode == "nearest":
        return jnp.clip(index, 0, size - 1)
    if mode == "wrap":
        return jnp.mod(index, size)
    if mode == "mirror":  # (c d c b | a b c d | c b a b): mirrored about the edge pixels
        if size == 1:
            return jnp.zeros_like(index)
        period = 2 * (size - 1)
        return (size - 1) - jnp.abs(jnp.mod(index, period) - (size - 1))
    if mode == "reflect":  # (d c b a | a b c d | d c b a): reflected about the edges
        period = 2 * size
        index = jnp.mod(index, period)
        return jnp.where(index >= size, period - 1 - index, index)
    return jnp.clip(index, 0, size - 1)  # constant: out-of-range points are masked


def sample_images(images, ys, xs, order: int, fill_mode: str, fill_value):
    """Values of `images` (batch, H, W, C) at the float positions `ys`, `xs` (batch, h, w)
    (row, column; pixel centres at integers), by nearest (`order` 0, half away from zero)
    or bilinear (`order` 1) interpolation; positions outside use `fill_mode`. Returns
    (batch, h, w, C) in the images' (float) dtype."""
    height, width = images.shape[1], images.shape[2]
    dtype = images.dtype
    if order == 0:
        nodes_y = [(jax.lax.round(ys).astype(jnp.int32), None)]
        nodes_x = [(jax.lax.round(xs).astype(jnp.int32), None)]
    else:
        y0, x0 = jnp.floor(ys), jnp.floor(xs)
        wy, wx = (ys - y0).astype(dtype), (xs - x0).astype(dtype)
        y0, x0 = y0.astype(jnp.int32), x0.astype(jnp.int32)
        nodes_y = [(y0, 1 - wy), (y0 + 1, wy)]
        nodes_x = [(x0, 1 - wx), (x0 + 1, wx)]
    batch = jnp.arange(images.shape[0])[:, None, None]
    fill = jnp.asarray(fill_value, dtype)
    out = None
    for iy, wy in nodes_y:
        for ix, wx in nodes_x:
            values = images[batch, _fix_index(iy, height, fill_mode),
                            _fix_index(ix, width, fill_mode)]
            if fill_mode == "constant":
                inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
                values = jnp.where(inside[..., None], values, fill)
            if wy is not None:
                values = values * (wy * wx)[..., None]
            out = values if out is None else out + values
    return out


def warp_projective(images, transform, order: int, fill_mode: str, fill_value):
    """Resamples `images` (batch, H, W, C) so that output pixel (x, y) takes the input
    value at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, for
    each image's transform row `[a0, a1, a2, b0, b1, b2, c0, c1]` ((8,) or (batch, 8))."""
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
    x = images.astype(dtype)
    batch, height, width = x.shape[:3]
    t = jnp.broadcast_to(jnp.asarray(transform, jnp.float32).reshape(-1, 8), (batch, 8))
    t = t[:, :, None, None]
    cols = jnp.arange(width, dtype=jnp.float32)[None, None, :]
    rows = jnp.arange(height, dtype=jnp.float32)[None, :, None]
    k = t[:, 6] * cols + t[:, 7] * rows + 1.0
    k = jnp.where(k == 0, 1e-12, k)
    xs = (t[:, 0] * cols + t[:, 1] * rows + t[:, 2]) / k
    ys = (t[:, 3] * cols + t[:, 4] * rows + t[:, 5]) / k
    return sample_images(x, ys, xs, order, fill_mode, fill_value)


def gaussian_kernel_1d(size: int, sigma, dtype):
    """A normalised Gaussian window of `size` taps and standard deviation `sigma` (which
    may be traced)."""
    offsets = jnp.arange(size, dtype=dtype) - (size - 1) / 2
    weights = jnp.exp(-0.5 * (offsets / jnp.asarray(sigma, dtype)) ** 2)
    return weights / jnp.sum(weights)


def separable_blur(images, kernel_h, kernel_w, padding: str = "SAME"):
    """Correlates every channel of `images` (batch, H, W, C) with the outer product of
    `kernel_h` (along the height) and `kernel_w` (along the width); 'SAME' pads with
    zeros (centred), 'VALID' keeps only full windows."""
    channels = images.shape[-1]

    def conv(x, kernel, shape):
        k = jnp.tile(jnp.reshape(kernel.astype(x.dtype), shape), (1, 1, 1, channels))
        return jax.lax.conv_general_dilated(
            x, k, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=channels)

    out = conv(images, kernel_h, (-1, 1, 1, 1))
    return conv(out, kernel_w, (1, -1, 1, 1))


def elastic_warp(images, alpha, sigma, kernel_size: int, key, order: int, fill_mode: str,
                 fill_value):
    """Displaces every pixel of `images` (batch, H, W, C) by `alpha` times a random field:
    independent normal noise (scaled by `sigma`) for rows and columns, smoothed by a
    Gaussian of `sigma` over `kernel_size` taps (static); resamples bilinearly/nearest."""
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
    x = images.astype(dtype)
    batch, height, width = x.shape[:3]
    key_y, key_x = jax.random.split(key)
    sigma = jnp.asarray(sigma, dtype)
    kernel = gaussian_kernel_1d(kernel_size, sigma, dtype)

    def field(k):
        noise = jax.random.normal(k, (batch, height, width, 1), dtype) * sigma
        return separable_blur(noise, kernel, kernel)[..., 0]

    alpha = jnp.asarray(alpha, dtype)
    rows = jnp.arange(height, dtype=dtype)[None, :, None]
    cols = jnp.arange(width, dtype=dtype)[None, None, :]
    ys = rows + alpha * field(key_y)
    xs = cols + alpha * field(key_x)
    return sample_images(x, ys, xs, order, fill_mode, fill_value)


def _hashable(value):
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def jit_op(fn, *static: str):
    """`fn` compiled with `jax.jit` once per input signature and value of the `static`
    arguments (Python configuration: sizes, modes, formats; lists become tuples), so an
    eager call runs one compiled program rather than op by op. `data_format=None` is
    resolved at call time so that changing the global default takes effect."""
    jitted = jax.jit(fn, static_argnames=static)
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def run(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        arguments = dict(bound.arguments)
        if "data_format" in signature.parameters:
            arguments["data_format"] = standardize_data_format(arguments.get("data_format"))
        for name in static:
            if name in arguments:
                arguments[name] = _hashable(arguments[name])
        return jitted(**arguments)

    return run
