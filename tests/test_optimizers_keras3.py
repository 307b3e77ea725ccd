"""Keras 3 optimizers (Adafactor, Ftrl, Lamb, Muon, ScheduleFreeAdamW,
MultiOptimizer) and use_ema: update steps against numpy references of the
documented rules, configs, and fitting a tiny model."""

import numpy as np
import pytest

import jkeras as keras
from jkeras import optimizers
from jkeras.engine.variable import Variable

SHAPES = [(3, 4), (4,)]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    init = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(3)]
    return init, grads


def _run(opt, init, grads, paths=("dense/kernel", "dense/bias")):
    variables = [Variable(a, name=p.split("/")[-1], path=p) for a, p in zip(init, paths)]
    for g in grads:
        opt.apply_gradients(zip(g, variables))
    return [np.asarray(v.value) for v in variables]


def _rms(x):
    return np.sqrt(np.mean(np.square(x)))


def _np_adafactor(w, grads, lr, decay=-0.8, eps1=1e-30, eps2=1e-3, clip=1.0, wd=0.0):
    w = [a.astype(np.float64) for a in w]
    r = [np.zeros(a.shape[:-1]) for a in w]
    c = [np.zeros(a.shape[:-2] + a.shape[-1:]) for a in w]
    v = [np.zeros(a.shape) for a in w]
    for t, gs in enumerate(grads, 1):
        beta = 1 - t ** decay
        rho = min(lr, 1 / np.sqrt(t))
        for i, g in enumerate(gs):
            w[i] = w[i] - lr * wd * w[i]
            g2 = g * g + eps1
            if g.ndim >= 2:
                r[i] = beta * r[i] + (1 - beta) * g2.mean(-1)
                c[i] = beta * c[i] + (1 - beta) * g2.mean(-2)
                vh = np.outer(r[i] / r[i].mean(), c[i])
            else:
                v[i] = beta * v[i] + (1 - beta) * g2
                vh = v[i]
            u = g / np.sqrt(vh)
            u = u / max(1.0, _rms(u) / clip)
            w[i] = w[i] - max(eps2, _rms(w[i])) * rho * u
    return w


def _np_ftrl(w, grads, lr, power=-0.5, init_acc=0.1, l1=0.0, l2=0.0, shrink=0.0, beta=0.0):
    w = [a.astype(np.float64) for a in w]
    n = [np.full(a.shape, init_acc) for a in w]
    z = [np.zeros(a.shape) for a in w]
    for gs in grads:
        for i, g in enumerate(gs):
            new_n = n[i] + g * g
            sigma = (new_n ** -power - n[i] ** -power) / lr
            z[i] = z[i] + g + 2 * shrink * w[i] - sigma * w[i]
            quad = new_n ** -power / lr + 2 * (l2 + beta / (2 * lr))
            w[i] = (np.clip(z[i], -l1, l1) - z[i]) / quad
            n[i] = new_n
    return w


