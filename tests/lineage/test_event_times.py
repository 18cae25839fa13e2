"""Event times as instants: one conversion (lineage/event_order.py) that the graph, the store,
the run log and the API all order and compare times with."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lineage
from lineage.event_order import epoch_seconds, utc_time

MAY_FIRST_10Z = 1777629600.0  # 2026-05-01T10:00:00Z, by hand: 20574 days × 86400 s + 10 h


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:00z",
        "2026-05-01T12:00:00+02:00",
        "2026-05-01T09:00:00-01:00",
        "2026-05-01T10:00:00.000000Z",
        "2026-05-01T10:00:00",  # no offset: UTC
        " 2026-05-01T10:00:00Z ",
    ],
)
def test_an_event_time_is_its_instant(text: str) -> None:
    assert epoch_seconds(text) == MAY_FIRST_10Z


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T10:00:00Z"])
def test_what_is_no_date_time_is_the_earliest_instant(text: str) -> None:
    assert epoch_seconds(text) == 0.0


def test_a_time_without_an_offset_is_utc() -> None:
    assert utc_time("2026-05-01T10:00:00").isoformat() == "2026-05-01T10:00:00+00:00"
    assert utc_time("2026-05-01T12:00:00+02:00").utcoffset().total_seconds() == 7200
    with pytest.raises(ValueError):
        utc_time("nope")


def test_no_lineage_module_has_a_time_conversion_of_its_own() -> None:
    """The graph's private `_ts` is gone: every module imports epoch_seconds from event_order."""
    for path in Path(lineage.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                assert node.name != "_ts", path
            if isinstance(node, ast.ImportFrom) and node.module == "lineage.graph":
                assert "_ts" not in {alias.name for alias in node.names}, path
