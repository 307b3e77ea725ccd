"""Keras 3 metrics: correlations, F-scores, R2 and the operating-point family,
against Keras's documented values, numpy and scikit-learn."""

import numpy as np
import pytest
from sklearn import metrics as skm

from jkeras import losses, metrics

CORR_T = [[0, 1, 0.5], [1, 1, 0.2]]
CORR_P = [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]


def _result(metric, *batches):
    for batch in batches:
        metric.update_state(*batch)
    return np.asarray(metric.result())


def test_correlations_documented_and_numpy(rng):
    assert _result(metrics.PearsonCorrelation(), (CORR_T, CORR_P)) == pytest.approx(
        0.9966996338993913, rel=1e-5)
    assert _result(metrics.ConcordanceCorrelation(), (CORR_T, CORR_P)) == pytest.approx(
        0.9816320385426076, rel=1e-5)
    np.testing.assert_allclose(metrics.pearson_correlation(CORR_T, CORR_P), [1.0, 0.99339927],
                               rtol=1e-5)
    np.testing.assert_allclose(metrics.concordance_correlation(CORR_T, CORR_P),
                               [0.97560976, 0.98765432], rtol=1e-5)
    t = rng.normal(size=(5, 4)).astype(np.float32)
    p = (t + rng.normal(size=(5, 4))).astype(np.float32)
    pcc = [np.corrcoef(t[:, j], p[:, j])[0, 1] for j in range(4)]
    np.testing.assert_allclose(metrics.pearson_correlation(t, p, axis=0), pcc, rtol=1e-4)
    ccc = 2 * np.cov(t, p, bias=True, rowvar=True).diagonal(5)[:5] / (
        t.var(1) + p.var(1) + (t.mean(1) - p.mean(1)) ** 2 + 1e-7)
    np.testing.assert_allclose(metrics.concordance_correlation(t, p), ccc, rtol=1e-4)
    w = np.arange(5.0)
    assert _result(metrics.ConcordanceCorrelation(), (t, p, w)) == pytest.approx(
        np.sum(ccc * w) / w.sum(), rel=1e-4)


F_T = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
F_P = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)


def test_f_scores_documented_and_sklearn(rng):
    np.testing.assert_allclose(_result(metrics.FBetaScore(beta=2.0, threshold=0.5),
                                       (F_T, F_P)), [0.3846154, 0.90909094, 0.8333334],
                               rtol=1e-5)
    np.testing.assert_allclose(_result(metrics.F1Score(threshold=0.5), (F_T, F_P)),
                               [0.5, 0.8, 0.6666667], rtol=1e-5)
    t = rng.integers(0, 2, (20, 4))
    p = rng.uniform(size=(20, 4)).astype(np.float32)
    for average in ("micro", "macro", "weighted"):
        got = _result(metrics.FBetaScore(average=average, beta=0.5, threshold=0.4),
                      (t[:10], p[:10]), (t[10:], p[10:]))
        want = skm.fbeta_score(t, p > 0.4, beta=0.5, average=average)
        assert got == pytest.approx(want, abs=1e-5), average
    # threshold None: the row's argmax is the positive prediction (multi-class)
    labels = np.eye(4)[rng.integers(0, 4, 20)]
    got = _result(metrics.F1Score(average="macro"), (labels, p))
    assert got == pytest.approx(
        skm.f1_score(labels.argmax(1), p.argmax(1), average="macro", labels=range(4)),
        abs=1e-5)
    assert metrics.F1Score(average="micro").get_config() == {
        "name": "f1_score", "dtype": None, "average": "micro", "threshold": None}
    with pytest.raises(ValueError, match=r"FBetaScore: beta must be a float > 0"):
        metrics.FBetaScore(beta=0.0)
    with pytest.raises(ValueError, match=r"F1Score expects 2D inputs"):
        metrics.F1Score().update_state(np.ones(3), np.ones(3))


