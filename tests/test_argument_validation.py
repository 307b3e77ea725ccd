"""Arguments validated before any step (issue 12): class_weight, validation_data,
the dtypes of x and y, and predict/evaluate's batch_size, steps and verbose. Each
bad argument raises a ValueError/TypeError naming it, before anything is compiled
or trained (the weights are unchanged)."""

import jax.numpy as jnp
import numpy as np
import pytest

import jkeras as keras
from jkeras import layers
from jkeras.training.data_checks import to_array

N = 12
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, 4)).astype("float32")
Y = RNG.integers(0, 3, size=(N,))


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def unchanged(model, before):
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.fixture(scope="module")
def clf():
    inp = keras.Input((4,), name="features")
    out = layers.Dense(3, activation="softmax", name="probs")(inp)
    model = keras.Model(inp, out)
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def _score_loss(y_true, y_pred):  # a loss jkeras does not know by name
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


@pytest.fixture(scope="module")
def heads():
    """One classifier of each kind, a regression head and a custom-loss head."""
    inp = keras.Input((4,), name="features")
    h = layers.Dense(5, activation="relu")(inp)
    outs = [layers.Dense(3, activation="softmax", name="kind")(h),
            layers.Dense(1, activation="sigmoid", name="flag")(h),
            layers.Dense(1, name="size")(h),
            layers.Dense(1, name="score")(h)]
    model = keras.Model(inp, outs)
    model.compile("sgd", {"kind": "sparse_categorical_crossentropy",
                          "flag": "binary_crossentropy", "size": "mse", "score": _score_loss})
    y = {"kind": Y, "flag": (X[:, :1] > 0).astype("float32"),
         "size": X[:, 1:2] * 3.0, "score": X[:, 2:3] + 0.5}
    return model, y


# ------------------------------------------------------------------ class_weight
@pytest.mark.parametrize("class_weight, error, match", [
    ({"kind": {0: 1.0, 1: 1.0, 2: 1.0, 7: 2.0}}, ValueError,
     r"'kind' has the key 7, which is not one of its classes.*3 units.*0 to 2"),
    ({"kind": {0: 1.0, "1": 1.0, 2: 1.0}}, ValueError,
     r"'kind' has the key '1', but keys must be class ids"),
    ({"kind": {0: 1.0, -1: 1.0}}, ValueError, r"'kind' has the key -1"),
    ({"kind": {0: float("nan"), 1: 1.0, 2: 1.0}}, ValueError,
     r"'kind' gives class 0 the weight nan; weights must be finite numbers >= 0"),
    ({"kind": {0: 1.0, 1: -2.0, 2: 1.0}}, ValueError, r"class 1 the weight -2.0"),
    ({"kind": {0: 1.0, 1: 1.0, 2: float("inf")}}, ValueError, r"class 2 the weight inf"),
    ({"kind": {0: 1.0, 1: "2", 2: 1.0}}, TypeError, r"class 1 the weight '2'.*numbers"),
    ({"flag": {0: 1.0, 1: 1.0, 2: 5.0}}, ValueError,
     r"'flag' has the key 2.*binary output \(1 unit\): its classes are 0 and 1"),
    ({"size": {0: 1.0, 1: 2.0}}, ValueError,
     r"output 'size'.*mean_squared_error, a regression loss.*sample_weight"),
    ({"score": {0: 1.0, 1: 2.0}}, ValueError,
     r"output 'score' needs class ids.*non-integer values.*sample_weight"),
])
def test_bad_class_weight_is_refused_before_training(heads, class_weight, error, match):
    model, y = heads
    before = weights_of(model)
    with pytest.raises(error, match=match):
        model.fit(X, y, class_weight=class_weight, epochs=1, verbose=0)
    assert unchanged(model, before)


def test_class_weight_string_keys_for_a_single_output(clf):
    with pytest.raises(ValueError, match=r"class_weight has key\(s\) \['a'\].*dict of class ids"):
        clf.fit(X, Y, class_weight={"a": 1.0}, verbose=0)


