"""`jkeras demo`: its data makers, the four tasks on tiny data, the report files,
the accuracy floors, the CLI's arguments and the message when the extra is missing.
The real demo is not run here except by the slow test at the end."""

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import jkeras.demo as demo
from jkeras import cli
from jkeras.demo import tasks as t

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def test_digit_pairs_are_balanced_and_labelled(rng):
    x = rng.random((60, 8, 8)).astype("float32")
    y = np.repeat(np.arange(10), 6)
    x[:, 0, 0] = y  # lets us recover each image's class
    a, b, same = t.make_digit_pairs(x, y, 400, rng)
    assert a.shape == b.shape == (400, 8, 8, 1) and same.shape == (400,)
    np.testing.assert_array_equal(same, (a[:, 0, 0, 0] == b[:, 0, 0, 0]).astype("float32"))
    assert same.mean() == 0.5
    same_pairs = same == 1
    assert not np.any(np.all(a[same_pairs] == b[same_pairs], axis=(1, 2, 3)))  # two images


def test_headlines_follow_the_stated_rule(rng):
    h, e, y, upbeat = t.make_headlines(2000, rng, vocab_size=100, maxlen=12)
    assert h.shape == (2000, 12) and h.dtype == np.int32 and e.shape == (2000, 5)
    has_upbeat_word = np.any((h >= 1) & (h <= t.UPBEAT_WORDS), axis=1)
    np.testing.assert_array_equal(has_upbeat_word, upbeat)
    np.testing.assert_array_equal(y, (e[:, 0] + np.where(upbeat, 0.7, -0.7) > 0))
    assert upbeat.mean() == 0.5 and abs(y.mean() - 0.5) < 0.05
    # Stated bounds: the best headline-only and timing-only rules reach them.
    bounds = t.headline_bounds()
    assert math.isclose(bounds["headline alone (best possible)"], 0.7580, abs_tol=1e-4)
    assert math.isclose(bounds["timing alone (best possible)"], 0.7420, abs_tol=1e-4)
    assert abs(np.mean(upbeat == y) - 0.7580) < 0.04
    assert abs(np.mean((e[:, 0] > 0) == y) - 0.7420) < 0.04


def test_downsample_block_averages(rng):
    images = rng.integers(0, 256, (2, 64, 64, 3)).astype(np.uint8)
    small = t.downsample(images, 32)
    expected = images.astype("float64").reshape(2, 32, 2, 32, 2, 3).mean(axis=(2, 4)) / 255
    np.testing.assert_allclose(small, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="not a multiple"):
        t.downsample(images, 30)


def test_real_data_loaders():
    pytest.importorskip("sklearn")
    pytest.importorskip("easy_vqa")
    pytest.importorskip("PIL")
    (x_tr, y_tr), (x_te, y_te) = t.load_digits_data()
    assert x_tr.shape[1:] == (8, 8) and len(x_tr) + len(x_te) == 1797
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0
    data = t.load_vqa_data(t.DemoConfig.tiny())
    assert data.train_images.shape == (4000, 32, 32, 3)
    assert len(data.train_questions) == 64 and len(data.test_answers) == 32
    assert len(data.answers) == 13 and data.train_index.max() < 4000


