"""Safety: configs naming foreign code are refused and nothing runs; lambdas need
safe_mode=False; fuzzed configs and archives give only clean errors; a process
killed while saving always leaves a whole, loadable file."""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import jkeras
from jkeras import Input, Model, layers
from jkeras.saving import deserialize_keras_object, load_model, model_from_json

pytest.importorskip("h5py")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EVIL_MODULE = textwrap.dedent("""
    import pathlib
    pathlib.Path({flag!r}).write_text("imported")

    class Evil:
        @classmethod
        def from_config(cls, config):
            pathlib.Path({flag!r}).write_text("ran")
            return cls()

    def evil_fn(*a, **k):
        pathlib.Path({flag!r}).write_text("ran")
""")


@pytest.fixture
def evil(tmp_path, monkeypatch):
    flag = tmp_path / "flag.txt"
    (tmp_path / "evil_mod_jk.py").write_text(EVIL_MODULE.format(flag=str(flag)))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("evil_mod_jk", None)
    yield flag
    sys.modules.pop("evil_mod_jk", None)


def _assert_nothing_ran(flag):
    assert not flag.exists()
    assert "evil_mod_jk" not in sys.modules


@pytest.mark.parametrize("config", [
    {"module": "evil_mod_jk", "class_name": "Evil", "config": {}, "registered_name": None},
    {"module": "evil_mod_jk", "class_name": "function", "config": "evil_fn",
     "registered_name": "evil_fn"},
    {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"},
    {"module": "subprocess", "class_name": "Popen", "config": {"args": ["true"]}},
    {"module": "evil_mod_jk", "class_name": "Dense", "config": {"units": 2}},
])
def test_foreign_module_is_refused_naming_it(evil, config):
    with pytest.raises(ValueError) as e:
        deserialize_keras_object(config)
    name = config["config"] if config["class_name"] == "function" else config["class_name"]
    assert config["module"] in str(e.value) and name in str(e.value)
    assert "custom_objects" in str(e.value)
    _assert_nothing_ran(evil)


def test_python_builtins_are_not_functions_of_jkeras(evil):
    for fn in ("eval", "exec", "__import__", "open"):
        with pytest.raises(ValueError, match=fn):
            deserialize_keras_object({"module": "builtins", "class_name": "function",
                                      "config": fn})
    with pytest.raises(ValueError):
        deserialize_keras_object({"module": "keras.layers", "class_name": "__class__",
                                  "config": {}}, kind="layer")


def _model_file(tmp_path, name="m.keras"):
    x = Input(shape=(3,))
    m = Model(x, layers.Dense(1, name="out")(layers.Dense(2, name="hid")(x)))
    p = tmp_path / name
    m.save(p)
    return m, p


def _rewrite(src, dst, edit_config=None, raw=None):
    zin = zipfile.ZipFile(src)
    parts = {n: zin.read(n) for n in zin.namelist()}
    if edit_config is not None:
        cfg = json.loads(parts["config.json"])
        edit_config(cfg)
        parts["config.json"] = json.dumps(cfg).encode()
    if raw is not None:
        parts["config.json"] = raw
    with zipfile.ZipFile(dst, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)


def test_foreign_class_inside_a_keras_file_is_refused(tmp_path, evil):
    _, p = _model_file(tmp_path)
    bad = tmp_path / "evil.keras"

    def edit(cfg):
        hid = cfg["config"]["layers"][1]
        hid["config"]["kernel_initializer"] = {"module": "evil_mod_jk", "class_name": "Evil",
                                               "config": {}, "registered_name": None}

    _rewrite(p, bad, edit)
    with pytest.raises(ValueError, match=r"evil.keras.*evil_mod_jk.*Evil"):
        load_model(bad)
    _assert_nothing_ran(evil)


def test_foreign_top_level_model_class_is_refused(tmp_path, evil):
    _, p = _model_file(tmp_path)
    bad = tmp_path / "evil2.keras"

    def edit(cfg):
        cfg["module"] = "evil_mod_jk"
        cfg["class_name"] = "Evil"
        cfg["registered_name"] = "Evil"

    _rewrite(p, bad, edit)
    with pytest.raises(ValueError, match="evil_mod_jk"):
        load_model(bad)
    _assert_nothing_ran(evil)


def test_lambda_is_refused_by_default_and_code_never_runs(tmp_path):
    flag = tmp_path / "lambda_ran.txt"
    path = str(flag)

    def side_effect(t, p=path):
        open(p, "w").close()
        return t

    x = Input(shape=(2,))
    m = Model(x, layers.Lambda(lambda t, p=path: (open(p, "w").close(), t)[1])(x))
    flag.unlink()  # building the original model ran the lambda once
    text = m.to_json()
    assert "__lambda__" in text
    with pytest.raises(ValueError, match="safe_mode=False") as e:
        model_from_json(text)
    assert "Lambda" in str(e.value) or "lambda" in str(e.value)
    assert not flag.exists()
    m2 = model_from_json(text, safe_mode=False)
    assert flag.exists()  # it runs only when allowed
    np.testing.assert_allclose(np.asarray(m2(np.ones((1, 2), "float32"))), 1.0)
    _ = side_effect


def test_named_function_lambda_needs_custom_objects(tmp_path):
    # (a name no other test registers: a plain name also matches a registered "pkg>name")
    def twice_in_safety_test(t):
        return t * 2.0

    x = Input(shape=(2,))
    text = Model(x, layers.Lambda(twice_in_safety_test)(x)).to_json()
    assert "__lambda__" not in text
    with pytest.raises(ValueError, match="twice_in_safety_test"):
        model_from_json(text)
    m = model_from_json(text, custom_objects={"twice_in_safety_test": twice_in_safety_test})
    np.testing.assert_allclose(np.asarray(m(np.ones((1, 2), "float32"))), 2.0)


def test_keras2_lambda_bytecode_refused(tmp_path):
    cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Lambda", "config": {
            "name": "lam", "function": ["YWJj", None, None], "function_type": "lambda",
            "module": "__main__", "output_shape": None, "output_shape_type": "raw",
            "arguments": {}, "batch_input_shape": [None, 2]}}]}}
    with pytest.raises(ValueError, match="safe_mode"):
        jkeras.saving.model_from_config(cfg)