def _np_lamb(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7, wd=0.0):
    w = [a.astype(np.float64) for a in w]
    m = [np.zeros(a.shape) for a in w]
    v = [np.zeros(a.shape) for a in w]
    for t, gs in enumerate(grads, 1):
        for i, g in enumerate(gs):
            w[i] = w[i] - lr * wd * w[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            u = (m[i] / (1 - b1 ** t)) / (np.sqrt(v[i] / (1 - b2 ** t)) + eps)
            ratio = np.linalg.norm(w[i]) / np.linalg.norm(u)
            w[i] = w[i] - ratio * lr * u
    return w


def _np_newton_schulz(x, steps=5, a=3.4445, b=-4.7750, c=2.0315):
    tall = x.shape[0] > x.shape[1]
    x = x.T if tall else x
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def _np_muon(w, grads, lr, momentum=0.95, wd=0.004, adam_wd=0.004, rms_rate=0.2,
             b1=0.9, b2=0.999, eps=1e-7):
    w = [a.astype(np.float64) for a in w]
    m = [np.zeros(a.shape) for a in w]
    v = [np.zeros(a.shape) for a in w]
    for t, gs in enumerate(grads, 1):
        for i, g in enumerate(gs):
            if w[i].ndim == 2:  # Muon, Nesterov
                w[i] = w[i] - lr * wd * w[i]
                m[i] = momentum * m[i] + g
                u = _np_newton_schulz(g + momentum * m[i])
                w[i] = w[i] - lr * u * np.sqrt(max(u.shape)) * rms_rate
            else:  # Adam
                w[i] = w[i] - lr * adam_wd * w[i]
                m[i] = m[i] + (g - m[i]) * (1 - b1)
                v[i] = v[i] + (g * g - v[i]) * (1 - b2)
                alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                w[i] = w[i] - alpha * m[i] / (np.sqrt(v[i]) + eps)
    return w


def _np_schedule_free(w, grads, lr, b1=0.9, b2=0.999, eps=1e-8, warmup=0):
    y = [a.astype(np.float64) for a in w]
    z = [a.copy() for a in y]
    v = [np.zeros(a.shape) for a in y]
    for t, gs in enumerate(grads, 1):
        lr_t = lr * min(t / warmup, 1.0) if warmup else lr
        for i, g in enumerate(gs):
            v[i] = v[i] + (g * g - v[i]) * (1 - b2)
            z_old = z[i]
            z[i] = z_old - lr_t * g / (np.sqrt(v[i] / (1 - b2 ** t)) + eps)
            x = (y[i] - (1 - b1) * z_old) / b1
            x = (1 - 1 / t) * x + (1 / t) * z[i]
            y[i] = (1 - b1) * z[i] + b1 * x
    return y


@pytest.mark.parametrize("make, reference", [
    # lr 0.7 meets the 1/sqrt(t) cap at step 3
    (lambda: optimizers.Adafactor(learning_rate=0.7, beta_2_decay=-0.5, clip_threshold=0.5,
                                  weight_decay=0.1),
     lambda w, g: _np_adafactor(w, g, 0.7, decay=-0.5, clip=0.5, wd=0.1)),
    (lambda: optimizers.Ftrl(learning_rate=0.2, learning_rate_power=-0.7,
                             initial_accumulator_value=0.5, l1_regularization_strength=0.05,
                             l2_regularization_strength=0.1,
                             l2_shrinkage_regularization_strength=0.02, beta=0.3),
     lambda w, g: _np_ftrl(w, g, 0.2, -0.7, 0.5, 0.05, 0.1, 0.02, 0.3)),
    (lambda: optimizers.Lamb(learning_rate=0.1, weight_decay=0.05),
     lambda w, g: _np_lamb(w, g, 0.1, wd=0.05)),
    (lambda: optimizers.Muon(learning_rate=0.05),
     lambda w, g: _np_muon(w, g, 0.05)),
    (lambda: optimizers.ScheduleFreeAdamW(learning_rate=0.1, warmup_steps=2),
     lambda w, g: _np_schedule_free(w, g, 0.1, warmup=2)),
], ids=["adafactor", "ftrl", "lamb", "muon", "schedule_free"])
def test_updates_match_documented_rules(problem, make, reference):
    init, grads = problem
    for got, want in zip(_run(make(), init, grads), reference(init, grads)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_muon_sends_non_matrices_embeddings_and_excluded_layers_to_adam():
    variables = [Variable(np.zeros(shape, np.float32), name=path.split("/")[-1], path=path)
                 for shape, path in [((3, 4), "dense/kernel"), ((4,), "dense/bias"),
                                     ((5, 4), "embedding/embeddings"), ((4, 4), "head/kernel"),
                                     ((2, 2, 4), "conv/kernel")]]
    opt = optimizers.Muon(exclude_layers=["head/.*"])
    opt.build(variables)
    assert opt._adam_flags == (False, True, True, True, True)
    opt = optimizers.Muon(exclude_embeddings=False)
    opt.build(variables)
    assert opt._adam_flags == (False, True, False, False, True)


def test_learning_rate_schedule_and_configs(problem):
    init, grads = problem
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    got = _run(optimizers.Ftrl(learning_rate=schedule), init, grads)
    # the schedule's value at each step: 0.1, 0.05, 0.025 (recomputed step by step)
    w = [a.astype(np.float64) for a in init]
    n = [np.full(a.shape, 0.1) for a in w]
    z = [np.zeros(a.shape) for a in w]
    for t, gs in enumerate(grads):
        lr = 0.1 * 0.5 ** t
        for i, g in enumerate(gs):
            new_n = n[i] + g * g
            z[i] += g - (np.sqrt(new_n) - np.sqrt(n[i])) / lr * w[i]
            w[i] = (np.clip(z[i], 0, 0) - z[i]) / (np.sqrt(new_n) / lr)
            n[i] = new_n
    for a, b in zip(got, w):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    for cls in (optimizers.Adafactor, optimizers.Ftrl, optimizers.Lamb, optimizers.Muon,
                optimizers.ScheduleFreeAdamW):
        opt = cls(learning_rate=schedule, clipnorm=1.0, use_ema=True)
        again = optimizers.deserialize(optimizers.serialize(opt))
        assert type(again) is cls and again.get_config() == opt.get_config()
        assert type(optimizers.get(cls.__name__.lower())) is cls
    with pytest.raises(ValueError, match=r"Ftrl: learning_rate_power must be <= 0"):
        optimizers.Ftrl(learning_rate_power=0.5)


def test_use_ema_averages_and_overwrite(problem):
    init, grads = problem
    opt = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.7,
                         ema_overwrite_frequency=2)
    got = _run(opt, init, grads)
    w = [a.astype(np.float64) for a in init]
    ema = None
    for t, gs in enumerate(grads):
        w = [a - 0.1 * g for a, g in zip(w, gs)]
        ema = list(w) if t == 0 else [0.7 * e + 0.3 * a for e, a in zip(ema, w)]
        if (t + 1) % 2 == 0:
            w = list(ema)
    for a, b, e, f in zip(got, w, opt.state.ema, ema):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e, f, rtol=1e-5, atol=1e-6)
    assert opt.get_config()["use_ema"] is True


