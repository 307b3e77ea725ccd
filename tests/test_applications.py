"""The architectures of jkeras.applications, built offline with weights=None, against
the reference Keras 3.15.1: parameter counts, layer and weight counts, and a digest
of the weights' names and shapes in order (the order Keras's weight files load in)."""

import hashlib

import pytest

import jkeras
import jkeras.applications as apps

# name: (count_params(), default input size, len(model.layers), len(model.weights),
#        digest of the ordered "layer/weight:shape" list), measured on Keras 3.15.1
# (jax backend, weights=None, fresh session). The counts round to the "Parameters"
# column of Keras's applications table (e.g. ResNet50 25.6M, VGG16 138.4M).
KERAS = {
    "ConvNeXtBase": (88591464, 224, 261, 344, "60607b045854c1b9"),
    "ConvNeXtLarge": (197767336, 224, 261, 344, "b4808843116f8903"),
    "ConvNeXtSmall": (50223688, 224, 261, 344, "0a912a4d4d2c4c81"),
    "ConvNeXtTiny": (28589128, 224, 135, 182, "8aac599bc7a70bff"),
    "ConvNeXtXLarge": (350196968, 224, 261, 344, "b02fc68cb7f52ba6"),
    "DenseNet121": (8062504, 224, 429, 606, "d594a2a74e4d0f52"),
    "DenseNet169": (14307880, 224, 597, 846, "f7982ea600eb3c7a"),
    "DenseNet201": (20242984, 224, 709, 1006, "0c7367232fe4bfb7"),
    "EfficientNetB0": (5330571, 224, 240, 314, "f573b8fcdf54812a"),
    "EfficientNetB1": (7856239, 240, 342, 442, "808daaa5de629d47"),
    "EfficientNetB2": (9177569, 260, 342, 442, "14aa3e65a2fe1ac2"),
    "EfficientNetB3": (12320535, 300, 387, 499, "aee3bfe5e4e0dd1d"),
    "EfficientNetB4": (19466823, 380, 477, 613, "eea350eb59a5a569"),
    "EfficientNetB5": (30562527, 456, 579, 741, "e8cc648b33928ca3"),
    "EfficientNetB6": (43265143, 528, 669, 855, "3f0ae435a60c747f"),
    "EfficientNetB7": (66658687, 600, 816, 1040, "8f2f74203828e54b"),
    "EfficientNetV2B0": (7200312, 224, 273, 361, "08bbcb371ece166f"),
    "EfficientNetV2B1": (8212124, 240, 337, 443, "6dfc8c07e7b68e67"),
    "EfficientNetV2B2": (10178374, 260, 352, 462, "8faf82d2aa4ad860"),
    "EfficientNetV2B3": (14467622, 300, 412, 538, "823bf4cc3dd9cd20"),
    "EfficientNetV2L": (119027848, 480, 1031, 1331, "b149e352e9b5a650"),
    "EfficientNetV2M": (54431388, 480, 743, 963, "e15b78df06930304"),
    "EfficientNetV2S": (21612360, 384, 516, 672, "09a0113e4c3e6a05"),
    "InceptionResNetV2": (55873736, 299, 782, 898, "61812c3c1d647969"),
    "InceptionV3": (23851784, 299, 313, 378, "40a766c90cc747e6"),
    "MobileNet": (4253864, 224, 91, 137, "7cd3ca3702c13aad"),
    "MobileNetV2": (3538984, 224, 156, 262, "1a3b201ce8c6fc81"),
    "MobileNetV3Large": (5507432, None, 194, 266, "9ec7a0a3c3e91022"),
    "MobileNetV3Small": (2554968, None, 164, 210, "0e7d79df76ae881b"),
    "NASNetLarge": (88949818, 331, 1041, 1546, "1b3adb34fcf5b2fd"),
    "NASNetMobile": (5326716, 224, 771, 1126, "c549a751295d5bf6"),
    "ResNet101": (44707176, 224, 347, 626, "47aeabed44cbdc45"),
    "ResNet101V2": (44675560, 224, 379, 544, "ebaf095304d5b9af"),
    "ResNet152": (60419944, 224, 517, 932, "133754f635b8914d"),
    "ResNet152V2": (60380648, 224, 566, 816, "d5ff8fc1dde7a041"),
    "ResNet50": (25636712, 224, 177, 320, "4dbe88f3470795b7"),
    "ResNet50V2": (25613800, 224, 192, 272, "9db309bf108a39fe"),
    "VGG16": (138357544, 224, 23, 32, "e5670d630e9f73ee"),
    "VGG19": (143667240, 224, 26, 38, "c13a8e40cced7bb9"),
    "Xception": (22910480, 299, 134, 236, "a72b2a370896e19c"),
}
# one model of each family in the default run; all of them with -m slow
FAST = {"ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionV3",
        "MobileNet", "MobileNetV2", "MobileNetV3Small", "NASNetMobile", "ResNet50",
        "ResNet50V2", "VGG16", "Xception"}


