"""The incremental case segments (int_case_segments) agree with a full build after late events.

The world: the known world of tests/dbt (cases Q1-Q8, quote_to_cash segments region and channel),
with a region on Q2's invoice and on Q4's approval. Batch B arrives late: an approval of Q2 at an
earlier time carrying another region (Q2's first region changes, and its events are renumbered)
and the first event of a new case Q9. Q4's row, which batch B does not touch, is tampered with
after the first build and must still be tampered after the incremental build; every other row must
equal a full build of A + B, and ``--full-refresh`` equals it exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from scale_support import (
    BUSINESS_EVENTS,
    build_selected,
    ingested_at,
    late_batch_builds,
    table_rows,
)

pytestmark = pytest.mark.slow

T_A, T_B = "2024-03-08 00:00:00", "2024-03-08 06:00:00"
APPROVED = "com.acme.crm.quote.approved"
RELATION, ORDER = "intermediate.int_case_segments", "case_key, segment_name"
Q4_REGION = ("quote_to_cash:Q4", "quote_to_cash", "region")


def _event(event_id: str, at: str, data: dict[str, str]) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "crm",
        "type": APPROVED,
        "time": at,
        "data": json.dumps(data),
    }


def _batches() -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    regions = {"q2-3": "US", "q4-1": "APAC"}
    events = [dict(event) for event in BUSINESS_EVENTS]
    for event in events:
        if event["id"] in regions:
            data = json.loads(str(event["data"]))
            event["data"] = json.dumps({**data, "region": regions[event["id"]]})
    batch_a = {"business_events": events}
    batch_b = {
        "business_events": [
            _event("q2-0", "2024-03-04 09:50:00", {"quote_id": "Q2", "region": "EU"}),
            _event("q9-1", "2024-03-06 09:00:00", {"quote_id": "Q9", "channel": "web"}),
        ]
    }
    return ingested_at(batch_a, T_A), ingested_at(batch_b, T_B)


def _build(data_dir: Path, *args: str) -> None:
    build_selected(data_dir, ["+int_case_segments"], *args)


def _segments(data_dir: Path) -> list[tuple]:
    return table_rows(data_dir, RELATION, ORDER)


def _tamper_q4_region(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        f"update {RELATION} set segment_value = 'tampered' "
        "where case_key = ? and segment_name = 'region'",
        [Q4_REGION[0]],
    ).fetchone()[0]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    batch_a, batch_b = _batches()
    base = tmp_path_factory.mktemp("case_segments")
    return late_batch_builds(base, batch_a, batch_b, _build, _segments, _tamper_q4_region)


def _values(rows: list[tuple]) -> dict[tuple[str, str], str]:
    return {(row[0], row[2]): row[3] for row in rows}  # (case_key, segment_name) -> value


def test_the_late_events_change_the_segments(builds) -> None:
    first, full = _values(builds["first"]), _values(builds["full"])
    assert builds["tampered"] == 1
    assert first[("quote_to_cash:Q2", "region")] == "US"
    assert full[("quote_to_cash:Q2", "region")] == "EU"
    assert first[("quote_to_cash:Q4", "region")] == "APAC"
    assert ("quote_to_cash:Q9", "channel") not in first
    assert full[("quote_to_cash:Q9", "channel")] == "web"
    assert full[("quote_to_cash:Q9", "region")] == "(none)"


def test_incremental_build_equals_full_build_except_the_untouched_tampered_case(builds) -> None:
    incremental, full = builds["incremental"], builds["full"]
    assert _values(incremental)[("quote_to_cash:Q4", "region")] == "tampered", "Q4 was recomputed"
    assert [row for row in incremental if tuple(row[:3]) != Q4_REGION] == [
        row for row in full if tuple(row[:3]) != Q4_REGION
    ]


def test_full_refresh_equals_the_full_build(builds) -> None:
    assert builds["full_refresh"] == builds["full"]
