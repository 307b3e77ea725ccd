"""Pretrained weights of jkeras.applications: Keras's weight files are found where
Keras keeps them (never downloaded), a missing or damaged file gets a clear error,
and a file in Keras's h5 layout loads by topology with Keras's results."""

import hashlib
import os
import pathlib

import h5py
import numpy as np
import pytest

import jkeras.applications as apps
from jkeras.applications import weight_files

# Logits of Keras 3.15.1's MobileNet(alpha=0.25, input_shape=(128, 128, 3),
# classifier_activation=None) loading the file `_write_mobilenet_025` writes, on the
# image `_image()` preprocessed with mobilenet.preprocess_input.
KERAS_LOGITS = {0: -0.50645816, 1: -0.46226218, 2: -0.35550117, 500: 0.48457158,
                998: -0.08930138, 999: -0.2638046}
KERAS_ARGMAX, KERAS_ARGMIN = 331, 781


def _mobilenet_025_layers(classes: int = 1000) -> list:
    """Keras's layers with weights of MobileNet(alpha=0.25), in order, with shapes."""
    def bn(name, c):
        return (name, [(w, (c,)) for w in ("gamma", "beta", "moving_mean", "moving_variance")])

    c = 8
    layers = [("conv1", [("kernel", (3, 3, 3, c))]), bn("conv1_bn", c)]
    for i, f in enumerate((64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024),
                          start=1):
        out = f // 4
        layers += [(f"conv_dw_{i}", [("depthwise_kernel", (3, 3, c, 1))]), bn(f"conv_dw_{i}_bn", c),
                   (f"conv_pw_{i}", [("kernel", (1, 1, c, out))]), bn(f"conv_pw_{i}_bn", out)]
        c = out
    layers.append(("conv_preds", [("kernel", (1, 1, c, classes)), ("bias", (classes,))]))
    return layers


def _values(weight: str, shape: tuple, k: int) -> np.ndarray:
    wave = np.sin(np.arange(int(np.prod(shape))) * 0.37 + k)
    if weight == "moving_variance":
        wave = 1.0 + 0.5 * np.abs(wave)
    elif weight == "gamma":
        wave = 1.0 + 0.1 * wave
    else:
        wave = 0.2 * wave
    return wave.reshape(shape).astype("float32")


