"""The architectures of jkeras.applications, built offline with weights=None, against
the reference Keras 3.15.1: parameter counts, layer and weight counts, and a digest
of the weights' names and shapes in order (the order Keras's weight files load in)."""

import hashlib

import numpy as np
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
# the largest graphs (over 800 layers or 900 weights) run with -m slow only
SLOW = {"DenseNet201", "EfficientNetB6", "EfficientNetB7", "EfficientNetV2L", "EfficientNetV2M",
        "NASNetLarge", "ResNet152"}


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

    def get(function, **kwargs):
        key = (function, tuple(sorted(kwargs.items())))
        if key not in cache:
            jkeras.backend.clear_session()
            cache[key] = getattr(apps, function)(weights=None, **kwargs)
        return cache[key]

    return get


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(KERAS)])
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


# Other arguments, against Keras 3.15.1 (weights=None): function, arguments,
# count_params(), model name, output shape.
KERAS_VARIANTS = {
    "ResNet50V2_notop_max_64": ("ResNet50V2", dict(include_top=False, pooling="max",
                                input_shape=(64, 64, 3)), 23564800, "resnet50v2", (None, 2048)),
    "VGG16_notop_avg_32": ("VGG16", dict(include_top=False, pooling="avg",
                           input_shape=(32, 32, 3)), 14714688, "vgg16", (None, 512)),
    "MobileNet_a025_128": ("MobileNet", dict(alpha=0.25, input_shape=(128, 128, 3)), 475544,
                           "mobilenet_0.25_128", (None, 1000)),
    "MobileNet_a05_dm2_notop_avg": ("MobileNet", dict(alpha=0.5, depth_multiplier=2,
                                    include_top=False, pooling="avg"), 1646672,
                                    "mobilenet_0.50_None", (None, 512)),
    "MobileNetV2_a035_96": ("MobileNetV2", dict(alpha=0.35, input_shape=(96, 96, 3)), 1691208,
                            "mobilenetv2_0.35_96", (None, 1000)),
    "MobileNetV2_a13_notop_max": ("MobileNetV2", dict(alpha=1.3, include_top=False,
                                  pooling="max"), 3766048, "mobilenetv2_1.30_None",
                                  (None, 1664)),
    "MobileNetV3Small_min": ("MobileNetV3Small", dict(minimalistic=True), 2056848,
                             "MobileNetV3Small", (None, 1000)),
    "MobileNetV3Small_a075_notop_avg_nopre_32": (
        "MobileNetV3Small", dict(alpha=0.75, include_top=False, pooling="avg",
                                 include_preprocessing=False, input_shape=(32, 32, 3)),
        583160, "MobileNetV3Small", (None, 432)),
    "MobileNetV3Large_min_notop": ("MobileNetV3Large", dict(minimalistic=True,
                                   include_top=False), 1437608, "MobileNetV3Large",
                                   (None, None, None, 960)),
    "EfficientNetV2B1_1ch_notop": ("EfficientNetV2B1", dict(include_top=False,
                                   input_shape=(64, 64, 1)), 6930548, "efficientnetv2-b1",
                                   (None, 2, 2, 1280)),
    "ConvNeXtTiny_notop_1ch_32": ("ConvNeXtTiny", dict(include_top=False, pooling="max",
                                  input_shape=(32, 32, 1)), 27817056, "convnext_tiny",
                                  (None, 768)),
    "ResNet101_c10_sigmoid": ("ResNet101", dict(classes=10, classifier_activation="sigmoid"),
                              42678666, "resnet101", (None, 10)),
    "Xception_notop_71": ("Xception", dict(include_top=False, input_shape=(71, 71, 3)),
                          20861480, "xception", (None, 3, 3, 2048)),
    "InceptionResNetV2_notop_avg_75": ("InceptionResNetV2", dict(
        include_top=False, pooling="avg", input_shape=(75, 75, 3)), 54336736,
        "inception_resnet_v2", (None, 1536)),
    "MobileNetV3Large_a125_224": ("MobileNetV3Large", dict(alpha=1.25,
                                  input_shape=(224, 224, 3)), 8286760, "MobileNetV3Large",
                                  (None, 1000)),
    "NASNetMobile_notop_64": ("NASNetMobile", dict(include_top=False, input_shape=(64, 64, 3)),
                              4269716, "nasnet_mobile", (None, 2, 2, 1056)),
    "NASNetLarge_notop_96": ("NASNetLarge", dict(include_top=False, input_shape=(96, 96, 3)),
                             84916818, "nasnet_large", (None, 3, 3, 4032)),
    "EfficientNetB0_notop_avg": ("EfficientNetB0", dict(include_top=False, pooling="avg"),
                                 4049571, "efficientnetb0", (None, 1280)),
    "EfficientNetV2B0_nopre_notop": ("EfficientNetV2B0", dict(include_preprocessing=False,
                                     include_top=False), 5919312, "efficientnetv2-b0",
                                     (None, None, None, 1280)),
    "ConvNeXtSmall_c10_named": ("ConvNeXtSmall", dict(classes=10, name="my_convnext"),
                                49462378, "my_convnext", (None, 10)),
    "DenseNet121_notop_max_32": ("DenseNet121", dict(include_top=False, pooling="max",
                                 input_shape=(32, 32, 3)), 7037504, "densenet121",
                                 (None, 1024)),
}
SLOW_VARIANTS = {"NASNetLarge_notop_96", "NASNetMobile_notop_64"}


