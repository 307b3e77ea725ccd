"""The `jkeras` command's front door: --version, the help texts (what `jkeras run`
does to `import keras`, the demo's time as the READMEs state it), and a `--help`
that answers without importing JAX."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import jkeras
from jkeras import cli

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *argv) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        cli.main(list(argv))
    return e.value.code, capsys.readouterr().out


def test_version(capsys):
    code, out = run_cli(capsys, "--version")
    assert code == 0
    assert re.fullmatch(rf"jkeras {re.escape(jkeras.__version__)} \(jax [\w.]+, jaxlib [\w.]+, "
                        rf"Python \d+\.\d+\.\d+\)\n", out), out


def test_help_lists_the_commands_and_names_the_guide(capsys):
    code, out = run_cli(capsys, "--help")
    assert code == 0
    out = " ".join(out.split())
    for text in ("{demo,run}", "jkeras run old_script.py", "--version",
                 "the Keras functional API guide's models", "`import keras` resolves to jkeras"):
        assert text in out
    assert "seed" not in out.lower()


def test_run_help_explains_the_keras_alias(capsys):
    code, out = run_cli(capsys, "run", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "`import keras` and `from keras.x import y` resolve to jkeras" in flat
    assert "Keras 1, 2 or 3" in flat and "install_keras_alias()" in flat


def stated_times(text: str, full: str, quick: str) -> tuple[int, int]:
    m = re.search(full, text)
    q = re.search(quick, text)
    assert m and q, "the demo's time is not stated"
    return int(m.group(1)), int(q.group(1))


def test_demo_time_is_the_same_in_help_and_both_readmes(capsys):
    code, out = run_cli(capsys, "demo", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "seed" not in flat.lower() and "Keras functional API guide" in flat
    stated = (cli.DEMO_MINUTES, cli.QUICK_SECONDS)
    assert stated_times(flat, r"about (\d+) minutes \(--quick", r"--quick: about (\d+) sec"
                          ) == stated
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert stated_times(readme, r"takes about (\d+) minutes on 2 CPU cores",
                          r"`--quick`: about (\d+) seconds") == stated
    zh = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert stated_times(zh, r"2 个 CPU 核上约需 (\d+) 分钟",
                          r"`--quick`：约 (\d+) 秒") == stated


def test_help_does_not_import_jax():
    code = ("import sys; from jkeras.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('JAX LOADED' if 'jax' in sys.modules else 'NO JAX')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("NO JAX")
