"""Keras 1/2 inference helpers: `K.function` (with `K.learning_phase()`) and
`Sequential.predict_classes` / `predict_proba`."""

import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras import compat, layers


def _mlp(units_out=3, activation="softmax"):
    return jkeras.Sequential([
        layers.Dense(5, activation="relu", input_shape=(4,)),
        layers.Dropout(0.5),
        layers.Dense(units_out, activation=activation),
    ])


X = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")


def test_function_extracts_intermediate_activations():
    model = _mlp()
    f = K.function([model.input], [model.layers[0].output, model.layers[2].output])
    hidden, out = f([X])
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(hidden, np.maximum(X @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    assert isinstance(hidden, np.ndarray) and hidden.shape == (6, 5)
    single = K.function([model.input], model.layers[0].output)  # one tensor: one array
    np.testing.assert_allclose(single([X]), hidden, rtol=1e-6)
    np.testing.assert_allclose(single([X.tolist()]), hidden, rtol=1e-6)  # nested lists: values
    model.layers[0].set_weights([kernel * 2, bias])  # the function follows the weights
    np.testing.assert_allclose(f([X])[0], np.maximum(X @ (2 * kernel) + bias, 0), rtol=1e-5,
                               atol=1e-6)


def test_function_learning_phase_selects_training_mode():
    model = _mlp()
    f = K.function([model.input, K.learning_phase()], [model.layers[1].output])
    hidden = K.function([model.input], [model.layers[0].output])([X])[0]
    np.testing.assert_allclose(f([X, 0])[0], hidden, rtol=1e-6)
    trained = f([X, 1])[0]
    kept = trained != 0
    np.testing.assert_allclose(trained[kept], 2 * hidden[kept], rtol=1e-5)  # 1/(1-rate)
    assert (hidden[~kept] == 0).sum() < (~kept).sum()  # dropout zeroed some units
    assert K.learning_phase() is K.learning_phase()
    with pytest.raises(ValueError, match=r"learning_phase\(\) must be 0 .* or 1 .*got 2"):
        f([X, 2])


def test_function_from_an_intermediate_tensor_and_several_inputs():
    a, b = jkeras.Input((4,)), jkeras.Input((4,))
    h = layers.Dense(3, name="h")(a)
    dense_b = layers.Dense(3)
    out = layers.Add()([h, dense_b(b)])
    jkeras.Model([a, b], out)
    tail = K.function([h, b], [out])  # starts at a hidden tensor
    hv = np.ones((2, 3), "float32")
    kb, bb = dense_b.get_weights()
    np.testing.assert_allclose(tail([hv, X[:2]])[0], hv + X[:2] @ kb + bb, rtol=1e-5)


def test_function_errors():
    model = _mlp()
    f = K.function([model.input], [model.output])
    with pytest.raises(ValueError, match=r"expected 1 input value\(s\).*got 2"):
        f([X, X])
    with pytest.raises(ValueError, match=r"inputs\[0\] expects arrays of shape \(None, 4\), "
                                         r"got shape \(6, 3\)"):
        f([X[:, :3]])
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a symbolic tensor.*ndarray"):
        K.function([X], [model.output])
    with pytest.raises(TypeError, match=r"outputs\[0\] must be a symbolic tensor"):
        K.function([model.input], ["loss"])
    with pytest.raises(NotImplementedError, match="`updates` are not supported"):
        K.function([model.input], [model.output], updates=[("w", 1)])
    other = jkeras.Input((4,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        K.function([other], [model.output])


def test_keras_alias_backend_function():
    compat.install_keras_alias()
    try:
        from keras import backend as KK

        assert KK.function is K.function and KK.learning_phase is K.learning_phase
    finally:
        compat.uninstall_keras_alias()


def test_predict_classes_and_proba():
    model = _mlp()
    probs = model.predict(X, verbose=0)
    with pytest.warns(DeprecationWarning, match=r"predict_classes.*np.argmax\(model.predict"):
        classes = model.predict_classes(X)
    np.testing.assert_array_equal(classes, probs.argmax(axis=-1))
    with pytest.warns(DeprecationWarning, match=r"predict_proba.*model.predict\(x\)"):
        np.testing.assert_allclose(model.predict_proba(X, batch_size=2), probs, rtol=1e-6)

    binary = _mlp(1, "sigmoid")
    p = binary.predict(X, verbose=0)
    with pytest.warns(DeprecationWarning):
        c = binary.predict_classes(X, batch_size=4, verbose=0)
    assert c.dtype == np.int32 and c.shape == (6, 1)
    np.testing.assert_array_equal(c, (p > 0.5).astype("int32"))

    linear = _mlp(2, None)
    with pytest.warns(DeprecationWarning), pytest.warns(UserWarning, match="outside \\[0, 1\\]"):
        linear.predict_proba(X * 100)
