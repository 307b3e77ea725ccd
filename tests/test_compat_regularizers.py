"""Regularizers as Keras 3 has them (the lower-case names are the classes), with Keras 1
and 2 calls and configs still working."""

import numpy as np
import pytest

from jkeras import layers, regularizers, saving

W = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")


def test_lower_case_names_are_the_classes():
    assert regularizers.l1 is regularizers.L1
    assert regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    # Keras 3 defaults; None means the default
    assert regularizers.L2().get_config() == {"l2": 0.01}
    assert regularizers.L1(None).get_config() == {"l1": 0.01}
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.L1L2(l1=None, l2=0.5).get_config() == {"l1": 0.0, "l2": 0.5}


def test_penalties():
    l1, l2 = np.abs(W).sum(), np.square(W).sum()
    assert float(regularizers.l2(0.5)(W)) == pytest.approx(0.5 * l2)
    assert float(regularizers.l1(0.1)(W)) == pytest.approx(0.1 * l1)
    assert float(regularizers.l1_l2(l1=0.1, l2=0.2)(W)) == pytest.approx(0.1 * l1 + 0.2 * l2)
    assert float(regularizers.L1L2()(W)) == 0.0


def test_keras1_and_keras2_calls():
    assert regularizers.l2(0.01).get_config() == {"l2": 0.01}
    assert regularizers.l1_l2(l1=0.01, l2=0.02).get_config() == {"l1": 0.01, "l2": 0.02}
    assert regularizers.l2(l=0.3).get_config() == {"l2": 0.3}  # Keras 1 keyword
    # the string 'l1_l2' means 0.01 for both (Keras 2 and Keras 3's documentation)
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.get("l2").get_config() == {"l2": 0.01}
    # a Keras 1 layer config's regularizer
    keras1 = {"name": "WeightRegularizer", "l1": 0.0, "l2": 0.01}
    assert regularizers.get(keras1).get_config() == {"l1": 0.0, "l2": 0.01}


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "x", True])
def test_bad_factors(bad):
    with pytest.raises(ValueError, match="L2: `l2` must be a non-negative float"):
        regularizers.L2(bad)
    with pytest.raises(ValueError, match="L1L2: `l1` must be a non-negative float"):
        regularizers.L1L2(l1=bad)


def test_configs_exchange_with_keras3():
    layer = layers.Dense(2, kernel_regularizer=regularizers.l2(0.1),
                         bias_regularizer=regularizers.l1_l2(l1=0.1, l2=0.2))
    config = saving.serialize_keras_object(layer)["config"]
    assert config["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                            "config": {"l2": 0.1}, "registered_name": None}
    assert config["bias_regularizer"]["class_name"] == "L1L2"
    # as Keras 3.15 writes them
    for written, expected in [
        ({"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.25},
          "registered_name": None}, regularizers.L1),
        ({"module": "keras.regularizers", "class_name": "L1L2",
          "config": {"l1": 0.5, "l2": 0.0}, "registered_name": None}, regularizers.L1L2),
    ]:
        got = saving.deserialize_keras_object(written)
        assert type(got) is expected and got.get_config() == written["config"]
