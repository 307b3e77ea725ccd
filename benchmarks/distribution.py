"""What a jkeras.distribution costs: samples/s of `fit` with no distribution, under
DataParallel on one device, and under DataParallel on N forced host devices.

    .venv/bin/python benchmarks/distribution.py [--models a,b] [--rounds 3] [--devices 2]
        [--modes none,dp1,dpN] [--epochs 3] [--samples a=60000,b=2048]
        [--json out.json] [--markdown out.md]

Each cell is one `worker.py --peer jkeras` subprocess (the main benchmark's worker and
timing: median epoch time over `--epochs` timed epochs after a first one), so every
cell starts from a fresh process. The cells of a model run in rounds, one of every
mode per round, the order reversed every other round (A/B/B/A), so that a shared
machine's changing load falls on every mode alike; the table gives each mode's
median samples/s over the rounds and their range, and the median and range of the
per-round ratio to no distribution. It also gives samples per CPU-second (the
worker's process time over the same epochs, all threads): a machine shared with other
work slows the wall clock of every mode, but the CPU time a mode spends per sample
moves much less, so its ratio shows a mode's own cost more steadily. Modes:

- `none`: no distribution (the default path), one device;
- `dp1`: `DataParallel()` on one device (the same machine, no communication: the
  cost of the distribution code path itself);
- `dpN`: `DataParallel()` over N host devices forced with
  `XLA_FLAGS=--xla_force_host_platform_device_count=N` (one CPU split N ways: shows
  the code path scales, not a speed-up; XLA:CPU devices share the machine's cores);
- `mp1`: `ModelParallel` with a (1, 1) mesh (the ModelParallel code path, one device).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from bench_data import MODELS, sample_count  # noqa: E402
from run import parse_sizes, run_worker  # noqa: E402

MODE_ARGS = {"none": "none", "dp1": "data_parallel", "dpN": "data_parallel",
             "mp1": "model_parallel"}
MODE_TITLES = {"none": "no distribution", "dp1": "DataParallel, 1 device",
               "dpN": "DataParallel, {n} forced host devices",
               "mp1": "ModelParallel, 1 device"}


def cell_env(mode: str, devices: int) -> dict:
    """The environment of one cell: the project's, with N forced host devices for dpN."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    flags = [f for f in env.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    if mode == "dpN":
        flags.append(f"--xla_force_host_platform_device_count={devices}")
    env["XLA_FLAGS"] = " ".join(flags)
    return env


def round_orders(modes: list[str], rounds: int) -> list[list[str]]:
    """The modes of each round: as given, then reversed, alternately."""
    return [list(modes) if r % 2 == 0 else list(reversed(modes)) for r in range(rounds)]


def cpu_rate(cell: dict) -> float | None:
    """Samples per CPU-second of a cell: n / median CPU time of its timed epochs."""
    cpu = cell.get("epoch_cpu_s") or []
    if cell.get("error") or not cpu or statistics.median(cpu) <= 0:
        return None
    return cell["n"] / statistics.median(cpu)


def _stats(values: list[float], prefix: str = "") -> dict:
    if not values:
        return {}
    return {prefix + "median": statistics.median(values), prefix + "min": min(values),
            prefix + "max": max(values)}


def summarize(cells: list[dict], modes: list[str]) -> dict:
    """{model: {mode: {median, min, max, runs, ratio_*, cpu_*, cpu_ratio_*}}} from the
    cells (each with model, mode, round and samples_per_s / epoch_cpu_s, or error):
    samples/s and samples per CPU-second over the rounds, and their ratios to the
    `none` cell of the same round (median, min, max)."""
    out: dict = {}
    for model in sorted({c["model"] for c in cells}):
        mine = [c for c in cells if c["model"] == model]
        out[model] = {}
        for mode in modes:
            row = {"runs": 0, "errors": [c["error"] for c in mine
                                         if c["mode"] == mode and c.get("error")]}
            for prefix, rate in (("", lambda c: c.get("samples_per_s")), ("cpu_", cpu_rate)):
                base = {c["round"]: rate(c) for c in mine if c["mode"] == "none"}
                rates = [rate(c) for c in mine if c["mode"] == mode and rate(c)]
                ratios = [rate(c) / base[c["round"]] for c in mine
                          if c["mode"] == mode and rate(c) and base.get(c["round"])]
                row.update(_stats(rates, prefix))
                if mode != "none":
                    row.update(_stats(ratios, prefix + "ratio_"))
            row["runs"] = len([c for c in mine if c["mode"] == mode and c.get("samples_per_s")])
            out[model][mode] = row
    return out