# ---------------------------------------------------------------------------
# The tasks on tiny data, and the report
# ---------------------------------------------------------------------------
def tiny_digits(rng, n=80):
    x = rng.random((n, 8, 8)).astype("float32")
    y = np.arange(n) % 10
    return (x[: n // 2 + 10], y[: n // 2 + 10]), (x[n // 2 + 10:], y[n // 2 + 10:])


def tiny_vqa(rng, size=32):
    images = rng.random((6, size, size, 3)).astype("float32")
    raw = rng.integers(0, 256, (6, 64, 64, 3)).astype(np.uint8)
    q = rng.integers(0, 10, (48, 5)).astype("int32")
    a = rng.integers(0, 13, 48).astype("int32")
    idx = rng.integers(0, 6, 48).astype("int32")
    return t.VQAData(train_images=images, train_index=idx[:32], train_questions=q[:32],
                     train_answers=a[:32], test_images=images, test_index=idx[32:],
                     test_questions=q[32:], test_answers=a[32:],
                     test_texts=[f"question {i}?" for i in range(16)], test_images_raw=raw,
                     answers=[f"answer{i}" for i in range(13)], vocab_size=10)


@pytest.fixture(scope="module")
def tiny_results():
    """The four tasks, trained one epoch on tiny data (nothing needs the extras)."""
    rng = np.random.default_rng(0)
    config = t.DemoConfig.tiny()
    digits = tiny_digits(rng)
    return [t.run_digits_dense(digits, config, verbose=0),
            t.run_digit_pairs(digits, config, verbose=0),
            t.run_vqa(tiny_vqa(rng), config, verbose=0, n_samples=3),
            t.run_headline(config, verbose=0)]


def test_tiny_tasks_report_accuracy_chance_and_floor(tiny_results):
    keys = [r.key for r in tiny_results]
    assert keys == list(demo.TASKS)
    chances = {r.key: r.chance for r in tiny_results}
    assert chances == {"digits_dense": 0.1, "digit_pairs": 0.5, "easy_vqa": 1 / 13,
                       "headline": 0.5}
    for r in tiny_results:
        assert 0.0 <= r.accuracy <= 1.0 and r.floor == 0.0 and r.passed
        assert "loss" in r.history.history and r.epochs == 1 and r.test_size > 0
    headline = tiny_results[3]
    assert headline.model.output_names == ["main_output", "aux_output"]
    assert 0.0 <= headline.extra["aux_output (headline only)"] <= 1.0
    pairs = tiny_results[1]
    tower = pairs.model.get_layer("vision_model")
    assert len(tower._inbound_nodes) >= 2  # one tower, called on both digits
    vqa = tiny_results[2]
    assert len(vqa.samples) == 3 and vqa.samples[0]["answer"].startswith("answer")


@pytest.fixture(scope="module")
def report(tiny_results, tmp_path_factory):
    """The report of the tiny tasks: (its folder, index.html's text)."""
    pytest.importorskip("matplotlib")
    from jkeras.demo.report import write_report, write_task_files

    out = tmp_path_factory.mktemp("report")
    for r in tiny_results:
        write_task_files(r, str(out))
    index = write_report(tiny_results, str(out), t.DemoConfig.tiny(), 1.0)
    return out, open(index, encoding="utf-8").read()


def test_report_files(tiny_results, report):
    image = pytest.importorskip("PIL.Image")
    tmp_path, page = report
    for r in tiny_results:
        svg_name, png_name = r.files["model"], r.files["curves"]
        assert svg_name.endswith(".svg") and png_name.endswith(".png")
        assert f'src="{svg_name}"' in page and f'src="{png_name}"' in page
        svg = (tmp_path / svg_name).read_text(encoding="utf-8")
        ET.fromstring(svg)  # well-formed XML
        for layer in r.model.layers:
            assert layer.name in svg
        data = (tmp_path / png_name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        with image.open(tmp_path / png_name) as im:
            im.verify()
        assert f"{r.accuracy:.3f}" in page
    for s in tiny_results[2].samples:
        assert (tmp_path / s["file"]).read_bytes().startswith(PNG_MAGIC)
        assert f'src="{s["file"]}"' in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["passed"] and set(results["tasks"]) == set(demo.TASKS)
    # the guide's examples, named and numbered as in the README; no internal words
    assert "seed" not in page.lower()
    assert "Example 8 of the Keras functional API guide (shared vision model)" in page
    assert "Example 9 of the Keras functional API guide (visual question answering)" in page


def displayed_text_px(page: str, svg_path) -> float:
    """How tall the diagram's 12 px text is once the page shows the diagram: its SVG
    size scaled by the <img>'s size and the max-width/max-height of the CSS rule
    for `.diagram` (the page's content is at most 1100 px wide)."""
    root = ET.parse(svg_path).getroot()
    svg_w, svg_h = float(root.get("width")), float(root.get("height"))
    font = float(root.get("font-size"))
    name = os.path.basename(svg_path)
    img = re.search(rf'<img class="diagram" src="{name}"[^>]*>', page).group(0)
    width = re.search(r'width="([\d.]+)"', img)
    height = re.search(r'height="([\d.]+)"', img)
    w = float(width.group(1)) if width else svg_w
    h = float(height.group(1)) if height else svg_h
    rule = re.search(r"\.diagram \{([^}]*)\}", page).group(1)
    scale = min(w / svg_w, h / svg_h)
    for prop, size in (("max-width", w), ("max-height", h)):
        limit = re.search(rf"{prop}: *([\d.]+)px", rule)
        if limit:
            scale *= min(1.0, float(limit.group(1)) / size)
    return font * scale * min(1.0, 1100 / w)


def test_report_shows_diagrams_at_a_readable_size(tiny_results, report):
    """The VQA diagram is about 1,750 px tall: it is shown full size (its text 12 px)
    in a frame that scrolls, not shrunk to fit."""
    tmp_path, page = report
    for r in tiny_results:
        assert displayed_text_px(page, tmp_path / r.files["model"]) >= 11
    frame = re.search(r"\.diagram-frame \{([^}]*)\}", page).group(1)
    assert "overflow: auto" in frame


def test_report_numbers_the_examples_as_the_readme_does():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| \[([^\]]+)\]", readme, flags=re.M))
    assert len(rows) == 10
    for key in demo.TASKS:
        number, name = t.GUIDE_EXAMPLES[key]
        assert rows[str(number)] == name, key


def test_console_names_the_guide_and_its_examples(monkeypatch, capsys):
    for fn in ("run_digits_dense", "run_digit_pairs", "run_vqa", "run_headline"):
        monkeypatch.setattr(t, fn, lambda *a, _fn=fn, **k: _fn)
    for fn in ("load_digits_data", "load_vqa_data"):
        monkeypatch.setattr(t, fn, lambda *a, **k: None)
    assert len(list(demo.run_tasks(t.DemoConfig.tiny()))) == 4
    out = capsys.readouterr().out
    assert "seed" not in out.lower()
    assert "[task 2 of 4] Are these two digits the same? One shared vision tower: example 8 " \
           "of the Keras functional API guide (shared vision model)" in out
    for number in (1, 3, 9):
        assert f"example {number} of the Keras functional API guide" in out


# ---------------------------------------------------------------------------
# Floors and exit codes
# ---------------------------------------------------------------------------
def fake_result(key, accuracy, floor, model, history):
    return t.TaskResult(key=key, title=f"task {key}", task="a task", model=model,
                        history=history, accuracy=accuracy, chance=0.1, chance_note="1 in 10",
                        floor=floor)


@pytest.fixture
def small_model():
    return t.build_digits_dense(64)


def test_check_floors(small_model):
    history = {"loss": [1.0, 0.5]}
    ok = fake_result("a", 0.95, 0.9, small_model, history)
    low = fake_result("b", 0.42, 0.9, small_model, history)
    assert ok.passed and not low.passed
    assert demo.check_floors([ok]) == []
    (message,) = demo.check_floors([ok, low])
    assert "task b" in message and "0.420" in message and "floor 0.90" in message


def test_run_demo_fails_when_below_a_floor(monkeypatch, tmp_path, capsys, small_model):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    history = {"loss": [1.0, 0.5], "accuracy": [0.3, 0.4]}
    fakes = [fake_result("digits_dense", 0.95, 0.9, small_model, history),
             fake_result("headline", 0.40, 0.85, small_model, history)]
    monkeypatch.setattr(demo, "missing_extras", lambda: [])
    monkeypatch.setattr(demo, "run_tasks", lambda config, tasks, verbose: iter(fakes))
    code = demo.run_demo(out=str(tmp_path / "report"), config=t.DemoConfig.tiny())
    assert code == demo.EXIT_BELOW_FLOOR == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "task headline" in err and "below the floor 0.85" in err
    assert "task digits_dense" not in err
    assert (tmp_path / "report" / "index.html").exists()  # the report is still written
    monkeypatch.setattr(demo, "run_tasks", lambda config, tasks, verbose: iter(fakes[:1]))
    assert demo.run_demo(out=str(tmp_path / "report2"), config=t.DemoConfig.tiny()) == 0


def test_unknown_task_is_named():
    with pytest.raises(ValueError, match="unknown task.*'mnist'.*digits_dense"):
        list(demo.run_tasks(t.DemoConfig.tiny(), ["mnist"]))


def test_configs():
    full, quick = t.DemoConfig.full(), t.DemoConfig.quick()
    assert full.floors == {"digits_dense": 0.90, "digit_pairs": 0.85, "easy_vqa": 0.60,
                           "headline": 0.85}
    for key, floor in quick.floors.items():
        assert 0.5 < floor <= full.floors[key]
        assert floor > {"digits_dense": 0.1, "digit_pairs": 0.5, "easy_vqa": 1 / 13,
                        "headline": 0.76}[key]  # above chance (headline: above one input alone)
    assert quick.vqa_epochs <= full.vqa_epochs and quick.pairs_train < full.pairs_train


# ---------------------------------------------------------------------------
# Missing extras and the CLI
# ---------------------------------------------------------------------------
def hide_modules(monkeypatch, *hidden):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name in hidden else real(name, *a, **k))


def test_missing_extras_message(monkeypatch, tmp_path, capsys):
    hide_modules(monkeypatch, "sklearn", "easy_vqa")
    assert demo.missing_extras() == ["scikit-learn", "easy-vqa"]
    out = tmp_path / "out"
    assert demo.run_demo(out=str(out)) == demo.EXIT_MISSING_EXTRA == 2
    err = capsys.readouterr().err
    assert "scikit-learn, easy-vqa" in err and 'pip install ".[demo]"' in err
    assert not out.exists()  # nothing trained, nothing written


def test_cli_demo_arguments(monkeypatch):
    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda **kw: calls.append(kw) or 0)
    assert cli.main(["demo"]) == 0
    assert cli.main(["demo", "--out", "somewhere", "--quick"]) == 0
    assert calls == [{"out": "jkeras-demo", "quick": False}, {"out": "somewhere", "quick": True}]


def test_cli_demo_help_and_bad_argument(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["demo", "--help"])
    assert e.value.code == 0
    assert "--quick" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        cli.main(["demo", "--fast"])
    assert e.value.code == 2
    assert "--fast" in capsys.readouterr().err


def test_cli_missing_extra_exit_code(monkeypatch, tmp_path, capsys):
    hide_modules(monkeypatch, "matplotlib")
    assert cli.main(["demo", "--out", str(tmp_path / "x")]) == 2
    assert "matplotlib" in capsys.readouterr().err


@pytest.mark.slow
def test_full_quick_demo(tmp_path):
    """`jkeras demo --quick` end to end, as a user runs it (about 2 minutes)."""
    for module in demo.DEMO_EXTRAS:
        pytest.importorskip(module)
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "jkeras", "demo", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "held-out accuracy" in proc.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["passed"] and set(results["tasks"]) == set(demo.TASKS)
    assert (out / "index.html").exists()
