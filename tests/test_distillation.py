"""keras.distillation: the distillation losses against values computed by hand
with numpy, a Distiller trained with fit (the formula of its loss, a frozen
teacher, equality with training the student alone at student_loss_weight=1),
configs and `.keras` files, and the errors for bad arguments."""

import json
import warnings

import jax
import numpy as np
import pytest

import jkeras as keras
from jkeras import layers
from jkeras.distillation import (
    DistillationLoss,
    Distiller,
    FeatureDistillation,
    LogitsDistillation,
)

N, D, C = 48, 5, 3
T = 2.0


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _kl(p, q):
    return np.mean(np.sum(p * np.log(p / q), axis=-1))


def _relu(z):
    return np.maximum(z, 0.0)


@pytest.fixture(scope="module")
def logits():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(4, C)).astype("float32") * 2,
            rng.normal(size=(4, C)).astype("float32") * 2)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(N, D)).astype("float32")
    y = np.argmax(x[:, :C] + 0.3 * rng.normal(size=(N, C)), axis=-1).astype("int32")
    return x, y


def _teacher(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((D,)), layers.Dense(8, activation="relu", name="t1"),
                             layers.Dense(16, activation="relu", name="t2"),
                             layers.Dense(C, name="t_out")], name="teacher")


def _student(seed=1, hidden=8):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((D,)),
                             layers.Dense(hidden, activation="relu", name="s1"),
                             layers.Dense(C, name="s_out")], name="student")


def _forward(model, x, names):
    """Each named Dense layer's output, in numpy, from the model's weights."""
    outs, h = {}, x
    for layer in model.layers:
        kernel, bias = (np.asarray(w) for w in layer.get_weights())
        h = h @ kernel + bias
        if layer.get_config()["activation"] == "relu":
            h = _relu(h)
        outs[layer.name] = h
    return [outs[n] for n in names]


# distillation losses -------------------------------------------------------------------
def test_logits_distillation_matches_softened_kl_and_crossentropy(logits):
    t, s = logits
    pt, ps = _softmax(t / T), _softmax(s / T)
    kl = _kl(pt, ps) * T * T
    ce = np.mean(-np.sum(pt * np.log(ps), axis=-1)) * T * T
    cases = [
        # the default 'kl_divergence' (a function, as Keras resolves the name), the class
        (LogitsDistillation(T), t, s, kl),
        (LogitsDistillation(T, keras.losses.KLDivergence()), t, s, kl),
        (LogitsDistillation(T, "categorical_crossentropy"), t, s, ce),
        (LogitsDistillation(T, keras.losses.CategoricalCrossentropy(from_logits=True)), t, s,
         ce),
        # other losses compare the scaled logits themselves
        (LogitsDistillation(T, "mse"), t, s, np.mean((t / T - s / T) ** 2)),
        # several outputs: one loss each (None skips one), or one loss for all
        (LogitsDistillation(T, ["kl_divergence", None]), [t, s], [s, t], kl),
        (LogitsDistillation(T), [t, s], [s, t], kl + _kl(ps, pt) * T * T),
    ]
    got = jax.jit(lambda: [c[0].compute_loss(*c[1:3]) for c in cases])()
    np.testing.assert_allclose(got, [c[3] for c in cases], rtol=1e-5)
    assert LogitsDistillation().temperature == 3.0
    assert LogitsDistillation().loss is keras.losses.kl_divergence


def test_feature_distillation_values(logits):
    t, s = logits
    mixed = FeatureDistillation({"a": "mse", "b": None, "c": keras.losses.MeanAbsoluteError()})
    cases = [
        (FeatureDistillation(), t, s, np.mean((t - s) ** 2)),
        (FeatureDistillation("mae"), t, s, np.mean(np.abs(t - s))),
        (mixed, {"a": t, "b": s, "c": s}, {"a": s, "b": t, "c": t},
         np.mean((t - s) ** 2) + np.mean(np.abs(s - t))),
    ]
    got = jax.jit(lambda: [c[0].compute_loss(*c[1:3]) for c in cases])()
    np.testing.assert_allclose(got, [c[3] for c in cases], rtol=1e-5)
    with pytest.raises(ValueError, match="structure of `loss`.*does not match"):
        mixed.compute_loss([t, s], [s, t])


