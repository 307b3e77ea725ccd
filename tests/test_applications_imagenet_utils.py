"""ImageNet preprocessing and prediction decoding of jkeras.applications, checked
against the formulas Keras documents and Keras's class index."""

import re

import jax
import numpy as np
import pytest

import jkeras
import jkeras.applications as apps
from jkeras.applications import imagenet_utils

CAFFE_MEAN = np.array([103.939, 116.779, 123.68])
TORCH_MEAN = np.array([0.485, 0.456, 0.406])
TORCH_STD = np.array([0.229, 0.224, 0.225])


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(2, 4, 5, 3)).astype("uint8")


def test_caffe_mode_flips_to_bgr_and_subtracts_means(images):
    out = imagenet_utils.preprocess_input(images, mode="caffe")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, images[..., ::-1] - CAFFE_MEAN, rtol=1e-6)


def test_caffe_mode_channels_first_single_image_and_batch(images):
    batch = np.transpose(images, (0, 3, 1, 2)).astype("float64")
    out = imagenet_utils.preprocess_input(batch, data_format="channels_first")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, batch[:, ::-1] - CAFFE_MEAN[None, :, None, None])
    one = imagenet_utils.preprocess_input(batch[0], data_format="channels_first")
    np.testing.assert_allclose(one, batch[0, ::-1] - CAFFE_MEAN[:, None, None])


def test_tf_and_torch_modes(images):
    x = images.astype("float32")
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode="tf"),
                               x / 127.5 - 1.0, rtol=1e-6)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode="torch"),
                               (x / 255.0 - TORCH_MEAN) / TORCH_STD, rtol=1e-5)


def test_numpy_input_is_left_unchanged(images):
    x = images.astype("float32")
    before = x.copy()
    imagenet_utils.preprocess_input(x, mode="caffe")
    np.testing.assert_array_equal(x, before)


def test_family_modules_use_their_modes(images):
    x = images.astype("float32")
    caffe = x[..., ::-1] - CAFFE_MEAN
    tf = x / 127.5 - 1.0
    torch = (x / 255.0 - TORCH_MEAN) / TORCH_STD
    for module in (apps.resnet, apps.resnet50, apps.vgg16, apps.vgg19):
        np.testing.assert_allclose(module.preprocess_input(x), caffe, rtol=1e-5)
    for module in (apps.resnet_v2, apps.xception, apps.inception_v3, apps.inception_resnet_v2,
                   apps.mobilenet, apps.mobilenet_v2, apps.nasnet):
        np.testing.assert_allclose(module.preprocess_input(x), tf, rtol=1e-5)
    np.testing.assert_allclose(apps.densenet.preprocess_input(x), torch, rtol=1e-5)
    # models that rescale their inputs themselves: identity, as in Keras
    for module in (apps.efficientnet, apps.efficientnet_v2, apps.convnext, apps.mobilenet_v3):
        assert module.preprocess_input(x) is x


def test_arrays_jit_and_symbolic_tensors(images):
    x = images.astype("float32")
    expected = {m: imagenet_utils.preprocess_input(x, mode=m) for m in ("caffe", "tf", "torch")}
    jitted = jax.jit(lambda a: [imagenet_utils.preprocess_input(a, mode=m)
                                for m in ("caffe", "tf", "torch")])(jax.numpy.asarray(x))
    for got, mode in zip(jitted, ("caffe", "tf", "torch")):
        np.testing.assert_allclose(np.asarray(got), expected[mode], rtol=1e-5, atol=1e-5)
    inp = jkeras.Input((4, 5, 3), dtype="uint8")
    outs = [imagenet_utils.preprocess_input(inp, mode=m) for m in ("caffe", "tf", "torch")]
    assert all(tuple(o.shape) == (None, 4, 5, 3) for o in outs)
    model = jkeras.Model(inp, outs)
    for got, mode in zip(model.predict(images, verbose=0), ("caffe", "tf", "torch")):
        np.testing.assert_allclose(got, expected[mode], rtol=1e-5, atol=1e-5)


def test_preprocess_errors(images):
    with pytest.raises(ValueError, match="mode must be one of"):
        imagenet_utils.preprocess_input(images, mode="pytorch")
    with pytest.raises(ValueError, match="data_format must be"):
        imagenet_utils.preprocess_input(images, data_format="NHWC")
    with pytest.raises(ValueError, match="batch of images"):
        imagenet_utils.preprocess_input(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="3 color channels"):
        imagenet_utils.preprocess_input(np.zeros((1, 4, 4, 4)), mode="caffe")


def test_class_index_is_keras_imagenet_index():
    index = imagenet_utils.imagenet_class_index()
    assert sorted(index, key=int) == [str(i) for i in range(1000)]
    wnids = [wnid for wnid, _ in index.values()]
    assert len(set(wnids)) == 1000
    assert all(re.fullmatch(r"n\d{8}", w) for w in wnids)
    # entries of Keras's imagenet_class_index.json (labels: first WordNet lemma, '_' for ' ')
    known = {0: ("n01440764", "tench"), 2: ("n01484850", "great_white_shark"),
             134: ("n02012849", "crane"), 247: ("n02109525", "Saint_Bernard"),
             281: ("n02123045", "tabby"), 517: ("n03126707", "crane"),
             607: ("n03590841", "jack-o'-lantern"), 639: ("n03710721", "maillot"),
             986: ("n12057211", "yellow_lady's_slipper"), 999: ("n15075141", "toilet_tissue")}
    for i, entry in known.items():
        assert index[str(i)] == entry


def test_decode_predictions_orders_top_classes():
    preds = np.full((2, 1000), 1e-4, "float32")
    preds[0, [281, 0, 999]] = [0.5, 0.3, 0.1]
    preds[1, 607] = 0.9
    decoded = apps.resnet.decode_predictions(preds, top=3)
    assert [d[:2] for d in decoded[0]] == [("n02123045", "tabby"), ("n01440764", "tench"),
                                           ("n15075141", "toilet_tissue")]
    np.testing.assert_allclose([d[2] for d in decoded[0]], [0.5, 0.3, 0.1])
    assert decoded[1][0][:2] == ("n03590841", "jack-o'-lantern")
    assert len(apps.efficientnet.decode_predictions(preds)[0]) == 5  # default top
    everything = imagenet_utils.decode_predictions(preds[:1], top=2000)[0]
    assert len(everything) == 1000
    scores = [d[2] for d in everything]
    assert scores == sorted(scores, reverse=True)


def test_decode_predictions_errors():
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros((1, 10)))
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros(1000))
    with pytest.raises(ValueError, match="top must be a positive integer"):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)), top=0)