# ------------------------------------------------------------------ validation_data
def _batches(x, y, size=4):
    def gen():
        for i in range(0, len(x), size):
            yield x[i:i + size], y[i:i + size]
    return gen()


@pytest.mark.parametrize("make_validation, match", [
    (lambda: (X[:, :3], Y),
     r"`validation_data x` does not fit model.*input 'features' \(declared shape \(None, 4\)\)"
     r".*\(4,\) from the training data but \(3,\).*4 features"),
    (lambda: _batches(X[:, :3], Y),  # a generator: its first batch is checked
     r"`validation_data x` does not fit model.*\(3,\)"),
    (lambda: (X, np.zeros((N, 5))), r"`validation_data y` has shape \(12, 5\)"),
    (lambda: (X, Y[:5]), r"validation_data x: 12, validation_data y: 5"),
    (lambda: ([X, X], Y), r"`validation_data x`.*expects 1 input"),
    (lambda: (X, Y, np.ones(3)), r"sample_weight.*\(3,\).*12 samples"),
])
def test_bad_validation_data_is_refused_before_training(clf, make_validation, match):
    before = weights_of(clf)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, Y, validation_data=make_validation(), epochs=1, verbose=0)
    assert unchanged(clf, before)


def test_validation_inputs_of_a_subclassed_model_are_checked_before_training():
    class Scorer(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Scorer()
    model.compile("sgd", "mse")
    model(X[:2])
    before = weights_of(model)
    with pytest.raises(ValueError, match=r"validation_data x.*\(4,\).*\(6,\).*fails on them"):
        model.fit(X, np.zeros((N, 2)), validation_data=(np.zeros((N, 6)), np.zeros((N, 2))),
                  verbose=0)
    assert unchanged(model, before)


def test_validation_inputs_of_another_length_that_the_model_takes_are_accepted():
    inp = keras.Input((None, 2))
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(inp))
    model = keras.Model(inp, out)
    model.compile("sgd", "mse", run_eagerly=True)  # nothing compiled: only the check runs
    x_val = np.ones((4, 7, 2), "float32")
    history = model.fit(np.ones((4, 5, 2), "float32"), np.ones((4, 1)), epochs=0,
                        validation_data=(x_val, np.ones((4, 1))), verbose=0)
    assert history.epoch == []


# ------------------------------------------------------------------ dtypes of x and y
STRINGS = np.array([["a", "b", "c", "d"]] * N)
BAD_X = {
    "strings": (STRINGS, r"`x` holds strings \(dtype <U1; e\.g\. 'a'\), but float32 values"),
    "objects": (X.astype(object), r"`x` holds Python objects \(dtype object.*float32 values"),
    "complex": (X.astype("complex64"), r"`x` holds complex numbers \(dtype complex64\), but "
                                       r"float32 values.*np\.real"),
    "ragged": ([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]],
               r"`x` is a ragged nested list \(its rows differ in length: 4 items and 2 "
               r"items\).*pad_sequences"),
}
X_CALLS = {
    "fit": lambda m, x: m.fit(x, Y[:len(x)], verbose=0),
    "evaluate": lambda m, x: m.evaluate(x, Y[:len(x)], verbose=0),
    "predict": lambda m, x: m.predict(x, verbose=0),
    "train_on_batch": lambda m, x: m.train_on_batch(x, Y[:len(x)]),
    "test_on_batch": lambda m, x: m.test_on_batch(x, Y[:len(x)]),
    "predict_on_batch": lambda m, x: m.predict_on_batch(x),
}


@pytest.mark.parametrize("kind", sorted(BAD_X))
@pytest.mark.parametrize("method", sorted(X_CALLS))
def test_non_numeric_x_names_the_argument_and_the_dtype_expected(clf, method, kind):
    x, match = BAD_X[kind]
    before = weights_of(clf)
    with pytest.raises(ValueError, match=match):
        X_CALLS[method](clf, x)
    assert unchanged(clf, before)


