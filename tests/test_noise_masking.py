"""Masking (output, mask, feeding LSTM) and the noise layers GaussianNoise,
GaussianDropout, AlphaDropout (identity at inference, noise statistics in training,
Keras 1 names, errors, configs)."""

import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.backend.random import set_random_seed
from jkeras.engine.stateless import stateless_call
from jkeras.layers.masking import Masking
from jkeras.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise

SELU_NEG = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


# -- Masking ------------------------------------------------------------------------------
def test_masking_output_and_mask_against_numpy():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]],
                  [[-1.0, -1.0], [-1.0, 5.0], [-1.0, -1.0]]], dtype="float32")
    layer = Masking()
    np.testing.assert_array_equal(layer(x), x * np.any(x != 0, -1, keepdims=True))
    np.testing.assert_array_equal(layer.compute_mask(x), np.any(x != 0, axis=-1))
    minus = Masking(mask_value=-1.0)
    expected_mask = np.any(x != -1.0, axis=-1)
    np.testing.assert_array_equal(minus.compute_mask(x), expected_mask)
    np.testing.assert_array_equal(minus(x), np.where(expected_mask[..., None], x, 0.0))
    y = Masking()(jkeras.Input((3, 2)))
    assert y.shape == (None, 3, 2) and y._keras_mask.shape == (None, 3)
    assert y._keras_mask.dtype == "bool"


@pytest.mark.parametrize("rnn", [layers.LSTM, layers.GRU])
def test_masking_feeds_rnn_like_dropping_the_masked_steps(rnn):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    x[0, [1, 4]] = 0.0  # sample 0: steps 1 and 4 masked (one inside, one trailing)
    x[1, :2] = 0.0  # sample 1: left padding
    inp = jkeras.Input((5, 3))
    lstm = rnn(4)
    model = jkeras.Model(inp, lstm(Masking()(inp)))
    out = model.predict(x, verbose=0)
    for i, keep in enumerate([[0, 2, 3], [2, 3, 4]]):
        reference = np.asarray(lstm(x[i:i + 1, keep]))
        np.testing.assert_allclose(out[i:i + 1], reference, rtol=1e-5, atol=1e-6)
    unmasked = np.asarray(lstm(x))
    assert not np.allclose(unmasked[0], out[0])  # the mask changed the result


def test_masking_errors_and_config():
    with pytest.raises(ValueError, match="Masking: `mask_value` must be a number, got 'x'"):
        Masking(mask_value="x")
    with pytest.raises(ValueError, match=r"Layer 'masking.*expects an input of rank >= 2"):
        Masking()(jkeras.Input(batch_shape=(None,)))
    layer = Masking(mask_value=-1.0, name="m")
    assert Masking.from_config(layer.get_config()).get_config() == layer.get_config()
    assert layers.Masking is Masking and Masking()._batch_independent


# -- noise layers -------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [GaussianNoise(0.3), GaussianDropout(0.4), AlphaDropout(0.2)])
def test_noise_layers_are_identity_at_inference(layer):
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert not np.allclose(layer(x, training=True), x)


def test_noise_layers_identity_in_predict_active_in_training_graph():
    inp = jkeras.Input((4,))
    out = AlphaDropout(0.3)(GaussianDropout(0.3)(GaussianNoise(0.5)(inp)))
    model = jkeras.Model(inp, out)
    x = np.ones((8, 4), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)

    @jax.jit
    def train_forward(x, rng):
        return stateless_call(model, [], [], x, training=True, rng=rng)[0]

    a = train_forward(x, jax.random.key(0))
    b = train_forward(x, jax.random.key(1))
    assert not np.allclose(a, x) and not np.allclose(a, b)
    np.testing.assert_array_equal(a, train_forward(x, jax.random.key(0)))


def test_gaussian_noise_statistics_and_seed():
    x = np.zeros((4000,), "float32")
    set_random_seed(7)
    noisy = np.asarray(GaussianNoise(0.5)(x, training=True))
    assert abs(noisy.mean()) < 0.03 and abs(noisy.std() - 0.5) < 0.02
    set_random_seed(7)
    np.testing.assert_array_equal(GaussianNoise(0.5)(x, training=True), noisy)
    np.testing.assert_array_equal(GaussianNoise(0.0)(x, training=True), x)


def test_gaussian_dropout_statistics():
    rate = 0.2
    out = np.asarray(GaussianDropout(rate)(np.full((4000,), 2.0, "float32"), training=True))
    assert abs(out.mean() - 2.0) < 0.05
    assert abs(out.std() - 2.0 * np.sqrt(rate / (1 - rate))) < 0.05


def test_alpha_dropout_keeps_mean_and_variance():
    rate = 0.25
    x = np.random.default_rng(3).normal(size=(20000,)).astype("float32")
    out = np.asarray(AlphaDropout(rate)(x, training=True))
    a = ((1 - rate) * (1 + rate * SELU_NEG ** 2)) ** -0.5
    b = -a * SELU_NEG * rate
    dropped = np.isclose(out, a * SELU_NEG + b, atol=1e-6)
    assert abs(dropped.mean() - rate) < 0.015
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    assert abs(out.mean()) < 0.03 and abs(out.std() - 1.0) < 0.03


def test_alpha_dropout_noise_shape_shares_the_pattern():
    x = np.random.default_rng(4).normal(size=(3, 50, 4)).astype("float32")
    out = np.asarray(AlphaDropout(0.5, noise_shape=(None, 1, 4))(x, training=True))
    rate = 0.5
    a = ((1 - rate) * (1 + rate * SELU_NEG ** 2)) ** -0.5
    dropped = np.isclose(out, a * SELU_NEG - a * SELU_NEG * rate, atol=1e-6)
    assert (dropped == dropped[:, :1, :]).all()  # same pattern at every timestep
    with pytest.raises(ValueError, match=r"noise_shape=\(None, 1\) has 2 entries.*rank 3"):
        AlphaDropout(0.5, noise_shape=(None, 1))(x, training=True)


def test_keras1_names():
    with pytest.warns(DeprecationWarning, match="'sigma'.*'stddev'"):
        assert GaussianNoise(sigma=0.1).stddev == 0.1
    with pytest.warns(DeprecationWarning, match="'p'.*'rate'"):
        assert GaussianDropout(p=0.3).rate == 0.3


@pytest.mark.parametrize("make, match", [
    (lambda: GaussianNoise(-0.1), r"GaussianNoise: `stddev` must be a non-negative float"),
    (lambda: GaussianDropout(-0.5), r"GaussianDropout: `rate` must be a float in \[0, 1\)"),
    (lambda: GaussianDropout(1.0), r"GaussianDropout: `rate`.*got 1.0"),
    (lambda: AlphaDropout(rate=1.5), r"AlphaDropout: `rate` must be a float in \[0, 1\)"),
    (lambda: AlphaDropout(rate="0.1"), r"AlphaDropout: `rate`.*got '0.1'"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_noise_configs_and_flags():
    for layer in (GaussianNoise(0.2, seed=3), GaussianDropout(0.1),
                  AlphaDropout(0.1, noise_shape=(None, 1, 4), seed=1)):
        config = layer.get_config()
        clone = jkeras.layers.deserialize(jkeras.layers.serialize(layer))
        assert type(clone) is type(layer) and clone.get_config() == config
        assert layer.batch_independent(training=True) and layer.supports_masking
    y = GaussianNoise(0.1)(jkeras.Input((3,)))
    assert y.shape == (None, 3) and y.dtype == "float32"
