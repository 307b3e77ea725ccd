"""The demo's report: per task an SVG diagram of the model, PNG training curves,
and one ``index.html`` (no scripts, no network) that shows the numbers and
links the pictures by relative paths, plus ``results.json`` with the numbers."""

from __future__ import annotations

import datetime
import html
import json
import os
import platform
import xml.etree.ElementTree as ET

import numpy as np

from jkeras.demo.tasks import GUIDE_EXAMPLES, DemoConfig, TaskResult, guide_example

_CSS = """
body { font-family: Helvetica, Arial, 'DejaVu Sans', sans-serif; margin: 2em auto;
       max-width: 1100px; color: #1a1a1a; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1d7a2e; font-weight: bold; } .fail { color: #b3261e; font-weight: bold; }
.pics { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.pics figure { margin: 0; max-width: 100%; } figcaption { font-size: 0.9em; color: #555; }
.pics figure.curves-figure { flex: 1 1 560px; }
.diagram-frame { width: fit-content; max-width: 100%; max-height: 85vh; overflow: auto;
                 border: 1px solid #ddd; }
.diagram { display: block; max-width: none; max-height: none; }
.curves { max-width: 100%; }
.example { color: #555; margin-top: -0.4em; }
.samples { display: flex; flex-wrap: wrap; gap: 1em; }
.sample { width: 150px; font-size: 0.85em; }
.sample img { width: 128px; height: 128px; image-rendering: pixelated; border: 1px solid #ddd; }
.meta { color: #555; font-size: 0.9em; }
"""


def model_file(result: TaskResult) -> str:
    """File name of a task's model diagram."""
    return f"{result.key}_model.svg"


def curves_file(result: TaskResult) -> str:
    """File name of a task's training curves."""
    return f"{result.key}_history.png"


def write_task_files(result: TaskResult, out: str) -> dict[str, str]:
    """Writes the model diagram (SVG, shapes shown, nested models expanded), the
    training curves (PNG) and the sample pictures of `result` into `out`;
    records and returns their file names (relative to `out`)."""
    from jkeras.utils import plot_history, plot_model

    os.makedirs(out, exist_ok=True)
    files = {"model": model_file(result), "curves": curves_file(result)}
    plot_model(result.model, to_file=os.path.join(out, files["model"]), show_shapes=True,
               expand_nested=True, show_layer_activations=True)
    plot_history(result.history, to_file=os.path.join(out, files["curves"]),
                 title=result.title)
    if result.samples:
        from PIL import Image

        for i, sample in enumerate(result.samples):
            name = f"{result.key}_sample_{i}.png"
            Image.fromarray(np.asarray(sample["image"], dtype=np.uint8)).save(
                os.path.join(out, name))
            sample["file"] = name
    result.files.update(files)
    return files


def svg_size(path: str) -> tuple[float, float]:
    """The width and height (CSS pixels) an SVG file declares."""
    root = ET.parse(path).getroot()
    return float(root.get("width")), float(root.get("height"))


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def _result_row(r: TaskResult) -> str:
    verdict = ('<span class="pass">pass</span>' if r.passed
               else '<span class="fail">below floor</span>')
    return (f"<tr><td class=num>{GUIDE_EXAMPLES[r.key][0]}</td>"
            f"<td><a href=\"#{r.key}\">{html.escape(r.title)}</a></td>"
            f"<td class=num>{_fmt(r.accuracy)}</td><td class=num>{_fmt(r.chance)}</td>"
            f"<td class=num>{r.floor:.2f}</td><td>{verdict}</td>"
            f"<td class=num>{r.seconds:.0f} s</td></tr>")


