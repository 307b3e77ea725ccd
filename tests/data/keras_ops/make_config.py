"""Writes functional_ops.json: `model.get_config()` of a Functional model of ops, as
real Keras 3 writes it (run with Keras 3.15.1, JAX backend, in its own environment):

    KERAS_BACKEND=jax python tests/data/keras_ops/make_config.py \
        tests/data/keras_ops/functional_ops.json

tests/test_saving_ops.py builds the same graph with jkeras (`build(jkeras)`) and
compares.
"""

import json
import sys


def build(keras):
    """The model, built with the `keras` module given (Keras 3 or jkeras)."""
    ops = keras.ops
    a = keras.Input((4, 6), name="a")
    b = keras.Input((6,), name="b")
    img = keras.Input((8, 8, 3), name="img")
    idx = keras.Input((3,), dtype="int32", name="idx")
    e = ops.einsum("bij,bj->bi", a, b)
    s = ops.sum(a[:, 1:3, ::2], axis=1)
    ln = ops.reshape(ops.nn.layer_normalization(a, axis=-1), (-1, 24))
    g = ops.mean(ops.image.resize(img, (4, 4)), axis=(1, 2))
    d = ops.expand_dims(
        ops.linalg.det(ops.matmul(a, ops.transpose(a, (0, 2, 1))) + ops.eye(4)), -1)
    sm = ops.nn.softmax(e, axis=-1)
    v, i = ops.top_k(e, k=2)
    oh = ops.reshape(ops.nn.one_hot(idx, 5, dtype="float32"), (-1, 15))
    c = ops.cast(i, "float32")
    out = ops.concatenate([sm, s, ln, g, d, v, c, oh], axis=-1)
    return keras.Model([a, b, img, idx], out, name="keras_ops")


if __name__ == "__main__":
    import keras

    with open(sys.argv[1], "w") as f:
        json.dump(build(keras).get_config(), f, indent=1)
