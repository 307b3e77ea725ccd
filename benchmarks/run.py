"""Benchmark jkeras's training against Keras 3 (JAX, PyTorch), plain PyTorch and plain JAX.

    .venv/bin/python benchmarks/run.py [--models a,b,c,d | zoo | all] [--peers ...] [--quick]
                                       [--repeat N] [--json out.json] [--markdown out.md]

Run it with the project's interpreter (it runs jkeras and the plain-JAX peers); the peer
venvs come from `bash benchmarks/setup_peers.sh`. Each (model, peer) runs in its own
subprocess, one after another, on this machine; results print as a table and go to JSON.
See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from bench_data import MODELS, sample_count  # noqa: E402

VENVS = os.path.join(HERE, ".venvs")
BUSY_LOAD = 1.25  # load average per usable CPU above which a cell is flagged "busy"
YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type=reduce,eltwise"
MODEL_GROUPS = {"seed": "abcd", "zoo": "efg", "all": "abcdefg"}  # names --models accepts


OVERRIDES: dict[str, str] = {}  # venv name -> interpreter, from --python


def interpreter(peer: harness.Peer) -> str | None:
    if peer.venv in OVERRIDES:
        return OVERRIDES[peer.venv]
    if peer.venv == "project":
        return sys.executable
    path = os.path.join(VENVS, peer.venv, "bin", "python")
    return path if os.path.exists(path) else None


def cell_env(peer: harness.Peer, cache_dir: str | None, min_compile_s: float | None,
             torch_threads: int | None = None) -> dict:
    env = dict(os.environ)
    env.pop("KERAS_BACKEND", None)  # the worker sets it for the Keras 3 peers
    env["PYTHONUNBUFFERED"] = "1"
    if peer.name == "jax-step-ynn":
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {YNN_FLAG}".strip()
    if cache_dir is not None and peer.name == "jkeras":
        # jkeras's default: its persistent cache on (JKERAS_COMPILATION_CACHE moves it here,
        # fresh per cell), caching programs that took >= 0.2 s to compile
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        env["JKERAS_COMPILATION_CACHE"] = cache_dir
    elif cache_dir is not None:
        env["JAX_COMPILATION_CACHE_DIR"] = cache_dir
    if torch_threads is not None:
        env["BENCH_TORCH_THREADS"] = str(torch_threads)
    if min_compile_s is not None:
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(min_compile_s)
    return env


def run_worker(python: str, args: list[str], env: dict, timeout: float) -> dict:
    """Runs worker.py in its own process group; returns its JSON result, or an error result
    if it died or ran past `timeout` (then the whole group is killed)."""
    cmd = [python, os.path.join(HERE, "worker.py"), *args]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException as e:  # timeout, or Ctrl-C: leave nothing running
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        if not isinstance(e, subprocess.TimeoutExpired):
            raise
        return {"error": f"timed out after {timeout:.0f} s", "wall_s": time.perf_counter() - t}
    wall = time.perf_counter() - t
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON "):])
            result["wall_s"] = wall
            return result
    tail = (stderr or stdout).strip().splitlines()[-5:]
    return {"error": f"worker exited {proc.returncode} without a result: " + " | ".join(tail),
            "wall_s": wall}


def plan(models: str, peers: list[str] | None, conv_scan: bool) -> list[tuple[str, str]]:
    """The (model, peer) cells to run, in order."""
    cells = []
    for m in models:
        for p in harness.PEERS:
            if peers is not None:
                if p.name in peers and (m in p.models or m in p.optional_models):
                    cells.append((m, p.name))
            elif m in p.models or (conv_scan and p.name == "jax-scan"
                                   and m in p.optional_models):
                cells.append((m, p.name))
    return cells


def parse_sizes(text: str | None) -> dict[str, int]:
    out = {}
    for part in (text or "").split(","):
        if part.strip():
            k, v = part.split("=")
            out[k.strip()] = int(v)
    return out


def parse_models(text: str) -> str:
    """--models: a comma list of model keys and group names (MODEL_GROUPS), in order, each
    model once."""
    out = ""
    for part in (x.strip() for x in text.split(",")):
        for m in MODEL_GROUPS.get(part, part):
            if m not in out:
                out += m
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="a,b,c,d",
                   help="comma list of a..g, or seed (a-d), zoo (e-g), all")
    p.add_argument("--peers", default=None,
                   help="comma list; default all: " + ",".join(x.name for x in harness.PEERS))
    p.add_argument("--quick", action="store_true",
                   help="small data, no warm-cache reruns: a smoke test (< 3 min)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after the first (>= 3)")
    p.add_argument("--batch-size", type=int, default=32, help="training batch size (32)")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds: every cell runs this many times, the peers interleaved "
                        "(each round runs every model and peer once); the table shows "
                        "medians and (min-max)")
    p.add_argument("--samples", default=None, help="override samples per model: a=60000,b=2048")
    p.add_argument("--predict", default="32,1024", help="predict batch sizes ('' for none)")
    p.add_argument("--no-predict", action="store_true")
    p.add_argument("--warm-cache", dest="warm_cache", action="store_true", default=None,
                   help="rerun each JAX cell's first epoch with its compilation cache filled "
                        "(default on, off with --quick)")
    p.add_argument("--no-warm-cache", dest="warm_cache", action="store_false")
    p.add_argument("--cache-min-compile-s", type=float, default=None,
                   help="JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS for every JAX cell "
                        "(JAX's default: 1 s; 0 caches every compiled program)")
    p.add_argument("--torch-threads", type=int, default=None,
                   help="torch.set_num_threads for the PyTorch peers (default: PyTorch's own)")
    p.add_argument("--conv-scan", action="store_true",
                   help="also run jax-scan on the conv models (slow: minutes of compile)")
    p.add_argument("--python", action="append", default=[], metavar="VENV=PATH",
                   help="use this interpreter for a peer environment (project, keras3 or "
                        "torch) instead of benchmarks/.venvs/VENV; repeatable")
    p.add_argument("--timeout", type=float, default=None, help="seconds per cell")
    p.add_argument("--json", default=None, help="where to write the results (JSON)")
    p.add_argument("--markdown", default=None, help="also write the table as markdown here")
    args = p.parse_args(argv)

    models = parse_models(args.models)
    bad = [m for m in models if m not in MODELS]
    if bad:
        p.error(f"unknown model(s) {bad}: choose from {','.join(MODELS)} or "
                f"{', '.join(MODEL_GROUPS)}")
    if args.repeat < 1:
        p.error(f"--repeat wants a number of rounds >= 1, got {args.repeat}")
    peers = None
    if args.peers:
        peers = [x.strip() for x in args.peers.split(",") if x.strip()]
        bad = [x for x in peers if x not in harness.PEER_BY_NAME]
        if bad:
            p.error(f"unknown peer(s) {bad}: choose from {sorted(harness.PEER_BY_NAME)}")
    for item in args.python:
        venv, _, path = item.partition("=")
        if venv not in ("project", "keras3", "torch") or not path:
            p.error(f"--python wants VENV=PATH with VENV project, keras3 or torch, got {item!r}")
        OVERRIDES[venv] = path
    warm_cache = (not args.quick) if args.warm_cache is None else args.warm_cache
    timeout = args.timeout or (300 if args.quick else 600)
    sizes = parse_sizes(args.samples)
    predict = "" if args.no_predict else args.predict
    json_path = args.json or os.path.join(
        HERE, "results-quick.json" if args.quick else "results.json")

    machine = harness.machine_info()
    started = datetime.datetime.now().astimezone()
    quick_note = "  (QUICK: a smoke test, small data, noisy)" if args.quick else ""
    print(f"jkeras benchmark {started:%Y-%m-%d %H:%M %Z}{quick_note}")
    print(f"machine: {machine.get('cpu_model')} [{machine.get('isa', 'ISA unknown')}], "
          f"{machine.get('usable_cpus')} usable / "
          f"{machine.get('logical_cpus')} logical CPUs, {machine.get('memory_gib')} GiB, "
          f"load {machine.get('loadavg_start')}")
    missing = {x.venv for x in harness.PEERS if interpreter(x) is None}
    if missing:
        print(f"note: peer venv(s) {sorted(missing)} missing: run bash benchmarks/setup_peers.sh")

    # Our own cell loads the machine by up to one per CPU; more than this means other work.
    busy_load = BUSY_LOAD * (machine.get("usable_cpus") or 1)
    cache_root = tempfile.mkdtemp(prefix="jkeras-bench-cache-")
    cells: list[dict] = []
    t_all = time.perf_counter()
    try:
        rounds = [(r, m, pn) for r in range(args.repeat)
                  for m, pn in plan(models, peers, args.conv_scan)]
        for rnd, model, peer_name in rounds:
            peer = harness.PEER_BY_NAME[peer_name]
            n = sample_count(model, args.quick, sizes.get(model), args.batch_size)
            base = {"model": model, "peer": peer_name, "n": n, "round": rnd}
            tag = f"[{model}]" if args.repeat == 1 else f"[{model} {rnd + 1}/{args.repeat}]"
            python = interpreter(peer)
            if python is None:
                cells.append({**base, "error": f"no {peer.venv} venv (run setup_peers.sh)"})
                print(f"{tag} {peer_name:<17} skipped: no {peer.venv} venv", flush=True)
                continue
            wargs = ["--peer", peer_name, "--model", model, "--n", str(n),
                     "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
            if predict and MODELS[model].predict:
                wargs += ["--predict", predict, "--predict-reps", "1" if args.quick else "3"]
                if MODELS[model].predict_n:
                    wargs += ["--predict-n", str(MODELS[model].predict_n)]
            cache_dir = (os.path.join(cache_root, f"{model}-{peer_name}-{rnd}")
                         if peer.uses_jax else None)
            load = os.getloadavg()[0]
            env = cell_env(peer, cache_dir, args.cache_min_compile_s, args.torch_threads)
            result = {**base, **run_worker(python, wargs, env, timeout)}
            result["interpreter"] = python
            result["loadavg_before"] = load
            if warm_cache and peer.uses_jax and not result.get("error"):
                warm = run_worker(python, wargs + ["--first-epoch-only"], env, timeout)
                if warm.get("error"):
                    result["warm_error"] = warm["error"]
                else:
                    result["first_epoch_warm_s"] = warm.get("first_epoch_s")
                    result["warm_cache_entries_before"] = warm.get("jax_cache_entries_before")
            result = harness.summarize(result)
            cells.append(result)
            if result.get("error"):
                status = "ERROR " + result["error"].splitlines()[0][:100]
            else:
                status = (f"{result.get('samples_per_s', 0):>10,.0f} samples/s  "
                          f"first epoch {result.get('first_epoch_s', 0):.2f} s"
                          + (f" (warm cache {result['first_epoch_warm_s']:.2f} s)"
                             if result.get("first_epoch_warm_s") is not None else "")
                          + f"  peak {result.get('rss_peak_mb', 0):,.0f} MB")
            busy = f", load {load:.1f}: busy" if load > busy_load else ""
            print(f"{tag} {peer_name:<17} {status}  ({result.get('wall_s', 0):.0f} s{busy})",
                  flush=True)
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)

    total = time.perf_counter() - t_all
    try:
        machine["loadavg_end"] = os.getloadavg()
    except OSError:
        pass
    loads = [c["loadavg_before"] for c in cells if c.get("loadavg_before") is not None]
    if loads:
        machine["loadavg_cells"] = (min(loads), max(loads))  # 1-minute, as each cell began
    table_cells = harness.combine_rounds(cells) if args.repeat > 1 else cells
    targets = harness.check_targets(table_cells)
    report = {
        "date": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine,
        "settings": {"models": models, "timed_epochs": args.epochs,
                     "batch_size": args.batch_size, "rounds": args.repeat,
                     "optimizer": "RMSprop(learning_rate=1e-3, rho=0.9, epsilon=1e-7)",
                     "predict_batches": predict, "warm_cache_rerun": warm_cache,
                     "samples": {m: sample_count(m, args.quick, sizes.get(m), args.batch_size)
                                 for m in models},
                     "jax_persistent_cache_min_compile_time_secs": args.cache_min_compile_s,
                     "torch_threads": args.torch_threads},
        "peers": {x.name: x.description for x in harness.PEERS},
        "total_s": total,
        "cells": cells,
        "combined": table_cells if args.repeat > 1 else None,
        "ratios": harness.compute_ratios(table_cells),
        "targets": targets,
    }
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)

    print()
    if args.repeat > 1:
        print(f"medians over {args.repeat} rounds, (min-max) after them; jk speed x's range "
              f"is of the per-round ratios")
    print(harness.format_text(table_cells, busy_load=busy_load))
    print("\njk speed x = jkeras samples/s / peer's (higher: jkeras faster); jk cold x, jk mem x"
          " = jkeras / peer (lower: jkeras better).\ncold 1st s = first epoch incl. compilation,"
          " empty compilation cache ('*': cache was not empty); warm 1st s = the same in a new"
          " process with the cache filled.")
    if targets:
        print("\ntargets (issues 4 and 14):\n" + harness.format_targets(targets))
    print("\nversions:\n" + harness.format_versions(cells))
    print(f"\ntotal {total:.0f} s; results in {json_path}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(f"{started:%Y-%m-%d}, {machine.get('cpu_model')} "
                    f"[{machine.get('isa', 'ISA unknown')}] "
                    f"({machine.get('usable_cpus')} CPUs){' QUICK' if args.quick else ''}"
                    + (f", medians of {args.repeat} rounds (min-max)" if args.repeat > 1
                       else "")
                    + (f", 1-minute load average {min(loads):.1f}-{max(loads):.1f} as the "
                       f"cells began" if loads else "") + "\n\n")
            f.write(harness.format_markdown(table_cells, busy_load=busy_load) + "\n")
        print(f"markdown table in {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
