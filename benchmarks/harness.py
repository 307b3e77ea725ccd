"""Pure bookkeeping for the benchmark: peers, summaries, ratios, targets, tables.

No framework imports and no timing here (tests import this module). run.py starts the
workers and hands their JSON results to these functions.
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass

BASE = "jkeras"


@dataclass(frozen=True)
class Peer:
    """One way of training the models: where it runs and what it is."""

    name: str
    venv: str  # "project" (the interpreter running run.py), "keras3" or "torch"
    description: str
    uses_jax: bool
    models: str = "abcd"  # models it runs by default
    optional_models: str = ""  # models it runs only when named in --peers (or --conv-scan)


PEERS: list[Peer] = [
    Peer("jkeras", "project", "jkeras model.fit(), default arguments", True,
         models="abcdefg"),
    Peer("keras3-jax", "keras3", "Keras 3, JAX backend, default compile", True,
         models="abcdefg"),
    Peer("keras3-jax-spe32", "keras3", "Keras 3, JAX backend, steps_per_execution=32", True,
         models="abcdefg"),
    Peer("keras3-torch", "keras3", "Keras 3, PyTorch backend, default compile", False,
         optional_models="efg"),
    Peer("torch", "torch", "plain PyTorch eager loop", False, models="abcdefg"),
    Peer("jax-step", "project", "plain JAX+optax, one jitted step per batch", True),
    Peer("jax-step-ynn", "project", "jax-step with XLA's YNN fusion flag (as jkeras sets it)",
         True, models="cd"),
    Peer("jax-scan", "project", "plain JAX+optax, whole epoch fused in one lax.scan", True,
         models="ab", optional_models="cd"),
]
PEER_BY_NAME = {p.name: p for p in PEERS}

# The issues' targets (issue 4: models a-d; issue 14: the model zoo, e-g). kind: "speed"
# compares samples/s (jkeras / peer >= bound); "cold" compares first-epoch seconds and
# "memory" peak RSS (jkeras / peer <= bound).
# A peer group "keras3-jax-best" is the faster of keras3-jax and keras3-jax-spe32.
TARGETS: list[tuple[str, str, str, float]] = [
    ("a", "speed", "keras3-jax-best", 2.5),
    ("a", "speed", "jax-scan", 0.8),
    ("b", "speed", "keras3-jax-best", 1.5),
    ("b", "speed", "torch", 1.2),
    ("c", "speed", "torch", 1.0),
    ("c", "speed", "keras3-jax-best", 1.0),
] + [(m, kind, "keras3-jax", bound) for m in "abcd"
     for kind, bound in (("cold", 0.7), ("memory", 1.0))] + [
    ("e", "speed", "keras3-jax-best", 1.0),
    ("f", "speed", "keras3-jax-best", 1.0),
    ("g", "speed", "keras3-jax-best", 1.0),
    ("g", "speed", "torch", 1.0),
]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(cell: dict) -> dict:
    """Adds the derived numbers to one worker result: samples/s (median and best of the
    timed epochs), and keeps the raw fields. Cells with an error get no numbers."""
    out = dict(cell)
    epochs = cell.get("epoch_s") or []
    if epochs and not cell.get("error"):
        out["epoch_median_s"] = median(epochs)
        out["samples_per_s"] = cell["n"] / out["epoch_median_s"]
        out["samples_per_s_best"] = cell["n"] / min(epochs)
    return out


MEASURES = ("samples_per_s", "first_epoch_s", "first_epoch_warm_s", "rss_peak_mb")


def combine_rounds(cells: list[dict], base: str = BASE) -> list[dict]:
    """One cell per (model, peer) from the cells of repeated rounds: each measure is the
    median over the rounds that gave numbers, with its (min, max) in `range`; `range` also
    holds `speed_ratio`, the spread of jkeras's per-round speed ratio against this peer
    (jkeras and the peer in the same round). `rounds` counts the rounds, `failed_rounds`
    those with an error; a pair that failed in every round keeps its first error.
    `loadavg_before` is the highest load any of its rounds started under."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for c in cells:
        groups.setdefault((c["model"], c["peer"]), []).append(c)
    per_round: dict[tuple[str, str], list[float]] = {}
    for r in sorted({c.get("round", 0) for c in cells}):
        ratios = compute_ratios([c for c in cells if c.get("round", 0) == r], base)
        for model, peers in ratios.items():
            for peer, values in peers.items():
                if values.get("speed") is not None:
                    per_round.setdefault((model, peer), []).append(values["speed"])
    out = []
    for key, group in groups.items():
        ok = [c for c in group if not c.get("error")]
        cell = dict(ok[-1] if ok else group[0], rounds=len(group),
                    failed_rounds=len(group) - len(ok), range={})
        for measure in MEASURES:
            values = [c[measure] for c in ok if c.get(measure) is not None]
            cell.pop(measure, None)
            if values:
                cell[measure] = median(values)
                cell["range"][measure] = (min(values), max(values))
        labels = {b for c in ok for b in (c.get("predict") or {})}
        if labels:
            cell["predict"] = {b: median([c["predict"][b] for c in ok
                                          if b in (c.get("predict") or {})]) for b in labels}
        if key in per_round:
            cell["range"]["speed_ratio"] = (min(per_round[key]), max(per_round[key]))
        loads = [c["loadavg_before"] for c in group if c.get("loadavg_before") is not None]
        if loads:
            cell["loadavg_before"] = max(loads)
            cell["range"]["loadavg_before"] = (min(loads), max(loads))
        out.append(cell)
    return out