def _write_mobilenet_025(path) -> list[np.ndarray]:
    """Deterministic weights in Keras 2's h5 layout (`layer_names`, per-layer groups
    with `weight_names` such as 'conv1/kernel:0'); returns the arrays in order."""
    arrays, k = [], 0
    layers = _mobilenet_025_layers()
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"input_1"] + [n.encode() for n, _ in layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        f.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
        for name, weights in layers:
            group = f.create_group(name)
            names = [f"{name}/{w}:0" for w, _ in weights]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for (w, shape), n in zip(weights, names):
                arrays.append(_values(w, shape, k))
                group.create_dataset(n, data=arrays[-1])
                k += 1
    return arrays


def _image() -> np.ndarray:
    return np.arange(128 * 128 * 3, dtype="float32").reshape(1, 128, 128, 3) % 255.0


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Empty Keras and jkeras homes: the only folders searched for weight files."""
    keras_home, jkeras_home = tmp_path / "keras", tmp_path / "jkeras"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("JKERAS_HOME", str(jkeras_home))
    return keras_home / "models", jkeras_home / "models"


def test_imagenet_weights_load_from_keras_cache_with_keras_results(homes):
    keras_models, _ = homes
    keras_models.mkdir(parents=True)
    arrays = _write_mobilenet_025(keras_models / "mobilenet_2_5_128_tf.h5")
    model = apps.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights="imagenet",
                           classifier_activation=None)
    assert model.name == "mobilenet_0.25_128"
    for got, want in zip(model.get_weights(), arrays):
        np.testing.assert_array_equal(got, want)
    logits = model.predict(apps.mobilenet.preprocess_input(_image()), verbose=0)[0]
    np.testing.assert_allclose(logits[list(KERAS_LOGITS)], list(KERAS_LOGITS.values()),
                               rtol=1e-5, atol=1e-6)
    assert (int(logits.argmax()), int(logits.argmin())) == (KERAS_ARGMAX, KERAS_ARGMIN)


def test_weights_path_loads_that_file(tmp_path, homes):
    arrays = _write_mobilenet_025(tmp_path / "mine.h5")
    for weights in (str(tmp_path / "mine.h5"), pathlib.Path(tmp_path / "mine.h5")):
        model = apps.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=weights)
        for got, want in zip(model.get_weights(), arrays):
            np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="conv_preds"):
        apps.MobileNet(alpha=0.25, input_shape=(128, 128, 3), classes=10,
                       weights=str(tmp_path / "mine.h5"))


def test_jkeras_home_is_searched(homes):
    _, jkeras_models = homes
    jkeras_models.mkdir(parents=True)
    arrays = _write_mobilenet_025(jkeras_models / "mobilenet_2_5_128_tf.h5")
    model = apps.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights="imagenet")
    np.testing.assert_array_equal(model.get_weights()[-1], arrays[-1])


def test_missing_file_error_names_file_url_and_folders(homes):
    keras_models, jkeras_models = homes
    with pytest.raises(FileNotFoundError) as info:
        apps.ResNet50(weights="imagenet", include_top=False)
    message = str(info.value)
    name = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert name in message
    assert f"https://storage.googleapis.com/tensorflow/keras-applications/resnet/{name}" in message
    assert str(keras_models) in message and str(jkeras_models) in message
    assert "does not download" in message


def test_weight_file_names_follow_keras(homes):
    """The file looked up depends on the variant and input size, as in Keras."""
    cases = [
        (lambda: apps.MobileNetV2(alpha=1.4, input_shape=(192, 192, 3), include_top=False),
         "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.4_192_no_top.h5"),
        (lambda: apps.MobileNetV3Small(minimalistic=True, input_shape=(224, 224, 3)),
         "weights_mobilenet_v3_small_minimalistic_224_1.0_float.h5"),
        (lambda: apps.EfficientNetV2S(include_top=False), "efficientnetv2-s_notop.h5"),
        (lambda: apps.EfficientNetB3(), "efficientnetb3.h5"),
        # Keras derives this name from `name` (and refuses other names); jkeras does not
        (lambda: apps.ConvNeXtTiny(name="mine"), "convnext_tiny.h5"),
        (lambda: apps.NASNetMobile(), "nasnet_mobile.h5"),
        (lambda: apps.DenseNet169(include_top=False),
         "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ]
    for build, name in cases:
        with pytest.raises(FileNotFoundError, match=name.replace(".", r"\.")):
            build()
    # sizes without pretrained weights fall back to the 224x224 file, with a warning
    with pytest.warns(UserWarning, match="224x224"):
        with pytest.raises(FileNotFoundError, match=r"mobilenet_5_0_224_tf_no_top\.h5"):
            apps.MobileNet(alpha=0.5, include_top=False, input_shape=(100, 100, 3))


def test_damaged_file_is_rejected_by_hash(homes):
    keras_models, _ = homes
    keras_models.mkdir(parents=True)
    path = keras_models / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    path.write_bytes(b"truncated download")
    with pytest.raises(ValueError, match="damaged or incomplete.*fetch it again"):
        apps.ResNet50(weights="imagenet", include_top=False)


def test_hash_check_accepts_md5_and_sha256(tmp_path, monkeypatch):
    data = b"weights"
    (tmp_path / "w.h5").write_bytes(data)
    monkeypatch.setattr(weight_files, "search_dirs", lambda: [str(tmp_path)])
    for digest in (hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()):
        found = weight_files.locate(weight_files.WeightsFile("w.h5", "u", digest), "T")
        assert found == os.path.join(str(tmp_path), "w.h5")


def test_weights_argument_errors(tmp_path, homes):
    with pytest.raises(ValueError, match="weights must be None.*'imagenet'.*existing"):
        apps.VGG16(weights="imagenet21k")
    with pytest.raises(ValueError, match="weights must be None"):
        apps.VGG16(weights=str(tmp_path / "absent.h5"))
    with pytest.raises(ValueError, match="classes must be 1000"):
        apps.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"input_shape must be \(224, 224, 3\)"):
        apps.ResNet50(weights="imagenet", input_shape=(128, 128, 3))
    with pytest.raises(ValueError, match="ImageNet weights exist only for alpha"):
        apps.MobileNetV2(alpha=0.6, weights="imagenet")
    with pytest.raises(ValueError, match="alpha 0.75 and 1.0"):
        apps.MobileNetV3Large(alpha=0.75, minimalistic=True, weights="imagenet")
    with pytest.raises(ValueError, match="depth_multiplier=1"):
        apps.MobileNet(depth_multiplier=2, weights="imagenet")
    weights_file = tmp_path / "w.h5"
    weights_file.write_bytes(b"")
    with pytest.raises(ValueError, match="classifier_activation must be None or 'softmax'"):
        apps.VGG16(weights=str(weights_file), input_shape=(32, 32, 3),
                   classifier_activation="sigmoid")