@pytest.mark.parametrize("variant", [
    pytest.param(v, marks=pytest.mark.slow) if v in SLOW_VARIANTS else v
    for v in sorted(KERAS_VARIANTS)])
def test_arguments_match_keras(build, variant):
    name, kwargs, params, model_name, output_shape = KERAS_VARIANTS[variant]
    model = build(name, **kwargs)
    assert model.count_params() == params
    assert model.name == model_name
    assert tuple(model.output_shape) == output_shape
    if "classifier_activation" in kwargs:
        activation = model.layers[-1].activation
        assert activation is jkeras.activations.get(kwargs["classifier_activation"])


def test_input_tensor_becomes_part_of_the_model():
    image = jkeras.Input((None, None, 3), dtype="uint8")
    scaled = jkeras.layers.Rescaling(1.0)(image)
    model = apps.MobileNet(alpha=0.25, include_top=False, weights=None, input_tensor=scaled,
                           pooling="avg")
    assert model.inputs[0] is image  # the model starts at the tensor's source input
    assert tuple(model.output_shape) == (None, 256)
    assert isinstance(model.layers[1], jkeras.layers.Rescaling)
    with pytest.raises(ValueError, match="input_tensor must be a symbolic tensor"):
        apps.MobileNet(weights=None, input_tensor=np.zeros((1, 32, 32, 3)))
    with pytest.raises(ValueError, match="does not match input_shape"):
        apps.MobileNetV2(weights=None, input_tensor=jkeras.Input((96, 96, 3)),
                         input_shape=(128, 128, 3))


def test_channels_first_builds_the_same_weights():
    previous = jkeras.backend.image_data_format()
    jkeras.backend.set_image_data_format("channels_first")
    try:
        model = apps.MobileNet(alpha=0.25, weights=None, input_shape=(3, 128, 128))
        assert model.count_params() == KERAS_VARIANTS["MobileNet_a025_128"][2]
        assert tuple(model.get_layer("conv_pw_13_bn").gamma.shape) == (256,)
        with pytest.raises(ValueError, match="supports only the channels_last"):
            apps.DenseNet121(weights=None)
    finally:
        jkeras.backend.set_image_data_format(previous)


def test_argument_errors():
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max'"):
        apps.ResNet50(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="at least 71x71"):
        apps.Xception(weights=None, include_top=False, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="fully known input_shape"):
        apps.ResNet50(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="tuple of 3 integers"):
        apps.VGG16(weights=None, include_top=False, input_shape=(32, 32))
    with pytest.raises(ValueError, match="classes must be a positive integer"):
        apps.VGG16(weights=None, classes=0)
    with pytest.raises(ValueError, match="image size must be known"):
        apps.NASNetLarge(weights=None, include_top=False)
    with pytest.raises(ValueError, match="at least 32x32"):
        apps.MobileNetV3Small(weights=None, input_shape=(16, 16, 3))
