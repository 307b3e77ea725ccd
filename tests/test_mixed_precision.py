"""Dtype policies: float32 variables, bfloat16/float16 computation."""

import numpy as np
import pytest

import jkeras as keras
from jkeras import layers, mixed_precision


@pytest.fixture
def mixed_bf16():
    mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    mixed_precision.set_global_policy(None)


def test_mixed_policy_keeps_float32_variables_and_computes_in_bf16(mixed_bf16, rng):
    inp = keras.Input(shape=(4,))
    dense = layers.Dense(3)
    h = dense(inp)
    bn = layers.BatchNormalization()
    out = layers.Dense(2, dtype="float32")(bn(h))
    assert dense.kernel.dtype == "float32" and dense.compute_dtype == "bfloat16"
    assert h.dtype == "bfloat16" and bn(h).dtype == "bfloat16"
    assert bn.moving_mean.dtype == "float32"
    assert out.dtype == "float32"
    model = keras.Model(inp, out)
    x = rng.normal(size=(3, 4)).astype("float32")
    y = model.predict(x)
    assert y.dtype == np.float32
    # bf16 result is close to the float32 computation with the same weights
    mixed_precision.set_global_policy(None)
    k, b = dense.get_weights()
    hx = x @ k + b
    g, beta, mm, mv = bn.get_weights()
    hx = g * (hx - mm) / np.sqrt(mv + 1e-3) + beta
    k2, b2 = model.layers[-1].get_weights()
    np.testing.assert_allclose(y, hx @ k2 + b2, rtol=0.05, atol=0.05)


def test_policy_names_and_errors():
    p = mixed_precision.Policy("mixed_float16")
    assert (p.compute_dtype, p.variable_dtype) == ("float16", "float32")
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        mixed_precision.Policy("mixed_float8")
    assert mixed_precision.global_policy().name == "float32"


def test_loss_scale_optimizer_is_public():
    from jkeras.training.loss_scale import LossScaleOptimizer

    assert mixed_precision.LossScaleOptimizer is LossScaleOptimizer
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mixed_precision.Nope
