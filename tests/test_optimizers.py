"""Optimizers vs hand-computed Keras formulas and Keras's golden values; schedules;
the pure init/update API, lr changes without retracing, state save/restore."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras import optimizers
from jkeras.engine.variable import Variable
from jkeras.optimizers import schedules

G1 = np.array([1.0, 6.0, 7.0, 2.0], np.float32)
X0 = np.array([1.0, 2.0, 3.0, 4.0], np.float32)


def _two_steps(opt, g1=G1, g2=None, x0=X0):
    """Runs two pure updates; returns params after step 1 and step 2."""
    g2 = G1 * -0.5 if g2 is None else g2
    state = opt.init([jnp.asarray(x0)])
    p1, state = opt.update([g1], state, [jnp.asarray(x0)])
    p2, state = opt.update([g2], state, p1)
    assert int(state.iterations) == 2
    return np.asarray(p1[0]), np.asarray(p2[0])


def test_sgd_momentum_nesterov_formulas():
    lr, mom = 0.1, 0.9
    g2 = -0.5 * G1
    p1, p2 = _two_steps(optimizers.SGD(learning_rate=lr))
    np.testing.assert_allclose(p1, X0 - lr * G1, rtol=1e-6)
    np.testing.assert_allclose(p2, X0 - lr * G1 - lr * g2, rtol=1e-6)
    # Keras: v = mom * v - lr * g; p += v  (nesterov: p += mom * v - lr * g)
    v1 = -lr * G1
    v2 = mom * v1 - lr * g2
    p1, p2 = _two_steps(optimizers.SGD(learning_rate=lr, momentum=mom))
    np.testing.assert_allclose(p1, X0 + v1, rtol=1e-6)
    np.testing.assert_allclose(p2, X0 + v1 + v2, rtol=1e-6)
    p1, p2 = _two_steps(optimizers.SGD(learning_rate=lr, momentum=mom, nesterov=True))
    np.testing.assert_allclose(p1, X0 + mom * v1 - lr * G1, rtol=1e-6)
    np.testing.assert_allclose(p2, p1 + mom * v2 - lr * g2, rtol=1e-6)


def test_rmsprop_adam_adagrad_formulas():
    g2 = -0.5 * G1
    # RMSprop, epsilon inside the sqrt, with momentum
    lr, rho, mom, eps = 0.01, 0.9, 0.5, 1e-7
    v1 = (1 - rho) * G1**2
    inc1 = lr * G1 / np.sqrt(v1 + eps)
    v2 = rho * v1 + (1 - rho) * g2**2
    inc2 = lr * g2 / np.sqrt(v2 + eps)
    p1, p2 = _two_steps(optimizers.RMSprop(learning_rate=lr, momentum=mom))
    np.testing.assert_allclose(p1, X0 - inc1, rtol=1e-5)
    np.testing.assert_allclose(p2, X0 - inc1 - (mom * inc1 + inc2), rtol=1e-5)
    # Adam with Keras's epsilon hat; a large epsilon makes the form visible
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 0.5
    m, v, x = np.zeros(4), np.zeros(4), X0.astype(np.float64)
    out = []
    for t, g in ((1, G1), (2, g2)):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        x = x - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        out.append(x)
    p1, p2 = _two_steps(optimizers.Adam(learning_rate=lr, epsilon=eps))
    np.testing.assert_allclose(p1, out[0], rtol=1e-5)
    np.testing.assert_allclose(p2, out[1], rtol=1e-5)
    # Adagrad with initial accumulator 0.1
    lr = 0.5
    a1 = 0.1 + G1**2
    a2 = a1 + g2**2
    p1, p2 = _two_steps(optimizers.Adagrad(learning_rate=lr))
    np.testing.assert_allclose(p1, X0 - lr * G1 / np.sqrt(a1 + 1e-7), rtol=1e-5)
    np.testing.assert_allclose(p2, p1 - lr * g2 / np.sqrt(a2 + 1e-7), rtol=1e-5)


def _golden(opt, rows):
    x = Variable(np.ones(10, np.float32))
    grads = np.arange(1, 11, dtype=np.float32) / 10
    opt.apply_gradients([(np.full(10, 0.01, np.float32), x)])
    for row in rows:
        np.testing.assert_allclose(np.asarray(x), np.broadcast_to(row, (10,)), atol=5e-4)
        opt.apply_gradients([(grads, x)])


def test_keras_golden_values():
    """Trajectories published in Keras's own optimizer tests."""
    _golden(optimizers.RMSprop(centered=True), [0.9967, 0.9933, 0.9908, 0.9885, 0.9864])
    _golden(optimizers.Adam(amsgrad=True), [0.999, 0.9982, 0.9974, 0.9965, 0.9955])
    _golden(optimizers.Adadelta(learning_rate=1.0, rho=0.8, epsilon=1e-6),
            [0.9978, 0.9947, 0.9915, 0.9882, 0.9849])
    _golden(optimizers.Lion(), [0.999, 0.998, 0.997, 0.996, 0.995])
    _golden(optimizers.Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5), [
        [0.4281] * 10,
        [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718, -0.1717],
        [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085, -0.7084],
        [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23, -1.2299],
        [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455, -1.7454]])
    _golden(optimizers.Adamax(learning_rate=0.2, beta_1=0.85, beta_2=0.95, epsilon=1e-6), [
        [0.8] * 10,
        [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
        [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
        [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
        [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126]])
    _golden(optimizers.AdamW(learning_rate=1.0, weight_decay=0.5, epsilon=2), [
        [0.4998] * 10,
        [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
        [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
        [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
        [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113, -0.0159]])


@pytest.mark.parametrize("cls,expected", [
    (optimizers.RMSprop, [-0.5811, 0.4189, 1.4189, 2.4189]),
    (optimizers.Adagrad, [0.5233, 1.5007, 2.5005, 3.5061]),
    (optimizers.Nadam, [0.4686, 1.4686, 2.4686, 3.4686]),
    (optimizers.AdamW, [0.4980, 1.4960, 2.494, 3.492]),
])
def test_keras_single_step_values(cls, expected):
    v = Variable(X0.copy())
    cls(learning_rate=0.5).apply_gradients(zip([G1], [v]))
    np.testing.assert_allclose(np.asarray(v), expected, atol=1e-4)


def test_weight_decay_and_exclusions():
    for cls in (optimizers.SGD, optimizers.Adam, optimizers.Lion):
        g = np.zeros((), np.float32)
        v1, v2, v3 = Variable(2.0, name="v1"), Variable(2.0, name="exclude"), Variable(2.0)
        cls(learning_rate=1.0, weight_decay=0.004).apply_gradients([(g, v1)])
        o2 = cls(learning_rate=1.0, weight_decay=0.004)
        o2.exclude_from_weight_decay(var_names=["exclude"])
        o2.apply_gradients([(g, v1), (g, v2)])
        o3 = cls(learning_rate=1.0, weight_decay=0.004)
        o3.exclude_from_weight_decay(var_list=[v3])
        o3.apply_gradients([(g, v1), (g, v3)])
        np.testing.assert_allclose(float(np.asarray(v1)), 2 * 0.996**3, rtol=1e-6)
        assert float(np.asarray(v2)) == 2.0 and float(np.asarray(v3)) == 2.0
    # decoupled: with SGD + momentum the decay does not enter the velocity
    lr, wd = 0.1, 0.5
    p1, p2 = _two_steps(optimizers.SGD(learning_rate=lr, momentum=0.9, weight_decay=wd),
                        g2=np.zeros(4, np.float32))
    np.testing.assert_allclose(p1, X0 - lr * G1 - lr * wd * X0, rtol=1e-6)
    np.testing.assert_allclose(p2, p1 + 0.9 * (-lr * G1) - lr * wd * p1, rtol=1e-5)
    with pytest.raises(ValueError, match="weight_decay must be a float"):
        optimizers.AdamW(weight_decay=None)


def test_clipping():
    g = np.array([3.0, 4.0], np.float32)  # norm 5
    x = np.zeros(2, np.float32)
    p1, _ = _two_steps(optimizers.SGD(learning_rate=1.0, clipnorm=1.0), g1=g, g2=g, x0=x)
    np.testing.assert_allclose(p1, -g / 5, rtol=1e-6)
    p1, _ = _two_steps(optimizers.SGD(learning_rate=1.0, clipvalue=3.5), g1=g, g2=g, x0=x)
    np.testing.assert_allclose(p1, [-3.0, -3.5], rtol=1e-6)
    opt = optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0)
    params = [jnp.zeros(2), jnp.zeros(1)]
    new, _ = opt.update([g, np.array([12.0], np.float32)], opt.init(params), params)
    np.testing.assert_allclose(np.concatenate([np.asarray(p) for p in new]),
                               -np.array([3.0, 4.0, 12.0]) / 13, rtol=1e-6)
    # per-tensor clipnorm leaves small gradients alone
    big = optimizers.SGD(learning_rate=1.0, clipnorm=10.0)
    new, _ = big.update([g], big.init([jnp.zeros(2)]), [jnp.zeros(2)])
    np.testing.assert_allclose(new[0], -g)
    with pytest.raises(ValueError, match="clipnorm must be > 0"):
        optimizers.Adam(clipnorm=0)
    with pytest.raises(ValueError, match="only one of clipnorm and global_clipnorm"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)


def test_lr_setter_takes_effect_without_retracing():
    opt = optimizers.SGD(learning_rate=0.1)
    params = [jnp.ones(3)]
    opt.init(params)
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        return opt.update([jnp.ones(3)], state, params)

    params, opt.state = step(params, opt.state)
    np.testing.assert_allclose(params[0], 0.9, rtol=1e-6)
    opt.learning_rate = 0.5
    assert opt.learning_rate == pytest.approx(0.5)
    params, opt.state = step(params, opt.state)
    np.testing.assert_allclose(params[0], 0.4, rtol=1e-6)
    opt.lr = 0.25  # Keras 2 spelling
    params, opt.state = step(params, opt.state)
    np.testing.assert_allclose(params[0], 0.15, rtol=1e-5)
    assert len(traces) == 1
    assert opt.iterations == 3
    # setting before build is used by init
    o = optimizers.Adam()
    o.learning_rate = 0.02
    o.init([jnp.ones(2)])
    assert o.learning_rate == pytest.approx(0.02)
    with pytest.raises(ValueError, match="learning_rate must be"):
        o.learning_rate = "fast"


def test_schedule_learning_rate_and_keras1_decay():
    sched = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = optimizers.SGD(learning_rate=sched)
    params = [jnp.zeros(1)]
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.update([jnp.ones(1)], state, params)
    np.testing.assert_allclose(params[0], -(0.1 + 0.05 + 0.025), rtol=1e-6)
    opt.state = state
    assert opt.learning_rate == pytest.approx(0.1 * 0.5**3)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    # any callable of the step
    opt = optimizers.SGD(learning_rate=lambda step: 0.1 / (step + 1.0))
    params = [jnp.zeros(1)]
    state = opt.init(params)
    for _ in range(2):
        params, state = opt.update([jnp.ones(1)], state, params)
    np.testing.assert_allclose(params[0], -(0.1 + 0.05), rtol=1e-6)
    # Keras 1: lr= and decay= (time-based decay) with DeprecationWarnings
    with pytest.warns(DeprecationWarning, match="'lr'.*'learning_rate'"), \
            pytest.warns(DeprecationWarning, match="'decay'.*InverseTimeDecay") as rec:
        opt = optimizers.SGD(lr=0.2, decay=1.0)
    assert all(w.filename == __file__ for w in rec)
    assert opt.learning_rate == pytest.approx(0.2)
    params = [jnp.zeros(1)]
    state = opt.init(params)
    for _ in range(2):
        params, state = opt.update([jnp.ones(1)], state, params)
    np.testing.assert_allclose(params[0], -(0.2 + 0.2 / 2), rtol=1e-6)
    assert opt.get_config()["decay"] == 1.0


def test_schedule_values():
    e = schedules.ExponentialDecay(1.0, 10, 0.5, staircase=True)
    assert float(e(15)) == pytest.approx(0.5)
    assert float(schedules.ExponentialDecay(1.0, 10, 0.5)(15)) == pytest.approx(0.5**1.5)
    pc = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [float(pc(s)) for s in (0, 10, 11, 20, 21)] == pytest.approx([1, 1, 0.5, 0.5, 0.1])
    it = schedules.InverseTimeDecay(1.0, 10, 0.5)
    assert float(it(20)) == pytest.approx(1 / (1 + 0.5 * 2))
    assert float(schedules.InverseTimeDecay(1.0, 10, 0.5, staircase=True)(19)) == \
        pytest.approx(1 / 1.5)
    poly = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.1, power=2.0)
    assert float(poly(5)) == pytest.approx(0.9 * 0.25 + 0.1)
    assert float(poly(50)) == pytest.approx(0.1)
    cyc = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, cycle=True)
    assert float(cyc(15)) == pytest.approx(1 - 15 / 20)
    cos = schedules.CosineDecay(1.0, 100, alpha=0.1)
    assert float(cos(50)) == pytest.approx(0.9 * 0.5 + 0.1)
    assert float(cos(500)) == pytest.approx(0.1)
    warm = schedules.CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10)
    assert float(warm(5)) == pytest.approx(0.5)
    assert float(warm(10)) == pytest.approx(1.0)
    assert float(warm(60)) == pytest.approx(0.5, abs=1e-6)
    restarts = schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0)
    assert float(restarts(5)) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert float(restarts(10)) == pytest.approx(1.0)  # restart
    assert float(restarts(20)) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    # traceable with a traced step
    np.testing.assert_allclose(jax.jit(cos)(jnp.int32(50)), 0.55, rtol=1e-6)
    again = schedules.deserialize(schedules.serialize(warm))
    assert isinstance(again, schedules.CosineDecay) and again.get_config() == warm.get_config()


def test_get_config_roundtrip_and_get():
    for name, cls in [("sgd", optimizers.SGD), ("RMSprop", optimizers.RMSprop),
                      ("adam", optimizers.Adam), ("AdamW", optimizers.AdamW),
                      ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
                      ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam),
                      ("lion", optimizers.Lion)]:
        assert isinstance(optimizers.get(name), cls)
    adam = optimizers.get("adam")
    assert adam.learning_rate == pytest.approx(0.001) and adam.epsilon == 1e-7
    assert optimizers.get("sgd").learning_rate == pytest.approx(0.01)
    inst = optimizers.Adam()
    assert optimizers.get(inst) is inst
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'.*rmsprop"):
        optimizers.get("adamm")
    opt = optimizers.RMSprop(learning_rate=0.5, rho=0.8, momentum=0.05, epsilon=1e-6,
                             centered=True, clipnorm=2.0)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is optimizers.RMSprop and again.get_config() == opt.get_config()
    sched_opt = optimizers.Adam(learning_rate=schedules.CosineDecay(0.1, 100))
    again = optimizers.get({"class_name": "Adam", "config": sched_opt.get_config()})
    assert isinstance(again._schedule, schedules.CosineDecay)
    # Keras 2 configs carry extra keys
    cfg = dict(optimizers.SGD().get_config(), decay=0.0, is_legacy_optimizer=False)
    assert isinstance(optimizers.SGD.from_config(cfg), optimizers.SGD)
    with pytest.raises(TypeError, match="unexpected argument"):
        optimizers.Adam(beta1=0.9)
    assert optimizers.legacy.Adam is optimizers.Adam


