"""Image augmentation layers: documented effects at extreme factors, inference identity,
seeds, dtypes, value ranges, configs and errors. Images are tiny (batch 2, 8x8) and
each layer is called as few times as possible (every new layer compiles once)."""

import pickle

import numpy as np
import pytest

import jkeras
from jkeras import layers

RNG = np.random.default_rng(0)
X = np.round(RNG.random((2, 8, 8, 3)) * 255).astype("float32")

RANDOM_LAYERS = {
    "AugMix": lambda: layers.AugMix(seed=1),
    "CutMix": lambda: layers.CutMix(seed=1),
    "MixUp": lambda: layers.MixUp(seed=1),
    "RandAugment": lambda: layers.RandAugment(seed=1),
    "RandomBrightness": lambda: layers.RandomBrightness(0.4, seed=1),
    "RandomColorDegeneration": lambda: layers.RandomColorDegeneration(0.5, seed=1),
    "RandomColorJitter": lambda: layers.RandomColorJitter(brightness_factor=0.2, seed=1),
    "RandomContrast": lambda: layers.RandomContrast(0.3, seed=1),
    "RandomElasticTransform": lambda: layers.RandomElasticTransform(seed=1),
    "RandomErasing": lambda: layers.RandomErasing(seed=1),
    "RandomFlip": lambda: layers.RandomFlip(seed=1),
    "RandomGaussianBlur": lambda: layers.RandomGaussianBlur(seed=1),
    "RandomGrayscale": lambda: layers.RandomGrayscale(seed=1),
    "RandomHue": lambda: layers.RandomHue(0.3, seed=1),
    "RandomInvert": lambda: layers.RandomInvert(seed=1),
    "RandomPerspective": lambda: layers.RandomPerspective(seed=1),
    "RandomPosterization": lambda: layers.RandomPosterization(4, seed=1),
    "RandomRotation": lambda: layers.RandomRotation(0.2, seed=1),
    "RandomSaturation": lambda: layers.RandomSaturation(0.7, seed=1),
    "RandomSharpness": lambda: layers.RandomSharpness(0.4, seed=1),
    "RandomShear": lambda: layers.RandomShear(0.2, 0.1, seed=1),
    "RandomTranslation": lambda: layers.RandomTranslation(0.2, 0.3, seed=1),
    "RandomZoom": lambda: layers.RandomZoom(0.3, seed=1),
    "Solarization": lambda: layers.Solarization(0.2, 0.5, seed=1),
}
OTHER_LAYERS = {
    "AutoContrast": lambda: layers.AutoContrast(value_range=(0, 1)),
    "ContrastLimitedAdaptiveHistogramEqualization": lambda: (
        layers.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=2.0,
                                                            tile_grid_size=(2, 4))),
    "Equalization": lambda: layers.Equalization(bins=64),
    "MaxNumBoundingBoxes": lambda: layers.MaxNumBoundingBoxes(5, fill_value=-2),
    "RandomCrop": lambda: layers.RandomCrop(4, 6, seed=2),
}


def test_random_layers_are_the_identity_at_inference():
    ints = X.astype("uint8")
    for name, make in RANDOM_LAYERS.items():
        out = make()(ints, training=False)
        assert out.dtype == np.float32, name
        np.testing.assert_array_equal(out, X, err_msg=name)
    unbatched = layers.RandomRotation(0.3)(X[0], training=False)
    assert unbatched.shape == (8, 8, 3)


def test_configs_round_trip_and_keep_keras_argument_names():
    for name, make in {**RANDOM_LAYERS, **OTHER_LAYERS}.items():
        layer = make()
        config = layer.get_config()
        assert config["data_format"] == "channels_last", name
        clone = type(layer).from_config(config)
        assert clone.get_config() == config, name
    config = layers.RandomZoom(0.3, width_factor=(-0.2, 0.1), fill_mode="constant").get_config()
    assert {k: config[k] for k in ("height_factor", "width_factor", "fill_mode")} == {
        "height_factor": 0.3, "width_factor": (-0.2, 0.1), "fill_mode": "constant"}
    assert layers.RandomRotation(0.25).get_config()["factor"] == (-0.25, 0.25)
    assert layers.RandomBrightness(0.1, bounding_box_format="xyxy").get_config()[
        "bounding_box_format"] == "xyxy"


