"""Metrics against numpy: accumulation over batches, reset, weights, jit through the scope."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras import losses, metrics
from jkeras.backend.scope import StatelessScope


def test_mean_sum_accumulate_weights_and_reset():
    m = metrics.Mean()
    m.update_state([1.0, 3.0, 5.0, 7.0])
    m.update_state([2.0, 4.0], sample_weight=[1.0, 0.0])
    np.testing.assert_allclose(m.result(), (1 + 3 + 5 + 7 + 2) / 5)
    m.reset_state()
    np.testing.assert_allclose(m.result(), 0.0)
    assert [v.name for v in m.variables] == ["total", "count"]
    s = metrics.Sum()
    s.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    np.testing.assert_allclose(s.result(), 4.0)
    # per-sample values of rank 2 are averaged per sample; (batch,) weights
    m = metrics.Mean()
    m.update_state(np.array([[1.0, 3.0], [5.0, 7.0]]), sample_weight=[1.0, 3.0])
    np.testing.assert_allclose(m.result(), (2.0 * 1 + 6.0 * 3) / 4)


def test_accuracy_functions_and_classes_two_batches(rng):
    # binary, (batch, 1) and (batch,) labels
    y1, p1 = np.array([[1], [1], [0], [0]]), np.array([[0.98], [1], [0], [0.6]])
    np.testing.assert_allclose(metrics.binary_accuracy(y1, p1), [1, 1, 1, 0])
    np.testing.assert_allclose(metrics.binary_accuracy(y1[:, 0], p1), [1, 1, 1, 0])
    m = metrics.BinaryAccuracy()
    m.update_state(y1, p1)
    m.update_state([1, 0], [[0.3], [0.2]], sample_weight=[2.0, 1.0])
    np.testing.assert_allclose(m.result(), (3 + 0 + 1) / (4 + 3))
    m.reset_state()
    m.update_state(y1, p1, sample_weight=[1, 0, 0, 1])
    np.testing.assert_allclose(m.result(), 0.5)
    assert metrics.BinaryAccuracy(threshold=0.99)(y1, p1) == pytest.approx(0.75)

    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
                   sample_weight=[0.7, 0.3])
    np.testing.assert_allclose(m.result(), 0.3, rtol=1e-6)

    m = metrics.SparseCategoricalAccuracy()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    m.update_state([0, 2], [[0.5, 0.2, 0.3], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(m.result(), 3 / 4)
    np.testing.assert_allclose(metrics.sparse_categorical_accuracy([2, 1], [[0.1, 0.6, 0.3],
                               [0.05, 0.95, 0]]), [0, 1])
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    np.testing.assert_allclose(m.result(), 0.75)


def test_top_k_against_numpy(rng):
    p = rng.normal(size=(8, 6)).astype(np.float32)
    labels = rng.integers(0, 6, 8)
    onehot = np.eye(6)[labels]
    rank = (p > p[np.arange(8), labels][:, None]).sum(-1)
    for k in (1, 2, 3):
        ref = (rank < k).astype(np.float32)
        np.testing.assert_allclose(metrics.top_k_categorical_accuracy(onehot, p, k=k), ref)
        np.testing.assert_allclose(metrics.sparse_top_k_categorical_accuracy(labels, p, k=k), ref)
        np.testing.assert_allclose(
            metrics.sparse_top_k_categorical_accuracy(labels[:, None], p, k=k), ref)
    m = metrics.SparseTopKCategoricalAccuracy(k=2)
    m.update_state(labels[:4], p[:4])
    m.update_state(labels[4:], p[4:])
    np.testing.assert_allclose(m.result(), (rank < 2).mean(), rtol=1e-6)
    m = metrics.TopKCategoricalAccuracy(k=1)
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
                   sample_weight=[0.7, 0.3])
    np.testing.assert_allclose(m.result(), 0.3, rtol=1e-6)


def test_regression_metrics_two_batches(rng):
    t = rng.normal(size=(6, 3)).astype(np.float32)
    p = rng.normal(size=(6, 3)).astype(np.float32)
    w = rng.uniform(0, 1, 6).astype(np.float32)
    se = ((t - p) ** 2).mean(-1)
    ae = np.abs(t - p).mean(-1)
    for cls, per, post in ((metrics.MeanSquaredError, se, lambda x: x),
                           (metrics.MeanAbsoluteError, ae, lambda x: x),
                           (metrics.RootMeanSquaredError, se, np.sqrt)):
        m = cls()
        m.update_state(t[:3], p[:3], sample_weight=w[:3])
        m.update_state(t[3:], p[3:], sample_weight=w[3:])
        np.testing.assert_allclose(m.result(), post((per * w).sum() / w.sum()), rtol=1e-5)
    cs = metrics.CosineSimilarity()
    cs.update_state(t, p)
    ref = np.sum(t * p, -1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(p, axis=-1)
    np.testing.assert_allclose(cs.result(), ref.mean(), rtol=1e-5)
    bce = metrics.BinaryCrossentropy()
    y = (t > 0).astype(np.float32)
    q = 1 / (1 + np.exp(-p))
    bce.update_state(y, q)
    np.testing.assert_allclose(bce.result(), np.mean(losses.binary_crossentropy(y, q)), rtol=1e-5)


def _np_confusion(y, p, thresholds, w=None):
    w = np.ones_like(p) if w is None else w
    out = {}
    for key in ("tp", "fp", "tn", "fn"):
        out[key] = []
    for t in thresholds:
        pos, lab = p > t, y != 0
        out["tp"].append(np.sum(w * (lab & pos)))
        out["fp"].append(np.sum(w * (~lab & pos)))
        out["tn"].append(np.sum(w * (~lab & ~pos)))
        out["fn"].append(np.sum(w * (lab & ~pos)))
    return {k: np.array(v) for k, v in out.items()}


def test_precision_recall_thresholds_and_weights(rng):
    y = rng.integers(0, 2, (10, 1)).astype(np.float32)
    p = rng.uniform(0, 1, (10, 1)).astype(np.float32)
    w = rng.uniform(0, 1, 10).astype(np.float32)
    c = _np_confusion(y[:, 0], p[:, 0], [0.5], w)
    prec, rec = metrics.Precision(), metrics.Recall()
    for m in (prec, rec):
        m.update_state(y[:5], p[:5], sample_weight=w[:5])
        m.update_state(y[5:], p[5:], sample_weight=w[5:])
    np.testing.assert_allclose(prec.result(), c["tp"][0] / (c["tp"][0] + c["fp"][0]), rtol=1e-5)
    np.testing.assert_allclose(rec.result(), c["tp"][0] / (c["tp"][0] + c["fn"][0]), rtol=1e-5)
    thr = [0.2, 0.5, 0.8]
    multi = metrics.Precision(thresholds=thr)
    multi.update_state(y, p)
    c = _np_confusion(y[:, 0], p[:, 0], thr)
    np.testing.assert_allclose(multi.result(), c["tp"] / np.maximum(c["tp"] + c["fp"], 1e-12),
                               rtol=1e-5)
    for cls, key in ((metrics.TruePositives, "tp"), (metrics.FalsePositives, "fp"),
                     (metrics.TrueNegatives, "tn"), (metrics.FalseNegatives, "fn")):
        m = cls()
        m.update_state(y, p)
        np.testing.assert_allclose(m.result(), _np_confusion(y[:, 0], p[:, 0], [0.5])[key][0])
    prec.reset_state()
    assert float(prec.result()) == 0.0


def test_precision_top_k_and_class_id():
    y = np.array([[0, 0, 1, 1], [1, 0, 0, 0]], np.float32)
    p = np.array([[0.9, 0.8, 0.7, 0.1], [0.2, 0.6, 0.3, 0.4]], np.float32)
    m = metrics.Precision(top_k=2)
    m.update_state(y, p)
    # top-2: row 0 -> classes 0,1 (both wrong); row 1 -> classes 1,3 (both wrong)
    np.testing.assert_allclose(m.result(), 0.0)
    m = metrics.Recall(class_id=0)
    m.update_state(y, p)
    np.testing.assert_allclose(m.result(), 0.0)  # the one class-0 positive scored 0.2
    m = metrics.Precision(class_id=0)
    m.update_state(y, p)
    np.testing.assert_allclose(m.result(), 0.0)  # one predicted positive (0.9), wrong


def _np_auc(y, p, num_thresholds=200, curve="ROC", w=None):
    eps = 1e-7
    thr = [0.0 - eps] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [
        1.0 + eps]
    c = _np_confusion(y, np.clip(p, 0, 1), thr, w)
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]

    def div(a, b):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))

    rec = div(tp, tp + fn)
    if curve == "ROC":
        x, yv = div(fp, fp + tn), rec
    else:
        x, yv = rec, div(tp, tp + fp)
    return np.sum((x[:-1] - x[1:]) * (yv[:-1] + yv[1:]) / 2)


def test_auc_roc_vs_numpy_trapezoid_and_two_batches(rng):
    y = rng.integers(0, 2, 40).astype(np.float32)
    p = np.clip(y * 0.3 + rng.uniform(0, 0.7, 40), 0, 1).astype(np.float32)
    m = metrics.AUC()
    m.update_state(y[:20], p[:20])
    m.update_state(y[20:], p[20:])
    np.testing.assert_allclose(m.result(), _np_auc(y, p), rtol=1e-5)
    # with fine thresholds it approaches the exact ROC AUC (rank statistic)
    pos, neg = p[y == 1], p[y == 0]
    exact = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    fine = metrics.AUC(num_thresholds=2000)
    fine.update_state(y, p)
    np.testing.assert_allclose(fine.result(), exact, atol=5e-3)
    w = rng.uniform(0, 1, 40).astype(np.float32)
    mw = metrics.AUC(num_thresholds=50)
    mw.update_state(y, p, sample_weight=w)
    np.testing.assert_allclose(mw.result(), _np_auc(y, p, 50, w=w), rtol=1e-5)
    m.reset_state()
    assert float(m.result()) == 0.0


def test_auc_pr_majoring_logits_multilabel(rng):
    y = rng.integers(0, 2, (30, 2)).astype(np.float32)
    p = rng.uniform(0, 1, (30, 2)).astype(np.float32)
    pr = metrics.AUC(curve="PR", summation_method="majoring", num_thresholds=20)
    pr.update_state(y, p)
    # Reference with majoring heights
    eps = 1e-7
    thr = [-eps] + [(i + 1) / 19 for i in range(18)] + [1 + eps]
    c = _np_confusion(y.reshape(-1), p.reshape(-1), thr)
    rec = c["tp"] / np.maximum(c["tp"] + c["fn"], 1e-12)
    prec = np.where(c["tp"] + c["fp"] > 0, c["tp"] / np.maximum(c["tp"] + c["fp"], 1e-12), 0)
    ref = np.sum((rec[:-1] - rec[1:]) * np.maximum(prec[:-1], prec[1:]))
    np.testing.assert_allclose(pr.result(), ref, rtol=1e-5)
    # interpolated PR AUC is in [0, 1] and close to the trapezoid value
    interp = metrics.AUC(curve="PR")
    interp.update_state(y, p)
    assert 0.0 <= float(interp.result()) <= 1.0
    assert abs(float(interp.result()) - _np_auc(y.reshape(-1), p.reshape(-1), curve="PR")) < 0.1
    logits = np.log(p / (1 - p))
    lg = metrics.AUC(from_logits=True)
    lg.update_state(y[:, 0], logits[:, 0])
    np.testing.assert_allclose(lg.result(), _np_auc(y[:, 0], p[:, 0]), rtol=1e-4)
    ml = metrics.AUC(multi_label=True, num_labels=2)
    ml.update_state(y, p)
    per_label = [_np_auc(y[:, i], p[:, i]) for i in range(2)]
    np.testing.assert_allclose(ml.result(), np.mean(per_label), rtol=1e-5)
    lw = metrics.AUC(multi_label=True, label_weights=[1.0, 3.0])
    lw.update_state(y, p)  # built eagerly on first use
    np.testing.assert_allclose(lw.result(), (per_label[0] + 3 * per_label[1]) / 4, rtol=1e-5)


def test_mean_iou_vs_numpy(rng):
    t = rng.integers(0, 3, 20)
    p = rng.integers(0, 3, 20)
    cm = np.zeros((3, 3))
    for a, b in zip(t, p):
        cm[a, b] += 1
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    ref = np.sum(tp / denom) / np.sum(denom > 0)
    m = metrics.MeanIoU(num_classes=3)
    m.update_state(t[:10], p[:10])
    m.update_state(t[10:], p[10:])
    np.testing.assert_allclose(m.result(), ref, rtol=1e-5)
    # Keras docstring example, with weights
    m = metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    np.testing.assert_allclose(m.result(), (0.3 / (0.6 + 0.6 - 0.3) + 0.1 / (0.4 + 0.4 - 0.1)) / 2,
                               rtol=1e-5)
    oh = metrics.OneHotMeanIoU(num_classes=3)
    oh.update_state(np.eye(3)[t], np.eye(3)[p] * 0.9 + 0.01)
    np.testing.assert_allclose(oh.result(), ref, rtol=1e-5)
    ignore = metrics.MeanIoU(num_classes=3, ignore_class=0)
    ignore.update_state(t, p)
    keep = t != 0
    cm2 = np.zeros((3, 3))
    for a, b in zip(t[keep], p[keep]):
        cm2[a, b] += 1
    tp2 = np.diag(cm2)
    d2 = cm2.sum(0) + cm2.sum(1) - tp2
    np.testing.assert_allclose(ignore.result(),
                               np.sum(tp2 / np.maximum(d2, 1e-9)) / np.sum(d2 > 0), rtol=1e-5)


def _jit_update(metric, *batches):
    """Runs update_state under jax.jit through a StatelessScope; returns new values."""
    variables = metric.variables

    @jax.jit
    def step(values, y_true, y_pred):
        with StatelessScope({id(v): x for v, x in zip(variables, values)}) as scope:
            metric.update_state(y_true, y_pred)
            return [scope.updates.get(id(v), x) for v, x in zip(variables, values)]

    values = [v.value for v in variables]
    for y_true, y_pred in batches:
        values = step(values, y_true, y_pred)
    return values


@pytest.mark.parametrize("make", [
    lambda: metrics.BinaryAccuracy(),
    lambda: metrics.AUC(num_thresholds=20),
    lambda: metrics.Precision(thresholds=[0.3, 0.6]),
    lambda: metrics.MeanIoU(num_classes=2),
], ids=["binary_accuracy", "auc", "precision", "mean_iou"])
def test_update_state_inside_jit_through_scope(make, rng):
    y = rng.integers(0, 2, (8, 1)).astype(np.float32)
    p = rng.uniform(0, 1, (8, 1)).astype(np.float32)
    if isinstance(make(), metrics.MeanIoU):
        p = (p > 0.5).astype(np.float32)
    eager, compiled = make(), make()
    eager.update_state(y[:4], p[:4])
    eager.update_state(y[4:], p[4:])
    values = _jit_update(compiled, (y[:4], p[:4]), (y[4:], p[4:]))
    # the metric object was not mutated; its stateless_result reads the values
    assert all(float(jnp.sum(v.value)) == 0.0 for v in compiled.variables)
    np.testing.assert_allclose(compiled.stateless_result(values), eager.result(), rtol=1e-6)
    for var, value in zip(compiled.variables, values):
        var.assign(value)
    np.testing.assert_allclose(compiled.result(), eager.result(), rtol=1e-6)


def test_stateless_helpers_and_call():
    m = metrics.Mean()
    vals = m.stateless_update_state([v.value for v in m.variables], [2.0, 4.0])
    np.testing.assert_allclose(m.stateless_result(vals), 3.0)
    assert float(m.result()) == 0.0
    np.testing.assert_allclose(m([1.0, 2.0]), 1.5)
    assert [float(x) for x in m.stateless_reset_state()] == [0.0, 0.0]


def test_get_and_resolve_accuracy():
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert metrics.get("mse").name == "mse"
    assert isinstance(metrics.get("mae"), metrics.MeanAbsoluteError)
    for name, cls in [("binary_accuracy", metrics.BinaryAccuracy),
                      ("categorical_accuracy", metrics.CategoricalAccuracy),
                      ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
                      ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
                      ("auc", metrics.AUC), ("precision", metrics.Precision),
                      ("recall", metrics.Recall), ("AUC", metrics.AUC),
                      ("binary_crossentropy", metrics.BinaryCrossentropy)]:
        assert isinstance(metrics.get(name), cls), name
    assert isinstance(metrics.get(metrics.binary_accuracy), metrics.BinaryAccuracy)

    def my_metric(y_true, y_pred):
        return jnp.abs(y_true - y_pred)

    wrapped = metrics.get(my_metric)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "my_metric"
    inst = metrics.AUC()
    assert metrics.get(inst) is inst
    loss_metric = metrics.get(losses.Huber())
    loss_metric.update_state(np.zeros((2, 1)), np.ones((2, 1)))
    np.testing.assert_allclose(loss_metric.result(), 0.5)
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'"):
        metrics.get("acuracy")
    again = metrics.deserialize(metrics.serialize(metrics.BinaryAccuracy(threshold=0.7)))
    assert isinstance(again, metrics.BinaryAccuracy) and again.threshold == 0.7
    auc = metrics.deserialize(metrics.serialize(metrics.AUC(num_thresholds=10, curve="PR")))
    assert auc.num_thresholds == 10 and auc.curve == "PR"

    ra = metrics.resolve_accuracy
    assert isinstance(ra("binary_crossentropy", (None, 3), (None, 3)), metrics.BinaryAccuracy)
    assert isinstance(ra(losses.BinaryCrossentropy(), (None, 3), (None, 3)),
                      metrics.BinaryAccuracy)
    assert isinstance(ra("mse", (None, 1), (None, 1)), metrics.BinaryAccuracy)
    assert isinstance(ra("sparse_categorical_crossentropy", (None, 1), (None, 5)),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(ra(losses.SparseCategoricalCrossentropy(), None, (None, 5)),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(ra("categorical_crossentropy", (None,), (None, 5)),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(ra("categorical_crossentropy", (None, 1), (None, 5)),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(ra("categorical_crossentropy", (None, 5), (None, 5)),
                      metrics.CategoricalAccuracy)
    assert isinstance(ra(losses.categorical_crossentropy, (None, 5), (None, 5)),
                      metrics.CategoricalAccuracy)
    acc = metrics.resolve("acc", "binary_crossentropy", (None, 1), (None, 1))
    assert isinstance(acc, metrics.BinaryAccuracy) and acc.name == "acc"
    ce = metrics.resolve("ce", "sparse_categorical_crossentropy", (None,), (None, 4))
    assert isinstance(ce, metrics.SparseCategoricalCrossentropy)


def test_keras2_style_custom_metric_eager_and_stateless():
    class CountPositives(metrics.Metric):
        def __init__(self, name="count_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.n = self.add_weight(name="n", initializer="zeros")  # Keras 2 order

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n.assign_add(jnp.sum(jnp.asarray(y_pred) > 0.5).astype("float32"))

        def result(self):
            return self.n.value

    m = CountPositives()
    m.update_state(None, np.array([0.2, 0.7, 0.9]))
    assert float(m.result()) == 2.0
    vals = jax.jit(lambda v, p: m.stateless_update_state(v, None, p))(
        [jnp.zeros(())], jnp.array([0.6, 0.1]))
    assert float(m.stateless_result(vals)) == 1.0 and float(m.result()) == 2.0
    m.reset_state()
    assert float(m.result()) == 0.0
    assert m.variables[0].path == "count_positives/n" and not m.variables[0].trainable
