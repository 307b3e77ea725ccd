"""Runs the ```python code blocks of the documentation, so that every sample
shown to users works with the jkeras in this tree.

    python docs/check_docs.py                 # light blocks of docs/*.md and the READMEs
    python docs/check_docs.py --slow          # also the blocks marked <!-- slow -->
    python docs/check_docs.py docs/saving.md  # some files only
    python docs/check_docs.py --list          # what would run, without running it

The blocks of one file run in order in one namespace, like a notebook: a block
may use what an earlier block of the same file defined. Each file starts from a
fresh namespace, reset jkeras settings (image data format, dtype policy,
distribution, layer names, `keras` import alias) and an empty temporary
working folder, so files written by samples never land in the tree.

An HTML comment on the line(s) just before a fence marks the block:

    <!-- skip -->                 never run (needs a cluster, a GPU, a download...)
    <!-- slow -->                 run only with --slow (heavy: real sizes, long fits)
    <!-- requires: sklearn PIL --> run only when these modules import (else skipped)
    <!-- jkeras-run -->            run as `jkeras run` runs a script: `import keras` is jkeras

Tracebacks name the Markdown file and its line numbers. Exit status 0 when every
block that ran passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_MARK = re.compile(r"<!--(.*?)-->")


@dataclass
class Block:
    """One fenced code block: where it starts (line of its first code line, 1-based)."""

    path: Path
    line: int
    code: str
    skip: bool = False
    slow: bool = False
    requires: list[str] = field(default_factory=list)
    alias: bool = False

    @property
    def where(self) -> str:
        try:
            rel = self.path.relative_to(ROOT)
        except ValueError:
            rel = self.path
        return f"{rel}:{self.line}"


def _markers(comment_lines: list[str]) -> tuple[bool, bool, list[str], bool]:
    skip = slow = alias = False
    requires: list[str] = []
    for text in comment_lines:
        for body in _MARK.findall(text):
            body = body.strip()
            m = re.search(r"requires:\s*(.*)", body)
            if m:
                requires += [r for r in re.split(r"[\s,]+", m.group(1).strip()) if r]
                body = body[:m.start()]
            words = body.split()
            skip = skip or "skip" in words
            slow = slow or "slow" in words
            alias = alias or "jkeras-run" in words
    return skip, slow, requires, alias


def extract_blocks(path: Path, text: str | None = None) -> list[Block]:
    """The ```python blocks of a Markdown file, with their markers."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        if lang.lower() in ("python", "py", "python3"):
            # markers: the non-blank lines just above the fence that are comments
            comments = []
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            while k >= 0 and lines[k].strip().startswith("<!--"):
                comments.append(lines[k])
                k -= 1
            skip, slow, requires, alias = _markers(comments)
            body = [ln[len(indent):] if ln.startswith(indent) else ln for ln in lines[start:j]]
            blocks.append(Block(path, start + 1, "\n".join(body) + "\n", skip, slow, requires,
                                alias))
        i = j + 1
    return blocks


def default_paths() -> list[Path]:
    docs = sorted((ROOT / "docs").glob("*.md"))
    readmes = [p for p in (ROOT / "README.md", ROOT / "README.zh-CN.md") if p.exists()]
    return docs + readmes


def _reset_jkeras() -> None:
    """Settings one file's samples may change, back to their defaults."""
    import jkeras
    from jkeras import compat, distribution

    jkeras.backend.clear_session()
    jkeras.backend.set_image_data_format(None)
    jkeras.mixed_precision.set_global_policy(None)
    distribution.set_distribution(None)
    compat.uninstall_keras_alias()
    jkeras.utils.set_random_seed(1337)


def _missing_modules(names: list[str]) -> list[str]:
    import importlib.util

    out = []
    for n in names:
        try:
            found = importlib.util.find_spec(n) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(n)
    return out


class _TimeoutError(Exception):
    pass


def _alarm(_signum, _frame):
    raise _TimeoutError()


def run_file(path: Path, blocks: list[Block], slow: bool, verbose: bool,
             timeout: float) -> tuple[int, int, int]:
    """Runs one file's blocks in order; returns (passed, failed, skipped)."""
    passed = failed = skipped = 0
    _reset_jkeras()
    namespace: dict = {"__name__": "__docs__"}
    old_cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="jkeras-docs-") as tmp:
        os.chdir(tmp)
        try:
            for b in blocks:
                missing = _missing_modules(b.requires)
                reason = ("marked skip" if b.skip else
                          "marked slow (use --slow)" if b.slow and not slow else
                          f"needs {', '.join(missing)}" if missing else None)
                if reason:
                    skipped += 1
                    if verbose:
                        print(f"  skip {b.where} ({reason})")
                    continue
                if b.alias:
                    from jkeras import compat

                    compat.install_keras_alias()
                # pad with newlines so tracebacks show the Markdown line numbers
                source = "\n" * (b.line - 1) + b.code
                out = io.StringIO()
                t0, c0 = time.perf_counter(), time.process_time()
                use_alarm = timeout > 0 and hasattr(signal, "SIGALRM")
                if use_alarm:
                    old = signal.signal(signal.SIGALRM, _alarm)
                    signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                        exec(compile(source, str(b.path), "exec"), namespace)  # noqa: S102
                    ok, err = True, ""
                except _TimeoutError:
                    ok, err = False, f"timed out after {timeout:.0f} s\n"
                except BaseException:  # noqa: BLE001 - report any failure of a sample
                    ok, err = False, traceback.format_exc()
                finally:
                    if use_alarm:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                        signal.signal(signal.SIGALRM, old)
                dt = time.perf_counter() - t0
                cpu = time.process_time() - c0
                if ok:
                    passed += 1
                    print(f"  ok   {b.where} ({dt:.1f} s, cpu {cpu:.1f} s)")
                    if verbose and out.getvalue().strip():
                        print("       " + out.getvalue().strip().replace("\n", "\n       "))
                else:
                    failed += 1
                    print(f"  FAIL {b.where} ({dt:.1f} s)")
                    print("----- block -----\n" + b.code.rstrip())
                    if out.getvalue().strip():
                        print("----- output -----\n" + out.getvalue().rstrip())
                    print("----- error -----\n" + err.rstrip() + "\n-----------------")
        finally:
            os.chdir(old_cwd)
            _reset_jkeras()
    return passed, failed, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="Markdown files (default: docs/*.md, READMEs)")
    parser.add_argument("--slow", action="store_true", help="also run blocks marked slow")
    parser.add_argument("--list", action="store_true", help="list the blocks, run nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="show each block's output")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds allowed per block (0: no limit)")
    args = parser.parse_args(argv)
    paths = [Path(p).resolve() for p in args.paths] or default_paths()
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("JKERAS_OFFLINE", "1")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    total = [0, 0, 0]
    t0 = time.perf_counter()
    for path in paths:
        blocks = extract_blocks(path)
        if not blocks:
            continue
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{len(blocks)} python block(s)")
        if args.list:
            for b in blocks:
                flags = " ".join(f for f, on in (("skip", b.skip), ("slow", b.slow),
                                                 ("jkeras-run", b.alias)) if on)
                req = f" requires {' '.join(b.requires)}" if b.requires else ""
                print(f"  {b.where} {flags}{req}".rstrip())
            continue
        for k, n in enumerate(run_file(path, blocks, args.slow, args.verbose, args.timeout)):
            total[k] += n
    if args.list:
        return 0
    passed, failed, skipped = total
    print(f"{passed} passed, {failed} failed, {skipped} skipped "
          f"in {time.perf_counter() - t0:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
