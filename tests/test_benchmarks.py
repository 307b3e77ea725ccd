"""The benchmark harness (benchmarks/): model definitions and result bookkeeping.

No peer venvs and no timing: the jkeras models must build with the seed guide's
parameter counts, and the ratio/target/table code must compute the right numbers.
"""

import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import bench_data as data  # noqa: E402
import harness  # noqa: E402
import models_keras  # noqa: E402

import jkeras  # noqa: E402


@pytest.mark.parametrize("key", ["a", "b", "c", "d"])
def test_jkeras_models_have_seed_parameter_counts(key):
    model = models_keras.build(key, jkeras)
    assert model.count_params() == data.SEED_PARAM_COUNTS[key]


def test_benchmark_models_shapes():
    a = models_keras.build("a", jkeras)
    assert tuple(a.output.shape) == (None, 10)
    b = models_keras.build("b", jkeras)
    assert [t.shape[1:] for t in b.inputs] == [(100,), (5,)]
    assert [t.shape[1:] for t in b.outputs] == [(1,), (1,)]
    c = models_keras.build("c", jkeras)
    assert [tuple(t.shape[1:]) for t in c.inputs] == [(27, 27, 1), (27, 27, 1)]
    d = models_keras.build("d", jkeras)
    assert tuple(d.output.shape) == (None, 10)


@pytest.mark.parametrize("key", ["a", "b", "c", "d", "g"])
def test_data_matches_model_inputs_and_is_deterministic(key):
    x, y = data.make_data(key, 64, seed=3)
    x2, _ = data.make_data(key, 64, seed=3)
    model = models_keras.build(key, jkeras, texts=x[0] if data.MODELS[key].text else None)
    assert len(x) == len(model.inputs) and len(y) == len(model.outputs)
    for arr, t in zip(x, model.inputs):
        assert arr.shape == (64,) + tuple(t.shape[1:])
    for a1, a2 in zip(x, x2):
        np.testing.assert_array_equal(a1, a2)


def test_sample_count_rounds_to_batches():
    assert data.sample_count("a", quick=False) == 60000
    assert data.sample_count("a", quick=False, override=100) == 96
    assert data.sample_count("b", quick=True, override=5) == 32


def _cell(model, peer, sps=None, cold=None, mem=None, warm=None, predict=None, error=None):
    """A fake worker result whose median epoch gives `sps` samples/s on n=1000."""
    c = {"model": model, "peer": peer, "n": 1000, "rss_peak_mb": mem,
         "first_epoch_s": cold, "first_epoch_warm_s": warm, "predict": predict or {}}
    if sps is not None:
        t = 1000 / sps
        c["epoch_s"] = [t * 1.5, t, t * 0.9]  # median is t
    if error:
        c["error"] = error
    return harness.summarize(c)


def test_summarize_takes_the_median_epoch():
    c = _cell("a", "jkeras", sps=2000)
    assert c["samples_per_s"] == pytest.approx(2000)
    assert c["samples_per_s_best"] == pytest.approx(2000 / 0.9)
    assert "samples_per_s" not in _cell("a", "jkeras", sps=2000, error="boom")


def test_ratios_on_synthetic_numbers():
    cells = [
        _cell("a", "jkeras", sps=3000, cold=2.0, mem=300, warm=0.5, predict={"32": 900}),
        _cell("a", "keras3-jax", sps=1000, cold=4.0, mem=600, warm=2.0, predict={"32": 300}),
        _cell("a", "torch", sps=1500, cold=1.0, mem=150),
        _cell("a", "jax-scan", error="failed"),
    ]
    r = harness.compute_ratios(cells)["a"]
    assert set(r) == {"keras3-jax", "torch", "jax-scan"}
    assert r["keras3-jax"]["speed"] == pytest.approx(3.0)
    assert r["keras3-jax"]["cold"] == pytest.approx(0.5)
    assert r["keras3-jax"]["warm"] == pytest.approx(0.25)
    assert r["keras3-jax"]["memory"] == pytest.approx(0.5)
    assert r["keras3-jax"]["predict_32"] == pytest.approx(3.0)
    assert r["torch"]["speed"] == pytest.approx(2.0)
    assert r["torch"]["memory"] == pytest.approx(2.0)
    assert r["torch"]["warm"] is None and r["torch"]["predict_32"] is None
    assert all(v is None for v in r["jax-scan"].values())


