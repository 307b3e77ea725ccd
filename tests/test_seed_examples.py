"""The ten examples of the seed guide (shared/seed/SEED-API.md), each in its Keras 1
spelling and its modern spelling: shapes, parameter counts, node accessors, predict."""

import warnings

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers
from jkeras.layers import Dense, Input

SPELLINGS = ["keras1", "modern"]


@pytest.fixture(autouse=True)
def _quiet_deprecations():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def make_model(spelling, inputs, outputs, name=None):
    if spelling == "keras1":
        return keras.Model(input=inputs, output=outputs, name=name)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def concat(spelling, tensors, axis=-1):
    if spelling == "keras1":
        return layers.merge(tensors, mode="concat", concat_axis=axis)
    return layers.concatenate(tensors, axis=axis)


def conv2d(spelling, filters, size, padding="valid", activation=None):
    """A channels-first 2D convolution in either spelling."""
    if spelling == "keras1":
        return layers.Convolution2D(filters, size, size, border_mode=padding,
                                    activation=activation, dim_ordering="th")
    return layers.Conv2D(filters, (size, size), padding=padding, activation=activation,
                         data_format="channels_first")


def maxpool(spelling, pool, strides=None, padding="valid"):
    if spelling == "keras1":
        return layers.MaxPooling2D(pool, strides=strides, border_mode=padding,
                                   dim_ordering="th")
    return layers.MaxPooling2D(pool, strides=strides, padding=padding,
                               data_format="channels_first")


def first_model(spelling):
    inputs = Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    x = Dense(64, activation="relu")(x)
    predictions = Dense(10, activation="softmax")(x)
    return make_model(spelling, inputs, predictions)