def _value(cell: dict | None, kind: str, predict_label: str | None = None) -> float | None:
    if cell is None or cell.get("error"):
        return None
    if kind == "speed":
        return cell.get("samples_per_s")
    if kind == "cold":
        return cell.get("first_epoch_s")
    if kind == "warm":
        return cell.get("first_epoch_warm_s")
    if kind == "memory":
        return cell.get("rss_peak_mb")
    if kind == "predict":
        return (cell.get("predict") or {}).get(predict_label)
    raise ValueError(kind)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def cells_by_model(cells: list[dict]) -> dict[str, dict[str, dict]]:
    """{model: {peer: cell}} (the last cell wins if a pair repeats)."""
    out: dict[str, dict[str, dict]] = {}
    for c in cells:
        out.setdefault(c["model"], {})[c["peer"]] = c
    return out


def compute_ratios(cells: list[dict], base: str = BASE) -> dict[str, dict[str, dict]]:
    """jkeras against every other peer, per model:
    speed, predict_<b>: jkeras / peer (higher is better for jkeras);
    cold, warm (first-epoch seconds), memory (peak RSS): jkeras / peer (lower is better).
    A ratio is None when either side has no number."""
    out: dict[str, dict[str, dict]] = {}
    for model, peers in cells_by_model(cells).items():
        mine = peers.get(base)
        for name, cell in peers.items():
            if name == base:
                continue
            r = {k: _ratio(_value(mine, k), _value(cell, k))
                 for k in ("speed", "cold", "warm", "memory")}
            labels = set((mine or {}).get("predict") or {}) | set(cell.get("predict") or {})
            for label in sorted(labels, key=int):
                r[f"predict_{label}"] = _ratio(_value(mine, "predict", label),
                                               _value(cell, "predict", label))
            out.setdefault(model, {})[name] = r
    return out


def _group_cell(peers: dict[str, dict], group: str) -> dict | None:
    if group != "keras3-jax-best":
        return peers.get(group)
    options = [peers.get(n) for n in ("keras3-jax", "keras3-jax-spe32")]
    options = [c for c in options if c and c.get("samples_per_s")]
    return max(options, key=lambda c: c["samples_per_s"]) if options else None


def check_targets(cells: list[dict], base: str = BASE) -> list[dict]:
    """Each of the issue's targets with the measured ratio and whether it is met
    (None when a side is missing from this run)."""
    rows = []
    by_model = cells_by_model(cells)
    for model, kind, group, bound in TARGETS:
        peers = by_model.get(model)
        if not peers:
            continue
        peer = _group_cell(peers, group)
        ratio = _ratio(_value(peers.get(base), kind), _value(peer, kind))
        met = None if ratio is None else (ratio >= bound if kind == "speed" else ratio <= bound)
        rows.append({"model": model, "kind": kind, "peer": group,
                     "peer_used": peer["peer"] if peer else None,
                     "bound": bound, "ratio": ratio, "met": met})
    return rows


# ----------------------------------------------------------------------------- formatting


def _fmt(v: float | None, digits: int = 0, suffix: str = "") -> str:
    if v is None:
        return "-"
    if digits == 0:
        return f"{v:,.0f}{suffix}"
    return f"{v:,.{digits}f}{suffix}"


COLUMNS = ["model", "peer", "samples/s", "jk speed x", "cold 1st s", "warm 1st s",
           "jk cold x", "peak MB", "jk mem x", "pred@32/s", "pred@1024/s", "params", "note"]


def _with_range(cell: dict, measure: str, value: float | None, digits: int = 0,
                suffix: str = "") -> str:
    """`value` formatted, followed by "(min-max)" over the rounds when the cell combines
    several (combine_rounds)."""
    text = _fmt(value, digits, suffix)
    spread = (cell.get("range") or {}).get(measure)
    if cell.get("rounds", 1) > 1 and spread and value is not None:
        text += f" ({_fmt(spread[0], digits)}-{_fmt(spread[1], digits)})"
    return text


