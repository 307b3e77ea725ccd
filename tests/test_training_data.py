"""Data input for fit/evaluate (generators, PyDataset, duck-typed DataLoader /
tf.data, dict/list inputs, Keras 1 fit_generator) and the data utilities
pad_sequences and split_dataset."""

import threading
import warnings

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers, optimizers
from jkeras.preprocessing.sequence import pad_sequences as legacy_pad
from jkeras.utils.data import PyDataset, Sequence, split_dataset
from jkeras.utils.sequence import pad_sequences


@pytest.fixture
def reg(rng):
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    return x, y


def frozen_linear(rng):
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(1)(inp))
    w = rng.normal(size=(3, 1)).astype("float32")
    m.layers[-1].set_weights([w, np.zeros(1, "float32")])
    m.compile(optimizers.SGD(learning_rate=0.0), "mse")
    return m, w


class Batches(PyDataset):
    def __init__(self, x, y, bs, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.bs = x, y, bs
        self.epoch_ends = 0
        self.threads = set()

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        self.threads.add(threading.get_ident())
        s = slice(i * self.bs, (i + 1) * self.bs)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epoch_ends += 1


def test_pydataset_partial_batch_exact_and_epoch_end(reg, rng):
    x, y = reg
    m, w = frozen_linear(rng)
    ds = Batches(x, y, 4)
    h = m.fit(ds, epochs=2, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [np.mean((x @ w - y) ** 2)] * 2, rtol=1e-5)
    assert ds.epoch_ends == 2
    assert m._trainer.trace_counts["train"] == 1  # the short last batch was padded
    np.testing.assert_allclose(m.evaluate(Batches(x, y, 3), verbose=0),
                               np.mean((x @ w - y) ** 2), rtol=1e-5)


def test_pydataset_worker_threads(reg):
    x, y = reg
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(1)(inp))
    m.compile("sgd", "mse")
    ds = Batches(x, y, 2, workers=3, max_queue_size=4)
    h = m.fit(ds, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    assert threading.get_ident() not in ds.threads  # fetched by worker threads


def test_keras2_sequence_alias(reg):
    assert issubclass(Sequence, PyDataset)


def test_infinite_generator_with_steps_per_epoch_and_sample_weights(reg, rng):
    x, y = reg
    m, w = frozen_linear(rng)
    sw = np.linspace(0, 1, 10).astype("float32")

    def gen():
        while True:
            for i in range(0, 10, 5):
                yield x[i:i + 5], y[i:i + 5], sw[i:i + 5]

    h = m.fit(gen(), steps_per_epoch=2, epochs=3, verbose=0)
    expected = np.sum(sw * ((x @ w - y) ** 2)[:, 0]) / 10
    np.testing.assert_allclose(h.history["loss"], [expected] * 3, rtol=1e-5)
    assert m._trainer.trace_counts["train"] == 1


def test_finite_generator_runs_out(reg):
    x, y = reg
    inp = keras.Input((3,))
    m = keras.Model(inp, layers.Dense(1)(inp))
    m.compile("sgd", "mse")
    gen = ((x[i:i + 4], y[i:i + 4]) for i in range(0, 10, 4))
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        h = m.fit(gen, epochs=3, verbose=0)
    assert h.epoch == [0]


def test_reiterable_duck_typed_loaders(reg, rng):
    """A torch-DataLoader-like iterable of tensor-like objects and a
    tf.data-like object with as_numpy_iterator()."""
    x, y = reg
    m, w = frozen_linear(rng)

    class FakeTensor:
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    class Loader:
        def __len__(self):
            return 3

        def __iter__(self):
            for i in range(0, 10, 4):
                yield [FakeTensor(x[i:i + 4]), FakeTensor(y[i:i + 4])]

    class TFData:
        def as_numpy_iterator(self):
            return iter([(x[:6], y[:6]), (x[6:], y[6:])])

    expected = np.mean((x @ w - y) ** 2)
    h = m.fit(Loader(), epochs=2, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [expected] * 2, rtol=1e-5)
    h = m.fit(TFData(), epochs=2, verbose=0, validation_data=Loader())
    np.testing.assert_allclose(h.history["val_loss"], [expected] * 2, rtol=1e-5)


def test_validation_generator_one_shot_is_reused(reg, rng):
    x, y = reg
    m, w = frozen_linear(rng)
    val = ((x[i:i + 3], y[i:i + 3]) for i in range(0, 10, 3))
    h = m.fit(x, y, epochs=3, verbose=0, validation_data=val)
    np.testing.assert_allclose(h.history["val_loss"], [np.mean((x @ w - y) ** 2)] * 3,
                               rtol=1e-5)


def test_keras1_fit_generator_and_evaluate_predict_generator(reg, rng):
    x, y = reg
    m, w = frozen_linear(rng)

    def gen():
        while True:
            for i in range(0, 10, 5):
                yield x[i:i + 5], y[i:i + 5]

    with pytest.warns(DeprecationWarning) as rec:
        h = m.fit_generator(gen(), samples_per_epoch=10, nb_epoch=2, verbose=0)
    assert {"samples_per_epoch", "nb_epoch"} <= {str(w.message).split("(")[1].split("=")[0]
                                                 for w in rec}
    assert h.epoch == [0, 1]
    assert int(np.asarray(m.optimizer.iterations)) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loss = m.evaluate_generator(gen(), val_samples=10)
    np.testing.assert_allclose(loss, np.mean((x @ w - y) ** 2), rtol=1e-5)
    pred = m.predict_generator((x[i:i + 4],) for i in range(0, 10, 4))
    np.testing.assert_allclose(pred, x @ w, rtol=1e-5, atol=1e-6)


def test_dict_and_list_inputs(rng):
    a = keras.Input((2,), name="a")
    b = keras.Input((3,), name="b")
    out = layers.Dense(1, name="out")(layers.concatenate([a, b]))
    m = keras.Model([a, b], out)
    m.compile("sgd", "mse")
    xa, xb = rng.normal(size=(8, 2)), rng.normal(size=(8, 3))
    y = rng.normal(size=(8,))  # (n,) targets for a (None, 1) output
    r1 = m.evaluate([xa, xb], y, verbose=0)
    r2 = m.evaluate({"b": xb, "a": xa}, {"out": y}, verbose=0)
    assert r1 == pytest.approx(r2)
    m.fit({"a": xa, "b": xb}, y, epochs=1, verbose=0)


def test_subclassed_model_trains(rng):
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = layers.Dense(8, activation="relu")
            self.d2 = layers.Dense(1)

        def call(self, inputs):
            return self.d2(self.d1(inputs))

    x = rng.normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    m = Tiny()
    m.compile(optimizers.SGD(learning_rate=0.05), "mse")
    h = m.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


# ------------------------------------------------------------------------------ utilities
def test_pad_sequences_keras_semantics():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(
        pad_sequences(seqs),
        [[0, 0, 1, 2, 3], [0, 0, 0, 0, 4], [0, 0, 0, 0, 0], [5, 6, 7, 8, 9]])
    out = pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=-1)
    np.testing.assert_array_equal(out, [[1, 2, 3], [4, -1, -1], [-1, -1, -1], [5, 6, 7]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2)[3], [8, 9])  # 'pre' truncation
    assert pad_sequences(seqs).dtype == np.int32
    f = pad_sequences([[0.5], [1.5, 2.5]], dtype="float32")
    np.testing.assert_allclose(f, [[0.0, 0.5], [1.5, 2.5]])
    feat = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], maxlen=3, dtype="float32")
    assert feat.shape == (2, 3, 3) and feat[1, :2].sum() == 0
    assert legacy_pad is pad_sequences
    with pytest.raises(ValueError, match="padding"):
        pad_sequences(seqs, padding="middle")
    s = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert s[1].tolist() == ["<pad>", "c"]
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")


