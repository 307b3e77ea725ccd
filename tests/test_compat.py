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