def weights_digest(model) -> str:
    """sha1 of the ordered "layer/weight:shape" lines (Keras's NASNet and ConvNeXt add
    name-scope prefixes to the paths; only the last two parts are compared)."""
    lines = "\n".join(f"{'/'.join(w.path.split('/')[-2:])}:{tuple(w.shape)}"
                      for w in model.weights)
    return hashlib.sha1(lines.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def build():
    """Builds each (model, arguments) once per module, with fresh default names (as
    in the fresh Keras session the digests were taken in)."""
    cache = {}

    def get(name, **kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in cache:
            jkeras.backend.clear_session()
            cache[key] = getattr(apps, name)(weights=None, **kwargs)
        return cache[key]

    return get


@pytest.mark.parametrize("name", [
    n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in sorted(KERAS)])
def test_architecture_matches_keras(build, name):
    params, size, n_layers, n_weights, digest = KERAS[name]
    model = build(name)
    assert model.count_params() == params
    assert tuple(model.input_shape) == (None, size, size, 3)
    assert tuple(model.output_shape) == (None, 1000)
    assert len(model.layers) == n_layers
    assert len(model.weights) == n_weights
    assert weights_digest(model) == digest


def test_resnet50_names_and_order(build):
    model = build("ResNet50")
    assert model.name == "resnet50"
    first = [(w.path, tuple(w.shape)) for w in model.weights[:6]]
    assert first == [("conv1_conv/kernel", (7, 7, 3, 64)), ("conv1_conv/bias", (64,)),
                     ("conv1_bn/gamma", (64,)), ("conv1_bn/beta", (64,)),
                     ("conv1_bn/moving_mean", (64,)), ("conv1_bn/moving_variance", (64,))]
    assert [(w.path, tuple(w.shape)) for w in model.weights[-2:]] == [
        ("predictions/kernel", (2048, 1000)), ("predictions/bias", (1000,))]
    names = [layer.name for layer in model.layers]
    assert names[:4] == ["input_layer", "conv1_pad", "conv1_conv", "conv1_bn"]
    assert "conv4_block6_out" in names and names[-2:] == ["avg_pool", "predictions"]
    assert model.get_layer("predictions").activation is jkeras.activations.get("softmax")


def test_every_keras_name_is_exported():
    expected = ["ConvNeXtBase", "DenseNet121", "EfficientNetB7", "EfficientNetV2L",
                "InceptionResNetV2", "InceptionV3", "MobileNet", "MobileNetV2",
                "MobileNetV3Large", "MobileNetV3Small", "NASNetLarge", "NASNetMobile",
                "ResNet101", "ResNet152V2", "VGG16", "VGG19", "Xception"]
    modules = ["convnext", "densenet", "efficientnet", "efficientnet_v2", "imagenet_utils",
               "inception_resnet_v2", "inception_v3", "mobilenet", "mobilenet_v2",
               "mobilenet_v3", "nasnet", "resnet", "resnet50", "resnet_v2", "vgg16", "vgg19",
               "xception"]
    assert set(KERAS) | set(modules) == set(apps.__all__)
    for name in expected:
        assert callable(getattr(apps, name))
    for module in modules:
        mod = getattr(apps, module)
        assert callable(mod.preprocess_input) and callable(mod.decode_predictions)
    assert apps.resnet50.ResNet50 is apps.resnet.ResNet50 is apps.ResNet50
