"""`jkeras demo`: the Keras functional API guide's models trained on real data, with a
report.

Four tasks (examples 1, 8, 9 and 3 of the guide, numbered as in the README), each
printing its held-out accuracy against a stated chance level and an accuracy floor
(the demo exits non-zero when one is missed):

============================  =========  ======  ============  =============
task                          chance     floor   floor --quick  data
============================  =========  ======  ============  =============
digits, dense network         0.10       0.90    0.85          sklearn digits
same digit? (shared tower)    0.50       0.85    0.75          digit pairs
easy-VQA                      1/13       0.60    0.55          easy-vqa
headline (2 in, 2 out)        0.50       0.85    0.80          generated
============================  =========  ======  ============  =============

Everything is local: the data ship inside scikit-learn and easy-vqa (the
``demo`` extra). The report goes to ``--out`` (default ``jkeras-demo/``):
``index.html``, ``<task>_model.svg``, ``<task>_history.png``, ``results.json``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Sequence

from jkeras.demo.tasks import DemoConfig, TaskResult

#: module to import -> package to install, for the ``demo`` extra
DEMO_EXTRAS = {"sklearn": "scikit-learn", "easy_vqa": "easy-vqa", "PIL": "pillow",
               "matplotlib": "matplotlib"}
TASKS = ("digits_dense", "digit_pairs", "easy_vqa", "headline")
#: what the console says as each task starts
TASK_HEADINGS = {
    "digits_dense": "Handwritten digits, dense network",
    "digit_pairs": "Are these two digits the same? One shared vision tower",
    "easy_vqa": "Visual question answering on easy-VQA",
    "headline": "Headline popularity, two inputs and two outputs",
}

EXIT_OK = 0
EXIT_BELOW_FLOOR = 1
EXIT_MISSING_EXTRA = 2


def missing_extras() -> list[str]:
    """The packages of the ``demo`` extra that are not installed (pip names)."""
    return [pkg for module, pkg in DEMO_EXTRAS.items()
            if importlib.util.find_spec(module) is None]


def missing_extras_message(missing: Sequence[str]) -> str:
    """What to tell a user who lacks the packages `missing`."""
    return (f"jkeras demo needs the optional 'demo' packages; missing: {', '.join(missing)}.\n"
            "Install them with:\n"
            "    pip install \".[demo]\"        (in a jkeras checkout)\n"
            "    pip install \"jkeras[demo]\"   (from an index)\n"
            "The data ship inside these packages: nothing is downloaded at run time.")


def check_floors(results: Sequence[TaskResult]) -> list[str]:
    """One message per result whose held-out accuracy is below its floor (empty
    when all pass)."""
    return [f"{r.title}: held-out accuracy {r.accuracy:.3f} is below the floor "
            f"{r.floor:.2f} (chance {r.chance:.3f})" for r in results if not r.passed]


def _announce(result: TaskResult) -> None:
    mark = "ok" if result.passed else "BELOW FLOOR"
    print(f"  held-out accuracy {result.accuracy:.3f}  (chance {result.chance:.3f}: "
          f"{result.chance_note}; floor {result.floor:.2f})  {mark}  [{result.seconds:.0f} s]")
    for name, value in result.extra.items():
        if value <= 1:
            print(f"  {name}: {value:.3f}")
    sys.stdout.flush()


def run_tasks(config: DemoConfig, tasks: Sequence[str] = TASKS, verbose="auto"):
    """Runs the named tasks (loading each data set once) and yields their
    `TaskResult`s as they finish. Each task starts from a fresh session and seed."""
    import jkeras
    from jkeras.demo import tasks as t

    unknown = [k for k in tasks if k not in TASKS]
    if unknown:
        raise ValueError(f"jkeras demo: unknown task(s) {unknown}; choose from {list(TASKS)}.")
    digits = None
    for i, key in enumerate(tasks, 1):
        jkeras.backend.clear_session()
        jkeras.utils.set_random_seed(0)
        if key in ("digits_dense", "digit_pairs") and digits is None:
            digits = t.load_digits_data()
        print(f"\n[task {i} of {len(tasks)}] {TASK_HEADINGS[key]}: {t.guide_example(key)}",
              flush=True)
        if key == "digits_dense":
            yield t.run_digits_dense(digits, config, verbose)
        elif key == "digit_pairs":
            yield t.run_digit_pairs(digits, config, verbose)
        elif key == "easy_vqa":
            yield t.run_vqa(t.load_vqa_data(config), config, verbose)
        else:
            yield t.run_headline(config, verbose)


def run_demo(out: str = "jkeras-demo", quick: bool = False, config: DemoConfig | None = None,
             tasks: Sequence[str] = TASKS, verbose="auto") -> int:
    """Trains the demo's models, prints each held-out accuracy against its chance
    level and floor, and writes the report into `out`.

    Args:
        out: folder for ``index.html``, the SVG diagrams and PNG curves.
        quick: the `--quick` run (fewer samples and epochs, lower floors).
        config: explicit sizes and floors (overrides `quick`).
        tasks: which of `TASKS` to run.
        verbose: passed to `fit` (progress bars with "auto" or 1).

    Returns:
        The exit code: 0 when every accuracy reaches its floor, 1 when one does
        not, 2 when packages of the ``demo`` extra are missing.
    """
    missing = missing_extras()
    if missing:
        print(missing_extras_message(missing), file=sys.stderr)
        return EXIT_MISSING_EXTRA
    from jkeras.demo.report import write_report, write_task_files

    config = config or (DemoConfig.quick() if quick else DemoConfig.full())
    os.makedirs(out, exist_ok=True)
    print(f"jkeras demo ({config.name} run): training the functional API guide's models on "
          f"local data; report in {out}/", flush=True)
    start = time.perf_counter()
    results = []
    for result in run_tasks(config, tasks, verbose):
        write_task_files(result, out)
        _announce(result)
        results.append(result)
    total = time.perf_counter() - start
    index = write_report(results, out, config, total)
    print(f"\n{'task':<58} {'accuracy':>8} {'chance':>7} {'floor':>6}")
    for r in results:
        print(f"{r.title[:58]:<58} {r.accuracy:>8.3f} {r.chance:>7.3f} {r.floor:>6.2f}"
              f"  {'ok' if r.passed else 'BELOW FLOOR'}")
    print(f"\nDone in {total:.0f} s. Report: {index}", flush=True)
    failures = check_floors(results)
    if failures:
        print("jkeras demo FAILED: " + "; ".join(failures) + ".", file=sys.stderr)
        return EXIT_BELOW_FLOOR
    return EXIT_OK


__all__ = ["run_demo", "run_tasks", "TASK_HEADINGS", "check_floors", "missing_extras",
           "missing_extras_message", "DemoConfig", "TaskResult", "TASKS", "DEMO_EXTRAS"]
