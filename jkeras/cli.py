"""The `jkeras` command: `jkeras demo` and `jkeras run SCRIPT [ARGS]`."""

from __future__ import annotations

import argparse
import runpy
import sys


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jkeras", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train the seed guide's models on real data")
    demo.add_argument("--out", default="jkeras-demo", help="folder for the report")
    demo.add_argument("--quick", action="store_true", help="a shorter run (under 2 minutes)")
    run = sub.add_parser("run", help="run a Keras 1/2/3 script unchanged on jkeras")
    run.add_argument("script")
    run.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    if ns.command == "run":
        return _run_script(ns.script, ns.args)
    from jkeras.demo import run_demo

    return run_demo(out=ns.out, quick=ns.quick)


if __name__ == "__main__":
    sys.exit(main())