def test_deeply_nested_json_is_a_clean_error():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValueError, match="nested|JSON"):
        model_from_json(deep)
    nested = {"a": None}
    cur = nested
    for _ in range(500):
        cur["a"] = {"a": None}
        cur = cur["a"]
    with pytest.raises(ValueError, match="nested"):
        deserialize_keras_object(nested)


# ------------------------------------------------------------------------------------
# fuzzing (few examples, fast)
# ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    jkeras.backend.clear_session()
    x = Input(shape=(3,))
    h = layers.Dense(2, activation="relu")(x)
    y = layers.concatenate([h, layers.Dense(2)(x)])
    m = Model(x, layers.Dense(1)(y))
    p = d / "base.keras"
    m.save(p)
    return p, p.read_bytes()


def _paths(node, prefix=()):
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _set(node, path, value):
    if not path:
        return value
    cur = node
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return node


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
              st.sampled_from(["os.system", "Dense", "InputLayer", "__lambda__", "function",
                               "keras.layers", "evil_mod_jk", 10**12, -1, 0])),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(
                                   ["class_name", "config", "module", "name", "units",
                                    "registered_name", "keras_history", "args", "kwargs"]),
                                   children, max_size=3)),
    max_leaves=6)


def _load_expecting_clean(path):
    try:
        load_model(path)
    except (ValueError, OSError):
        pass
    except Warning:
        pass


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_config_values_give_clean_errors(base_file, tmp_path_factory, data):
    path, raw = base_file
    zin = zipfile.ZipFile(io.BytesIO(raw))
    cfg = json.loads(zin.read("config.json"))
    paths = _paths(cfg)
    n = data.draw(st.integers(1, 3))
    for _ in range(n):
        target = data.draw(st.sampled_from(paths))
        cfg = _set(cfg, target, data.draw(json_values))
        paths = _paths(cfg)
    out = tmp_path_factory.mktemp("f") / "fz.keras"
    text = json.dumps(cfg) if isinstance(cfg, (dict, list)) else json.dumps(cfg)
    _rewrite(path, out, raw=text.encode())
    with _no_code_run():
        _load_expecting_clean(out)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_archive_bytes_give_clean_errors(base_file, tmp_path_factory, data):
    _, raw = base_file
    buf = bytearray(raw)
    mode = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if mode == "truncate":
        buf = buf[: data.draw(st.integers(0, len(buf) - 1))]
    elif mode == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] = data.draw(st.integers(0, 255))
    else:
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    out = tmp_path_factory.mktemp("b") / "fb.keras"
    out.write_bytes(bytes(buf))
    with _no_code_run():
        _load_expecting_clean(out)


class _no_code_run:  # noqa: N801
    """Fails the test if loading tried to start a process or import a new module
    outside jkeras/jax/numpy/h5py/stdlib."""

    def __enter__(self):
        self.before = set(sys.modules)
        self._system, self._popen = os.system, subprocess.Popen

        def forbidden(*a, **k):
            raise AssertionError("loading tried to run a process")

        os.system = forbidden
        subprocess.Popen = forbidden
        return self

    def __exit__(self, *exc):
        os.system, subprocess.Popen = self._system, self._popen
        new = set(sys.modules) - self.before
        assert "evil_mod_jk" not in new
        return False


# ------------------------------------------------------------------------------------
# killed mid-save
# ------------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from jkeras import Input, Model, layers

    path = sys.argv[1]
    x = Input(shape=(256,))
    m = Model(x, layers.Dense(256, name="d")(x))
    d = m.get_layer("d")
    i = 0
    while True:
        d.kernel.assign(np.full((256, 256), float(i), "float32"))
        d.bias.assign(np.full((256,), float(i), "float32"))
        m.save(path)
        if i == 0:
            print("ready", flush=True)
        i += 1
""")


def _kill_mid_save(tmp_path, rounds: int):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    target = tmp_path / "model.keras"
    rng = np.random.default_rng(0)
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(jkeras.__file__)))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    last_values = set()
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            line = proc.stdout.readline()
            assert line.strip() == b"ready", line
            time.sleep(float(rng.uniform(0.05, 0.6)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        m = load_model(target)
        k = m.get_layer("d").kernel.numpy()
        b = m.get_layer("d").bias.numpy()
        assert np.all(k == k.flat[0]) and np.all(b == k.flat[0]), "a mixed (half) save"
        last_values.add(float(k.flat[0]))
    leftovers = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    return last_values, leftovers


def test_process_killed_mid_save_leaves_whole_file(tmp_path):
    values, _ = _kill_mid_save(tmp_path, rounds=2)
    assert values


@pytest.mark.slow
def test_process_killed_mid_save_many_times(tmp_path):
    values, leftovers = _kill_mid_save(tmp_path, rounds=20)
    assert len(values) > 1
    assert leftovers, "no kill landed during a save (temporary file left behind)"
