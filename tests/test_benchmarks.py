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


@pytest.mark.parametrize("key", ["a", "b", "c", "d"])
def test_data_matches_model_inputs_and_is_deterministic(key):
    x, y = data.make_data(key, 64, seed=3)
    x2, _ = data.make_data(key, 64, seed=3)
    model = models_keras.build(key, jkeras)
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
        assert sum(key in p.models for p in harness.PEERS) >= 6


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