def test_split_dataset():
    x = np.arange(10)
    y = np.arange(10) * 2
    left, right = split_dataset((x, y), left_size=0.8)
    assert isinstance(left, tuple) and len(left[0]) == 8 and len(right[0]) == 2
    np.testing.assert_array_equal(right[1], [16, 18])
    a, b = split_dataset(x, right_size=3, shuffle=True, seed=1)
    assert len(a) == 7 and len(b) == 3
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(10))
    a2, _ = split_dataset(x, right_size=3, shuffle=True, seed=1)
    np.testing.assert_array_equal(a, a2)
    d_left, d_right = split_dataset({"x": x, "y": y}, left_size=4, right_size=4)
    assert len(d_left["x"]) == 4 and len(d_right["y"]) == 4
    with pytest.raises(ValueError, match="same number of rows"):
        split_dataset((x, y[:5]), left_size=0.5)
    with pytest.raises(ValueError, match="more than"):
        split_dataset(x, left_size=6, right_size=5)
    with pytest.raises(ValueError, match="left_size, right_size"):
        split_dataset(x)


def test_array_handler_orders_and_padding():
    from jkeras.training.data_adapter import ArrayHandler

    x = np.arange(10, dtype="float32")[:, None]
    h = ArrayHandler([x], [], [], batch_size=4, shuffle="batch")
    batches = list(h.epoch(0))
    rows = [np.asarray(b[0][0])[:, 0] for b in batches]
    valid = [np.asarray(b[3]) for b in batches]
    assert [len(r) for r in rows] == [4, 4, 4]  # the short block is padded
    assert sorted(v.sum() for v in valid) == [2, 4, 4]
    real = np.concatenate([r[v > 0] for r, v in zip(rows, valid)])
    assert sorted(real.tolist()) == list(range(10))
    for r, v in zip(rows, valid):  # blocks of consecutive rows
        kept = r[v > 0]
        assert (np.diff(kept) == 1).all() and kept[0] % 4 == 0
    h = ArrayHandler([x], [], [], batch_size=4, steps=5)  # cycles through the data
    assert len(list(h.epoch(0))) == 5
