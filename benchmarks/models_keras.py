"""The benchmark models in the Keras functional API, defined once for jkeras and Keras 3.

Every builder takes the Keras module to use, so the same code runs as
`build(jkeras)` (jkeras) and `build(keras)` (Keras 3, any backend):

    import jkeras as keras      # or: import keras
    model = build("b", keras)
    model.compile(**compile_args("b", keras))

Modern (Keras 2/3) spelling throughout; images are channels-last.

The text model (g) comes in two forms: given the training texts, it starts from
`Input(dtype="string")` with a TextVectorization adapted on them (jkeras runs that layer on the
host, before its compiled step); without texts it starts from the token ids
(bench_data.tokenize), which is how Keras 3 on JAX must take it: its compiled step cannot
hold a TextVectorization.
"""

from __future__ import annotations

from typing import Any

import bench_data as bd
from bench_data import EPSILON, LEARNING_RATE, RHO


def mlp(keras: Any):
    """(a) The seed's first model: 784 -> Dense(64, relu) x2 -> Dense(10, softmax)."""
    layers = keras.layers
    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def headline(keras: Any):
    """(b) The seed's headline model: two inputs, two outputs (main, aux)."""
    layers = keras.layers
    main_input = keras.Input(shape=(100,), dtype="int32", name="main_input")
    x = layers.Embedding(output_dim=512, input_dim=10000)(main_input)
    lstm_out = layers.LSTM(32)(x)
    aux_output = layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    aux_input = keras.Input(shape=(5,), name="aux_input")
    x = layers.concatenate([lstm_out, aux_input])
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    main_output = layers.Dense(1, activation="sigmoid", name="main_output")(x)
    return keras.Model([main_input, aux_input], [main_output, aux_output])


def shared_vision(keras: Any):
    """(c) The seed's shared vision model: one conv tower applied to two digits."""
    layers = keras.layers
    digit_input = keras.Input(shape=(27, 27, 1))
    x = layers.Conv2D(64, (3, 3))(digit_input)
    x = layers.Conv2D(64, (3, 3))(x)
    x = layers.MaxPooling2D((2, 2))(x)
    out = layers.Flatten()(x)
    vision_model = keras.Model(digit_input, out)

    digit_a = keras.Input(shape=(27, 27, 1))
    digit_b = keras.Input(shape=(27, 27, 1))
    concatenated = layers.concatenate([vision_model(digit_a), vision_model(digit_b)])
    out = layers.Dense(1, activation="sigmoid")(concatenated)
    return keras.Model([digit_a, digit_b], out)


def inception(keras: Any):
    """(d) The seed's inception module (16 filters per tower) on 32x32x3, then
    GlobalAveragePooling2D and a 10-way softmax."""
    layers = keras.layers
    input_img = keras.Input(shape=(32, 32, 3))
    tower_1 = layers.Conv2D(16, (1, 1), padding="same", activation="relu")(input_img)
    tower_1 = layers.Conv2D(16, (3, 3), padding="same", activation="relu")(tower_1)
    tower_2 = layers.Conv2D(16, (1, 1), padding="same", activation="relu")(input_img)
    tower_2 = layers.Conv2D(16, (5, 5), padding="same", activation="relu")(tower_2)
    tower_3 = layers.MaxPooling2D((3, 3), strides=(1, 1), padding="same")(input_img)
    tower_3 = layers.Conv2D(16, (1, 1), padding="same", activation="relu")(tower_3)
    x = layers.concatenate([tower_1, tower_2, tower_3], axis=-1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(input_img, outputs)


def resnet50(keras: Any, input_shape: tuple = bd.IMAGE_SHAPES["e"]):
    """(e) keras.applications.ResNet50, random weights, on 64x64x3 with 10 classes."""
    return keras.applications.ResNet50(weights=None, input_shape=input_shape,
                                       classes=bd.IMAGE_CLASSES)


def mobilenet_v2(keras: Any, input_shape: tuple = bd.IMAGE_SHAPES["f"]):
    """(f) keras.applications.MobileNetV2, random weights, on 96x96x3 with 10 classes."""
    return keras.applications.MobileNetV2(weights=None, input_shape=input_shape,
                                          classes=bd.IMAGE_CLASSES)


def _position_embedding(keras: Any, length: int, dim: int):
    """A layer adding a learned (length, dim) position table to its input: the usual small
    custom layer of Keras's text Transformer examples."""

    class PositionEmbedding(keras.layers.Layer):
        def build(self, input_shape):
            self.positions = self.add_weight(shape=(length, dim), initializer="uniform",
                                             name="positions")

        def call(self, x):
            return x + self.positions

    return PositionEmbedding(name="position_embedding")


def _encoder_block(keras: Any, x, index: int):
    """Post-norm Transformer encoder block: self-attention, add & LayerNorm, ReLU Dense
    pair, add & LayerNorm."""
    layers = keras.layers
    attention = layers.MultiHeadAttention(num_heads=bd.TEXT_HEADS,
                                          key_dim=bd.TEXT_EMBED // bd.TEXT_HEADS,
                                          name=f"attention_{index}")(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attention]))
    h = layers.Dense(bd.TEXT_FF, activation="relu")(x)
    h = layers.Dense(bd.TEXT_EMBED)(h)
    return layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, h]))


def text_transformer(keras: Any, texts=None):
    """(g) A small text Transformer encoder classifier. With `texts`: string input and a
    TextVectorization adapted on them in the model; without: token-id input."""
    layers = keras.layers
    if texts is None:
        inputs = keras.Input(shape=(bd.TEXT_SEQUENCE,), dtype="int32", name="tokens")
        x = inputs
    else:
        inputs = keras.Input(shape=(), dtype="string", name="text")
        vectorize = layers.TextVectorization(max_tokens=bd.TEXT_MAX_TOKENS,
                                             output_sequence_length=bd.TEXT_SEQUENCE)
        vectorize.adapt(texts)
        x = vectorize(inputs)
    x = layers.Embedding(bd.TEXT_MAX_TOKENS, bd.TEXT_EMBED)(x)
    x = _position_embedding(keras, bd.TEXT_SEQUENCE, bd.TEXT_EMBED)(x)
    for i in range(bd.TEXT_BLOCKS):
        x = _encoder_block(keras, x, i)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(bd.TEXT_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs)


BUILDERS = {"a": mlp, "b": headline, "c": shared_vision, "d": inception, "e": resnet50,
            "f": mobilenet_v2, "g": text_transformer}


def build(key: str, keras: Any, texts=None):
    """Builds benchmark model `key` ('a'..'g') with the given Keras module. `texts` (model
    g only): the training texts, to put an adapted TextVectorization in the model."""
    if texts is not None:
        return BUILDERS[key](keras, texts)
    return BUILDERS[key](keras)


def compile_args(key: str, keras: Any) -> dict:
    """compile() arguments: RMSprop(1e-3) as Keras defaults it, each model's loss."""
    optimizer = keras.optimizers.RMSprop(learning_rate=LEARNING_RATE, rho=RHO, epsilon=EPSILON)
    if key == "b":
        return {"optimizer": optimizer, "loss": ["binary_crossentropy", "binary_crossentropy"],
                "loss_weights": [1.0, 0.2]}
    if key == "c":
        return {"optimizer": optimizer, "loss": "binary_crossentropy"}
    return {"optimizer": optimizer, "loss": "categorical_crossentropy"}