def test_r2_documented_sklearn_and_adjusted(rng):
    assert _result(metrics.R2Score(), ([[1], [4], [3]], [[2], [4], [4]])) == pytest.approx(
        0.57142854, rel=1e-5)
    t = rng.normal(size=(10, 3)).astype(np.float32)
    p = (t + 0.7 * rng.normal(size=(10, 3))).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 10)
    for agg, multi in ((None, "raw_values"), ("uniform_average", "uniform_average"),
                       ("variance_weighted_average", "variance_weighted")):
        got = _result(metrics.R2Score(class_aggregation=agg), (t[:5], p[:5], w[:5]),
                      (t[5:], p[5:], w[5:]))
        np.testing.assert_allclose(got, skm.r2_score(t, p, sample_weight=w, multioutput=multi),
                                   rtol=1e-4, atol=1e-5)
    r2 = skm.r2_score(t[:, :1], p[:, :1])
    got = _result(metrics.R2Score(num_regressors=3), (t[:, :1], p[:, :1]))
    assert got == pytest.approx(1 - (1 - r2) * 9 / 6, rel=1e-4)
    # n - 1 <= p: the plain score
    assert _result(metrics.R2Score(num_regressors=9), (t[:, :1], p[:, :1])) == pytest.approx(
        r2, rel=1e-4)


OP_T = [0, 0, 0, 1, 1]
OP_P = [0, 0.3, 0.8, 0.3, 0.8]


@pytest.mark.parametrize("cls, value, weights, expected", [
    (metrics.SensitivityAtSpecificity, 0.5, None, 0.5),
    (metrics.SensitivityAtSpecificity, 0.5, [1, 1, 2, 2, 1], 0.333333),
    (metrics.SpecificityAtSensitivity, 0.5, None, 0.66666667),
    (metrics.SpecificityAtSensitivity, 0.5, [1, 1, 2, 2, 2], 0.5),
    (metrics.PrecisionAtRecall, 0.5, None, 0.5),
    (metrics.PrecisionAtRecall, 0.5, [2, 2, 2, 1, 1], 0.33333333),
])
def test_operating_points_documented(cls, value, weights, expected):
    batch = (OP_T, OP_P) if weights is None else (OP_T, OP_P, weights)
    assert _result(cls(value), batch) == pytest.approx(expected, abs=1e-5)


def test_recall_at_precision_documented_and_numpy(rng):
    t, p = [0, 0, 1, 1], [0, 0.5, 0.3, 0.9]
    assert _result(metrics.RecallAtPrecision(0.8), (t, p)) == pytest.approx(0.5)
    assert _result(metrics.RecallAtPrecision(0.8), (t, p, [1, 0, 0, 1])) == pytest.approx(1.0)
    # class_id and a coarse grid, against a brute-force scan of the thresholds
    labels = rng.integers(0, 2, (30, 3))
    scores = rng.uniform(size=(30, 3)).astype(np.float32)
    m = metrics.PrecisionAtRecall(0.3, num_thresholds=7, class_id=2)
    best = 0.0
    for thr in [0.0] + [(i + 1) / 6 for i in range(5)] + [1.0]:
        pred = scores[:, 2] > thr
        tp = np.sum(pred & (labels[:, 2] == 1))
        recall = tp / max(labels[:, 2].sum(), 1)
        precision = tp / pred.sum() if pred.sum() else 0.0
        if recall >= 0.3:
            best = max(best, precision)
    assert _result(m, (labels, scores)) == pytest.approx(best, abs=1e-6)
    assert m.get_config() == {"name": m.name, "dtype": None, "class_id": 2,
                              "num_thresholds": 7, "recall": 0.3}
    with pytest.raises(ValueError, match=r"RecallAtPrecision: precision must be in \[0, 1\]"):
        metrics.RecallAtPrecision(1.5)


def test_metric_names_functions_and_configs():
    assert metrics.huber is losses.huber
    assert metrics.binary_focal_crossentropy is losses.binary_focal_crossentropy
    assert metrics.categorical_focal_crossentropy is losses.categorical_focal_crossentropy
    for name, cls in [("f1_score", metrics.F1Score), ("fbeta_score", metrics.FBetaScore),
                      ("r2_score", metrics.R2Score),
                      ("pearson_correlation", metrics.PearsonCorrelation),
                      ("concordance_correlation", metrics.ConcordanceCorrelation)]:
        assert type(metrics.get(name)) is cls
        obj = cls(name="x")
        assert metrics.deserialize(metrics.serialize(obj)).get_config() == obj.get_config()
    m = metrics.SensitivityAtSpecificity(0.4, num_thresholds=10)
    assert metrics.deserialize(metrics.serialize(m)).get_config() == m.get_config()
