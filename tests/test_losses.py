"""Losses against numpy formulas: functions, classes, reductions, weights, get()."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras import losses

EPS = 1e-7


@pytest.fixture
def reg(rng):
    y_true = rng.uniform(0.1, 2.0, (4, 3)).astype(np.float32)
    y_pred = rng.uniform(0.1, 2.0, (4, 3)).astype(np.float32)
    return y_true, y_pred


@pytest.fixture
def probs(rng):
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, 4, size=5)
    onehot = np.eye(4, dtype=np.float32)[labels]
    return logits, p, labels, onehot


def _np_logcosh(x):
    return np.log(np.cosh(x))


REGRESSION = [
    (losses.mean_squared_error, lambda t, p: np.mean((t - p) ** 2, -1)),
    (losses.mean_absolute_error, lambda t, p: np.mean(np.abs(t - p), -1)),
    (losses.mean_absolute_percentage_error,
     lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1)),
    (losses.mean_squared_logarithmic_error,
     lambda t, p: np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2,
                          -1)),
    (losses.poisson, lambda t, p: np.mean(p - t * np.log(p + EPS), -1)),
    (losses.log_cosh, lambda t, p: np.mean(_np_logcosh(p - t), -1)),
    (losses.huber, lambda t, p: np.mean(
        np.where(np.abs(p - t) <= 1.0, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5), -1)),
    (losses.cosine_similarity, lambda t, p: -np.sum(
        t / np.linalg.norm(t, axis=-1, keepdims=True) * p
        / np.linalg.norm(p, axis=-1, keepdims=True), -1)),
]


@pytest.mark.parametrize("fn,ref", REGRESSION, ids=lambda x: getattr(x, "__name__", "ref"))
def test_regression_functions_match_numpy(fn, ref, reg):
    y_true, y_pred = reg
    out = np.asarray(fn(y_true, y_pred))
    assert out.shape == (4,)
    np.testing.assert_allclose(out, ref(y_true, y_pred), rtol=1e-5, atol=1e-6)


def test_huber_delta_and_kl_and_hinges(rng):
    t = rng.normal(size=(3, 5)).astype(np.float32)
    p = rng.normal(size=(3, 5)).astype(np.float32) * 3
    e = np.abs(p - t)
    np.testing.assert_allclose(
        losses.huber(t, p, delta=2.0),
        np.mean(np.where(e <= 2.0, 0.5 * e**2, 2.0 * e - 2.0), -1), rtol=1e-5)
    # KL on distributions
    a = rng.uniform(0.01, 1, (3, 5)).astype(np.float32)
    b = rng.uniform(0.01, 1, (3, 5)).astype(np.float32)
    a /= a.sum(-1, keepdims=True)
    b /= b.sum(-1, keepdims=True)
    np.testing.assert_allclose(losses.kld(a, b), np.sum(a * np.log(a / b), -1), rtol=1e-5)
    # hinge: 0/1 labels become -1/1
    lab01 = rng.integers(0, 2, (3, 5)).astype(np.float32)
    pm = 2 * lab01 - 1
    np.testing.assert_allclose(losses.hinge(lab01, p), np.mean(np.maximum(1 - pm * p, 0), -1),
                               rtol=1e-5)
    np.testing.assert_allclose(losses.hinge(pm, p), np.mean(np.maximum(1 - pm * p, 0), -1),
                               rtol=1e-5)
    np.testing.assert_allclose(losses.squared_hinge(lab01, p),
                               np.mean(np.maximum(1 - pm * p, 0) ** 2, -1), rtol=1e-5)
    onehot = np.eye(5, dtype=np.float32)[[0, 3, 1]]
    pos = np.sum(onehot * p, -1)
    neg = np.max((1 - onehot) * p, -1)
    np.testing.assert_allclose(losses.categorical_hinge(onehot, p),
                               np.maximum(neg - pos + 1, 0), rtol=1e-5)


def test_binary_crossentropy_probs_logits_smoothing(rng):
    y = rng.integers(0, 2, (6, 2)).astype(np.float32)
    logits = rng.normal(size=(6, 2)).astype(np.float32) * 3
    p = 1 / (1 + np.exp(-logits))

    def ref(t, q):
        q = np.clip(q, EPS, 1 - EPS)
        return np.mean(-(t * np.log(q) + (1 - t) * np.log(1 - q)), -1)

    np.testing.assert_allclose(losses.binary_crossentropy(y, p), ref(y, p), rtol=1e-5)
    np.testing.assert_allclose(losses.binary_crossentropy(y, logits, from_logits=True),
                               ref(y, p), rtol=1e-4)
    ys = y * 0.8 + 0.1
    np.testing.assert_allclose(losses.binary_crossentropy(y, p, label_smoothing=0.2),
                               ref(ys, p), rtol=1e-5)
    # probabilities are clipped: a certain wrong answer costs -log(eps), not inf
    out = losses.binary_crossentropy(np.array([[1.0]]), np.array([[0.0]]))
    np.testing.assert_allclose(out, [-np.log(EPS)], rtol=1e-3)


def test_bce_broadcasting_of_rank1_labels():
    y_true = np.array([1.0, 0.0, 1.0], np.float32)  # (batch,)
    y_pred = np.array([[0.9], [0.2], [0.6]], np.float32)  # (batch, 1)
    per = losses.BinaryCrossentropy().call(y_true, y_pred)
    assert per.shape == (3,)
    ref = -np.log([0.9, 0.8, 0.6])
    np.testing.assert_allclose(per, ref, rtol=1e-5)
    np.testing.assert_allclose(losses.BinaryCrossentropy()(y_true, y_pred), ref.mean(), rtol=1e-5)
    np.testing.assert_allclose(losses.binary_crossentropy(y_true, y_pred), ref, rtol=1e-5)


def test_categorical_crossentropy(probs):
    logits, p, labels, onehot = probs
    ref = -np.log(p[np.arange(5), labels])
    np.testing.assert_allclose(losses.categorical_crossentropy(onehot, p), ref, rtol=1e-5)
    np.testing.assert_allclose(
        losses.categorical_crossentropy(onehot, logits, from_logits=True), ref, rtol=1e-5)
    # unnormalised probabilities are renormalised like Keras
    np.testing.assert_allclose(losses.categorical_crossentropy(onehot, 3 * p), ref, rtol=1e-5)
    smooth = onehot * 0.9 + 0.1 / 4
    np.testing.assert_allclose(
        losses.CategoricalCrossentropy(label_smoothing=0.1, reduction=None)(onehot, p),
        -np.sum(smooth * np.log(p), -1), rtol=1e-5)


def test_sparse_categorical_crossentropy_label_shapes(probs):
    logits, p, labels, _ = probs
    ref = -np.log(p[np.arange(5), labels])
    loss = losses.SparseCategoricalCrossentropy()
    np.testing.assert_allclose(loss.call(labels, p), ref, rtol=1e-5)
    np.testing.assert_allclose(loss.call(labels[:, None], p), ref, rtol=1e-5)
    np.testing.assert_allclose(loss(labels.astype(np.float32), p), ref.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits), ref.mean(),
        rtol=1e-5)
    with pytest.raises(ValueError, match="one integer label per"):
        loss.call(np.zeros((5, 2)), p)


def test_sparse_ce_sequence_and_ignore_class(rng):
    logits = rng.normal(size=(2, 3, 4)).astype(np.float32)
    labels = np.array([[1, 2, -1], [0, -1, 3]])
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per = -np.take_along_axis(lp, np.maximum(labels, 0)[..., None], -1)[..., 0]
    per = np.where(labels == -1, 0.0, per)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    np.testing.assert_allclose(loss.call(labels, logits), per, rtol=1e-5)
    # mean over the 4 valid entries only
    np.testing.assert_allclose(loss(labels, logits), per.sum() / 4, rtol=1e-5)


def test_reductions_and_sample_weight(reg):
    y_true, y_pred = reg
    per = np.mean((y_true - y_pred) ** 2, -1)
    w = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
    cases = {
        "sum_over_batch_size": (per * w).sum() / 4,
        "mean": (per * w).sum() / 4,
        "sum": (per * w).sum(),
        "mean_with_sample_weight": (per * w).sum() / w.sum(),
    }
    for reduction, expected in cases.items():
        out = losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight=w)
        np.testing.assert_allclose(out, expected, rtol=1e-5, err_msg=reduction)
    for none in ("none", None):
        out = losses.MeanSquaredError(reduction=none)(y_true, y_pred, sample_weight=w)
        np.testing.assert_allclose(out, per * w, rtol=1e-5)
    # Keras 2 'auto' and (batch, 1) weights
    out = losses.MeanSquaredError(reduction="auto")(y_true, y_pred, sample_weight=w[:, None])
    np.testing.assert_allclose(out, (per * w).mean(), rtol=1e-5)
    np.testing.assert_allclose(losses.MeanSquaredError()(y_true, y_pred), per.mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="Invalid reduction"):
        losses.MeanSquaredError(reduction="average")


def test_sequence_outputs_with_per_sample_weights(rng):
    t = rng.normal(size=(2, 3, 4)).astype(np.float32)
    p = rng.normal(size=(2, 3, 4)).astype(np.float32)
    per = np.mean((t - p) ** 2, -1)  # (batch, time)
    assert losses.MeanSquaredError().call(t, p).shape == (2, 3)
    w = np.array([1.0, 3.0], np.float32)
    np.testing.assert_allclose(losses.MeanSquaredError()(t, p, sample_weight=w),
                               (per * w[:, None]).sum() / per.size, rtol=1e-5)
    mask = np.array([[True, True, False], [True, False, False]])
    np.testing.assert_allclose(losses.MeanSquaredError()(t, p, mask=mask),
                               per[mask].mean(), rtol=1e-5)


def test_losses_are_jittable_and_differentiable(probs):
    logits, _, labels, onehot = probs
    loss = losses.CategoricalCrossentropy(from_logits=True)
    f = jax.jit(lambda y, x, w: loss(y, x, sample_weight=w))
    w = np.ones(5, np.float32)
    np.testing.assert_allclose(f(onehot, logits, w), loss(onehot, logits), rtol=1e-6)
    g = jax.grad(lambda x: loss(onehot, x))(jnp.asarray(logits))
    sm = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(g, (sm - onehot) / 5, rtol=1e-4, atol=1e-6)


def test_get_names_functions_instances_configs():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MSE"), losses.MeanSquaredError)
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("kullback_leibler_divergence"), losses.KLDivergence)
    assert isinstance(losses.get("logcosh"), losses.LogCosh)
    assert isinstance(losses.get("Huber"), losses.Huber)
    assert isinstance(losses.get(losses.binary_crossentropy), losses.BinaryCrossentropy)
    inst = losses.Huber(delta=2.0)
    assert losses.get(inst) is inst
    assert losses.get(None) is None

    def my_loss(y_true, y_pred):
        return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)

    wrapped = losses.get(my_loss)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "my_loss"
    np.testing.assert_allclose(wrapped(np.ones((2, 2)), np.zeros((2, 2))), 1.0)
    with pytest.raises(ValueError, match="Unknown loss 'msee'.*mean_squared_error"):
        losses.get("msee")

    bce = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, reduction="sum")
    again = losses.get(losses.serialize(bce))
    assert isinstance(again, losses.BinaryCrossentropy)
    assert again.get_config() == bce.get_config()
    assert again.from_logits and again.label_smoothing == 0.1 and again.reduction == "sum"
    assert losses.Huber.from_config(losses.Huber(delta=3.0).get_config())._fn_kwargs == {
        "delta": 3.0}
    assert isinstance(losses.get({"class_name": "function", "config": "mae"}),
                      losses.MeanAbsoluteError)
    cfg = losses.LossFunctionWrapper(losses.poisson, name="p").get_config()
    assert losses.LossFunctionWrapper.from_config(cfg).fn is losses.poisson


def test_custom_loss_subclass_and_names():
    class MyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return jnp.sum(jnp.abs(y_true - y_pred), axis=-1)

    a = MyLoss()
    assert a.name == "my_loss"
    np.testing.assert_allclose(a(np.zeros((2, 3)), np.ones((2, 3))), 3.0)
    assert losses.MeanSquaredError().name == "mean_squared_error"
    assert losses.Huber().name == "huber_loss"