def test_ratios_are_none_when_jkeras_failed():
    cells = [_cell("b", "jkeras", error="AttributeError: no optimizers"),
             _cell("b", "torch", sps=500, cold=1.0, mem=100)]
    assert harness.compute_ratios(cells)["b"]["torch"]["speed"] is None


def test_targets_use_the_best_keras3_jax_setting():
    cells = [
        _cell("a", "jkeras", sps=5000, cold=1.0, mem=100),
        _cell("a", "keras3-jax", sps=1000, cold=2.0, mem=200),
        _cell("a", "keras3-jax-spe32", sps=2500, cold=2.5, mem=210),
        _cell("a", "jax-scan", sps=10000),
    ]
    rows = {(t["kind"], t["peer"]): t for t in harness.check_targets(cells) if t["model"] == "a"}
    best = rows[("speed", "keras3-jax-best")]
    assert best["peer_used"] == "keras3-jax-spe32"
    assert best["ratio"] == pytest.approx(2.0) and best["met"] is False
    assert rows[("speed", "jax-scan")]["ratio"] == pytest.approx(0.5)
    assert rows[("cold", "keras3-jax")]["met"] is True  # 1.0 / 2.0 <= 0.7
    assert rows[("memory", "keras3-jax")]["met"] is True


def test_table_shows_errors_and_ratios():
    cells = [_cell("a", "jkeras", sps=3000, cold=2.0, mem=300),
             _cell("a", "torch", sps=1500, cold=1.0, mem=150),
             _cell("a", "keras3-torch", error="ValueError: bad\nmore")]
    text = harness.format_text(cells)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["model", "peer", "samples/s"]
    torch_line = next(line for line in lines if " torch " in line and "keras3" not in line)
    assert "1,500" in torch_line and "2.00x" in torch_line
    assert "ValueError: bad" in text and "more" not in text
    md = harness.format_markdown(cells)
    assert md.count("\n") == len(cells) + 1 and md.startswith("| model | peer |")


def test_peers_cover_every_model():
    for key in data.MODELS:
        assert any(key in p.models for p in harness.PEERS if p.name == "jkeras")
        # the seed's models: every peer; the model zoo: jkeras, Keras 3 JAX x2, PyTorch
        assert sum(key in p.models for p in harness.PEERS) >= (6 if key in "abcd" else 4)
    for key in "efg":
        assert {p.name for p in harness.PEERS if key in p.models} >= {
            "jkeras", "keras3-jax", "keras3-jax-spe32", "torch"}


def test_default_plan_runs_the_zoo_on_its_peers_and_named_optional_peers():
    import run

    assert run.parse_models("zoo") == "efg"
    assert run.parse_models("a,zoo,e") == "aefg"
    cells = run.plan("efg", None, conv_scan=True)
    assert ("e", "jkeras") in cells and ("g", "torch") in cells
    assert not any(p in ("keras3-torch", "jax-scan", "jax-step") for _, p in cells)
    assert run.plan("g", ["keras3-torch"], conv_scan=False) == [("g", "keras3-torch")]


def test_busy_cells_are_flagged_in_the_table():
    calm = _cell("a", "jkeras", sps=3000, cold=2.0, mem=300)
    calm["loadavg_before"] = 1.0
    busy = _cell("a", "torch", sps=1500, cold=1.0, mem=150)
    busy["loadavg_before"] = 6.5
    text = harness.format_text([calm, busy], busy_load=2.5)
    assert "busy: load 6.5" in text
    assert "busy" not in next(line for line in text.splitlines() if "jkeras" in line)