def table_rows(cells: list[dict], base: str = BASE,
               busy_load: float | None = None) -> list[list[str]]:
    """The result table as rows of strings (COLUMNS). A cell started while the load average
    exceeded `busy_load` is noted "busy" (its numbers are not to be trusted). Cells that
    combine several rounds (combine_rounds) show medians followed by (min-max)."""
    ratios = compute_ratios(cells, base)
    order = {p.name: i for i, p in enumerate(PEERS)}
    rows = []
    for c in sorted(cells, key=lambda c: (c["model"], order.get(c["peer"], 99), c["peer"])):
        r = ratios.get(c["model"], {}).get(c["peer"], {})
        cold_note = ""
        if c.get("jax_cache_entries_before"):
            cold_note = "*"  # the 'cold' run found a non-empty compilation cache
        note = c.get("error", "") or ""
        if note:
            note = note.splitlines()[0][:70]
        elif busy_load is not None and (c.get("loadavg_before") or 0) > busy_load:
            loads = (c.get("range") or {}).get("loadavg_before")
            shown = (f"{loads[0]:.1f}-{loads[1]:.1f}" if c.get("rounds", 1) > 1 and loads
                     else f"{c['loadavg_before']:.1f}")
            note = f"busy: load {shown}"
        if c.get("failed_rounds"):
            note = (note + "; " if note else "") + f"{c['failed_rounds']} round(s) failed"
        pred = c.get("predict") or {}
        rows.append([
            c["model"], c["peer"], _with_range(c, "samples_per_s", c.get("samples_per_s")),
            _with_range(c, "speed_ratio", r.get("speed"), 2, "x") if r else "",
            _with_range(c, "first_epoch_s", c.get("first_epoch_s"), 2) + cold_note,
            _fmt(c.get("first_epoch_warm_s"), 2),
            _fmt(r.get("cold"), 2, "x") if r else "",
            _with_range(c, "rss_peak_mb", c.get("rss_peak_mb")),
            _fmt(r.get("memory"), 2, "x") if r else "",
            _fmt(pred.get("32")), _fmt(pred.get("1024")),
            _fmt(c.get("params")), note,
        ])
    return rows


def format_text(cells: list[dict], base: str = BASE, busy_load: float | None = None) -> str:
    rows = [COLUMNS] + table_rows(cells, base, busy_load)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(v.ljust(w) if i in (0, 1, 12) else v.rjust(w)
                               for i, (v, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(cells: list[dict], base: str = BASE, busy_load: float | None = None) -> str:
    rows = table_rows(cells, base, busy_load)
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i in (0, 1, 12) else "---:" for i in range(len(COLUMNS)))
             + "|"]
    lines += ["| " + " | ".join(v.replace("|", "/") for v in r) + " |" for r in rows]
    return "\n".join(lines)


def format_targets(rows: list[dict]) -> str:
    lines = []
    for t in rows:
        sign = ">=" if t["kind"] == "speed" else "<="
        status = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        used = f" ({t['peer_used']})" if t["peer_used"] and t["peer_used"] != t["peer"] else ""
        lines.append(f"  ({t['model']}) {t['kind']:<6} vs {t['peer']}{used}: "
                     f"{_fmt(t['ratio'], 2, 'x')} (target {sign} {t['bound']}x): {status}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- machine


# The vector instruction sets that decide XLA:CPU's and PyTorch's kernels, in the order
# they are printed (a CPU's /proc/cpuinfo flags, filtered to these).
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "asimd", "sve")


def isa_summary(cpu_flags: str) -> str:
    """The ISA extensions among `cpu_flags` (a /proc/cpuinfo flags line) that matter
    for the numeric kernels, e.g. 'sse4_2 avx avx2 fma avx512f ...'."""
    present = set(cpu_flags.split())
    return " ".join(f for f in ISA_FLAGS if f in present) or "unknown"


def machine_info() -> dict:
    """CPU model, ISA extensions, core counts, memory, OS and load: quoted with every
    result."""
    info: dict = {"platform": platform.platform(), "machine": platform.machine(),
                  "logical_cpus": os.cpu_count()}
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and "cpu_model" not in info:
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                elif line.startswith(("flags", "Features")) and "isa" not in info:
                    info["isa"] = isa_summary(line.split(":", 1)[1])
                if "cpu_model" in info and "isa" in info:
                    break
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass
    if not info.get("cpu_model"):
        info["cpu_model"] = platform.processor() or "unknown"
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def format_versions(cells: list[dict]) -> str:
    """One line per peer environment: the package versions its cells reported."""
    seen: dict[str, dict] = {}
    for c in cells:
        venv = PEER_BY_NAME[c["peer"]].venv if c["peer"] in PEER_BY_NAME else c["peer"]
        seen.setdefault(venv, {}).update(c.get("versions") or {})
    return "\n".join(f"  {venv:<8} " + ", ".join(f"{k} {v}" for k, v in sorted(vs.items()))
                     for venv, vs in sorted(seen.items()))
