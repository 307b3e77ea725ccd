"""keras.ops.image: values against numpy/jax references, layouts, dtypes, symbolic
tensors, jit and errors. Small images keep the number of compilations low."""

import colorsys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras.ops import image as ops_image

RNG = np.random.default_rng(0)
IMAGES = RNG.random((2, 6, 8, 3)).astype("float32")


def test_public_names_match_keras():
    names = ("affine_transform crop_images elastic_transform extract_patches "
             "extract_patches_3d gaussian_blur hsv_to_rgb map_coordinates pad_images "
             "perspective_transform resize rgb_to_grayscale rgb_to_hsv scale_and_translate "
             "sobel_edges ssim").split()
    assert sorted(ops_image.__all__) == names
    assert all(callable(getattr(jkeras.ops.image, n)) for n in names)


def test_resize_matches_jax_image_resize_and_layouts():
    x = IMAGES
    for method in ("bilinear", "nearest", "bicubic"):
        out = ops_image.resize(x, (3, 5), interpolation=method)
        ref = jax.image.resize(x, (2, 3, 5, 3), method=method, antialias=False)
        np.testing.assert_allclose(out, ref, atol=1e-6)
    np.testing.assert_allclose(ops_image.resize(x, (3, 5), antialias=True),
                               jax.image.resize(x, (2, 3, 5, 3), "bilinear"), atol=1e-6)
    first = ops_image.resize(np.moveaxis(x, -1, 1), (3, 5), data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(first, 1, -1),
                               ops_image.resize(x, (3, 5)), atol=1e-6)
    assert ops_image.resize(x[0], (4, 4)).shape == (4, 4, 3)
    # crop: the centred 6x6 window of the 6x8 image; pad: one row of fill above and below
    cropped = ops_image.resize(x, (3, 3), crop_to_aspect_ratio=True)
    ref = jax.image.resize(x[:, :, 1:7], (2, 3, 3, 3), "bilinear", antialias=False)
    np.testing.assert_allclose(cropped, ref, atol=1e-6)
    padded = ops_image.resize(x, (4, 4), pad_to_aspect_ratio=True, fill_value=0.5)
    ref = np.pad(x, [(0, 0), (1, 1), (0, 0), (0, 0)], constant_values=0.5)
    np.testing.assert_allclose(
        padded, jax.image.resize(ref, (2, 4, 4, 3), "bilinear", antialias=False), atol=1e-6)


def test_resize_integer_images_round_and_keep_dtype():
    x = np.array([[[0], [255]], [[255], [0]]], "uint8")
    out = ops_image.resize(x, (4, 4))
    assert out.dtype == np.uint8
    ref = np.round(np.asarray(jax.image.resize(x.astype("float32"), (4, 4, 1), "bilinear",
                                               antialias=False)))
    np.testing.assert_array_equal(out, ref.astype("uint8"))


def test_resize_errors():
    with pytest.raises(ValueError, match="interpolation"):
        ops_image.resize(IMAGES, (2, 2), interpolation="area51")
    with pytest.raises(ValueError, match="only one of"):
        ops_image.resize(IMAGES, (2, 2), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="size"):
        ops_image.resize(IMAGES, (2, 0))
    with pytest.raises(ValueError, match="rank 3"):
        ops_image.resize(IMAGES[0, 0], (2, 2))


def test_hsv_against_colorsys_and_round_trip():
    pixels = np.array([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.2, 0.4, 0.9]],
                       [[0.5, 0.5, 0.5], [0.9, 0.1, 0.6], [0, 0, 0], [1, 1, 0]]], "float32")
    hsv = np.asarray(ops_image.rgb_to_hsv(pixels))
    ref = np.array([[colorsys.rgb_to_hsv(*p) for p in row] for row in pixels])
    np.testing.assert_allclose(hsv, ref, atol=1e-6)
    np.testing.assert_allclose(ops_image.hsv_to_rgb(hsv), pixels, atol=1e-6)
    back = ops_image.hsv_to_rgb(ops_image.rgb_to_hsv(IMAGES))
    np.testing.assert_allclose(back, IMAGES, atol=1e-5)
    first = np.moveaxis(IMAGES, -1, 1)
    np.testing.assert_allclose(ops_image.rgb_to_hsv(first, data_format="channels_first"),
                               np.moveaxis(ops_image.rgb_to_hsv(IMAGES), -1, 1), atol=1e-6)
    with pytest.raises(ValueError, match="float dtype"):
        ops_image.rgb_to_hsv(pixels.astype("uint8"))
    with pytest.raises(ValueError, match="3 channels"):
        ops_image.rgb_to_hsv(IMAGES[..., :2])