def test_each_jax_cell_gets_a_fresh_cache_the_way_its_framework_uses_one(monkeypatch):
    import run

    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere/else")
    monkeypatch.delenv("JKERAS_COMPILATION_CACHE", raising=False)
    peers = {p.name: p for p in harness.PEERS}
    mine = run.cell_env(peers["jkeras"], "/tmp/cache-a", None)
    assert mine["JKERAS_COMPILATION_CACHE"] == "/tmp/cache-a"
    assert "JAX_COMPILATION_CACHE_DIR" not in mine  # jkeras's own default is measured
    theirs = run.cell_env(peers["keras3-jax"], "/tmp/cache-b", 0.5)
    assert theirs["JAX_COMPILATION_CACHE_DIR"] == "/tmp/cache-b"
    assert theirs["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0.5"
    assert "JKERAS_COMPILATION_CACHE" not in theirs


def test_rounds_combine_into_medians_ranges_and_per_round_ratios():
    cells = []
    for rnd, (mine, theirs) in enumerate([(3000, 1000), (2000, 1000), (2400, 2000)]):
        for peer, sps, mem in (("jkeras", mine, 300 + rnd), ("torch", theirs, 200)):
            c = _cell("g", peer, sps=sps, cold=1.0 + rnd, mem=mem)
            c["round"], c["loadavg_before"] = rnd, 2.0 + rnd
            cells.append(c)
    failed = _cell("g", "keras3-jax", error="RuntimeError: boom")
    cells.append(dict(failed, round=0))
    combined = {c["peer"]: c for c in harness.combine_rounds(cells)}
    mine, torch_cell = combined["jkeras"], combined["torch"]
    assert mine["samples_per_s"] == pytest.approx(2400)
    assert mine["range"]["samples_per_s"] == pytest.approx((2000, 3000))
    assert mine["first_epoch_s"] == pytest.approx(2.0) and mine["rss_peak_mb"] == 301
    assert mine["rounds"] == 3 and mine["loadavg_before"] == 4.0
    # per-round ratios: 3.0, 2.0, 1.2; the table's ratio is of the medians (2400 / 1000)
    assert torch_cell["range"]["speed_ratio"] == pytest.approx((1.2, 3.0))
    assert harness.compute_ratios(list(combined.values()))["g"]["torch"]["speed"] == \
        pytest.approx(2.4)
    assert combined["keras3-jax"]["error"].startswith("RuntimeError")
    text = harness.format_text(list(combined.values()))
    line = next(x for x in text.splitlines() if " torch " in x)
    assert "2.40x (1.20-3.00)" in line and "1,000 (1,000-2,000)" in line


def test_zoo_targets_include_pytorch_on_the_transformer():
    cells = [_cell("g", "jkeras", sps=900), _cell("g", "torch", sps=1000),
             _cell("g", "keras3-jax", sps=800), _cell("g", "keras3-jax-spe32", sps=850)]
    rows = {t["peer"]: t for t in harness.check_targets(cells) if t["model"] == "g"}
    assert rows["torch"]["met"] is False and rows["torch"]["ratio"] == pytest.approx(0.9)
    assert rows["keras3-jax-best"]["peer_used"] == "keras3-jax-spe32"
    assert rows["keras3-jax-best"]["met"] is True


# ------------------------------------------------------------------ the model zoo (e, f, g)

def _text_params() -> int:
    """Parameters of model g from its sizes: embedding, positions, 2 encoder blocks
    (attention 4 x (d*d + d), 2 LayerNorms, Dense d->ff->d), classifier."""
    d, ff, c = data.TEXT_EMBED, data.TEXT_FF, data.TEXT_CLASSES
    block = 4 * (d * d + d) + 2 * 2 * d + (d * ff + ff) + (ff * d + d)
    return (data.TEXT_MAX_TOKENS * d + data.TEXT_SEQUENCE * d + data.TEXT_BLOCKS * block
            + d * c + c)


# ResNet50 / MobileNetV2 with 10 classes: Keras 3.15's counts with include_top=False
# (23,587,712; 2,257,984) plus the 10-way Dense on their 2048 / 1280 pooled features.
ZOO_PARAMS = {"e": 23_587_712 + 2048 * 10 + 10, "f": 2_257_984 + 1280 * 10 + 10}


@pytest.mark.parametrize("key", ["e", "f"])
def test_zoo_vision_models_build_with_keras_parameter_counts(key):
    model = models_keras.build(key, jkeras)
    assert model.count_params() == ZOO_PARAMS[key]
    assert tuple(model.input.shape) == (None,) + data.IMAGE_SHAPES[key]
    assert tuple(model.output.shape) == (None, data.IMAGE_CLASSES)
    x, y = data.make_data(key, 4)
    assert x[0].shape == (4,) + data.IMAGE_SHAPES[key] and y[0].shape == (4, 10)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["e", "f"])