def test_bad_arguments_raise_clear_errors():
    cases = [
        (lambda: layers.RandomRotation(1.5), "RandomRotation: `factor`"),
        (lambda: layers.RandomZoom(-1.0), r"RandomZoom: `height_factor` .* \(-1.0, 1.0\]"),
        (lambda: layers.RandomTranslation(0.1, (0.1, 0.2, 0.3)), "width_factor"),
        (lambda: layers.RandomBrightness("high"), "RandomBrightness: `factor`"),
        (lambda: layers.RandomContrast(-0.2), "RandomContrast: `factor`"),
        (lambda: layers.RandomFlip("diagonal"), "RandomFlip: `mode`"),
        (lambda: layers.RandomRotation(0.1, fill_mode="smear"), "fill_mode"),
        (lambda: layers.RandomPosterization(9), "RandomPosterization: `factor`"),
        (lambda: layers.RandomGrayscale(1.5), "probability"),
        (lambda: layers.RandomGaussianBlur(kernel_size=4), "odd"),
        (lambda: layers.Solarization(value_range=(0, 1, 2)), "value_range"),
        (lambda: layers.RandomCrop(0, 4), "height"),
        (lambda: layers.RandomErasing(fill_value=(1, 2)), "fill_value"),
        (lambda: layers.MixUp(alpha=0), "alpha"),
        (lambda: layers.RandomFlip(bounding_box_format="xxyy"), "bounding_box_format"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(ValueError, match="rank 4"):
        layers.RandomFlip()(X[0, 0])
    with pytest.raises(ValueError, match="bounding_box_format"):
        layers.RandomFlip(seed=1)({"images": X, "bounding_boxes": {
            "boxes": np.zeros((2, 1, 4)), "labels": np.zeros((2, 1))}})


def test_same_seed_same_output_and_fresh_draws_per_call():
    a, b = layers.RandomBrightness(0.5, seed=7), layers.RandomBrightness(0.5, seed=7)
    first = a(X)
    np.testing.assert_array_equal(first, b(X))
    assert not np.array_equal(first, a(X))  # the generator advanced
    copy = pickle.loads(pickle.dumps(a))  # e.g. for data-loading processes
    np.testing.assert_array_equal(copy(X), a(X))  # same generator state, same draws


def test_extreme_factors_have_their_documented_effect():
    ints = X.astype("uint8")
    out = layers.RandomBrightness((0.5, 0.5))(ints)  # + 0.5 * (255 - 0), clipped
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.minimum(X + 127.5, 255))
    unit = layers.RandomBrightness((0.5, 0.5), value_range=(0, 1))(X / 255)
    assert float(unit.min()) >= 0.5 and float(unit.max()) <= 1.0
    solar = layers.Solarization(threshold_factor=(0.5, 0.5))(X)  # inverts values >= 127.5
    np.testing.assert_allclose(solar, np.where(X < 127.5, X, 255 - X))
    np.testing.assert_allclose(layers.RandomInvert(factor=(1.0, 1.0))(X), 255 - X)
    np.testing.assert_allclose(layers.RandomPosterization((4, 4))(X),
                               (X.astype("uint8") & 0xF0).astype("float32"))
    gray = layers.RandomGrayscale(factor=1.0)(X)
    np.testing.assert_allclose(gray, np.repeat(X @ [[0.2989], [0.5870], [0.1140]], 3, -1),
                               rtol=1e-5)
    np.testing.assert_allclose(layers.RandomSharpness((0.5, 0.5))(X), X, atol=1e-3)
    half_turn = layers.RandomRotation((0.5, 0.5), interpolation="nearest")(X)
    np.testing.assert_allclose(half_turn, X[:, ::-1, ::-1])
    erased = layers.RandomErasing(factor=(1, 1), scale=(1, 1), fill_value=7)(X)
    np.testing.assert_allclose(erased, 7.0)
    red = np.zeros((1, 2, 2, 3), "float32")
    red[..., 0] = 255
    np.testing.assert_allclose(layers.RandomHue((1.0, 1.0))(red), 255 - red, atol=1e-3)
    np.testing.assert_allclose(layers.RandomSaturation((0.0, 0.0))(X),
                               np.repeat(X.max(-1, keepdims=True), 3, -1), atol=1e-3)


def test_random_flip_modes_layouts_and_boxes():
    flip = layers.RandomFlip("horizontal", bounding_box_format="xyxy")
    forced = {"flips": np.array([True, True]), "height": 8, "width": 8}
    np.testing.assert_array_equal(flip.transform_images(X, forced), X[:, :, ::-1])
    boxes = {"boxes": np.array([[[1.0, 2.0, 3.0, 6.0]]] * 2), "labels": np.array([[4], [5]])}
    moved = flip.transform_bounding_boxes(boxes, forced)
    np.testing.assert_allclose(moved["boxes"], [[[5, 2, 7, 6]]] * 2)
    first = layers.RandomFlip("vertical", data_format="channels_first")
    out = first.transform_images(np.moveaxis(X, -1, 1), forced)
    np.testing.assert_array_equal(np.moveaxis(out, 1, -1), X[:, ::-1])
    both = layers.RandomFlip(seed=3)(X)  # each image: unchanged or flipped both ways
    for got, image in zip(np.asarray(both), X):
        assert np.array_equal(got, image) or np.array_equal(got, image[::-1, ::-1])


def test_translation_moves_images_masks_and_boxes_together():
    layer = layers.RandomTranslation((0.25, 0.25), 0.0, fill_mode="constant",
                                     interpolation="nearest", bounding_box_format="xyxy")
    masks = np.arange(2 * 8 * 8).reshape(2, 8, 8, 1).astype("int32")
    boxes = {"boxes": np.array([[[1, 1, 3, 4], [0, 5, 2, 8]]] * 2, "float32"),
             "labels": np.array([[1, 2], [3, 4]], "int32")}
    out = layer({"images": X, "segmentation_masks": masks, "bounding_boxes": boxes,
                 "labels": np.eye(2)})
    np.testing.assert_allclose(out["images"][:, 2:], X[:, :-2])  # 2 rows down (0.25 * 8)
    assert np.all(out["images"][:, :2] == 0)
    assert out["segmentation_masks"].dtype == np.int32
    np.testing.assert_array_equal(out["segmentation_masks"][:, 2:], masks[:, :-2])
    # the second box is pushed to the bottom edge: clipped, and it keeps a sliver
    np.testing.assert_allclose(out["bounding_boxes"]["boxes"][0], [[1, 3, 3, 6], [0, 7, 2, 8]],
                               atol=1e-5)
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(out["labels"], np.eye(2))


def test_random_crop_training_and_inference_with_boxes():
    crop = OTHER_LAYERS["RandomCrop"]()
    crop.bounding_box_format = "xyxy"
    boxes = {"boxes": np.array([[[2, 1, 6, 5]]] * 2, "float32"), "labels": np.ones((2, 1))}
    center = crop({"images": X, "bounding_boxes": boxes}, training=False)
    # inference: the centred 5x8 window (int(8 * 4 / 6) rows from row 1), resized to 4x6
    window = X[:, 1:6]
    np.testing.assert_allclose(center["images"],
                               jkeras.ops.image.resize(window, (4, 6)), atol=1e-4)
    np.testing.assert_allclose(center["bounding_boxes"]["boxes"],
                               [[[2 * 0.75, 0, 6 * 0.75, 4 * 0.8]]] * 2, atol=1e-5)
    out = np.asarray(crop(X))
    assert out.shape == (2, 4, 6, 3)
    hits = [(t, s) for t in range(5) for s in range(3) if np.array_equal(out, X[:, t:t + 4,
                                                                            s:s + 6])]
    assert len(hits) == 1  # one window, the same for the whole batch
    assert crop.compute_output_shape((None, 8, 8, 3)) == (None, 4, 6, 3)


def test_mixing_layers_keep_label_mass():
    labels = np.eye(2, dtype="float32")
    out = layers.MixUp(alpha=0.5, seed=4)({"images": X, "labels": labels})
    np.testing.assert_allclose(out["labels"].sum(-1), 1.0, atol=1e-6)
    weight = out["labels"][:, 0] if out["labels"][0, 0] != 1 else out["labels"][:, 1]
    assert out["images"].shape == X.shape and np.all(weight >= 0)
    cut = layers.CutMix(seed=4)({"images": X, "labels": labels})
    np.testing.assert_allclose(cut["labels"].sum(-1), 1.0, atol=1e-6)
    pixels = np.asarray(cut["images"])
    assert np.all((pixels == X) | (pixels == X[::-1]))  # each pixel from one of the two


def test_histogram_layers():
    two = np.where(np.arange(64).reshape(1, 8, 8, 1) % 2 == 0, 10.0, 20.0).astype("float32")
    np.testing.assert_allclose(layers.Equalization()(two), np.where(two == 10, 0, 255))
    clahe = layers.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=0,
                                                                tile_grid_size=(1, 1))
    np.testing.assert_allclose(clahe(two), np.where(two == 10, 127.5, 255), atol=1e-4)
    auto = np.asarray(OTHER_LAYERS["AutoContrast"]()(X / 510 + 0.1))
    np.testing.assert_allclose(auto.min(axis=(1, 2)), 0, atol=1e-6)
    np.testing.assert_allclose(auto.max(axis=(1, 2)), 1, atol=1e-6)
    equalized = layers.Equalization()(X, training=False)  # active at inference too
    assert not np.allclose(equalized, X)


def test_max_num_bounding_boxes_pads_and_truncates():
    layer = OTHER_LAYERS["MaxNumBoundingBoxes"]()
    boxes = {"boxes": np.ones((2, 3, 4), "float32"), "labels": np.ones((2, 3), "int32")}
    out = layer({"images": X, "bounding_boxes": boxes})["bounding_boxes"]
    assert out["boxes"].shape == (2, 5, 4) and out["labels"].shape == (2, 5)
    assert np.all(out["boxes"][:, 3:] == -2) and np.all(out["labels"][:, 3:] == -2)


def test_symbolic_shapes():
    inp = jkeras.Input((8, 8, 3))
    assert layers.RandomRotation(0.1)(inp).shape == (None, 8, 8, 3)
    assert layers.RandomCrop(4, 6)(inp).shape == (None, 4, 6, 3)
    assert layers.RandomGrayscale()(inp).dtype == "float32"