def _rate(row: dict, prefix: str = "") -> str:
    if not row.get("runs"):
        return "error: " + (row.get("errors") or ["no result"])[0][:60]
    if prefix + "median" not in row:
        return ""
    return (f"{row[prefix + 'median']:,.0f} ({row[prefix + 'min']:,.0f}–"
            f"{row[prefix + 'max']:,.0f})")


def _ratio(row: dict, prefix: str = "") -> str:
    key = prefix + "ratio_"
    if key + "median" not in row:
        return ""
    return (f"{row[key + 'median']:.2f}x ({row[key + 'min']:.2f}–{row[key + 'max']:.2f})")


def table(summary: dict, modes: list[str], devices: int) -> str:
    """A markdown table: one row per (model, mode): samples/s and samples per
    CPU-second, each with its ratio to no distribution (medians and ranges)."""
    lines = ["| model | mode | samples/s | vs none | samples per CPU-s | vs none |",
             "|---|---|---:|---:|---:|---:|"]
    for model, rows in summary.items():
        for mode in modes:
            row = rows[mode]
            title = MODE_TITLES[mode].format(n=devices)
            lines.append(f"| {model} ({MODELS[model].name}) | {title} | {_rate(row)} | "
                         f"{_ratio(row)} | {_rate(row, 'cpu_')} | {_ratio(row, 'cpu_')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="a,b", help="comma list of a,b,c,d (default a,b)")
    p.add_argument("--modes", default="none,dp1,dpN", help="comma list of none,dp1,dpN,mp1")
    p.add_argument("--devices", type=int, default=2, help="N forced host devices for dpN")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every mode (>= 1)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after the first")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--samples", default=None, help="override samples per model: a=60000")
    p.add_argument("--timeout", type=float, default=600, help="seconds per cell")
    p.add_argument("--json", default=None, help="write every cell and the summary here")
    p.add_argument("--markdown", default=None, help="write the table here")
    args = p.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODE_ARGS] + [m for m in models if m not in MODELS]
    if unknown or "none" not in modes:
        p.error(f"unknown models/modes {unknown}; modes must include 'none' (the baseline)")
    sizes = parse_sizes(args.samples)
    info = harness.machine_info()
    print(f"{info.get('cpu_model')} [{info.get('isa', 'ISA unknown')}], "
          f"{info.get('usable_cpus', info.get('logical_cpus'))} "
          f"CPUs, load {info.get('loadavg_start')}", flush=True)
    cells = []
    for model in models:
        n = sample_count(model, False, sizes.get(model), args.batch_size)
        for r, order in enumerate(round_orders(modes, args.rounds)):
            for mode in order:
                cmd = ["--peer", "jkeras", "--model", model, "--n", str(n),
                       "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
                       "--distribution", MODE_ARGS[mode]]
                load = os.getloadavg()[0]
                cell = harness.summarize(run_worker(sys.executable, cmd,
                                                    cell_env(mode, args.devices), args.timeout))
                cell.update(model=model, mode=mode, round=r, load_before=load)
                cells.append(cell)
                rate = cell.get("samples_per_s")
                print(f"  {model} round {r} {mode:<4} "
                      f"{f'{rate:,.0f} samples/s' if rate else cell.get('error')} "
                      f"(load {load:.2f})", flush=True)
    summary = summarize(cells, modes)
    text = table(summary, modes, args.devices)
    print(text)
    stamp = datetime.date.today().isoformat()
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(f"{stamp}, {info.get('cpu_model')} [{info.get('isa', 'ISA unknown')}] "
                    f"({info.get('usable_cpus', info.get('logical_cpus'))} CPUs)\n\n{text}\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"date": stamp, "machine": info, "args": vars(args), "cells": cells,
                       "summary": summary}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