@pytest.mark.parametrize("y, match", [
    (np.array(["cat"] * N), r"`y` holds strings \(dtype <U3; e\.g\. 'cat'\), but numbers"),
    (Y.astype(object), r"`y` holds Python objects"),
    (Y + 1j, r"`y` holds complex numbers"),
    ([[0], [1, 2]] + [[0]] * (N - 2), r"`y` is a ragged nested list"),
])
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_non_numeric_y_names_the_argument(clf, method, y, match):
    with pytest.raises(ValueError, match=match):
        getattr(clf, method)(X, y, **({} if "batch" in method else {"verbose": 0}))


def test_each_input_is_named_and_checked_against_its_declared_dtype():
    a = keras.Input((2,), name="a")
    ids = keras.Input((3,), name="ids", dtype="int32")
    model = keras.Model([a, ids], layers.Dense(1)(layers.Concatenate()(
        [a, layers.Flatten()(layers.Embedding(10, 2)(ids))])))
    model.compile("sgd", "mse")
    x = {"a": np.ones((N, 2)), "ids": np.array([["1", "2", "3"]] * N)}
    with pytest.raises(ValueError, match=r"`x\['ids'\]` holds strings.*int32 values"):
        model.fit(x, np.ones(N), verbose=0)
    with pytest.raises(ValueError, match=r"`x\['ids'\]` holds strings.*int32 values"):
        model.predict(x, verbose=0)


def test_sequential_without_input_shape_checks_x_before_building():
    model = keras.Sequential([layers.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"`x` holds strings.*numbers \(float or integer\)"):
        model.fit(STRINGS, np.zeros((N, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"`x` holds complex numbers"):
        model.predict(X + 1j, verbose=0)
    assert not model.built


def test_declared_text_or_complex_inputs_pass_the_dtype_check():
    # an Input(dtype="string") (for text preprocessing layers) takes strings
    assert to_array(STRINGS, "x", declared="string").dtype.kind == "U"
    assert to_array(X.astype(object), "x", declared="object").dtype == object
    assert to_array(X + 1j, "x", declared="complex64").dtype.kind == "c"
    assert to_array([[True, False]], "x").dtype == bool
    with pytest.raises(ValueError, match=r"`x` holds strings"):
        to_array(STRINGS, "x", declared="float32")


def test_a_nested_list_for_a_one_input_model_is_read_as_one_array(clf):
    rows = X[:3].tolist()
    np.testing.assert_allclose(clf.predict(rows, verbose=0), clf.predict(X[:3], verbose=0),
                               rtol=1e-6)


# ------------------------------------------------------------------ predict/evaluate arguments
@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, r"predict\(\): batch_size must be >= 1, got 0"),
    ({"batch_size": -1}, ValueError, r"predict\(\): batch_size must be >= 1, got -1"),
    ({"batch_size": "32"}, TypeError, r"predict\(\): batch_size must be an integer"),
    ({"steps": 0}, ValueError, r"predict\(\): steps must be >= 1, got 0"),
    ({"steps": -2}, ValueError, r"predict\(\): steps must be >= 1, got -2"),
    ({"verbose": 5}, ValueError, r"verbose must be 'auto', 0, 1 or 2, got 5"),
])
def test_predict_arguments(clf, kwargs, error, match):
    with pytest.raises(error, match=match):
        clf.predict(X, **{"verbose": 0, **kwargs})


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
    ({"batch_size": -1}, r"batch_size must be >= 1, got -1"),
    ({"steps": 0}, r"steps must be >= 1, got 0"),
    ({"verbose": 3}, r"verbose must be 'auto', 0, 1 or 2, got 3"),
])
def test_evaluate_arguments(clf, kwargs, match):
    with pytest.raises(ValueError, match=match):
        clf.evaluate(X, Y, **{"verbose": 0, **kwargs})
