"""Keras 3 parity: jkeras provides at least 98% of Keras 3.15.1's public names in
the covered modules, every name it leaves out is listed with a reason, and
docs/keras3-compatibility.md is the table generated from this list."""

import json
from pathlib import Path

import pytest

from jkeras import _parity

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "tests" / "data" / "keras-3.15.1-public-names.json"
THRESHOLD = 0.98


@pytest.fixture(scope="module")
def rows():
    return _parity.coverage(json.loads(NAMES.read_text()))


def test_coverage_is_at_least_the_threshold(rows):
    have, total = _parity.totals(rows)
    assert total == 994  # the covered modules of the Keras 3.15.1 list
    assert have / total >= THRESHOLD, (
        f"Keras 3 coverage fell to {have}/{total} = {have / total:.1%} (< {THRESHOLD:.0%}); "
        f"missing: {[(r['module'], n) for r in rows for n, _ in r['missing']]}")


def test_every_missing_name_is_excluded_with_a_reason(rows):
    unexplained = [f"{r['module']}.{n}" for r in rows for n, why in r["missing"] if not why]
    assert unexplained == [], f"Keras 3 names missing without a documented reason: {unexplained}"


def test_exclusions_are_still_missing(rows):
    """An excluded name that jkeras now provides should leave the exclusion list."""
    from jkeras._keras3_exclusions import EXCLUDED

    present = {f"{r['module']}.{n}" if r["module"] else n for r in rows for n in r["present"]}
    assert sorted(set(EXCLUDED) & present) == []


def test_compatibility_table_is_current(rows):
    doc = ROOT / "docs" / "keras3-compatibility.md"
    expected = _parity.render_markdown(rows)
    assert doc.read_text() == expected, (
        "docs/keras3-compatibility.md is out of date: regenerate it with `python -m "
        "jkeras._parity tests/data/keras-3.15.1-public-names.json > "
        "docs/keras3-compatibility.md`")
