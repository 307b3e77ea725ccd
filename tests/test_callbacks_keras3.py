"""Keras 3 callbacks (SwapEMAWeights, RemoteMonitor, OrbaxCheckpoint), the
initializer aliases and OrthogonalRegularizer."""

import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

import jkeras as keras
from jkeras import callbacks, initializers, regularizers


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    return x, x @ rng.normal(size=(3, 1)).astype(np.float32)


def _model(optimizer):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _values(arrays):
    return [np.array(a) for a in arrays]


def test_swap_ema_weights_swaps_and_restores_exactly(data):
    x, y = data
    opt = keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    model = _model(opt)
    seen = {}

    class Probe(callbacks.Callback):  # runs after the swap
        def on_test_begin(self, logs=None):
            seen["weights"] = _values(v.value for v in self.model.trainable_variables)

    swap = callbacks.SwapEMAWeights()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y),
                        callbacks=[swap, Probe()])
    # fit ends with the averages in the model; validation ran on the averages
    averages = _values(opt.state.ema)
    for w, a, s in zip(_values(v.value for v in model.trainable_variables), averages,
                       seen["weights"]):
        np.testing.assert_array_equal(w, a)
        np.testing.assert_array_equal(s, a)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(history.history["val_loss"][-1],
                                                            rel=1e-6)
    # a manual swap exchanges weights and averages, and swapping back restores both
    opt.state = opt.state._replace(ema=[a + 1.0 for a in opt.state.ema])
    before_w = _values(v.value for v in model.trainable_variables)
    before_a = _values(opt.state.ema)
    swap.on_test_begin()
    for w, a, bw, ba in zip(model.trainable_variables, opt.state.ema, before_w, before_a):
        np.testing.assert_array_equal(np.asarray(w.value), ba)
        np.testing.assert_array_equal(np.asarray(a), bw)
    swap.on_test_end()
    for w, a, bw, ba in zip(model.trainable_variables, opt.state.ema, before_w, before_a):
        np.testing.assert_array_equal(np.asarray(w.value), bw)
        np.testing.assert_array_equal(np.asarray(a), ba)


def test_swap_ema_weights_needs_use_ema(data):
    model = _model(keras.optimizers.SGD(0.1))
    swap = callbacks.SwapEMAWeights()
    swap.set_model(model)
    with pytest.raises(ValueError, match="SwapEMAWeights needs an optimizer created with "
                                         "use_ema=True"):
        swap.on_test_begin()


class _Collector(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"],
                                    self.headers.get("X-Run"), body.decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Collector.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Collector.received
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_each_epoch(data, server):
    root, received = server
    x, y = data
    model = _model(keras.optimizers.SGD(0.05))
    monitor = callbacks.RemoteMonitor(root=root, headers={"X-Run": "7"})
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[monitor])
    assert len(received) == 2
    for epoch, (path, content_type, run, body) in enumerate(received):
        assert path == "/publish/epoch/end/" and run == "7"
        assert content_type == "application/x-www-form-urlencoded"
        sent = json.loads(urllib.parse.parse_qs(body)["data"][0])
        assert sent["epoch"] == epoch
        assert sent["loss"] == pytest.approx(history.history["loss"][epoch])
    as_json = callbacks.RemoteMonitor(root=root, path="/p", send_as_json=True)
    as_json.on_epoch_end(3, {"loss": np.float32(0.5), "acc": np.array(0.25)})
    assert received[-1][:2] == ("/p", "application/json")
    assert json.loads(received[-1][3]) == {"epoch": 3, "loss": 0.5, "acc": 0.25}


def test_remote_monitor_warns_when_unreachable():
    monitor = callbacks.RemoteMonitor(root="http://127.0.0.1:9", timeout=2.0)
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        monitor.on_epoch_end(0, {"loss": 1.0})


def test_orbax_checkpoint_needs_the_package(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "orbax", None)
    monkeypatch.setitem(sys.modules, "orbax.checkpoint", None)
    with pytest.raises(ImportError, match="pip install orbax-checkpoint"):
        callbacks.OrbaxCheckpoint(str(tmp_path))
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or an int >= 1"):
        callbacks.OrbaxCheckpoint(str(tmp_path), save_freq="batch")


def test_initializer_aliases_are_the_classes():
    pairs = {"constant": "Constant", "glorot_normal": "GlorotNormal",
             "glorot_uniform": "GlorotUniform", "he_normal": "HeNormal",
             "he_uniform": "HeUniform", "identity": "Identity", "lecun_normal": "LecunNormal",
             "lecun_uniform": "LecunUniform", "ones": "Ones", "orthogonal": "Orthogonal",
             "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
             "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
             "zeros": "Zeros", "IdentityInitializer": "Identity",
             "OrthogonalInitializer": "Orthogonal"}
    for alias, name in pairs.items():
        assert getattr(initializers, alias) is getattr(initializers, name), alias
    assert type(initializers.get("OrthogonalInitializer")) is initializers.Orthogonal
    w = np.asarray(initializers.glorot_uniform(seed=1)((200, 100)))
    limit = np.sqrt(6 / 300)
    assert np.abs(w).max() <= limit and w.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    q = np.asarray(initializers.OrthogonalInitializer(gain=2.0, seed=1)((6, 4)))
    np.testing.assert_allclose(q.T @ q, 4.0 * np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(initializers.IdentityInitializer(gain=3.0)((2, 3)),
                                  3.0 * np.eye(2, 3))


def test_orthogonal_regularizer_formula(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    for mode, vectors in (("rows", x), ("columns", x.T)):
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        products = np.abs(unit @ unit.T)
        n = len(unit)
        want = 0.1 * 0.5 * (products.sum() - np.trace(products)) / (n * (n - 1) / 2)
        got = regularizers.orthogonal_regularizer(factor=0.1, mode=mode)(x)
        assert float(got) == pytest.approx(want, rel=1e-5)
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    reg = regularizers.get("orthogonal_regularizer")
    assert reg.get_config() == {"factor": 0.01, "mode": "rows"}
    assert type(regularizers.deserialize(regularizers.serialize(reg))) is \
        regularizers.OrthogonalRegularizer
    assert float(regularizers.OrthogonalRegularizer()(np.ones((1, 3)))) == 0.0
    with pytest.raises(ValueError, match="mode must be 'rows' or 'columns'"):
        regularizers.OrthogonalRegularizer(mode="diag")