def test_distillation_loss_argument_errors():
    for bad in (0, -1.0, "3", True, None):
        with pytest.raises(ValueError, match="LogitsDistillation: `temperature` must be"):
            LogitsDistillation(temperature=bad)
    with pytest.raises(ValueError, match="at least one loss that is not None"):
        LogitsDistillation(loss=None)
    with pytest.raises(ValueError, match="at least one loss that is not None"):
        FeatureDistillation(loss=[None, None])
    with pytest.raises(ValueError, match="FeatureDistillation: unknown loss 'msq'"):
        FeatureDistillation(loss="msq")
    with pytest.raises(TypeError, match="each entry of `loss` must be"):
        LogitsDistillation(loss=3)
    with pytest.raises(ValueError, match="`teacher_layer_name` must be a layer name"):
        FeatureDistillation(teacher_layer_name=3)
    with pytest.raises(NotImplementedError, match="must implement compute_loss"):
        DistillationLoss().compute_loss(1.0, 1.0)


# the Distiller -----------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="test_distillation")
class MeanAbsoluteLogits(DistillationLoss):
    """A user's distillation loss: the mean absolute difference of the logits."""

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        return keras.ops.mean(keras.ops.abs(teacher_outputs - student_outputs))


@pytest.fixture(scope="module")
def trained(data):
    """A distiller with logits, feature and a user's losses, trained a few epochs."""
    x, y = data
    teacher, student = _teacher(), _student()
    distiller = Distiller(
        teacher, student,
        [LogitsDistillation(T), FeatureDistillation(teacher_layer_name="t1",
                                                    student_layer_name="s1"),
         MeanAbsoluteLogits()],
        distillation_loss_weights=[1.0, 0.5, 2.0], student_loss_weight=0.3)
    distiller.compile(optimizer=keras.optimizers.Adam(0.02),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    teacher_before = [np.array(w) for w in teacher.get_weights()]
    student_before = [np.array(w) for w in student.get_weights()]
    history = distiller.fit(x, y, epochs=4, batch_size=16, verbose=0, shuffle=False)
    return distiller, history, teacher_before, student_before


def test_fit_trains_the_student_and_freezes_the_teacher(trained):
    distiller, history, teacher_before, student_before = trained
    assert not distiller.teacher.trainable and distiller.student.trainable
    assert [m.name for m in distiller.metrics] == [
        "loss", "accuracy", "student_loss", "distillation_loss", "total_loss"]
    h = history.history
    assert sorted(h) == ["accuracy", "distillation_loss", "loss", "student_loss",
                         "total_loss"]
    assert h["total_loss"][-1] < h["total_loss"][0]
    assert h["distillation_loss"][-1] < h["distillation_loss"][0]
    np.testing.assert_allclose(h["loss"], h["total_loss"], rtol=1e-6)
    for before, after in zip(teacher_before, distiller.teacher.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.allclose(b, a) for b, a in zip(student_before,
                                                     distiller.student.get_weights()))
    assert len(distiller.trainable_weights) == 4  # the student's kernels and biases


def test_evaluate_is_the_documented_combination(trained, data):
    distiller, _, _, _ = trained
    x, y = data
    logs = distiller.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)
    t1, t_out = _forward(distiller.teacher, x, ["t1", "t_out"])
    s1, s_out = _forward(distiller.student, x, ["s1", "s_out"])
    np.testing.assert_allclose(distiller.predict(x, verbose=0), s_out, rtol=1e-4, atol=1e-5)
    log_probs = np.log(_softmax(s_out))
    student_loss = -np.mean(log_probs[np.arange(N), y])
    distill = _kl(_softmax(t_out / T), _softmax(s_out / T)) * T * T \
        + 0.5 * np.mean((t1 - s1) ** 2) + 2.0 * np.mean(np.abs(t_out - s_out))
    np.testing.assert_allclose(logs["student_loss"], student_loss, rtol=1e-4)
    np.testing.assert_allclose(logs["distillation_loss"], distill, rtol=1e-4)
    np.testing.assert_allclose(logs["loss"], 0.3 * student_loss + 0.7 * distill, rtol=1e-4)
    np.testing.assert_allclose(logs["accuracy"], np.mean(s_out.argmax(-1) == y))
    # sample weights weight the student's loss ('sum_over_batch_size': divided by N)
    weights = (np.arange(N) % 2).astype("float32")
    weighted = distiller.evaluate(x, y, sample_weight=weights, batch_size=N, verbose=0,
                                  return_dict=True)
    per_sample = -log_probs[np.arange(N), y]
    np.testing.assert_allclose(weighted["student_loss"], np.sum(weights * per_sample) / N,
                               rtol=1e-4)
    np.testing.assert_allclose(weighted["distillation_loss"], distill, rtol=1e-4)
    # the list form follows the metrics' order, as in Keras
    values = distiller.evaluate(x, y, batch_size=N, verbose=0)
    np.testing.assert_allclose(values, [logs[k] for k in (
        "loss", "accuracy", "student_loss", "distillation_loss", "total_loss")], rtol=1e-6)


