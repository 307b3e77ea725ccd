"""Writes the Keras 3 fixture files of tests/test_saving_keras3.py.

Run it with real Keras 3 in a separate virtual environment (see README.md):

    KERAS_BACKEND=jax python tests/data/keras3/make_fixtures.py [OUT_DIR [NAME ...]]

OUT_DIR defaults to tests/data/keras3/keras-<version> next to this script;
NAMEs (e.g. `nested opt_adam`) limit it to those files.
For every model NAME it writes

* NAME.keras: `model.save(...)` (compiled models carry their optimizer state);
* NAME.npz: the input batch (`x0`, `x1`, ...), Keras's predictions on it
  (`y0`, `y1`, ...), `model.get_weights()` (`w0`, `w1`, ...), and the names of
  `model.layers` (`layer_names`) and `model.weights` (`weight_names`): plain
  arrays (no pickle);

and for the optimizer models (`opt_*`) also, in NAME.npz, the training batch
(`tx`, `ty`) and every weight after one more `train_on_batch(tx, ty)`
(`next0`, `next1`, ... in `model.get_weights()` order).
`functional_merges.weights.h5` is `save_weights` of that model.

The model builders take the `keras` module as an argument so that the same
graphs can be built with jkeras (see write_jkeras_files.py).
"""

from __future__ import annotations

import os
import sys

import numpy as np


# --------------------------------------------------------------------------------------
# models (each returns (model, inputs))
# --------------------------------------------------------------------------------------
def sequential_dense(keras, rng):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((4,)),
        layers.Dense(8, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(6, use_bias=False),
        layers.Activation("tanh"),
        layers.Reshape((2, 3)),
        layers.Permute((2, 1)),
        layers.Flatten(),
        layers.RepeatVector(2),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ], name="sequential_dense")
    return model, rng.normal(size=(5, 4)).astype("float32")


def sequential_rnn(keras, rng):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((6, 3)),
        layers.Conv1D(4, 3, padding="same"),
        layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
        layers.TimeDistributed(layers.Dense(2)),
        layers.SimpleRNN(3, return_sequences=True),
        layers.GRU(2),
        layers.Dense(1),
    ], name="sequential_rnn")
    return model, rng.normal(size=(5, 6, 3)).astype("float32")


def rnn_variants(keras, rng):
    layers = keras.layers
    x = keras.Input((5, 3), name="seq")
    h = layers.GRU(3, reset_after=False, return_sequences=True)(x)
    h = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True), merge_mode="sum")(h)
    h = layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="mul")(h)
    out, state_h, state_c = layers.LSTM(2, return_state=True, go_backwards=True)(h)
    last = layers.SimpleRNN(2, activation="relu")(x)
    y = layers.Concatenate()([out, state_h, state_c, last])
    y = layers.Dense(2)(y)
    return keras.Model(x, y, name="rnn_variants"), rng.normal(size=(4, 5, 3)).astype("float32")


def embedding_masked(keras, rng):
    layers = keras.layers
    ids = keras.Input((5,), dtype="int32", name="ids")
    e = layers.Embedding(12, 4, mask_zero=True)(ids)
    seq = layers.LSTM(3)(e)
    flat = layers.Flatten()(layers.Embedding(12, 3)(ids))
    y = layers.Dense(2, activation="softmax")(layers.Concatenate()([seq, flat]))
    x = rng.integers(1, 12, size=(4, 5)).astype("int32")
    x[0, 3:] = 0
    x[2, 1:] = 0
    return keras.Model(ids, y, name="embedding_masked"), x