def test_multi_optimizer_routes_by_path(problem):
    init, grads = problem
    adam, sgd = optimizers.Adam(0.1), optimizers.SGD(0.1)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd, {"dense/k.*": adam}))
    got = _run(multi, init, grads)
    want_kernel = _run(optimizers.Adam(0.1), init[:1], [g[:1] for g in grads],
                       paths=("dense/kernel",))
    want_bias = init[1] - 0.1 * sum(g[1] for g in grads)
    np.testing.assert_allclose(got[0], want_kernel[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want_bias, rtol=1e-6)
    assert multi.optimizers == [adam, sgd]
    assert multi.iterations == adam.iterations == sgd.iterations == 3
    with pytest.raises(AttributeError, match="no learning rate of its own"):
        multi.learning_rate  # noqa: B018
    again = optimizers.deserialize(optimizers.serialize(multi))
    assert optimizers.serialize(again) == optimizers.serialize(multi)
    with pytest.raises(ValueError, match="keys must not repeat"):
        optimizers.OptimizerMap(sgd, {"a": adam})["a"] = sgd


def test_fit_with_every_new_optimizer_decreases_loss():
    """One compiled model, each layer trained by another new optimizer."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = x @ rng.normal(size=(4, 2)).astype(np.float32)
    inputs = keras.Input((4,))
    h = inputs
    for name in "abcd":
        h = keras.layers.Dense(4, name=name)(h)
    model = keras.Model(inputs, keras.layers.Dense(2, name="e")(h))
    routes = {"a/.*": optimizers.Adafactor(0.05), "b/.*": optimizers.Lamb(0.02),
              "c/.*": optimizers.Ftrl(0.2), "d/.*": optimizers.Muon(0.05)}
    multi = optimizers.MultiOptimizer(
        optimizers.OptimizerMap(optimizers.ScheduleFreeAdamW(0.02), routes))
    model.compile(optimizer=multi, loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0).history["loss"]
    assert history[-1] < 0.7 * history[0]
    assert [o.iterations for o in multi.optimizers] == [16] * 5
