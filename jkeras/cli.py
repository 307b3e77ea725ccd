"""The `jkeras` command: `jkeras demo`, `jkeras run SCRIPT [ARGS]` and `jkeras --version`.

This module imports only the standard library at load time; JAX and the rest of
jkeras are imported by the subcommand that needs them, so `jkeras --help` and
`jkeras --version` answer at once.
"""

from __future__ import annotations

import argparse
import runpy
import shutil
import sys
import textwrap

#: the demo's wall time on 2 quiet CPU cores, first run (measured: 99 s and 24 s, see the
#: README); README.md, README.zh-CN.md and `jkeras demo --help` state the same numbers
#: (tests/test_cli.py checks it)
DEMO_MINUTES = 2
QUICK_SECONDS = 30

_DESCRIPTION = "jkeras: the Keras functional API on JAX, compiled end to end."

_EPILOG = """examples:
  jkeras demo --quick        the demo's shorter run
  jkeras run old_script.py   a script written for Keras (its `import keras` is jkeras)
  jkeras --version"""

_DEMO_DESCRIPTION = (
    "Trains the models of the Keras functional API guide (examples 1, 3, 8 and 9 of the "
    "README) on local data: scikit-learn's handwritten digits, easy-VQA and a generated "
    "task. Nothing is downloaded. Prints each held-out accuracy against chance and a floor, "
    "writes a report (model diagrams, training curves, index.html) to --out, and exits 1 if "
    "an accuracy is below its floor, 2 if the 'demo' extra is missing "
    "(pip install \"jkeras[demo]\").",
    f"Time on 2 CPU cores: about {DEMO_MINUTES} minutes (--quick: about {QUICK_SECONDS} "
    "seconds).",
)

_RUN_DESCRIPTION = (
    "Runs SCRIPT as `python SCRIPT ARGS` would, except that `import keras` and "
    "`from keras.x import y` resolve to jkeras (keras.layers is jkeras.layers, and so on), so "
    "code written for Keras 1, 2 or 3 runs unchanged; an installed keras package is not "
    "used. ARGS are passed to the script in sys.argv. If the script uses Keras API that "
    "jkeras lacks, the command names it and exits 2.",
    "In a notebook or your own program, the same alias is "
    "`import jkeras.compat; jkeras.compat.install_keras_alias()`.",
)


def _paragraphs(texts: tuple[str, ...]) -> str:
    """`texts` wrapped to the terminal's width (at most 88 columns), a blank line apart."""
    width = min(88, shutil.get_terminal_size().columns - 2)
    return "\n\n".join(textwrap.fill(t, width) for t in texts)


def _version() -> str:
    """'jkeras X (jax Y, jaxlib Z, Python W)', read from package metadata without
    importing JAX."""
    import platform
    from importlib import metadata

    from jkeras import __version__

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (f"jkeras {__version__} (jax {installed('jax')}, jaxlib {installed('jaxlib')}, "
            f"Python {platform.python_version()})")


def _run_script(script: str, args: list[str]) -> int:
    from jkeras import compat

    compat.install_keras_alias()
    old_argv = sys.argv
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
    except (ImportError, AttributeError) as e:
        missing = compat.missing_apis()
        if missing:
            print(f"jkeras run: {script} uses Keras API that jkeras lacks: "
                  f"{', '.join(missing)}", file=sys.stderr)
            print(f"  ({type(e).__name__}: {e})", file=sys.stderr)
            return 2
        raise
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    finally:
        sys.argv = old_argv
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `jkeras` command's argument parser (no side effects, nothing imported)."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="jkeras", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=raw)
    parser.add_argument("--version", action="version", version=_version(),
                        help="print the versions of jkeras, JAX and Python and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,run}")
    demo = sub.add_parser(
        "demo", help="train the Keras functional API guide's models on real data "
        f"(about {DEMO_MINUTES} minutes on 2 CPU cores)",
        description=_paragraphs(_DEMO_DESCRIPTION), formatter_class=raw)
    demo.add_argument("--out", default="jkeras-demo",
                      help="folder for the report (default: jkeras-demo)")
    demo.add_argument("--quick", action="store_true",
                      help=f"a shorter run with lower floors (about {QUICK_SECONDS} seconds "
                      "on 2 CPU cores)")
    run = sub.add_parser(
        "run", help="run a Keras 1/2/3 script unchanged: `import keras` resolves to jkeras",
        description=_paragraphs(_RUN_DESCRIPTION), formatter_class=raw)
    run.add_argument("script", help="the Python script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the `jkeras` command with `argv` (default: sys.argv[1:]); returns the
    exit code."""
    ns = build_parser().parse_args(argv)
    if ns.command == "run":
        return _run_script(ns.script, ns.args)
    from jkeras.demo import run_demo

    return run_demo(out=ns.out, quick=ns.quick)


if __name__ == "__main__":
    sys.exit(main())
