"""ConvNeXt Tiny, Small, Base, Large and XLarge (Liu et al., 2022), as Keras builds
them: a 4x4 patchify stem, four stages of ConvNeXt blocks (7x7 depthwise
convolution, layer normalization, an inverted-bottleneck MLP with GELU, layer
scale, residual sum) joined by 2x2 strided downsampling. With
`include_preprocessing` the models take pixels in [0, 255]."""

from __future__ import annotations

from jkeras.applications.builder import ApplicationBuild
from jkeras.applications.imagenet_utils import decode_predictions, validate_activation
from jkeras.applications.weight_files import keras_file
from jkeras.backend import naming
from jkeras.engine.layer import Layer

__all__ = ["ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge",
           "LayerScale", "decode_predictions", "preprocess_input"]

# Keras's sha256 hashes of its weight files: (with top, without top)
_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
# (blocks per stage, channels per stage) per variant; all default to 224x224 inputs
_VARIANTS = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}
_LAYER_SCALE_INIT = 1e-6
_EPSILON = 1e-6


class LayerScale(Layer):
    """Multiplies its input by a learned per-channel scale (`projection_dim`
    values, initialized to `init_values`); Keras's class name and config."""

    _batch_independent = True
    _keras_module = "keras.src.applications.convnext"  # where Keras defines it

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        from jkeras import initializers

        # Keras gives this weight no name, so it gets the default "variable", "variable_1"
        self.gamma = self.add_weight(naming.unique_name("variable"),
                                     shape=(self.projection_dim,),
                                     initializer=initializers.Constant(self.init_values),
                                     trainable=True)
        self.built = True

    def call(self, x):
        return x * self.gamma

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


def _block(x, channels: int, name: str):
    from jkeras import layers

    inputs = x
    x = layers.Conv2D(channels, kernel_size=7, padding="same", groups=channels,
                      name=f"{name}_depthwise_conv")(x)
    x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * channels, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(channels, name=f"{name}_pointwise_conv_2")(x)
    x = LayerScale(_LAYER_SCALE_INIT, channels, name=f"{name}_layer_scale")(x)
    # Keras's drop path rate is 0 for every variant: its stochastic depth is an identity
    x = layers.Activation("linear", name=f"{name}_identity")(x)
    return inputs + x


def _downsampling(index: int, channels: int, name: str):
    """The Sequential that halves the resolution before stage `index + 1`."""
    from jkeras import layers
    from jkeras.engine.sequential import Sequential

    return Sequential([
        layers.LayerNormalization(epsilon=_EPSILON,
                                  name=f"{name}_downsampling_layernorm_{index}"),
        layers.Conv2D(channels, kernel_size=2, strides=2,
                      name=f"{name}_downsampling_conv_{index}"),
    ], name=f"{name}_downsampling_block_{index}")


def _convnext(variant: str, include_top, include_preprocessing, weights, input_tensor,
              input_shape, pooling, classes, classifier_activation, name):
    from jkeras import layers
    from jkeras.engine.sequential import Sequential

    owner = f"ConvNeXt{variant.capitalize() if variant != 'xlarge' else 'XLarge'}"
    depths, dims = _VARIANTS[variant]
    build = ApplicationBuild(owner, weights=weights, include_top=include_top, classes=classes,
                             pooling=pooling, input_tensor=input_tensor,
                             input_shape=input_shape, default_size=224,
                             channels_last_only=True)
    weights_name = f"convnext_{variant}"
    suffix = "" if build.include_top else "_notop"
    build.use_imagenet_file(keras_file("convnext", f"{weights_name}{suffix}.h5",
                                       _HASHES[weights_name][0 if build.include_top else 1]))
    image = x = build.image_input()
    if include_preprocessing and build.input_shape[-1] == 3:
        x = layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                 variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2,
                                           (0.225 * 255) ** 2],
                                 name=f"{name}_prestem_normalization")(x)
    stem = Sequential([
        layers.Conv2D(dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")
    downsampling = [stem] + [_downsampling(i, dims[i + 1], name) for i in range(3)]
    for stage, (count, channels) in enumerate(zip(depths, dims)):
        x = downsampling[stage](x)
        for j in range(count):
            x = _block(x, channels, f"{name}_stage_{stage}_block_{j}")
    if build.include_top:
        validate_activation(classifier_activation, build.weights, owner)
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation,
                         name=f"{name}_head_dense")(x)
    else:
        x = build.pool(x, avg_name=None, max_name=None)
        x = layers.LayerNormalization(epsilon=_EPSILON)(x)
    return build.model(image, x, name)


def _variant_function(variant: str, public: str):
    def model(include_top=True, include_preprocessing=True, weights="imagenet",
              input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=f"convnext_{variant}"):
        return _convnext(variant, include_top, include_preprocessing, weights, input_tensor,
                         input_shape, pooling, classes, classifier_activation, name)

    depths, dims = _VARIANTS[variant]
    model.__name__ = model.__qualname__ = public
    model.__doc__ = (
        f"{public}: stages of {depths} blocks with {dims} channels; default input 224x224 "
        f"(at least 32x32 without the top); channels_last only. With include_preprocessing "
        f"(default) the model takes pixels in [0, 255] and normalizes them with the ImageNet "
        f"mean and standard deviation, so `convnext.preprocess_input` returns its input "
        f"unchanged. Without the top, the features are layer-normalized (after the "
        f"pooling, if any)."
    )
    model.__module__ = __name__
    return model


ConvNeXtTiny = _variant_function("tiny", "ConvNeXtTiny")
ConvNeXtSmall = _variant_function("small", "ConvNeXtSmall")
ConvNeXtBase = _variant_function("base", "ConvNeXtBase")
ConvNeXtLarge = _variant_function("large", "ConvNeXtLarge")
ConvNeXtXLarge = _variant_function("xlarge", "ConvNeXtXLarge")


def preprocess_input(x, data_format=None):
    """The identity: ConvNeXt models normalize their inputs themselves."""
    return x