def test_rgb_to_grayscale():
    gray = ops_image.rgb_to_grayscale(IMAGES)
    np.testing.assert_allclose(gray[..., 0], IMAGES @ np.array([0.2989, 0.5870, 0.1140]),
                               rtol=1e-6)
    assert ops_image.rgb_to_grayscale(gray) is not None and gray.shape == (2, 6, 8, 1)
    ints = ops_image.rgb_to_grayscale(np.full((2, 2, 3), 200, "uint8"))
    assert ints.dtype == np.uint8 and int(ints[0, 0, 0]) == 200  # weights sum to 0.9999
    with pytest.raises(ValueError, match="3 \\(RGB\\) or 1"):
        ops_image.rgb_to_grayscale(IMAGES[..., :2])


def test_affine_transform_identity_translation_and_fill_modes():
    x = IMAGES
    identity = np.array([1, 0, 0, 0, 1, 0, 0, 0], "float32")
    np.testing.assert_allclose(ops_image.affine_transform(x, identity), x, atol=1e-6)
    # output (x, y) reads input (x - 2, y - 1): content moves 2 right and 1 down
    shift = np.array([[1, 0, -2, 0, 1, -1, 0, 0]] * 2, "float32")
    out = np.asarray(ops_image.affine_transform(x, shift, fill_value=7.0))
    np.testing.assert_allclose(out[:, 1:, 2:], x[:, :-1, :-2], atol=1e-6)
    assert np.all(out[:, 0] == 7.0) and np.all(out[:, :, :2] == 7.0)
    row = np.arange(4, dtype="float32").reshape(1, 4, 1)  # one row a b c d = 0 1 2 3
    left = np.array([1, 0, -3, 0, 1, 0, 0, 0], "float32")  # reads x - 3
    expected = {"nearest": [0, 0, 0, 0], "wrap": [1, 2, 3, 0], "reflect": [2, 1, 0, 0],
                "mirror": [3, 2, 1, 0], "constant": [0, 0, 0, 0]}
    for mode, values in expected.items():
        got = ops_image.affine_transform(row, left, interpolation="nearest", fill_mode=mode)
        np.testing.assert_allclose(np.asarray(got)[0, :, 0], values, err_msg=mode)
    # projective terms take effect (Keras's JAX backend ignores c0, c1)
    proj = np.array([1, 0, 0, 0, 1, 0, 0.1, 0], "float32")
    assert not np.allclose(ops_image.affine_transform(x, proj), x)
    first = ops_image.affine_transform(np.moveaxis(x, -1, 1), shift, data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), ops_image.affine_transform(x, shift),
                               atol=1e-6)
    with pytest.raises(ValueError, match="fill_mode"):
        ops_image.affine_transform(x, identity, fill_mode="smear")
    with pytest.raises(ValueError, match=r"\(8,\) or \(batch, 8\)"):
        ops_image.affine_transform(x, identity[:6])


def test_map_coordinates_linear_and_nearest():
    grid = np.arange(12, dtype="float32").reshape(3, 4)
    coords = np.array([[0.5, 1.0, 2.0, -1.0], [1.5, 3.0, 0.25, 0.0]], "float32")
    got = ops_image.map_coordinates(grid, coords, order=1)
    # (0.5, 1.5): mean of 1, 2, 5, 6; (1, 3): 7; (2, 0.25): 8.25; (-1, 0) outside: 0
    np.testing.assert_allclose(got, [3.5, 7.0, 8.25, 0.0], atol=1e-6)
    got = ops_image.map_coordinates(grid, coords, order=0, fill_mode="nearest")
    np.testing.assert_allclose(got, [6.0, 7.0, 8.0, 0.0])  # halves round away from 0
    with pytest.raises(ValueError, match="order"):
        ops_image.map_coordinates(grid, coords, order=3)


