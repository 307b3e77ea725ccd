"""Running Keras scripts unchanged: the keras import alias and `jkeras run`."""

import sys
import textwrap

import pytest

from jkeras import cli, compat

KERAS1_SCRIPT = textwrap.dedent("""
    import numpy as np
    from keras.models import Model
    from keras.layers import Input, Dense, merge
    from keras.layers.core import Activation
    from keras.utils import np_utils
    from keras import backend as K

    a = Input(shape=(3,))
    b = Input(shape=(3,))
    x = merge([a, b], mode='concat')
    out = Activation('softmax')(Dense(2)(x))
    model = Model(input=[a, b], output=out)
    p = model.predict([np.ones((4, 3)), np.zeros((4, 3))])
    assert p.shape == (4, 2)
    assert np_utils.to_categorical([1, 0]).shape == (2, 2)
    with open(OUT, 'w') as f:
        f.write('ok %s %s' % (p.shape, K.image_data_format()))
""")


@pytest.fixture
def alias():
    yield
    compat.uninstall_keras_alias()


def test_jkeras_run_keras1_script(tmp_path, alias):
    out = tmp_path / "result.txt"
    script = tmp_path / "k1.py"
    script.write_text(f"OUT = {str(out)!r}\n" + KERAS1_SCRIPT)
    with pytest.warns(DeprecationWarning):
        assert cli.main(["run", str(script)]) == 0
    assert out.read_text() == "ok (4, 2) channels_last"


def test_jkeras_run_reports_missing_api(tmp_path, capsys, alias):
    script = tmp_path / "k2.py"
    script.write_text("from keras.layers import FancyLayer\n")
    assert cli.main(["run", str(script)]) == 2
    err = capsys.readouterr().err
    assert "keras.layers.FancyLayer" in err and "lacks" in err


def test_install_keras_alias_in_notebook(alias):
    compat.install_keras_alias()
    import keras  # noqa: F401  (resolved by the alias)
    from keras.layers import Dense

    import jkeras

    assert Dense is jkeras.layers.Dense
    assert sys.modules["keras"].Model is jkeras.Model
    with pytest.raises(AttributeError, match="keras.layers.NoSuchLayer"):
        _ = keras.layers.NoSuchLayer


def test_every_jkeras_module_imports_through_the_alias(alias):
    import importlib

    compat.install_keras_alias()
    modules = compat.jkeras_modules()
    assert {"jkeras.tree", "jkeras.random", "jkeras.ops.image", "jkeras.ops.linalg",
            "jkeras.utils.legacy", "jkeras.utils.bounding_boxes",
            "jkeras.preprocessing.image", "jkeras.datasets.mnist"} <= modules
    assert not any(m.split(".")[-1].startswith("_") or m in ("jkeras.cli", "jkeras.compat")
                   for m in modules)
    for name in sorted(modules):
        alias_module = importlib.import_module("keras" + name[len("jkeras"):])
        assert alias_module._targets[0] is importlib.import_module(name), name
    import keras
    from keras.utils import legacy

    assert legacy._targets[0] is jkeras_module("utils.legacy")
    assert keras.tree.flatten({"b": 1, "a": 2}) == [2, 1]
    from keras.ops.linalg import det
    assert det is jkeras_module("ops.linalg").det


def jkeras_module(path):
    import importlib

    return importlib.import_module(f"jkeras.{path}")


def test_keras1_and_keras2_paths(alias):
    compat.install_keras_alias()
    from keras.engine.topology import Layer
    from keras.layers.core import Activation, Dense
    from keras.utils.np_utils import to_categorical

    assert Layer is jkeras_module("layers").Layer
    assert Dense is jkeras_module("layers").Dense
    assert Activation is jkeras_module("layers").Activation
    assert to_categorical is jkeras_module("utils").to_categorical


@pytest.mark.parametrize("module,name,words", [
    ("layers", "TFSMLayer", ["TensorFlow", "SavedModel"]),
    ("layers", "TorchModuleWrapper", ["PyTorch"]),
    ("export", "ExportArchive", ["TensorFlow", "keras.export"]),
    ("quantizers", "Quantizer", ["quantization"]),
])
def test_excluded_keras_apis_say_why(alias, module, name, words):
    import importlib

    compat.install_keras_alias()
    keras = importlib.import_module("keras")
    # attribute access: keras.layers.TFSMLayer, keras.export, keras.quantizers
    with pytest.raises(AttributeError) as err:
        getattr(keras.layers, name) if module == "layers" else getattr(keras, module)
    assert all(w in str(err.value) for w in words), str(err.value)
    with pytest.raises(ImportError) as err:
        exec(f"from keras.{module} import {name}", {})
    assert all(w in str(err.value) for w in words), str(err.value)
    assert not hasattr(keras.layers, name)


def test_unknown_api_named_on_import_and_attribute(alias):
    compat.install_keras_alias()
    import keras

    with pytest.raises(ImportError, match="keras.layers.FancyLayer.*not implemented"):
        exec("from keras.layers import FancyLayer", {})
    with pytest.raises(AttributeError, match="keras.ops.no_such_op"):
        _ = keras.ops.no_such_op


def test_keras_src_paths(alias):
    compat.install_keras_alias()
    from keras.src.backend.common.keras_tensor import KerasTensor
    from keras.src.layers import Layer
    from keras.src.layers.core.dense import Dense

    import jkeras

    assert (Layer, Dense, KerasTensor) == (jkeras.Layer, jkeras.layers.Dense,
                                           jkeras.backend.keras_tensor.KerasTensor)
    with pytest.raises(ImportError, match="keras.src.utils.no_such_helper.*private"):
        exec("from keras.src.utils import no_such_helper", {})
    with pytest.raises(ImportError, match="keras.src.backend.tensorflow"):
        exec("import keras.src.backend.tensorflow", {})


def test_jkeras_run_names_missing_api_on_attribute_access(tmp_path, capsys, alias):
    script = tmp_path / "k3.py"
    script.write_text("import keras\nlayer = keras.layers.TFSMLayer('model_dir')\n")
    assert cli.main(["run", str(script)]) == 2
    err = capsys.readouterr().err
    assert "keras.layers.TFSMLayer" in err and "TensorFlow" in err


def test_exclusion_list():
    from jkeras import _keras3_exclusions as ex

    for name in ("layers.TFSMLayer", "layers.TorchModuleWrapper", "export",
                 "export.ExportArchive", "quantizers", "Quantizer", "src",
                 "dtype_policies.AWQDTypePolicy", "dtype_policies.GPTQDTypePolicy",
                 "dtype_policies.Int4DTypePolicy", "dtype_policies.QuantizedDTypePolicy",
                 "dtype_policies.QuantizedFloat8DTypePolicy"):
        assert isinstance(ex.EXCLUDED[name], str) and len(ex.EXCLUDED[name]) > 10
    assert ex.reason("keras.quantizers.AbsMaxQuantizer") == ex.EXCLUDED["quantizers"]
    assert ex.is_excluded("layers", "TFSMLayer") and ex.is_excluded("", "Quantizer")
    assert not ex.is_excluded("layers", "Dense") and ex.reason("dtype_policies") is None
