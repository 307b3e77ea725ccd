"""keras.ops.nn: convolutions, pooling, pixel shuffles, unfold/fold, normalizations,
label encodings and crossentropies against numpy references, symbolic shapes and errors."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jkeras
from jkeras import ops
from jkeras.backend.keras_tensor import KerasTensor


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype("float32")


def _jit(fn, *args):
    """fn(*args) compiled once (one compilation checks many ops, and checks them under
    jit), as numpy arrays."""
    return jax.tree_util.tree_map(np.asarray, jax.jit(fn)(*args))


# keras.ops.nn of Keras 3.15 (adaptive_average_pool / adaptive_max_pool live elsewhere).
KERAS_NN_NAMES = [
    "average_pool", "batch_normalization", "binary_crossentropy", "categorical_crossentropy",
    "celu", "conv", "conv_transpose", "ctc_decode", "ctc_loss", "depth_to_space",
    "depthwise_conv", "dot_product_attention", "elu", "fold", "gelu", "glu", "hard_shrink",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "layer_normalization", "leaky_relu",
    "log_sigmoid", "log_softmax", "max_pool", "moments", "multi_hot", "normalize", "one_hot",
    "polar", "psnr", "relu", "relu6", "rms_normalization", "selu", "separable_conv", "sigmoid",
    "silu", "soft_shrink", "softmax", "softplus", "softsign", "space_to_depth",
    "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus",
    "swish", "tanh_shrink", "threshold", "unfold",
]


def test_every_keras_nn_name_is_an_op():
    for name in KERAS_NN_NAMES:
        assert callable(getattr(ops.nn, name)), name
        assert getattr(ops, name) is getattr(ops.nn, name), name
    assert ops.nn.swish is ops.nn.silu and ops.nn.hard_swish is ops.nn.hard_silu


# ---------------------------------------------------------------------------
# numpy references (channels_last)
# ---------------------------------------------------------------------------
def _same_pads(sizes, kernel, strides, dilation):
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def np_conv(x, k, strides, padding, dilation):
    """Cross-correlation of x (N, *sp, C) with k (*ks, C, O): plain loops."""
    rank = x.ndim - 2
    ks = k.shape[:rank]
    pads = (_same_pads(x.shape[1:-1], ks, strides, dilation) if padding == "same"
            else [(0, 0)] * rank)
    x = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_sp = [(n - (kk - 1) * d - 1) // s + 1
              for n, kk, s, d in zip(x.shape[1:-1], ks, strides, dilation)]
    y = np.zeros((x.shape[0], *out_sp, k.shape[-1]), np.float64)
    for pos in itertools.product(*map(range, out_sp)):
        for off in itertools.product(*map(range, ks)):
            idx = tuple(p * s + o * d for p, s, o, d in zip(pos, strides, off, dilation))
            y[(slice(None), *pos)] += x[(slice(None), *idx)] @ k[off]
    return y


def _to_first(x):
    return np.moveaxis(x, -1, 1)


def _to_last(x):
    return np.moveaxis(x, 1, -1)


CONV_CASES = [  # (spatial, kernel, strides, padding, dilation)
    ((7, 6), (3, 2), (1, 1), "valid", (1, 1)),
    ((7, 6), (3, 3), (2, 2), "same", (1, 1)),
    ((7, 6), (3, 2), (1, 1), "same", (2, 1)),
    ((9,), (4,), (3,), "same", (1,)),
    ((5, 4, 4), (2, 3, 2), (1, 2, 1), "valid", (1, 1, 1)),
]


@pytest.mark.parametrize("spatial,ks,strides,padding,dilation", CONV_CASES)
def test_conv_family_matches_numpy_loops(rng, spatial, ks, strides, padding, dilation):
    x = _f32(rng, 2, *spatial, 3)
    k, dk = _f32(rng, *ks, 3, 4), _f32(rng, *ks, 3, 2)
    pk = _f32(rng, *(1,) * len(spatial), 6, 5)
    got = _jit(lambda x, k, dk, pk: (
        ops.conv(x, k, strides, padding, dilation_rate=dilation),
        # channels_first: the same numbers with the channel axis second
        ops.conv(jnp.moveaxis(x, -1, 1), k, strides, padding.upper(), "channels_first",
                 dilation),
        ops.depthwise_conv(x, dk, strides, padding, None, dilation),
        ops.separable_conv(x, dk, pk, strides, padding, dilation_rate=dilation),
    ), x, k, dk, pk)
    expected = np_conv(x, k, strides, padding, dilation)
    np.testing.assert_allclose(got[0], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_to_last(got[1]), expected, rtol=1e-4, atol=1e-4)
    # depthwise: output channel c * m + j is channel c convolved with kernel[..., c, j]
    dw = np.concatenate([np_conv(x[..., c:c + 1], dk[..., c:c + 1, :], strides, padding,
                                 dilation) for c in range(3)], axis=-1)
    np.testing.assert_allclose(got[2], dw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[3], dw @ pk.reshape(6, 5), rtol=1e-4, atol=1e-4)


def test_grouped_conv_from_channel_counts(rng):
    x, k = _f32(rng, 2, 8, 4), _f32(rng, 3, 2, 6)  # 4 channels, 2 per group -> 2 groups
    expected = np.concatenate([np_conv(x[..., :2], k[..., :3], (1,), "valid", (1,)),
                               np_conv(x[..., 2:], k[..., 3:], (1,), "valid", (1,))], -1)
    np.testing.assert_allclose(ops.conv(x, k), expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="multiple of the kernel's input channels"):
        ops.conv(_f32(rng, 2, 8, 5), k)


@pytest.mark.parametrize("strides,padding,ks", [(2, "valid", 3), (2, "same", 3), (3, "valid", 2),
                                                (1, "same", 4), ((2, 1), "same", (3, 2))])
def test_conv_transpose_is_the_adjoint_of_conv(rng, strides, padding, ks):
    x = _f32(rng, 2, 3, 4, 5)
    kernel = _f32(rng, *((ks,) * 2 if isinstance(ks, int) else ks), 2, 5)
    y = np.asarray(ops.conv_transpose(x, kernel, strides, padding))
    st = (strides,) * 2 if isinstance(strides, int) else strides
    probe = _f32(rng, *y.shape)
    # <conv_transpose(x), probe> == <x, conv(probe)> with the kernel read as (*k, in, out)
    forward = np_conv(probe, kernel, st, padding, (1, 1))
    assert forward.shape == x.shape
    np.testing.assert_allclose(np.sum(y * probe), np.sum(x * forward), rtol=1e-4)


def test_conv_transpose_output_padding_hand_values():
    x = np.array([1.0, 2.0], "float32").reshape(1, 2, 1)
    k = np.array([1.0, 10.0, 100.0], "float32").reshape(3, 1, 1)
    # each input step adds a copy of the kernel, `stride` apart
    np.testing.assert_allclose(ops.conv_transpose(x, k, 2).ravel(), [1, 10, 102, 20, 200])
    ones = np.ones((3, 1, 1), "float32")
    cases = {("valid", 1): [1, 1, 3, 2, 2, 0], ("same", None): [1, 1, 3, 2],
             ("same", 0): [1, 3, 2], ("same", 1): [1, 1, 3, 2]}
    for (padding, out_pad), expected in cases.items():
        got = ops.conv_transpose(x, ones, 2, padding, output_padding=out_pad)
        np.testing.assert_allclose(np.ravel(got), expected)


POOL_CASES = [((2, 2), None, "valid"), ((3, 3), (1, 1), "same"), ((2, 3), (2, 1), "same"),
              ((3, 2), (2, 2), "valid")]


@pytest.mark.parametrize("pool,strides,padding", POOL_CASES)
def test_pools_match_reduce_window(rng, pool, strides, padding):
    x = _f32(rng, 2, 7, 6, 3)
    window = (1, *pool, 1)
    step = (1, *(strides or pool), 1)
    pad = padding.upper()
    got = _jit(lambda x: (
        ops.max_pool(x, pool, strides, padding),
        ops.average_pool(x, pool, strides, padding),
        ops.average_pool(jnp.moveaxis(x, -1, 1), pool, strides, padding, "channels_first"),
        lax.reduce_window(x, -np.inf, lax.max, window, step, pad),
        lax.reduce_window(x, 0.0, lax.add, window, step, pad)
        / lax.reduce_window(jnp.ones_like(x), 0.0, lax.add, window, step, pad),
    ), x)
    np.testing.assert_allclose(got[0], got[3])
    np.testing.assert_allclose(got[1], got[4], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_to_last(got[2]), got[4], rtol=1e-5, atol=1e-6)


def test_pool_1d_3d_and_int_arguments(rng):
    x1 = _f32(rng, 2, 9, 2)
    np.testing.assert_allclose(ops.max_pool(x1, 3), x1[:, :9].reshape(2, 3, 3, 2).max(2))
    x3 = _f32(rng, 1, 4, 4, 4, 2)
    np.testing.assert_allclose(ops.average_pool(x3, 2),
                               x3.reshape(1, 2, 2, 2, 2, 2, 2, 2).mean((2, 4, 6)), rtol=1e-6)


def test_depth_to_space_and_back(rng):
    x = _f32(rng, 2, 3, 4, 8)
    y = np.asarray(ops.depth_to_space(x, 2))
    assert y.shape == (2, 6, 8, 2)
    # channels_last: pixel (i, j) of each 2x2 block takes channels [(2i + j) * 2, ... + 2)
    for i, j in itertools.product(range(2), range(2)):
        np.testing.assert_array_equal(y[:, i::2, j::2], x[..., (2 * i + j) * 2:(2 * i + j + 1) * 2])
    np.testing.assert_array_equal(ops.space_to_depth(y, 2), x)
    xf = _f32(rng, 2, 8, 3, 4)
    yf = np.asarray(ops.depth_to_space(xf, 2, "channels_first"))
    # channels_first: output channel c, pixel (i, j) is input channel 4c + 2i + j
    np.testing.assert_array_equal(yf[:, 1, 1::2, 0::2], xf[:, 4 + 2])
    np.testing.assert_array_equal(ops.space_to_depth(yf, 2, "channels_first"), xf)
    with pytest.raises(ValueError, match="block_size"):
        ops.depth_to_space(x, 1)


def test_unfold_columns_and_fold_sums_overlaps(rng):
    x = _f32(rng, 2, 3, 5, 6)
    probe = _f32(rng, 2, 18, 18)
    cols, counts, folded = _jit(lambda x, probe: (
        ops.unfold(x, (2, 3), padding=1, stride=(2, 1)),
        # how many 2x2 blocks cover each pixel
        ops.fold(ops.unfold(jnp.ones((1, 1, 4, 4)), 2), 4, 2),
        ops.fold(probe, (5, 6), (2, 3), padding=1, stride=(2, 1)),
    ), x, probe)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    blocks = [padded[:, :, r:r + 2, c:c + 3].reshape(2, -1)
              for r in range(0, 6, 2) for c in range(0, 6)]
    np.testing.assert_allclose(cols, np.stack(blocks, -1))
    np.testing.assert_allclose(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2],
                                              [1, 2, 2, 1]])
    # fold is the adjoint of unfold
    np.testing.assert_allclose(np.sum(cols * probe), np.sum(x * folded), rtol=1e-4)
    with pytest.raises(ValueError, match="blocks"):
        ops.fold(probe, (7, 6), (2, 3), padding=1, stride=(2, 1))


# ---------------------------------------------------------------------------
# Normalizations
# ---------------------------------------------------------------------------
def test_moments_and_normalizations(rng):
    x = _f32(rng, 2, 5, 4)
    m, v, off, sc, g = x[0, 0], np.abs(x[1, 1]) + 0.5, x[0, 1], x[1, 2], x[0, :, 0]
    got = _jit(lambda x: dict(
        moments=ops.moments(x, (0, 1)),
        kept=ops.moments(x, [2], keepdims=True)[0],
        half=ops.moments(x.astype("float16") * 300, 2),
        bn=ops.batch_normalization(x, m, v, -1, off, sc, 0.01),
        ln1=ops.layer_normalization(x, g, None, axis=1, epsilon=1e-3),
        ln2=ops.layer_normalization(x, x[0], x[1], axis=(1, 2)),
        ln_bf16=ops.layer_normalization(x.astype("bfloat16")),
        rms=ops.rms_normalization(x, scale=off),
        l2=ops.normalize(x),
        l1=ops.normalize(x, axis=1, order=1),
    ), x)
    np.testing.assert_allclose(got["moments"][0], x.mean((0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["moments"][1], x.var((0, 1)), rtol=1e-5, atol=1e-6)
    assert got["kept"].shape == (2, 5, 1)
    assert got["half"][0].dtype == np.float16 and np.all(np.isfinite(got["half"][1]))
    np.testing.assert_allclose(got["bn"], (x - m) / np.sqrt(v + 0.01) * sc + off, rtol=1e-5,
                               atol=1e-5)
    mu, sd = x.mean(1, keepdims=True), np.sqrt(x.var(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(got["ln1"], (x - mu) / sd * g[:, None], rtol=1e-4, atol=1e-5)
    mu2, sd2 = x.mean((1, 2), keepdims=True), np.sqrt(x.var((1, 2), keepdims=True) + 1e-7)
    np.testing.assert_allclose(got["ln2"], (x - mu2) / sd2 * x[0] + x[1], rtol=1e-4,
                               atol=1e-4)
    assert got["ln_bf16"].dtype == jnp.bfloat16
    rms = np.sqrt(np.mean(x ** 2, -1, keepdims=True) + 1e-7)
    np.testing.assert_allclose(got["rms"], x / rms * off, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["l2"], x / np.linalg.norm(x, axis=-1, keepdims=True),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["l1"], x / np.abs(x).sum(1, keepdims=True), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="vector of length"):
        ops.batch_normalization(x, m[:3], v, -1)
    with pytest.raises(ValueError, match="order"):
        ops.normalize(x, order=0)


# ---------------------------------------------------------------------------
# Labels and crossentropies
# ---------------------------------------------------------------------------
def test_one_hot_multi_hot_and_crossentropies(rng):
    eps = jkeras.backend.epsilon()
    t = (rng.random((3, 5)) > 0.5).astype("float32")
    p = rng.random((3, 5)).astype("float32")
    logits = _f32(rng, 3, 5)
    labels = np.array([1, 4, 0])
    onehot = np.eye(5, dtype="float32")[labels]
    noisy = p + 0.1 * logits
    got = _jit(lambda t, p, logits: dict(
        one_hot=ops.one_hot(jnp.array([0, 2, -1]), 3),
        one_hot_axis=ops.one_hot(jnp.array([[1, 0]]), 3, axis=1),
        multi_hot=ops.multi_hot(jnp.array([[0, 2, 2], [3, 1, 1]]), 4),
        multi_hot_1d=ops.multi_hot(jnp.array([1, 1]), num_tokens=3),
        bce=ops.binary_crossentropy(t, p),
        bce_logits=ops.binary_crossentropy(t, logits, from_logits=True),
        cce=ops.categorical_crossentropy(onehot, p),
        cce_axis0=ops.categorical_crossentropy(onehot.T, p.T, axis=0),
        scce=ops.sparse_categorical_crossentropy(labels, p),
        scce_logits=ops.sparse_categorical_crossentropy(labels[:, None], logits,
                                                        from_logits=True),
        psnr=ops.psnr(p, noisy, 1.0),
        polar=ops.polar(jnp.array([2.0]), jnp.array([np.pi / 2])),
    ), t, p, logits)
    np.testing.assert_array_equal(got["one_hot"], [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert got["one_hot"].dtype == np.float32 and got["one_hot_axis"].shape == (1, 3, 2)
    np.testing.assert_array_equal(got["multi_hot"], [[1, 0, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(got["multi_hot_1d"], [0, 1, 0])
    pc = np.clip(p, eps, 1 - eps)
    np.testing.assert_allclose(got["bce"], -(t * np.log(pc) + (1 - t) * np.log(1 - pc)),
                               rtol=1e-5)
    s = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(got["bce_logits"], -(t * np.log(s) + (1 - t) * np.log(1 - s)),
                               rtol=1e-4)
    q = p / p.sum(-1, keepdims=True)
    expected = -np.log(np.clip(q[np.arange(3), labels], eps, 1 - eps))
    for key in ("cce", "cce_axis0", "scce"):
        np.testing.assert_allclose(got[key], expected, rtol=1e-5)
    log_sm = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(got["scce_logits"], -log_sm[np.arange(3), labels], rtol=1e-5)
    np.testing.assert_allclose(got["psnr"], -10 * np.log10(np.mean((p - noisy) ** 2)),
                               rtol=1e-5)
    np.testing.assert_allclose(got["polar"], [2j], atol=1e-6)
    with pytest.raises(ValueError, match="sparse"):
        ops.one_hot(np.array([1]), 3, sparse=True)
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(t, p[:, :4])
    with pytest.raises(ValueError, match="one integer label"):
        ops.sparse_categorical_crossentropy(labels[:2], p)


# ---------------------------------------------------------------------------
# Symbolic tensors, Variables, jit and grad
# ---------------------------------------------------------------------------
def test_symbolic_shapes_and_graph_use():
    x = KerasTensor((None, 8, 8, 3))
    kernel = np.zeros((3, 3, 3, 5), "float32")
    assert ops.conv(x, kernel, 2, "same").shape == (None, 4, 4, 5)
    assert ops.conv(KerasTensor((None, None, None, 3)), kernel).shape == (None, None, None, 5)
    assert ops.depthwise_conv(x, np.zeros((3, 3, 3, 2), "float32")).shape == (None, 6, 6, 6)
    assert ops.conv_transpose(x, np.zeros((3, 3, 4, 3), "float32"), 2).shape == (
        None, 17, 17, 4)
    assert ops.max_pool(x, 3, 2, "same").shape == (None, 4, 4, 3)
    assert ops.average_pool(KerasTensor((None, 3, 10, 10)), 2,
                            data_format="channels_first").shape == (None, 3, 5, 5)
    assert ops.space_to_depth(KerasTensor((None, None, 4, 8)), 2).shape == (None, None, 2, 32)
    assert ops.unfold(KerasTensor((None, 3, 8, 8)), 3, padding=1, stride=2).shape == (
        None, 27, 16)
    assert ops.fold(KerasTensor((None, 12, 16)), (8, 8), 2, stride=2).shape == (None, 3, 8, 8)
    mean, var = ops.moments(x, (1, 2))
    assert mean.shape == var.shape == (None, 3)
    assert ops.sparse_categorical_crossentropy(KerasTensor((None,), "int32"),
                                               KerasTensor((None, 4))).shape == (None,)
    assert ops.glu(KerasTensor((None, 6))).shape == (None, 3)
    with pytest.raises(ValueError, match="even"):
        ops.glu(KerasTensor((None, 5)))
    with pytest.raises(ValueError, match="smaller than the window"):
        ops.max_pool(KerasTensor((None, 2, 2, 1)), 3)

    kernel = np.random.default_rng(2).standard_normal((3, 3, 2, 4)).astype("float32")
    inp = jkeras.Input((6, 6, 2))
    model = jkeras.Model(inp, ops.max_pool(ops.conv(inp, kernel), 2))
    data = np.random.default_rng(1).standard_normal((3, 6, 6, 2)).astype("float32")
    expected = np_conv(data, kernel, (1, 1), "valid", (1, 1)).reshape(3, 2, 2, 2, 2, 4)
    np.testing.assert_allclose(model.predict(data, verbose=0), expected.max((2, 4)),
                               rtol=1e-4, atol=1e-4)


def test_variables_jit_and_grad(rng):
    x = _f32(rng, 2, 6, 6, 3)
    kernel = jkeras.Variable(_f32(rng, 3, 3, 3, 4))
    np.testing.assert_allclose(ops.conv(x, kernel, padding="same"),
                               np_conv(x, kernel.numpy(), (1, 1), "same", (1, 1)),
                               rtol=1e-4, atol=1e-4)
    assert ops.moments(jkeras.Variable(x), 0)[0].shape == x.shape[1:]

    def loss(x, k):
        y = ops.conv(x, k, 2, "same")
        z = ops.average_pool(x, 3, 1, "same") + ops.conv_transpose(y, k, 2, "same")
        z = ops.layer_normalization(z + ops.max_pool(x, 3, 1, "same"))
        return jnp.sum(z * x) + jnp.sum(ops.depthwise_conv(x, k[..., :2], 1, "same") ** 2)

    k = _f32(rng, 3, 3, 3, 4)
    eps = 1e-2
    direction = _f32(rng, *x.shape)
    grads, values = jax.jit(lambda x, k: (
        jax.grad(loss, argnums=(0, 1))(x, k),
        jax.vmap(loss, (0, None))(jnp.stack([x + eps * direction, x - eps * direction]), k),
    ))(x, k)
    numeric = (values[0] - values[1]) / (2 * eps)
    np.testing.assert_allclose(np.sum(grads[0] * direction), numeric, rtol=2e-2)