def test_perspective_transform_matches_the_equivalent_affine_shift():
    x = IMAGES
    start = np.array([[0, 0], [7, 0], [0, 5], [7, 5]], "float32")
    np.testing.assert_allclose(ops_image.perspective_transform(x, start, start), x, atol=1e-5)
    end = start + np.array([2.0, 1.0], "float32")  # the corners move 2 right, 1 down
    shift = np.array([1, 0, -2, 0, 1, -1, 0, 0], "float32")
    np.testing.assert_allclose(ops_image.perspective_transform(x, start, end),
                               ops_image.affine_transform(x, shift), atol=1e-5)
    with pytest.raises(ValueError, match="start_points"):
        ops_image.perspective_transform(x, start[:3], end[:3])


def _gaussian(size, sigma):
    k = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return k / k.sum()


def test_gaussian_blur_and_sobel_against_numpy():
    x = IMAGES
    kh, kw = _gaussian(3, 0.8), _gaussian(5, 1.3)
    kernel = np.outer(kh, kw)
    padded = np.pad(x, [(0, 0), (1, 1), (2, 2), (0, 0)])
    ref = sum(kernel[i, j] * padded[:, i:i + 6, j:j + 8] for i in range(3) for j in range(5))
    out = ops_image.gaussian_blur(x, (3, 5), (0.8, 1.3))
    np.testing.assert_allclose(out, ref, atol=1e-6)
    ramp = np.tile(np.arange(8, dtype="float32") * 2, (1, 6, 1))[..., None]  # d/dx = 2
    edges = np.asarray(ops_image.sobel_edges(ramp))
    assert edges.shape == (1, 6, 8, 1, 2)
    np.testing.assert_allclose(edges[0, 1:-1, 1:-1, 0, 1], 16.0)  # Sobel: 8 * slope
    np.testing.assert_allclose(edges[0, 1:-1, :, 0, 0], 0.0)
    with pytest.raises(ValueError, match="rank 4"):
        ops_image.sobel_edges(ramp[0])


def test_ssim():
    a = RNG.random((2, 12, 12, 1)).astype("float32")
    same = ops_image.ssim(a, a, filter_size=5)
    np.testing.assert_allclose(same, [1.0, 1.0], atol=1e-5)
    noisy = np.clip(a + RNG.normal(0, 0.3, a.shape), 0, 1).astype("float32")
    other = np.asarray(ops_image.ssim(a, noisy, filter_size=5))
    assert other.shape == (2,) and np.all(other < 0.9)
    assert ops_image.ssim(a[0], a[0], filter_size=5).shape == ()
    with pytest.raises(ValueError, match="same shape"):
        ops_image.ssim(a, a[:1])


def test_extract_patches_2d_3d_and_padding():
    x = IMAGES
    patches = np.asarray(ops_image.extract_patches(x, (2, 4)))
    assert patches.shape == (2, 3, 2, 24)
    np.testing.assert_array_equal(patches[1, 2, 1], x[1, 4:6, 4:8].reshape(-1))
    same = ops_image.extract_patches(x, 3, strides=(2, 3), padding="same")
    assert same.shape == (2, 3, 3, 27)
    dilated = np.asarray(ops_image.extract_patches(x[0], (2, 2), strides=1, dilation_rate=2))
    np.testing.assert_array_equal(dilated[1, 3], x[0, [1, 1, 3, 3], [3, 5, 3, 5]].reshape(-1))
    first = ops_image.extract_patches(np.moveaxis(x, -1, 1), (2, 4),
                                      data_format="channels_first")
    np.testing.assert_array_equal(np.moveaxis(np.asarray(first), 1, -1), patches)
    vol = RNG.random((1, 4, 6, 6, 2)).astype("float32")
    p3 = np.asarray(ops_image.extract_patches_3d(vol, (2, 3, 3)))
    assert p3.shape == (1, 2, 2, 2, 36)
    np.testing.assert_array_equal(p3[0, 1, 0, 1], vol[0, 2:4, 0:3, 3:6].reshape(-1))
    np.testing.assert_array_equal(ops_image.extract_patches(vol, (2, 3, 3)), p3)
    with pytest.raises(ValueError, match="size"):
        ops_image.extract_patches(x, (1, 2, 3, 4))