# 1. First model ---------------------------------------------------------------
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_1_first_model(spelling, rng):
    model = first_model(spelling)
    assert model.count_params() == 55_050
    assert model.output_shape == (None, 10)
    p = model.predict(rng.random((5, 784)).astype("float32"))
    assert p.shape == (5, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


# 2. Models are callable -------------------------------------------------------
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_2_model_is_callable_and_time_distributed(spelling, rng):
    model = first_model(spelling)
    x = Input(shape=(784,))
    y = model(x)
    assert y.shape == (None, 10)
    reused = make_model(spelling, x, y)
    assert reused.weights[0] is model.weights[0]
    input_sequences = Input(shape=(20, 784))
    processed = layers.TimeDistributed(model)(input_sequences)
    assert processed.shape == (None, 20, 10)
    seq_model = make_model(spelling, input_sequences, processed)
    data = rng.random((2, 20, 784)).astype("float32")
    out = seq_model.predict(data)
    np.testing.assert_allclose(out[:, 3], model.predict(data[:, 3]), rtol=1e-4, atol=1e-6)


# 3. Multiple inputs and outputs -------------------------------------------------
def headline_model(spelling):
    main_input = Input(shape=(100,), dtype="int32", name="main_input")
    if spelling == "keras1":
        x = layers.Embedding(output_dim=512, input_dim=10000, input_length=100)(main_input)
    else:
        x = layers.Embedding(output_dim=512, input_dim=10000)(main_input)
    lstm_out = layers.LSTM(32)(x)
    auxiliary_output = Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = Input(shape=(5,), name="aux_input")
    x = concat(spelling, [lstm_out, auxiliary_input])
    x = Dense(64, activation="relu")(x)
    x = Dense(64, activation="relu")(x)
    x = Dense(64, activation="relu")(x)
    main_output = Dense(1, activation="sigmoid", name="main_output")(x)
    return make_model(spelling, [main_input, auxiliary_input], [main_output, auxiliary_output])


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_3_multi_input_multi_output(spelling, rng):
    model = headline_model(spelling)
    assert model.count_params() == 5_200_610
    assert model.output_names == ["main_output", "aux_output"]
    assert model.input_names == ["main_input", "aux_input"]
    headlines = rng.integers(1, 10000, size=(3, 100)).astype("int32")
    extra = rng.random((3, 5)).astype("float32")
    main, aux = model.predict([headlines, extra])
    assert main.shape == (3, 1) and aux.shape == (3, 1)
    by_name = model.predict({"main_input": headlines, "aux_input": extra})
    np.testing.assert_allclose(by_name[0], main, rtol=1e-5)


# 4. Shared layers ------------------------------------------------------------
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_4_shared_lstm(spelling, rng):
    tweet_a = Input(shape=(140, 256))
    tweet_b = Input(shape=(140, 256))
    shared_lstm = layers.LSTM(64)
    encoded_a = shared_lstm(tweet_a)
    encoded_b = shared_lstm(tweet_b)
    merged = concat(spelling, [encoded_a, encoded_b], axis=-1)
    predictions = Dense(1, activation="sigmoid")(merged)
    model = make_model(spelling, [tweet_a, tweet_b], predictions)
    assert model.count_params() == 82_305
    a = rng.random((2, 140, 256)).astype("float32")
    # the same LSTM weights encode both tweets: swapping inputs swaps the halves
    enc = make_model(spelling, [tweet_a, tweet_b], merged)
    ab, ba = enc.predict([a, a[::-1]]), enc.predict([a[::-1], a])
    np.testing.assert_allclose(ab[:, :64], ba[:, 64:], rtol=1e-5, atol=1e-6)


# 5. Layer nodes ---------------------------------------------------------------
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_5_layer_nodes(spelling):
    a = Input(shape=(140, 256))
    lstm = layers.LSTM(32)
    encoded_a = lstm(a)
    assert lstm.output == encoded_a
    b = Input(shape=(140, 256))
    encoded_b = lstm(b)
    with pytest.raises(AttributeError, match="multiple inbound nodes.*get_output_at"):
        _ = lstm.output
    assert lstm.get_output_at(0) == encoded_a
    assert lstm.get_output_at(1) == encoded_b
    assert lstm.get_input_at(0) == a and lstm.get_input_at(1) == b

    a = Input(shape=(3, 32, 32))
    b = Input(shape=(3, 64, 64))
    conv = conv2d(spelling, 16, 3, padding="same")
    conved_a = conv(a)
    assert conv.input_shape == (None, 3, 32, 32)
    conved_b = conv(b)
    with pytest.raises(AttributeError, match="multiple inbound nodes.*get_input_shape_at"):
        _ = conv.input_shape
    assert conv.get_input_shape_at(0) == (None, 3, 32, 32)
    assert conv.get_input_shape_at(1) == (None, 3, 64, 64)
    assert conv.get_output_shape_at(0) == (None, 16, 32, 32) == conved_a.shape
    assert conv.get_output_shape_at(1) == (None, 16, 64, 64) == conved_b.shape


# 6. More examples ---------------------------------------------------------------
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_6a_inception_module(spelling):
    input_img = Input(shape=(3, 256, 256))
    tower_1 = conv2d(spelling, 64, 1, "same", "relu")(input_img)
    tower_1 = conv2d(spelling, 64, 3, "same", "relu")(tower_1)
    tower_2 = conv2d(spelling, 64, 1, "same", "relu")(input_img)
    tower_2 = conv2d(spelling, 64, 5, "same", "relu")(tower_2)
    tower_3 = maxpool(spelling, (3, 3), strides=(1, 1), padding="same")(input_img)
    tower_3 = conv2d(spelling, 64, 1, "same", "relu")(tower_3)
    output = concat(spelling, [tower_1, tower_2, tower_3], axis=1)
    assert output.shape == (None, 192, 256, 256)
    model = make_model(spelling, input_img, output)
    assert model.count_params() == 140_160


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_6b_residual_connection(spelling, rng):
    x = Input(shape=(3, 256, 256))
    y = conv2d(spelling, 3, 3, padding="same")(x)
    z = layers.merge([x, y], mode="sum") if spelling == "keras1" else layers.add([x, y])
    model = make_model(spelling, x, [y, z])
    data = rng.random((1, 3, 256, 256)).astype("float32")
    y_val, z_val = model.predict(data)
    np.testing.assert_allclose(z_val, data + y_val, rtol=1e-5, atol=1e-5)


def vision_tower(spelling):
    digit_input = Input(shape=(1, 27, 27))
    x = conv2d(spelling, 64, 3)(digit_input)
    x = conv2d(spelling, 64, 3)(x)
    x = maxpool(spelling, (2, 2))(x)
    out = layers.Flatten()(x)
    assert out.shape == (None, 7744)
    return keras.Model(digit_input, out)  # positional, as the guide does


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_6c_shared_vision_model(spelling, rng):
    vision_model = vision_tower(spelling)
    digit_a = Input(shape=(1, 27, 27))
    digit_b = Input(shape=(1, 27, 27))
    out_a = vision_model(digit_a)
    out_b = vision_model(digit_b)
    concatenated = concat(spelling, [out_a, out_b])
    out = Dense(1, activation="sigmoid")(concatenated)
    classification_model = make_model(spelling, [digit_a, digit_b], out)
    assert classification_model.count_params() == 53_057
    d = rng.random((2, 1, 27, 27)).astype("float32")
    assert classification_model.predict([d, d]).shape == (2, 1)


def vqa_parts(spelling):
    def c(f, padding):
        return conv2d(spelling, f, 3, padding, "relu")

    vision_model = keras.Sequential()
    if spelling == "keras1":
        vision_model.add(layers.Convolution2D(64, 3, 3, activation="relu", border_mode="same",
                                              input_shape=(3, 224, 224), dim_ordering="th"))
    else:
        vision_model.add(layers.Conv2D(64, (3, 3), activation="relu", padding="same",
                                       input_shape=(3, 224, 224),
                                       data_format="channels_first"))
    vision_model.add(c(64, "valid"))
    vision_model.add(maxpool(spelling, (2, 2)))
    vision_model.add(c(128, "same"))
    vision_model.add(c(128, "valid"))
    vision_model.add(maxpool(spelling, (2, 2)))
    vision_model.add(c(256, "same"))
    vision_model.add(c(256, "valid"))
    vision_model.add(c(256, "valid"))
    vision_model.add(maxpool(spelling, (2, 2)))
    vision_model.add(layers.Flatten())
    return vision_model


@pytest.fixture(scope="module")
def vqa_models():
    """Both spellings of the VQA and video QA models, built once (they hold ~330M weights)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for spelling in SPELLINGS:
            vision_model = vqa_parts(spelling)
            image_input = Input(shape=(3, 224, 224))
            encoded_image = vision_model(image_input)
            question_input = Input(shape=(100,), dtype="int32")
            if spelling == "keras1":
                emb = layers.Embedding(input_dim=10000, output_dim=256, input_length=100)
            else:
                emb = layers.Embedding(input_dim=10000, output_dim=256)
            embedded_question = emb(question_input)
            encoded_question = layers.LSTM(256)(embedded_question)
            merged = concat(spelling, [encoded_question, encoded_image])
            output = Dense(1000, activation="softmax")(merged)
            vqa = make_model(spelling, [image_input, question_input], output)

            video_input = Input(shape=(100, 3, 224, 224))
            encoded_frame_sequence = layers.TimeDistributed(vision_model)(video_input)
            encoded_video = layers.LSTM(256)(encoded_frame_sequence)
            question_encoder = make_model(spelling, question_input, encoded_question)
            video_question_input = Input(shape=(100,), dtype="int32")
            encoded_video_question = question_encoder(video_question_input)
            merged = concat(spelling, [encoded_video, encoded_video_question])
            output = Dense(1000, activation="softmax")(merged)
            video_qa = make_model(spelling, [video_input, video_question_input], output)
            out[spelling] = (vision_model, question_encoder, encoded_frame_sequence, vqa,
                             video_qa)
    return out


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_6d_visual_question_answering(spelling, vqa_models):
    vision_model, _, _, vqa, _ = vqa_models[spelling]
    assert vision_model.output_shape == (None, 160_000)
    assert vision_model.count_params() == 1_735_488
    assert vqa.count_params() == 165_077_800


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_6e_video_question_answering(spelling, vqa_models):
    vision_model, question_encoder, frames, vqa, video_qa = vqa_models[spelling]
    assert frames.shape == (None, 100, 160_000)
    assert question_encoder.count_params() == 3_085_312
    assert video_qa.count_params() == 169_436_968
    # the question encoder shares its weights with the VQA model
    vqa_ids = {id(w) for w in vqa.weights}
    assert all(id(w) in vqa_ids for w in question_encoder.weights)