def _task_section(r: TaskResult, out: str) -> str:
    e = html.escape
    rows = [("held-out accuracy", _fmt(r.accuracy)),
            (f"chance ({r.chance_note})", _fmt(r.chance)),
            ("floor", f"{r.floor:.2f}")]
    rows += [(k, _fmt(v) if v < 10 else f"{v:,.0f}") for k, v in r.extra.items()]
    rows += [("parameters", f"{r.model.count_params():,}"),
             ("training / held-out examples", f"{r.train_size:,} / {r.test_size:,}"),
             ("epochs", str(r.epochs)), ("time", f"{r.seconds:.1f} s")]
    table = "".join(f"<tr><th>{e(k)}</th><td class=num>{e(v)}</td></tr>" for k, v in rows)
    notes = "".join(f"<p>{e(n)}</p>" for n in r.notes)
    pics = []
    if "model" in r.files:
        # at its own size (text 12 px), in a frame that scrolls when it is large
        name = e(r.files["model"])
        w, h = svg_size(os.path.join(out, r.files["model"]))
        pics.append(f'<figure><div class="diagram-frame"><img class="diagram" src="{name}" '
                    f'width="{w:.0f}" height="{h:.0f}" alt="diagram of {e(r.model.name)}">'
                    f'</div><figcaption>The model, full size (<a href="{name}">{name}</a>)'
                    f'</figcaption></figure>')
    if "curves" in r.files:
        pics.append(f'<figure class="curves-figure"><img class="curves" '
                    f'src="{e(r.files["curves"])}" alt="training curves of {e(r.model.name)}">'
                    f'<figcaption>Training curves '
                    f'(validation: last 10% of the training data)</figcaption></figure>')
    samples = ""
    if any("file" in s for s in r.samples):
        cells = []
        for s in r.samples:
            ok = s["answer"] == s["truth"]
            mark = '<span class="pass">right</span>' if ok else '<span class="fail">wrong</span>'
            cells.append(
                f'<div class="sample"><img src="{e(s["file"])}" alt="test image"><br>'
                f'{e(s["question"])}<br>model: <b>{e(s["answer"])}</b> '
                f'({s["confidence"]:.0%}) {mark}<br>truth: {e(s["truth"])}</div>')
        samples = "<h3>Held-out examples</h3><div class=\"samples\">" + "".join(cells) + "</div>"
    example = guide_example(r.key)
    return (f'<h2 id="{e(r.key)}">{e(r.title)}</h2>'
            f'<p class="example">{e(example[0].upper() + example[1:])}</p><p>{e(r.task)}</p>'
            f"<table>{table}</table>{notes}<div class=\"pics\">{''.join(pics)}</div>{samples}")


def write_report(results: list[TaskResult], out: str, config: DemoConfig,
                 total_seconds: float) -> str:
    """Writes ``index.html`` and ``results.json`` into `out` and returns the path of
    ``index.html``. Call `write_task_files` for each result first so the pictures
    exist."""
    import jax

    import jkeras

    os.makedirs(out, exist_ok=True)
    passed = all(r.passed for r in results)
    verdict = ('<span class="pass">all floors met</span>' if passed
               else '<span class="fail">some accuracy below its floor</span>')
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    meta = (f"jkeras {jkeras.__version__}, jax {jax.__version__} ({jax.default_backend()}), "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs; run "
            f"'{config.name}' on {when}, {total_seconds:.0f} s in all.")
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>jkeras demo report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>jkeras demo</h1>"
        "<p>Four models of the Keras functional API guide (its examples are numbered as in "
        "jkeras's README), trained with jkeras on data that ships inside Python packages "
        "(scikit-learn's digits, easy-VQA) or is generated here. Accuracy is measured on "
        f"held-out data. Result: {verdict}.</p>"
        f"<p class=\"meta\">{html.escape(meta)}</p>"
        "<table><tr><th>example</th><th>task</th><th>held-out accuracy</th><th>chance</th>"
        "<th>floor</th><th>result</th><th>time</th></tr>"
        + "".join(_result_row(r) for r in results) + "</table>"
        + "".join(_task_section(r, out) for r in results)
        + "</body></html>\n")
    path = os.path.join(out, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    summary = {
        "config": config.name, "seconds": total_seconds, "passed": passed,
        "tasks": {r.key: {"title": r.title, "accuracy": r.accuracy, "chance": r.chance,
                          "floor": r.floor, "passed": r.passed, "seconds": r.seconds,
                          "parameters": r.model.count_params(), "epochs": r.epochs,
                          "train_size": r.train_size, "test_size": r.test_size,
                          "extra": r.extra, "files": r.files} for r in results},
    }
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    return path


__all__ = ["write_task_files", "write_report", "model_file", "curves_file"]