def test_student_loss_weight_one_equals_training_the_student_alone(data):
    x, y = data
    alone, distilled = _student(seed=3), _student(seed=3)
    for student in (alone, distilled):
        student_opt = keras.optimizers.SGD(0.1)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if student is alone:
            student.compile(optimizer=student_opt, loss=loss)
            student.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
        else:
            distiller = Distiller(_teacher(), student, LogitsDistillation(),
                                  student_loss_weight=1.0)
            distiller.compile(optimizer=student_opt, loss=loss)
            distiller.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(alone.get_weights(), distilled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_student_loss_weight_zero_distils_unlabeled_data(data):
    x, _ = data
    distiller = Distiller(_teacher(), _student(), LogitsDistillation(T),
                          student_loss_weight=0.0)
    distiller.compile(optimizer=keras.optimizers.SGD(0.5))  # no labels, no student loss
    h = distiller.fit(x, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h["loss"], h["distillation_loss"], rtol=1e-6)
    assert h["student_loss"] == [0.0, 0.0, 0.0]
    assert h["loss"][0] > h["loss"][1] > h["loss"][2] > 0
    labelled = Distiller(_teacher(), _student(), LogitsDistillation(T))
    labelled.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="student_loss_weight=0.5 needs labels y"):
        labelled.fit(x, epochs=1, verbose=0)


def test_config_and_keras_file_round_trip(trained, data, tmp_path):
    distiller, _, _, _ = trained
    x, y = data
    config = distiller.get_config()
    assert config["distillation_losses"][:2] == [
        {"module": "keras.distillation", "class_name": "LogitsDistillation",
         "config": {"temperature": T, "loss": {
             "module": "builtins", "class_name": "function", "config": "kl_divergence",
             "registered_name": "function"}}, "registered_name": None},
        {"module": "keras.distillation", "class_name": "FeatureDistillation",
         "config": {"loss": {"module": "builtins", "class_name": "function",
                             "config": "mean_squared_error", "registered_name": "function"},
                    "teacher_layer_name": "t1", "student_layer_name": "s1"},
         "registered_name": None}]
    custom = config["distillation_losses"][2]
    assert (custom["class_name"], custom["config"], custom["registered_name"]) == (
        "MeanAbsoluteLogits", {}, "test_distillation>MeanAbsoluteLogits")
    assert config["distillation_loss_weights"] == [1.0, 0.5, 2.0]
    assert config["student_loss_weight"] == 0.3
    assert config["teacher"]["class_name"] == "Sequential"
    rebuilt = Distiller.from_config(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config
    # Keras writes the dtype as a policy config
    keras_style = dict(config, dtype={"module": "keras", "class_name": "DTypePolicy",
                                      "config": {"name": "float32"}, "registered_name": None})
    assert keras.distillation.Distiller.from_config(keras_style).dtype == "float32"
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in distiller.weights]
    assert not rebuilt.teacher.trainable

    path = tmp_path / "distiller.keras"
    distiller.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, Distiller) and loaded.compiled
    assert loaded.get_config() == config
    for a, b in zip(loaded.get_weights(), distiller.get_weights()):
        np.testing.assert_array_equal(a, b)
    before = distiller.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)
    after = loaded.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)
    assert after == pytest.approx(before, rel=1e-5)
    # Keras 3.15 saves no student loss: such a file loads uncompiled, with a warning
    with pytest.warns(UserWarning, match="no student loss"):
        loaded.compile_from_config({"optimizer": "adam", "loss": None, "metrics": None})