def test_state_arrays_roundtrip_and_variables():
    params = [jnp.ones((2, 2)), jnp.zeros(3)]
    grads = [jnp.full((2, 2), 0.5), jnp.ones(3)]
    a = optimizers.Adam(learning_rate=0.1)
    state = a.init(params)
    p, a.state = a.update(grads, state, params)
    saved = a.get_state_arrays()
    assert int(saved[0]) == 1 and float(saved[1]) == pytest.approx(0.1)
    b = optimizers.Adam(learning_rate=0.1)
    b.init(params)
    b.set_state_arrays(saved)
    assert b.iterations == 1
    pa, _ = a.update(grads, a.state, p)
    pb, _ = b.update(grads, b.state, p)
    for x, y in zip(pa, pb):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="state arrays"):
        b.set_state_arrays(saved[:-1])
    with pytest.raises(ValueError, match="not built"):
        optimizers.Adam().get_state_arrays()
    names = [v.name for v in a.variables]
    assert names[:2] == ["iteration", "learning_rate"] and len(a.variables()) == len(saved)


def test_apply_gradients_minimize_and_constraints():
    w = Variable(np.array([1.0, -2.0], np.float32), name="w")
    w.constraint = lambda x: jnp.maximum(x, 0.0)
    b = Variable(np.array([0.5], np.float32), name="b")
    opt = optimizers.SGD(learning_rate=0.1)
    it = opt.apply_gradients([(np.array([1.0, 1.0]), w), (np.array([1.0]), b)])
    assert it == 1
    np.testing.assert_allclose(np.asarray(w), [0.9, 0.0], rtol=1e-6)  # constrained
    np.testing.assert_allclose(np.asarray(b), [0.4], rtol=1e-6)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(None, w), (np.array([1.0]), b)])
    np.testing.assert_allclose(np.asarray(w), [0.9, 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply_gradients([(np.array([1.0]), Variable(np.zeros(1, np.float32)))])
    x = Variable(np.array(3.0, np.float32))
    m = optimizers.SGD(learning_rate=0.25)
    m.minimize(lambda: x.value**2, [x])  # grad 6
    np.testing.assert_allclose(float(np.asarray(x)), 1.5, rtol=1e-6)


def test_build_keeps_state_and_iterations():
    v = [Variable(np.ones(2, np.float32))]
    opt = optimizers.Adam()
    opt.build(v)
    opt.apply_gradients([(np.ones(2), v[0])])
    opt.build(v)  # idempotent
    assert opt.iterations == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.build(v)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.Nadam])
def test_low_precision_params_keep_state_dtypes(cls):
    opt = cls(momentum=0.9) if cls is optimizers.SGD else cls()
    params = [jnp.ones(3, jnp.bfloat16), jnp.ones(2, jnp.float32)]
    state = opt.init(params)
    traces = []

    @jax.jit
    def step(p, s):
        traces.append(1)
        return opt.update([jnp.ones(3, jnp.float32), jnp.ones(2)], s, p)

    for _ in range(3):
        params, new_state = step(params, state)
        assert jax.tree_util.tree_structure(new_state) == jax.tree_util.tree_structure(state)
        assert [x.dtype for x in jax.tree_util.tree_leaves(new_state)] == [
            x.dtype for x in jax.tree_util.tree_leaves(state)]
        state = new_state
    assert params[0].dtype == jnp.bfloat16 and len(traces) == 1