def test_zoo_vision_models_train_one_step(key):
    build = {"e": models_keras.resnet50, "f": models_keras.mobilenet_v2}[key]
    model = build(jkeras, input_shape=(32, 32, 3))  # the smallest size both accept
    model.compile(**models_keras.compile_args(key, jkeras))
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    loss = model.train_on_batch(x, np.eye(10, dtype=np.float32)[[1, 7]])
    assert np.isfinite(loss)


@pytest.fixture(scope="module")
def text_data():
    return data.make_data("g", 8, seed=1)


def test_text_vocabulary_and_tokens_are_textvectorizations(text_data):
    texts = text_data[0][0]
    assert texts.dtype.kind == "U" and texts.shape == (8,)
    assert all(data.TEXT_WORDS[0] <= len(t.split()) <= data.TEXT_WORDS[1] for t in texts)
    layer = jkeras.layers.TextVectorization(max_tokens=30,
                                            output_sequence_length=data.TEXT_SEQUENCE)
    layer.adapt(texts)
    vocabulary = data.text_vocabulary(texts, max_tokens=30)
    assert layer.get_vocabulary() == vocabulary  # a small vocabulary: many words are OOV
    tokens = data.tokenize(texts, vocabulary)
    assert tokens.shape == (8, data.TEXT_SEQUENCE) and tokens.dtype == np.int32
    assert (tokens == 1).any() and (tokens == 0).any()  # OOV words and padding
    np.testing.assert_array_equal(np.asarray(layer(texts)), tokens)
    np.testing.assert_array_equal(data.token_inputs("g", [texts])[0],
                                  data.tokenize(texts, data.text_vocabulary(texts)))


def test_text_model_takes_strings_or_tokens_with_the_same_result(text_data):
    (texts,), (y,) = text_data
    with_strings = models_keras.build("g", jkeras, texts=texts)
    with_tokens = models_keras.build("g", jkeras)
    assert with_strings.inputs[0].dtype == "string"
    assert with_strings.count_params() == with_tokens.count_params() == _text_params()
    with_tokens.set_weights(with_strings.get_weights())
    tokens = data.token_inputs("g", [texts])[0]
    with_strings.compile(**models_keras.compile_args("g", jkeras))
    with_tokens.compile(**models_keras.compile_args("g", jkeras))
    np.testing.assert_allclose(with_strings.evaluate(texts, y, batch_size=8, verbose=0),
                               with_tokens.evaluate(tokens, y, batch_size=8, verbose=0),
                               rtol=1e-5)
    before = [w.copy() for w in with_strings.get_weights()]
    history = with_strings.fit(texts, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, with_strings.get_weights()))


def test_machine_info_names_the_vector_isa():
    flags = "fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx fma avx2 avx512f avx512bw avx512vl x2apic"
    assert harness.isa_summary(flags) == "sse4_2 avx avx2 fma avx512f avx512bw avx512vl"
    assert harness.isa_summary("fpu vme sse4_2 avx fma avx2") == "sse4_2 avx avx2 fma"
    assert harness.isa_summary("fp asimd evtstrm") == "asimd"
    assert harness.isa_summary("") == "unknown"
    info = harness.machine_info()
    assert info["cpu_model"] and info["logical_cpus"] >= 1
