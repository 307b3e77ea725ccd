"""Keras 3 losses: focal and generalized crossentropies, Dice, Tversky, CTC and
Circle, against Keras's documented values and numpy formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras import losses

EPS = 1e-7
FOCAL_T = np.array([[0, 1], [0, 0]], np.float32)
FOCAL_LOGITS = np.array([[-18.6, 0.51], [2.94, -12.8]], np.float32)


def _np_binary_focal(t, p, gamma, balance=False, alpha=0.25, smoothing=0.0):
    t = t * (1 - smoothing) + 0.5 * smoothing
    c = np.clip(p, EPS, 1 - EPS)
    bce = -(t * np.log(c) + (1 - t) * np.log(1 - c))
    p_t = t * p + (1 - t) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if balance:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(-1)


@pytest.mark.parametrize("gamma, balance, expected", [
    (2, False, 0.691), (2, True, 0.51), (3, False, 0.647), (3, True, 0.482)])
def test_binary_focal_documented_means(gamma, balance, expected):
    loss = losses.BinaryFocalCrossentropy(apply_class_balancing=balance, gamma=gamma,
                                          from_logits=True)
    assert float(loss(FOCAL_T, FOCAL_LOGITS)) == pytest.approx(expected, abs=1e-3)


def test_binary_focal_documented_weights_and_reductions():
    cls = losses.BinaryFocalCrossentropy
    sw = [0.8, 0.2]
    assert float(cls(gamma=3, from_logits=True)(FOCAL_T, FOCAL_LOGITS, sample_weight=sw)) == \
        pytest.approx(0.133, abs=1e-3)
    assert float(cls(apply_class_balancing=True, gamma=3, from_logits=True)(
        FOCAL_T, FOCAL_LOGITS, sample_weight=sw)) == pytest.approx(0.097, abs=1e-3)
    assert float(cls(gamma=4, from_logits=True, reduction="sum")(FOCAL_T, FOCAL_LOGITS)) == \
        pytest.approx(1.222, abs=1e-3)
    assert float(cls(apply_class_balancing=True, gamma=4, from_logits=True, reduction="sum")(
        FOCAL_T, FOCAL_LOGITS)) == pytest.approx(0.914, abs=1e-3)
    np.testing.assert_allclose(cls(gamma=5, from_logits=True, reduction=None)(
        FOCAL_T, FOCAL_LOGITS), [0.0017, 1.1561], atol=1e-4)
    np.testing.assert_allclose(cls(apply_class_balancing=True, gamma=5, from_logits=True,
                                   reduction=None)(FOCAL_T, FOCAL_LOGITS), [0.0004, 0.8670],
                               atol=1e-4)


def test_binary_focal_function_on_probabilities(rng):
    p = np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)
    np.testing.assert_allclose(losses.binary_focal_crossentropy(FOCAL_T, p, gamma=2),
                               [0.330, 0.206], atol=1e-3)  # Keras's documented values
    t = rng.integers(0, 2, (4, 3)).astype(np.float32)
    q = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
    got = losses.binary_focal_crossentropy(t, q, apply_class_balancing=True, alpha=0.4,
                                           gamma=1.5, label_smoothing=0.1)
    np.testing.assert_allclose(got, _np_binary_focal(t, q, 1.5, True, 0.4, 0.1), rtol=1e-5)
    # gamma = 0 is binary crossentropy
    np.testing.assert_allclose(losses.binary_focal_crossentropy(t, q, gamma=0.0),
                               losses.binary_crossentropy(t, q), rtol=1e-5)


def test_categorical_focal_documented_values():
    t = [[0., 1., 0.], [0., 0., 1.]]
    p = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    cls = losses.CategoricalFocalCrossentropy
    assert float(cls()(t, p)) == pytest.approx(0.23315276, rel=1e-4)
    assert float(cls()(t, p, sample_weight=np.array([0.3, 0.7]))) == pytest.approx(0.1632,
                                                                                   abs=1e-4)
    assert float(cls(reduction="sum")(t, p)) == pytest.approx(0.46631, abs=1e-4)
    np.testing.assert_allclose(cls(reduction=None)(t, p), [3.2e-05, 0.46627346], atol=1e-5)
    got = losses.categorical_focal_crossentropy([[0, 1, 0], [0, 0, 1]],
                                                [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]])
    np.testing.assert_allclose(got, [2.63401289e-04, 6.75912094e-01], rtol=1e-4)


def test_categorical_focal_logits_alpha_per_class(rng):
    t = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 4)]
    logits = rng.normal(size=(4, 3)).astype(np.float32)
    alpha, gamma, ls = [0.2, 0.3, 0.5], 1.5, 0.1
    got = losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=gamma, from_logits=True,
                                              label_smoothing=ls, reduction=None)(t, logits)
    ts = t * (1 - ls) + ls / 3
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    want = np.sum(np.array(alpha) * (1 - p) ** gamma * -ts * np.log(p), -1)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    cfg = losses.CategoricalFocalCrossentropy(alpha=alpha).get_config()
    assert cfg["alpha"] == alpha and set(cfg) == {
        "name", "reduction", "alpha", "gamma", "from_logits", "label_smoothing", "axis"}


def test_generalized_cross_entropy(rng):
    labels = np.array([0, 1, 0, 1])
    p = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]], np.float32)
    want = (1 - p[np.arange(4), labels] ** 0.3) / 0.3
    np.testing.assert_allclose(losses.categorical_generalized_cross_entropy(labels, p, 0.3),
                               want, rtol=1e-6)
    loss = losses.CategoricalGeneralizedCrossEntropy()
    want_half = np.mean((1 - p[np.arange(4), labels] ** 0.5) / 0.5)
    assert float(loss(labels, p)) == pytest.approx(want_half, rel=1e-6)
    # (batch, 1) labels mean the same (Keras broadcasts them wrongly)
    assert float(loss(labels[:, None], p)) == pytest.approx(want_half, rel=1e-6)
    with pytest.raises(ValueError, match=r"q must be a float in the open interval \(0, 1\)"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)


DICE_T = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]],
                  np.float32)
DICE_P = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]],
                  np.float32)


def test_dice_documented_values():
    np.testing.assert_allclose(losses.Dice(axis=(1, 2, 3), reduction=None)(DICE_T, DICE_P),
                               [0.5, 0.75757575], rtol=1e-5)
    assert float(losses.Dice()(DICE_T, DICE_P)) == pytest.approx(0.6164384, rel=1e-5)
    np.testing.assert_allclose(losses.dice(DICE_T, DICE_P, axis=(1, 2, 3)), [0.5, 0.75757575],
                               rtol=1e-5)
    # a config's list axis works like the tuple
    assert losses.Dice.from_config(losses.Dice(axis=[1, 2, 3]).get_config()).axis == [1, 2, 3]


def test_tversky_weighs_false_positives_with_alpha():
    t, p = DICE_T.reshape(2, -1), DICE_P.reshape(2, -1)
    tp = (t * p).sum(1)
    fp = (p * (1 - t)).sum(1)
    fn = ((1 - p) * t).sum(1)
    want = 1 - tp / (tp + 0.7 * fp + 0.3 * fn + EPS)
    got = losses.Tversky(alpha=0.7, beta=0.3, axis=1, reduction=None)(t, p)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(losses.tversky(t, p, axis=1), losses.dice(t, p, axis=1),
                               rtol=1e-6)
    assert losses.Tversky(alpha=0.7).get_config() == {
        "name": "tversky", "reduction": "sum_over_batch_size", "alpha": 0.7, "beta": 0.5,
        "axis": None}


def _np_ctc(labels, logits):
    """-log p(labels | logits) by the CTC forward algorithm (blank 0)."""
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    out = []
    for lab, lp in zip(labels, logp):
        lab = [int(c) for c in lab if c != 0]
        ext = [0]
        for c in lab:
            ext += [c, 0]
        alpha = np.full(len(ext), -np.inf)
        alpha[0] = lp[0, 0]
        if len(ext) > 1:
            alpha[1] = lp[0, ext[1]]
        for t in range(1, lp.shape[0]):
            new = np.full(len(ext), -np.inf)
            for s, c in enumerate(ext):
                terms = [alpha[s]]
                if s >= 1:
                    terms.append(alpha[s - 1])
                if s >= 2 and c != 0 and c != ext[s - 2]:
                    terms.append(alpha[s - 2])
                new[s] = np.logaddexp.reduce(terms) + lp[t, c]
            alpha = new
        out.append(-np.logaddexp.reduce(alpha[-2:]))
    return np.array(out)


def test_ctc_against_forward_algorithm(rng):
    labels = np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0]])
    logits = rng.normal(size=(3, 7, 4)).astype(np.float32)
    np.testing.assert_allclose(losses.ctc(labels, logits), _np_ctc(labels, logits), rtol=1e-4)
    assert float(losses.CTC()(labels, logits)) == pytest.approx(
        _np_ctc(labels, logits).mean(), rel=1e-4)
    assert losses.CTC().get_config() == {"name": "ctc", "reduction": "sum_over_batch_size"}
    with pytest.raises(ValueError, match=r"ctc: y_true must be integer labels shaped"):
        losses.ctc(labels[0], logits)


def _np_circle(labels, emb, gamma, margin, remove_diagonal=True):
    d = np.maximum(1 - emb @ emb.T, 0)
    pos = labels[:, None] == labels[None, :]
    neg = ~pos
    if remove_diagonal:
        pos = pos & ~np.eye(len(labels), dtype=bool)
    pos_w = np.maximum((margin + d) * pos, 0)
    neg_w = np.maximum((1 + margin - d) * neg, 0)
    with np.errstate(divide="ignore"):
        p = np.logaddexp.reduce(np.where(pos, -gamma * pos_w * (margin - d), -np.inf), axis=1)
        n = np.logaddexp.reduce(np.where(neg, gamma * neg_w * (1 - margin - d), -np.inf),
                                axis=1)
    return np.logaddexp(0, p + n)


def test_circle_against_formula_and_masked_mean(rng):
    emb = rng.normal(size=(6, 4)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.array([0, 1, 0, 2, 1, 3])  # classes 2 and 3 have no positive pair
    want = _np_circle(labels, emb, 10.0, 0.25)
    np.testing.assert_allclose(losses.circle(labels, emb, gamma=10.0, margin=0.25), want,
                               rtol=1e-4, atol=1e-5)
    assert want[3] == 0 and want[5] == 0
    got = losses.Circle(gamma=10.0, margin=0.25)(labels, emb)
    assert float(got) == pytest.approx(want[want > 0].mean(), rel=1e-4)  # zeros left out
    np.testing.assert_allclose(
        losses.circle(labels, emb, remove_diagonal=False, gamma=5.0, margin=0.4),
        _np_circle(labels, emb, 5.0, 0.4, remove_diagonal=False), rtol=1e-4)


def test_new_losses_by_name_config_and_gradients(rng):
    for name, cls in [("binary_focal_crossentropy", losses.BinaryFocalCrossentropy),
                      ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy),
                      ("categorical_generalized_cross_entropy",
                       losses.CategoricalGeneralizedCrossEntropy),
                      ("ctc", losses.CTC), ("circle", losses.Circle), ("dice", losses.Dice),
                      ("tversky", losses.Tversky)]:
        assert type(losses.get(name)) is cls
        obj = losses.deserialize(losses.serialize(cls()))
        assert type(obj) is cls and obj.get_config() == cls().get_config()
        assert losses.serialize(getattr(losses, name)) == name
    # differentiable under jit, finite even with a sample lacking positive pairs
    emb = rng.normal(size=(4, 3)).astype(np.float32)
    labels = np.array([0, 0, 1, 2])
    circle_loss = losses.Circle(gamma=8.0)

    def total(e):
        return circle_loss(labels, e / jnp.linalg.norm(e, axis=1, keepdims=True))

    grad = jax.jit(jax.grad(total))(emb)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
