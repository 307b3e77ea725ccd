"""keras.config, a Keras user's ~/.keras/keras.json, keras.backend helpers,
keras.dtype_policies and the top-level Keras 3 names (Function, StatelessScope,
name_scope, device, remat/RematScope, version)."""

import json
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras as keras
from jkeras.backend import config as backend_config


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """A KERAS_HOME of the test's own, and the process settings cleared after."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("JKERAS_IMAGE_DATA_FORMAT", raising=False)
    backend_config.reset_settings()
    yield home
    backend_config.reset_settings()


def _write(path, data):
    path.write_text(json.dumps(data))
    os.utime(path, (1, 1 + len(json.dumps(data))))  # a new stamp even within one second


def test_keras1_config_file_image_dim_ordering_th_drives_a_conv_model(keras_home):
    _write(keras_home / "keras.json", {"image_dim_ordering": "th", "backend": "theano",
                                       "floatx": "float32", "epsilon": 1e-07})
    assert keras.config.image_data_format() == "channels_first"
    assert keras.backend.image_dim_ordering() == "th"
    # the guide's channels-first code: (channels, rows, cols) inputs
    inputs = keras.Input(shape=(3, 8, 8))
    x = keras.layers.Conv2D(4, (3, 3), padding="same")(inputs)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    assert x.shape == (None, 4, 4, 4)
    model = keras.Model(inputs, x)
    assert model.predict(np.zeros((2, 3, 8, 8), "float32"), verbose=0).shape == (2, 4, 4, 4)


def test_keras3_config_file_keys_and_precedence(keras_home, tmp_path, monkeypatch):
    _write(keras_home / "keras.json", {"image_data_format": "channels_first",
                                       "floatx": "float16", "epsilon": 0.001})
    assert keras.config.image_data_format() == "channels_first"
    assert keras.config.floatx() == "float16"
    assert keras.config.epsilon() == 0.001
    assert keras.layers.Dense(2).dtype_policy.name == "float16"
    # jkeras's own file wins over Keras's
    jhome = tmp_path / "jkeras_home"
    jhome.mkdir()
    monkeypatch.setenv("JKERAS_HOME", str(jhome))
    _write(jhome / "jkeras.json", {"image_data_format": "channels_last"})
    assert keras.config.image_data_format() == "channels_last"
    assert keras.config.floatx() == "float16"  # a key jkeras.json does not set
    # the environment wins over both, and a value set in the process over all
    monkeypatch.setenv("JKERAS_IMAGE_DATA_FORMAT", "channels_first")
    assert keras.config.image_data_format() == "channels_first"
    keras.config.set_image_data_format("channels_last")
    keras.config.set_floatx("float32")
    assert keras.config.image_data_format() == "channels_last"
    assert keras.config.floatx() == "float32"


def test_bad_values_in_keras_json_are_ignored_with_a_warning(keras_home):
    _write(keras_home / "keras.json", {"floatx": "float8", "image_data_format": "rows_first"})
    with pytest.warns(UserWarning, match="floatx in .*keras.json.*'float8'"):
        assert keras.config.floatx() == "float32"
    with pytest.warns(UserWarning, match="image_data_format"):
        assert keras.config.image_data_format() == "channels_last"
    (keras_home / "keras.json").write_text("{not json")
    os.utime(keras_home / "keras.json", (5, 5))
    with pytest.warns(UserWarning, match="unreadable config file"):
        keras.config.floatx()


def test_config_switches():
    assert keras.config.backend() == "jax"
    keras.config.set_backend("jax")
    with pytest.raises(ValueError, match="jkeras computes with JAX only"):
        keras.config.set_backend("torch")
    assert keras.config.is_nnx_enabled() is False
    assert keras.config.is_flash_attention_enabled() is None
    keras.config.disable_flash_attention()
    assert keras.config.is_flash_attention_enabled() is False
    keras.config.enable_flash_attention()
    assert keras.config.is_flash_attention_enabled() is True
    keras.config.disable_flash_attention()
    assert keras.config.is_traceback_filtering_enabled() is True
    keras.config.disable_traceback_filtering()
    assert keras.config.is_traceback_filtering_enabled() is False
    keras.config.enable_traceback_filtering()
    assert keras.config.is_interactive_logging_enabled() is True
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        assert keras.layers.Dense(2).compute_dtype == "bfloat16"
    finally:
        keras.config.set_dtype_policy(None)


def test_traceback_filtering_hides_jkeras_frames():
    def frames(exc):
        tb, files = exc.__traceback__, []
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        return files

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(RuntimeError) as info:
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    package = os.path.dirname(keras.__file__)
    filtered = [f for f in frames(info.value) if f.startswith(package)]
    keras.config.disable_traceback_filtering()
    try:
        with pytest.raises(RuntimeError) as info:
            model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    finally:
        keras.config.enable_traceback_filtering()
    full = [f for f in frames(info.value) if f.startswith(package)]
    assert len(filtered) < len(full)
    assert "must be compiled" in str(info.value)


def test_max_epochs_and_max_steps_per_epoch(monkeypatch):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((32, 3), "float32"), np.zeros((32, 1), "float32")
    keras.config.set_max_epochs(2)
    keras.config.set_max_steps_per_epoch(3)
    try:
        with pytest.warns(UserWarning, match="Limiting epochs to 2"):
            history = model.fit(x, y, epochs=5, batch_size=4, verbose=0)
        assert len(history.history["loss"]) == 2
        assert model.optimizer.iterations == 6  # 2 epochs of 3 steps
    finally:
        keras.config.set_max_epochs(None)
        keras.config.set_max_steps_per_epoch(None)
    monkeypatch.setenv("KERAS_MAX_EPOCHS", "1")
    assert keras.config.max_epochs() == 1


def test_backend_helpers():
    assert keras.backend.get_uid("x") == 1 and keras.backend.get_uid("x") == 2
    assert keras.backend.get_uid("y") == 1
    keras.backend.clear_session()
    assert keras.backend.get_uid("x") == 1
    assert keras.backend.is_float_dtype("bfloat16") and not keras.backend.is_float_dtype(int)
    assert keras.backend.is_int_dtype("uint8") and not keras.backend.is_int_dtype("float32")
    assert keras.backend.standardize_dtype(np.float32) == "float32"
    # Keras 3's rules on JAX: promotion as JAX, 64-bit given as 32-bit, Python scalars weak
    assert keras.backend.result_type("int32", "float16") == "float16"
    assert keras.backend.result_type("int8", "uint8") == "int16"
    assert keras.backend.result_type("int64", "float32") == "float32"
    assert keras.backend.result_type("float64", "int32") == "float32"
    assert keras.backend.result_type(int, "float16") == "float16"
    assert keras.backend.result_type(float, "int32") == "float32"
    assert keras.backend.result_type() == "float32"


def test_dtype_policies_module():
    dp = keras.dtype_policies
    policy = dp.get("mixed_float16")
    assert (policy.compute_dtype, policy.variable_dtype) == ("float16", "float32")
    assert dp.deserialize(dp.serialize(policy)) == policy
    assert isinstance(dp.FloatDTypePolicy("float32"), dp.DTypePolicy)
    policy_map = dp.DTypePolicyMap(default_policy="float32")
    policy_map["encoder/layer_0/dense"] = "bfloat16"
    policy_map["encoder/.*"] = "float16"
    assert policy_map["encoder/layer_0/dense"].name == "bfloat16"
    assert policy_map["encoder/attention/query"].name == "float16"
    assert policy_map["decoder/attention"].name == "float32"
    policy_map["encoder/attention/.*"] = "bfloat16"
    with pytest.raises(ValueError, match="matches multiple dtype policy"):
        policy_map["encoder/attention/query"]
    with pytest.raises(ValueError, match="already set"):
        policy_map["encoder/.*"] = "float32"
    again = dp.deserialize(dp.serialize(policy_map))
    assert again["encoder/layer_0/dense"].name == "bfloat16" and len(again) == 3


def test_function_stateless_scope_and_name_scope():
    a, b = keras.Input((3,)), keras.Input((3,))
    fn = keras.Function([a, b], keras.ops.multiply(keras.ops.add(a, b), 2.0))
    np.testing.assert_allclose(fn([np.ones((2, 3)), np.ones((2, 3))]), np.full((2, 3), 4.0))
    assert [op.op_name for op in fn.operations if hasattr(op, "op_name")] == ["add", "multiply"]
    v = keras.Variable(np.zeros(2, "float32"))
    with keras.StatelessScope(state_mapping=[(v, jnp.ones(2))]) as scope:
        np.testing.assert_array_equal(v.value, [1.0, 1.0])
        v.assign(v.value + 1.0)
    np.testing.assert_array_equal(scope.get_current_value(v), [2.0, 2.0])
    np.testing.assert_array_equal(v.value, [0.0, 0.0])  # the variable itself unchanged
    with pytest.raises(ValueError, match="list of \\(variable, value\\) pairs"):
        keras.StatelessScope(state_mapping=[v])
    with keras.name_scope("encoder"):
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
    assert layer.kernel.path == "encoder/dense/kernel"
    with keras.SymbolicScope():
        pass
    assert keras.version() == keras.__version__


def test_device_and_remat():
    with keras.device("cpu:0"):
        x = jnp.ones(3)
    assert list(x.devices())[0].platform == "cpu"
    with pytest.raises(ValueError, match="there are 1 cpu device"):
        with keras.device("cpu:7"):
            pass
    with keras.RematScope(mode="full"):
        dense = keras.layers.Dense(4, activation="relu")
    plain = keras.layers.Dense(4, activation="relu")
    dense.build((None, 3))
    plain.build((None, 3))
    plain.set_weights(dense.get_weights())
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 3)), "float32")

    def loss(layer):
        def f(values):
            out, _ = layer.stateless_call(values, [], x)
            return jnp.sum(out ** 2)
        return f

    values = [v.value for v in dense.trainable_variables]
    assert "remat" in str(jax.make_jaxpr(jax.grad(loss(dense)))(values))
    assert "remat" not in str(jax.make_jaxpr(jax.grad(loss(plain)))(values))
    grads = jax.jit(jax.grad(loss(dense)))(values)
    expected = jax.jit(jax.grad(loss(plain)))(values)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6)
    assert float(keras.remat(lambda t: jnp.sin(t) * 2)(1.0)) == pytest.approx(2 * np.sin(1.0))
    with pytest.raises(ValueError, match="needs `layer_names`"):
        keras.RematScope(mode="list_of_layers")


def test_callback_hooks_always_get_dicts_and_predict_hooks_run():
    seen = []

    class Recorder(keras.callbacks.Callback):
        def _record(self, hook, logs):
            seen.append((hook, sorted(logs.keys())))  # logs.keys() must work in every hook

        def on_train_begin(self, logs=None):
            self._record("train_begin", logs)

        def on_epoch_begin(self, epoch, logs=None):
            self._record("epoch_begin", logs)

        def on_train_batch_begin(self, batch, logs=None):
            self._record("train_batch_begin", logs)

        def on_test_begin(self, logs=None):
            self._record("test_begin", logs)

        def on_test_batch_begin(self, batch, logs=None):
            self._record("test_batch_begin", logs)

        def on_predict_begin(self, logs=None):
            self._record("predict_begin", logs)

        def on_predict_batch_begin(self, batch, logs=None):
            self._record("predict_batch_begin", logs)

        def on_predict_batch_end(self, batch, logs=None):
            seen.append(("predict_batch_end", logs["outputs"].shape))

        def on_predict_end(self, logs=None):
            self._record("predict_end", logs)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((6, 3), "float32"), np.zeros((6, 2), "float32")
    model.fit(x, y, batch_size=3, epochs=1, verbose=0, callbacks=[Recorder()],
              validation_data=(x, y))
    out = model.predict(x, batch_size=4, verbose=0, callbacks=[Recorder()])
    assert out.shape == (6, 2)
    hooks = [h for h, _ in seen]
    for hook in ("train_begin", "epoch_begin", "train_batch_begin", "test_begin",
                 "test_batch_begin", "predict_begin", "predict_batch_begin", "predict_end"):
        assert hook in hooks
    assert ("predict_batch_end", (4, 2)) in seen and ("predict_batch_end", (2, 2)) in seen
    assert all(keys == [] for h, keys in seen if h.endswith("begin"))


def test_eager_layer_outputs_carry_keras_masks():
    embedding = keras.layers.Embedding(input_dim=10, output_dim=3, mask_zero=True)
    out = embedding(np.array([[1, 2, 0, 0]]))
    np.testing.assert_array_equal(out._keras_mask, [[True, True, False, False]])
    masking = keras.layers.Masking(mask_value=0.0)
    masked = masking(np.array([[[1.0], [0.0]]], "float32"))
    np.testing.assert_array_equal(masked._keras_mask, [[True, False]])
    # the mask travels to the next eager call: an LSTM skips the masked steps
    lstm = keras.layers.LSTM(2, return_sequences=True)
    full = np.asarray(lstm(out))
    np.testing.assert_allclose(full[0, 2], full[0, 1], rtol=1e-6)  # masked: state kept
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.layers.Dense(2)(np.ones((1, 3), "float32"))  # no mask: nothing attached


def test_a_layer_passed_where_a_tensor_is_expected_is_named():
    x = keras.Input((3, 8, 8))
    conv = keras.layers.Conv2D(3, 3, padding="same", name="conv")
    with pytest.raises(TypeError, match=r"Layer 'add' \(Add\) was given the layer 'conv' "
                                        r"\(Conv2D\) as `inputs\[1\]`, but it takes tensors"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            keras.layers.merge([x, conv], mode="sum")
    with pytest.raises(TypeError, match="Call that layer on a tensor first"):
        keras.layers.Dense(2)(conv)


def test_readme_alias_line_works_in_a_fresh_process():
    """`import jkeras; jkeras.compat.install_keras_alias()` (the README's line), then
    Keras module paths import through the alias."""
    import subprocess
    import sys

    code = ("import jkeras; jkeras.compat.install_keras_alias(); import keras.datasets.mnist; "
            "import keras; print(keras.datasets.mnist.__name__, keras.Model is jkeras.Model)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["keras.datasets.mnist", "True"]
