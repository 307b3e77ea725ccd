"""Bad input to compile/fit/evaluate raises before any step, naming the argument
and the fix."""

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers


@pytest.fixture
def clf():
    inp = keras.Input((4,), name="features")
    out = layers.Dense(3, activation="softmax", name="probs")(inp)
    return keras.Model(inp, out)


@pytest.fixture
def data(rng):
    x = rng.normal(size=(12, 4)).astype("float32")
    y = rng.integers(0, 3, size=(12,))
    return x, y


def no_step_ran(model, before):
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_fit_before_compile(clf, data):
    with pytest.raises(RuntimeError, match=r"compile"):
        clf.fit(*data, verbose=0)
    with pytest.raises(RuntimeError, match=r"compile"):
        clf.evaluate(*data, verbose=0)


def test_missing_targets(clf, data):
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"loss.*\['probs'\].*needs targets: pass `y`"):
        clf.fit(data[0], verbose=0)


def test_sample_count_mismatch(clf, data):
    x, y = data
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"cardinality.*x: 12.*y: 10"):
        clf.fit(x, y[:10], verbose=0)


def test_unknown_dict_keys_list_valid_names(clf, data):
    x, y = data
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"\['feats'\].*features"):
        clf.fit({"feats": x}, y, verbose=0)
    with pytest.raises(ValueError, match=r"\['out'\].*probs"):
        clf.fit(x, {"out": y}, verbose=0)
    with pytest.raises(ValueError, match=r"loss.*\['prob'\].*probs"):
        clf.compile("sgd", {"prob": "mse"})
    with pytest.raises(ValueError, match=r"metrics.*\['prob'\].*probs"):
        clf.compile("sgd", "sparse_categorical_crossentropy", metrics={"prob": ["accuracy"]})
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sample_weight.*\['out'\].*Valid output names"):
        clf.fit(x, y, sample_weight={"out": np.ones(len(y))}, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight.*\['out'\].*dict of class ids"):
        clf.fit(x, y, class_weight={"out": {0: 1.0}}, verbose=0)


def test_integer_labels_with_categorical_crossentropy(clf, data):
    x, y = data
    clf.compile("sgd", "categorical_crossentropy")
    before = clf.get_weights()
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*to_categorical"):
        clf.fit(x, y, verbose=0)
    assert no_step_ran(clf, before)


def test_one_hot_labels_with_sparse_crossentropy(clf, data):
    x, y = data
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"one-hot.*categorical_crossentropy"):
        clf.fit(x, keras.utils.to_categorical(y, 3), verbose=0)


def test_class_ids_outside_output_size(clf, data):
    x, y = data
    y = y.copy()
    y[3] = 5
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"class id.*\[0, 5\].*3 units.*\[0, 2\]"):
        clf.fit(x, y, verbose=0)


def test_binary_crossentropy_targets_outside_unit_interval(rng):
    inp = keras.Input((2,))
    m = keras.Model(inp, layers.Dense(1, activation="sigmoid")(inp))
    m.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match=r"binary_crossentropy.*\[0, 1\].*\[0, 4\]"):
        m.fit(rng.normal(size=(5, 2)), np.arange(5), verbose=0)


def test_target_shape_mismatch(rng):
    inp = keras.Input((2,))
    m = keras.Model(inp, layers.Dense(2)(inp))
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"shape \(None, 2\).*\(6, 3\)"):
        m.fit(rng.normal(size=(6, 2)), rng.normal(size=(6, 3)), verbose=0)


def test_nan_and_inf_in_inputs(clf, data):
    x, y = data
    x = x.copy()
    x[5, 1] = np.nan
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"NaN or infinite.*sample 5.*check_finite=False"):
        clf.fit(x, y, verbose=0)
    x[5, 1] = np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite"):
        clf.evaluate(x, y, verbose=0)
    clf.fit(x, y, verbose=0, check_finite=False)  # opted out: trains (on garbage)


def test_empty_data(clf):
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"no samples"):
        clf.fit(np.zeros((0, 4), "float32"), np.zeros((0,), "int32"), verbose=0)

    def empty():
        yield from ()

    with pytest.raises(ValueError, match=r"produced no batch"):
        clf.fit(empty(), verbose=0)


def test_validation_split_with_generator(clf, data):
    x, y = data
    clf.compile("sgd", "sparse_categorical_crossentropy")
    gen = ((x[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4))
    with pytest.raises(ValueError, match=r"validation_split.*validation_data"):
        clf.fit(gen, validation_split=0.2, verbose=0)


def test_multi_output_targets_structure(rng):
    inp = keras.Input((3,))
    a = layers.Dense(1, name="a")(inp)
    b = layers.Dense(1, name="b")(inp)
    m = keras.Model(inp, [a, b])
    m.compile("sgd", "mse")
    x = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match=r"single array.*2 outputs \['a', 'b'\]"):
        m.fit(x, np.zeros((4, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"list of 3 arrays.*2 output"):
        m.fit(x, [np.zeros((4, 1))] * 3, verbose=0)
    with pytest.raises(ValueError, match=r"output\(s\) \['b'\]"):
        m.fit(x, {"a": np.zeros((4, 1))}, verbose=0)
    with pytest.raises(ValueError, match=r"loss_weights.*3 entries.*2 output"):
        m.compile("sgd", "mse", loss_weights=[1, 2, 3])


def test_sample_and_class_weight_errors(clf, data):
    x, y = data
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sample_weight.*\(5,\).*12 samples"):
        clf.fit(x, y, sample_weight=np.ones(5), verbose=0)
    with pytest.raises(ValueError, match=r"no weight for class\(es\) \[2\]"):
        clf.fit(x, y, class_weight={0: 1.0, 1: 2.0}, verbose=0)


def test_bad_fit_arguments(clf, data):
    x, y = data
    clf.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match=r"unexpected keyword.*\['epoch'\]"):
        clf.fit(x, y, epoch=2)
    with pytest.raises(ValueError, match=r"batch_size must be >= 1"):
        clf.fit(x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"validation_split"):
        clf.fit(x, y, validation_split=1.5)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple"):
        clf.fit(x, y, validation_data=(x,), verbose=0)
    with pytest.raises(TypeError, match=r"Callback"):
        clf.fit(x, y, callbacks=[object()], verbose=0)
    with pytest.raises(TypeError, match=r"unexpected keyword.*\['metric'\]"):
        clf.compile("sgd", "mse", metric=["acc"])