def test_feature_layers_are_checked(data):
    teacher = _teacher()
    with pytest.raises(ValueError, match="in the teacher model: No layer named 'nope'"):
        Distiller(teacher, _student(), FeatureDistillation(teacher_layer_name="nope"))
    with pytest.raises(ValueError, match="in the student model: No layer named 'nope'"):
        Distiller(teacher, _student(), FeatureDistillation(teacher_layer_name="t1",
                                                           student_layer_name="nope"))
    with pytest.raises(ValueError, match=r"teacher's features \('t1', shape \(None, 8\)\) and "
                                         r"the student's \('s1', shape \(None, 4\)\)"):
        Distiller(teacher, _student(hidden=4),
                  FeatureDistillation(teacher_layer_name="t1", student_layer_name="s1"))

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(C)

        def call(self, x, training=None):
            return self.dense(x)

    with pytest.raises(ValueError, match="needs a Functional or Sequential model"):
        Distiller(teacher, Sub(), FeatureDistillation(teacher_layer_name="t1",
                                                      student_layer_name="dense"))
    # a subclassed student distils from the final outputs
    d = Distiller(teacher, Sub(), LogitsDistillation())
    assert d(data[0][:2]).shape == (2, C)


def test_distiller_argument_errors(data):
    teacher, student = _teacher(), _student()
    logits = LogitsDistillation()
    with pytest.raises(ValueError, match="`teacher` must be a keras Model"):
        Distiller("teacher", student, logits)
    with pytest.raises(ValueError, match="`student` must be a keras Model"):
        Distiller(teacher, layers.Dense(3), logits)
    for bad in (1.5, -0.1, "0.5", None):
        with pytest.raises(ValueError, match="`student_loss_weight` must be a number between"):
            Distiller(teacher, student, logits, student_loss_weight=bad)
    with pytest.raises(ValueError, match="one weight per distillation loss: 2 loss"):
        Distiller(teacher, student, [logits, FeatureDistillation()],
                  distillation_loss_weights=[1.0])
    with pytest.raises(ValueError, match="`distillation_losses` is required"):
        Distiller(teacher, student, None)
    with pytest.raises(TypeError, match="entries must be DistillationLoss objects"):
        Distiller(teacher, student, ["kl_divergence"])
    keras.utils.set_random_seed(0)
    wide = keras.Sequential([keras.Input((D,)), layers.Dense(C + 1)])
    with pytest.raises(ValueError, match=r"output shapes are incompatible: teacher \(None, 3\), "
                                         r"student \(None, 4\)"):
        Distiller(teacher, wide, logits)
    other_input = keras.Sequential([keras.Input((D + 1,)), layers.Dense(C)])
    with pytest.raises(ValueError, match="input shapes are incompatible"):
        Distiller(teacher, other_input, logits)
    unbuilt = keras.Sequential([layers.Dense(C)])
    with pytest.raises(ValueError, match="the teacher model .* is not built"):
        Distiller(unbuilt, student, logits)
    d = Distiller(teacher, student, logits, distillation_loss_weights=[0.5])
    assert d.distillation_loss_weights == [0.5]
    with pytest.raises(ValueError, match=r"`loss` \(the student's loss on the labels"):
        d.compile(optimizer="adam")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Distiller(teacher, student, logits, student_loss_weight=0.0).compile()  # no labels