def conv2d(keras, rng):
    layers = keras.layers
    x = keras.Input((8, 8, 2), name="image")
    h = layers.Conv2D(3, 3, padding="same", activation="relu")(x)
    h = layers.BatchNormalization()(h)
    a = layers.MaxPooling2D(2)(h)                      # 4x4
    a = layers.ZeroPadding2D(1)(a)                     # 6x6
    a = layers.Conv2D(4, 2, strides=2)(a)              # 3x3
    a = layers.AveragePooling2D(2, padding="same")(a)  # 2x2
    a = layers.Flatten()(a)
    b = layers.SeparableConv2D(4, 3, depth_multiplier=2)(h)  # 6x6
    b = layers.DepthwiseConv2D(2, strides=2)(b)              # 3x3
    b = layers.Conv2DTranspose(2, 2, strides=2)(b)           # 6x6
    b = layers.Cropping2D(((1, 0), (0, 1)))(b)               # 5x5
    b = layers.UpSampling2D(2)(b)                            # 10x10
    b1 = layers.GlobalAveragePooling2D()(b)
    b2 = layers.GlobalMaxPooling2D()(b)
    y = layers.Dense(3)(layers.Concatenate()([a, b1, b2]))
    return keras.Model(x, y, name="conv2d"), rng.normal(size=(3, 8, 8, 2)).astype("float32")


def conv1d_pooling(keras, rng):
    layers = keras.layers
    x = keras.Input((10, 3), name="signal")
    h = layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(x)
    h = layers.LayerNormalization()(h)
    a = layers.MaxPooling1D(2)(h)                          # 5
    a = layers.AveragePooling1D(2, strides=1)(a)           # 4
    a = layers.SeparableConv1D(3, 2)(a)                    # 3
    a = layers.Conv1DTranspose(2, 2, strides=2)(a)         # 6
    a = layers.ZeroPadding1D((1, 2))(a)                    # 9
    a = layers.Cropping1D((2, 1))(a)                       # 6
    a = layers.UpSampling1D(2)(a)                          # 12
    a = layers.GlobalMaxPooling1D()(a)
    b = layers.DepthwiseConv1D(3, depth_multiplier=2)(h)   # 8
    b = layers.GlobalAveragePooling1D()(b)
    y = layers.Dense(2)(layers.Concatenate()([a, b]))
    return keras.Model(x, y, name="conv1d_pooling"), rng.normal(size=(3, 10, 3)).astype("float32")