def test_pad_and_crop_images():
    x = IMAGES
    padded = np.asarray(ops_image.pad_images(x, 1, 2, target_height=9, target_width=11))
    assert padded.shape == (2, 9, 11, 3)
    np.testing.assert_array_equal(padded[:, 1:7, 2:10], x)
    assert padded[:, 7:].sum() == 0 and padded[:, :, :2].sum() == 0
    cropped = ops_image.crop_images(x, 1, 2, target_height=4, target_width=5)
    np.testing.assert_array_equal(cropped, x[:, 1:5, 2:7])
    both = ops_image.crop_images(x[0], top_cropping=1, bottom_cropping=2, left_cropping=0,
                                 right_cropping=3)
    np.testing.assert_array_equal(both, x[0, 1:4, 0:5])
    with pytest.raises(ValueError, match="exactly two of top_padding"):
        ops_image.pad_images(x, 1, 1)
    with pytest.raises(ValueError, match="must be >= 0"):
        ops_image.pad_images(x, 5, 0, target_height=8, target_width=8)


def test_scale_and_translate_keras_doc_example():
    image = np.arange(9, dtype="float32").reshape(3, 3)
    scale = np.array([2.0, 2.0], "float32")
    out = ops_image.scale_and_translate(image, (5, 5), scale, -(scale / 2 - 0.5), (0, 1),
                                        "linear")
    np.testing.assert_allclose(np.asarray(out)[0], [0.0, 0.5, 1.0, 1.5, 2.0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(out)[:, 0], [0.0, 1.5, 3.0, 4.5, 6.0], atol=1e-6)
    with pytest.raises(ValueError, match="method"):
        ops_image.scale_and_translate(image, (5, 5), scale, scale, (0, 1), "box")


def test_elastic_transform_seeded_and_zero_strength_identity():
    x = IMAGES
    a = ops_image.elastic_transform(x, alpha=3.0, sigma=1.0, seed=3)
    b = ops_image.elastic_transform(x, alpha=3.0, sigma=1.0, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    np.testing.assert_allclose(ops_image.elastic_transform(x, alpha=0.0, sigma=1.0, seed=3), x,
                               atol=1e-6)


def test_symbolic_tensors_and_jit():
    inp = jkeras.Input((6, 8, 3))
    assert ops_image.resize(inp, (3, 4)).shape == (None, 3, 4, 3)
    assert ops_image.rgb_to_grayscale(inp).shape == (None, 6, 8, 1)
    assert ops_image.extract_patches(inp, 2).shape == (None, 3, 4, 12)
    assert ops_image.ssim(inp, inp, filter_size=3).shape == (None,)
    assert ops_image.sobel_edges(inp).shape == (None, 6, 8, 3, 2)
    assert ops_image.elastic_transform(inp, seed=None).shape == (None, 6, 8, 3)
    model = jkeras.Model(inp, ops_image.resize(inp, (3, 4)))
    np.testing.assert_allclose(model.predict(IMAGES, verbose=0), ops_image.resize(IMAGES, (3, 4)),
                               atol=1e-6)

    @jax.jit
    def f(x, t):
        return ops_image.affine_transform(ops_image.gaussian_blur(x), t), ops_image.rgb_to_hsv(x)

    warped, hsv = f(IMAGES, jnp.array([1, 0, 0, 0, 1, 0, 0, 0], "float32"))
    np.testing.assert_allclose(warped, ops_image.gaussian_blur(IMAGES), atol=1e-6)
    grad = jax.grad(lambda x: ops_image.resize(x, (3, 3)).sum())(IMAGES)
    assert grad.shape == IMAGES.shape and np.isfinite(grad).all()
