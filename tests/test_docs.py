"""The documentation's code samples run (docs/check_docs.py), the checker itself
reports failures at the right Markdown line, and the READMEs carry the sections
the project promises."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _checker():
    spec = importlib.util.spec_from_file_location("check_docs", DOCS / "check_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_docs", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _run_checker(*args: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(DOCS / "check_docs.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _summary(out: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) passed, (\d+) failed, (\d+) skipped", out)
    assert m, out[-3000:]
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


# -- the checker -----------------------------------------------------------------------------
def test_extract_blocks_reads_markers_lines_and_indentation(tmp_path):
    md = tmp_path / "page.md"
    md.write_text(
        "# Title\n"                              # 1
        "\n"                                     # 2
        "```python\n"                            # 3
        "a = 1\n"                                # 4
        "```\n"                                  # 5
        "<!-- slow -->\n"                        # 6
        "```python\n"                            # 7
        "b = 2\n"                                # 8
        "```\n"                                  # 9
        "<!-- skip -->\n"                        # 10
        "\n"                                     # 11
        "```py\n"                                # 12
        "c = 3\n"                                # 13
        "```\n"                                  # 14
        "```bash\n"                              # 15
        "echo not python\n"                      # 16
        "```\n"                                  # 17
        "1. A list item:\n"                      # 18
        "   <!-- requires: numpy not_a_module_xyz -->\n"  # 19
        "   ```python\n"                         # 20
        "   d = 4\n"                             # 21
        "       e = 5\n"                         # 22
        "   ```\n"                               # 23
        "<!-- jkeras-run -->\n"                  # 24
        "```python\n"                            # 25
        "import keras\n"                         # 26
        "```\n",                                 # 27
        encoding="utf-8",
    )
    blocks = _checker().extract_blocks(md)
    assert [b.line for b in blocks] == [4, 8, 13, 21, 26]
    assert [b.code for b in blocks] == ["a = 1\n", "b = 2\n", "c = 3\n", "d = 4\n    e = 5\n",
                                        "import keras\n"]
    assert [(b.skip, b.slow, b.alias) for b in blocks] == [
        (False, False, False), (False, True, False), (True, False, False),
        (False, False, False), (False, False, True)]
    assert blocks[3].requires == ["numpy", "not_a_module_xyz"]


def test_checker_runs_blocks_in_one_session_and_reports_the_markdown_line(tmp_path, capsys):
    md = tmp_path / "page.md"
    md.write_text(
        "```python\n"
        "value = 41\n"
        "```\n"
        "\n"
        "```python\n"
        "assert value == 41\n"
        "open('written.txt', 'w').write('x')\n"
        "```\n"
        "\n"
        "```python\n"
        "value += 1\n"
        "raise RuntimeError(f'boom {value}')\n"
        "```\n"
        "<!-- requires: not_a_module_xyz -->\n"
        "```python\n"
        "raise SystemExit('never run')\n"
        "```\n"
        "<!-- jkeras-run -->\n"
        "```python\n"
        "import keras\n"
        "import jkeras\n"
        "assert keras.Model is jkeras.Model\n"
        "```\n",
        encoding="utf-8",
    )
    rc = _checker().main([str(md), "--timeout", "60"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "3 passed, 1 failed, 1 skipped" in out
    assert "FAIL" in out and "RuntimeError: boom 42" in out
    assert f'File "{md}", line 12' in out          # the Markdown file's own line number
    assert not (tmp_path / "written.txt").exists()  # samples write into a scratch folder
    assert "keras" not in sys.modules or not hasattr(sys.modules["keras"], "_target")


def test_every_doc_page_has_runnable_samples():
    checker = _checker()
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    for name in ("functional-api.md", "training.md", "saving.md", "data-input.md",
                 "performance.md", "distribution.md", "migrating-from-keras1.md",
                 "migrating-from-keras3.md"):
        assert name in pages
        blocks = checker.extract_blocks(DOCS / name)
        assert any(not (b.skip or b.slow) for b in blocks), f"{name} has no light sample"


# -- the samples ----------------------------------------------------------------------------
def test_light_doc_samples_run():
    """Every ```python block of docs/*.md and the READMEs not marked slow or skip."""
    proc = _run_checker(timeout=900)
    passed, failed, _ = _summary(proc.stdout)
    assert proc.returncode == 0 and failed == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert passed >= 50


@pytest.mark.slow
def test_all_doc_samples_run():
    proc = _run_checker("--slow", timeout=1800)
    passed, failed, _ = _summary(proc.stdout)
    assert proc.returncode == 0 and failed == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


# -- the READMEs ----------------------------------------------------------------------------
def _quick_start_commands(path: str, heading: str) -> list[str]:
    text = (ROOT / path).read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return [line.split("#")[0].strip() for line in blocks[0].strip().splitlines()]


def test_quick_start_makes_a_virtual_environment_first():
    """A system Python refuses `pip install` (externally-managed-environment): both
    READMEs start with a venv, then the demo and the tests, as CI (.ci/run) does."""
    english = _quick_start_commands("README.md", "## Quick start")
    assert english == _quick_start_commands("README.zh-CN.md", "## 快速开始") == [
        "python3 -m venv .venv && . .venv/bin/activate",
        'pip install ".[demo]" && jkeras demo',
        'pip install -e ".[test]" && pytest',
    ]
    for path in ("README.md", "README.zh-CN.md"):
        assert "externally-managed-environment" in (ROOT / path).read_text(encoding="utf-8")


def test_internal_notes_are_not_shipped():
    assert not (DOCS / "README-sections.md").exists()
    for path in [ROOT / "README.md", ROOT / "README.zh-CN.md", *DOCS.glob("*.md")]:
        assert "README-sections" not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize("path", ["README.md", "README.zh-CN.md"])
def test_readmes_list_the_ten_examples_and_the_compatibility_table(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    for count in ("55,050", "5,200,610", "82,305", "140,160", "53,057", "165,077,800",
                  "169,436,968"):
        assert count in text
    rows = re.findall(r"^\| (\d+) \|", text, flags=re.M)
    assert rows == [str(i) for i in range(1, 11)]
    assert "| Keras 1 | Keras 2 ¹ | Keras 3 | jkeras |" in text
    assert "get_output_at" in text and "nb_epoch" in text and "class_weight" in text