def functional_merges(keras, rng):
    layers = keras.layers
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = layers.Dense(3, activation="relu", name="shared")
    ha, hb = shared(a), shared(b)
    merged = [layers.Add()([ha, hb]), layers.Subtract()([ha, hb]), layers.Multiply()([ha, hb]),
              layers.Average()([ha, hb]), layers.Maximum()([ha, hb]), layers.Minimum()([ha, hb]),
              layers.Dot(axes=1)([ha, hb])]
    c = layers.Concatenate()(merged)
    c = layers.BatchNormalization()(c)
    c = layers.Dropout(0.2)(c)
    o1 = layers.Dense(2, name="regression")(c + 1.0)
    o2 = layers.Dense(1, activation="sigmoid", name="probability")(
        layers.LayerNormalization()(hb))
    model = keras.Model([a, b], [o1, o2], name="functional_merges")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=["mse", "binary_crossentropy"])
    xa = rng.normal(size=(8, 4)).astype("float32")
    xb = rng.normal(size=(8, 4)).astype("float32")
    ya = rng.normal(size=(8, 2)).astype("float32")
    yb = (rng.uniform(size=(8, 1)) > 0.5).astype("float32")
    model.fit([xa, xb], [ya, yb], batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model, [xa, xb]


def nested(keras, rng):
    layers = keras.layers
    ii = keras.Input((3,), name="inner_in")
    inner = keras.Model(ii, layers.LayerNormalization()(layers.Dense(4, activation="tanh")(ii)),
                        name="inner")
    tower = keras.Sequential([keras.Input((8,)), layers.Dense(3), layers.Dense(2)], name="tower")
    x1 = keras.Input((3,), name="left")
    x2 = keras.Input((3,), name="right")
    h = layers.Concatenate()([inner(x1), inner(x2)])  # a nested model shared by two inputs
    y = tower(h)
    model = keras.Model([x1, x2], y, name="nested")
    return model, [rng.normal(size=(4, 3)).astype("float32"),
                   rng.normal(size=(4, 3)).astype("float32")]


MODELS = [sequential_dense, sequential_rnn, rnn_variants, embedding_masked, conv2d,
          conv1d_pooling, functional_merges, nested]


# --------------------------------------------------------------------------------------
# optimizer models: trained two steps, saved, then one more step recorded
# --------------------------------------------------------------------------------------
def optimizers(keras):
    opt = keras.optimizers
    return {
        "sgd": lambda: opt.SGD(learning_rate=0.1),
        "sgd_momentum": lambda: opt.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
        "rmsprop": lambda: opt.RMSprop(learning_rate=0.01),
        "rmsprop_centered": lambda: opt.RMSprop(learning_rate=0.01, momentum=0.5,
                                              centered=True),
        "adam": lambda: opt.Adam(learning_rate=0.01),
        "adam_schedule": lambda: opt.Adam(learning_rate=opt.schedules.ExponentialDecay(
            0.01, decay_steps=2, decay_rate=0.5)),
        "adamw_amsgrad": lambda: opt.AdamW(learning_rate=0.01, weight_decay=0.05,
                                         amsgrad=True),
        "adagrad": lambda: opt.Adagrad(learning_rate=0.05),
        "adadelta": lambda: opt.Adadelta(learning_rate=1.0),
        "adamax": lambda: opt.Adamax(learning_rate=0.01),
        "nadam": lambda: opt.Nadam(learning_rate=0.01),
        "lion": lambda: opt.Lion(learning_rate=0.01),
    }


def optimizer_model(keras, make_opt, rng):
    layers = keras.layers
    x = keras.Input((3,), name="features")
    h = layers.Dense(4, activation="relu")(x)
    h = layers.BatchNormalization()(h)
    y = layers.Dense(2)(h)
    model = keras.Model(x, y, name="optimizer_model")
    model.compile(optimizer=make_opt(), loss="mse")
    tx = rng.normal(size=(8, 3)).astype("float32")
    ty = rng.normal(size=(8, 2)).astype("float32")
    model.fit(tx, ty, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model, tx, ty


# --------------------------------------------------------------------------------------
def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def io_arrays(model, inputs) -> dict:
    arrays = {f"x{i}": np.asarray(x) for i, x in enumerate(_as_list(inputs))}
    preds = model.predict(inputs, verbose=0)
    arrays.update({f"y{i}": np.asarray(y) for i, y in enumerate(_as_list(preds))})
    arrays.update({f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
    arrays["layer_names"] = np.array([layer.name for layer in model.layers], dtype=str)
    arrays["weight_names"] = np.array([w.name for w in model.weights], dtype=str)
    return arrays


def main(out: str, only=()) -> None:
    import keras

    os.makedirs(out, exist_ok=True)
    for build in MODELS:
        if only and build.__name__ not in only:
            continue
        keras.utils.set_random_seed(0)
        keras.backend.clear_session()
        rng = np.random.default_rng(0)
        model, inputs = build(keras, rng)
        name = build.__name__
        model.save(os.path.join(out, f"{name}.keras"))
        np.savez_compressed(os.path.join(out, f"{name}.npz"), **io_arrays(model, inputs))
        if name == "functional_merges":
            model.save_weights(os.path.join(out, f"{name}.weights.h5"))
    for name, make_opt in optimizers(keras).items():
        if only and f"opt_{name}" not in only:
            continue
        keras.utils.set_random_seed(0)
        keras.backend.clear_session()
        rng = np.random.default_rng(1)
        model, tx, ty = optimizer_model(keras, make_opt, rng)
        model.save(os.path.join(out, f"opt_{name}.keras"))
        arrays = io_arrays(model, tx)
        arrays.update(tx=tx, ty=ty)
        model.train_on_batch(tx, ty)
        arrays.update({f"next{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
        np.savez_compressed(os.path.join(out, f"opt_{name}.npz"), **arrays)
    print(f"wrote fixtures of Keras {keras.__version__} to {out}")


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    if os.environ["KERAS_BACKEND"] != "jax":
        sys.exit("Run with KERAS_BACKEND=jax.")
    import keras as _keras

    default = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           f"keras-{_keras.__version__}")
    main(sys.argv[1] if len(sys.argv) > 1 else default, set(sys.argv[2:]))
