"""load_img / save_img / array_to_img / img_to_array / smart_resize and the host resizer."""

from __future__ import annotations

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jkeras.preprocessing import image as keras_image
from jkeras.utils import array_to_img, img_to_array, load_img, save_img
from jkeras.utils.image_resize import resize_image

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 10, 3), dtype=np.uint8)


def test_save_load_round_trip_png(tmp_path):
    path = tmp_path / "x.png"
    save_img(str(path), RGB.astype("float32"), scale=False)
    img = load_img(path)
    assert img.mode == "RGB" and img.size == (10, 6)
    arr = img_to_array(img)
    assert arr.dtype == np.float32 and arr.shape == (6, 10, 3)
    np.testing.assert_array_equal(arr, RGB)
    first = img_to_array(img, data_format="channels_first", dtype="uint8")
    np.testing.assert_array_equal(first, RGB.transpose(2, 0, 1))
    buffer = io.BytesIO()
    save_img(buffer, RGB, file_format="png", scale=False)
    np.testing.assert_array_equal(img_to_array(load_img(io.BytesIO(buffer.getvalue()))), RGB)


def test_load_img_color_modes_and_target_size(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(RGB).save(path)
    assert load_img(path, color_mode="grayscale").mode == "L"
    assert load_img(path, color_mode="rgba").mode == "RGBA"
    small = load_img(path, target_size=(3, 5), interpolation="bilinear")
    want = Image.fromarray(RGB).resize((5, 3), Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(np.asarray(small), np.asarray(want))
    square = load_img(path, target_size=(4, 4), keep_aspect_ratio=True)
    # the centred 6x6 window (columns 2..7) resized with nearest
    want = Image.fromarray(RGB[:, 2:8]).resize((4, 4), Image.Resampling.NEAREST)
    np.testing.assert_array_equal(np.asarray(square), np.asarray(want))
    with pytest.raises(ValueError, match="color_mode"):
        load_img(path, color_mode="cmyk")
    with pytest.raises(ValueError, match="invalid interpolation method 'cubic'"):
        load_img(path, target_size=(3, 3), interpolation="cubic")
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"cannot read .*bad\.png as an image"):
        load_img(tmp_path / "bad.png")
    with pytest.raises(TypeError, match="io.BytesIO"):
        load_img(123)


def test_array_to_img_scaling_and_modes():
    x = np.linspace(-1, 1, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    img = array_to_img(x)  # mapped linearly onto [0, 255]
    arr = np.asarray(img)
    assert img.mode == "RGB" and arr.min() == 0 and arr.max() == 255
    np.testing.assert_array_equal(arr, ((x + 1) / 2 * 255).astype(np.uint8))
    assert array_to_img(np.zeros((2, 3, 4))).mode == "RGBA"
    assert array_to_img(np.full((2, 2, 1), 1000.0), scale=False).mode == "I"
    assert array_to_img(np.ones((1, 2, 3)), data_format="channels_first").size == (3, 2)
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="number of channels 2"):
        array_to_img(np.zeros((2, 2, 2)))


def test_save_img_jpeg_drops_alpha_with_warning(tmp_path):
    with pytest.warns(UserWarning, match="JPEG format does not support RGBA"):
        save_img(tmp_path / "x.jpg", np.zeros((4, 4, 4)))
    assert load_img(tmp_path / "x.jpg", color_mode="rgba").size == (4, 4)


def _linear_reference(img, out_h, out_w):
    """Bilinear with half-pixel centres, edges clamped, one axis at a time (np.interp)."""
    def axis(a, n_out, ax):
        n_in = a.shape[ax]
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        return np.apply_along_axis(lambda v: np.interp(pos, np.arange(n_in), v), ax, a)
    return axis(axis(img, out_h, 0), out_w, 1)


def test_resize_methods():
    img = RNG.uniform(0, 255, (7, 9, 2)).astype(np.float32)
    np.testing.assert_allclose(resize_image(img, (4, 13), "bilinear"),
                               _linear_reference(img, 4, 13), atol=1e-3)
    rows, cols = [int((i + 0.5) * 7 / 4) for i in range(4)], [int((j + 0.5) * 9 / 13)
                                                               for j in range(13)]
    np.testing.assert_array_equal(resize_image(img, (4, 13), "nearest"), img[rows][:, cols])
    blocks = img[:6, :9].reshape(2, 3, 3, 3, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(resize_image(img[:6], (2, 3), "area"), blocks, atol=1e-3)
    for method, jax_method in [("bicubic", "cubic"), ("lanczos3", "lanczos3")]:
        ref = jax.image.resize(img, (4, 13, 2), jax_method, antialias=False)
        np.testing.assert_allclose(resize_image(img, (4, 13), method), ref, atol=2e-3,
                                   err_msg=method)


def test_smart_resize_numpy_and_jit():
    img = RNG.uniform(0, 255, (7, 9, 2)).astype(np.float32)
    batch = np.stack([img, img[::-1]])
    out = keras_image.smart_resize(batch, (3, 3))
    assert isinstance(out, np.ndarray) and out.shape == (2, 3, 3, 2)
    crop = batch[:, :, 1:8]  # the centred 7x7 window
    np.testing.assert_allclose(out[1], _linear_reference(crop[1], 3, 3), atol=1e-3)
    on_device = jax.jit(lambda x: keras_image.smart_resize(x, (3, 3)))(jnp.asarray(batch))
    np.testing.assert_allclose(on_device, out, atol=2e-3)
    first = keras_image.smart_resize(batch.transpose(0, 3, 1, 2), (3, 3),
                                     data_format="channels_first")
    np.testing.assert_allclose(first, out.transpose(0, 3, 1, 2), atol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        keras_image.smart_resize(np.zeros((4, 4)), (2, 2))
