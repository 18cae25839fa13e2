"""The incremental fix blames (int_case_fixes_blamed) and what is built from them (the gray
failures, fct_gray_failures, the cases' and case runs' gray-failure counts and flags) agree with
a full build after late-arriving events and runs.

The world: the known world of tests/dbt (quote_to_cash: manual fix step `invoice corrected`,
correction field `amount`, window 7 days), plus successful runs on the business keys of Q3, Q4
and Q5 and a few fixes. Batch A: Q4's manual fix (15:10) blames g4 (ended 14:40); Q5's invoice at
17:00 corrects the amount (100 -> 200) and blames g5 (ended 16:45); Q2's manual fix (11:15) blames
nothing (no run of Q2). Batch B arrives late:

- a manual fix of the old case Q3 at 14:00: it blames g3 (ended 13:30), a new gray failure;
- a run of Q2 (g2, ended 11:05) and no event: Q2's old fix now blames it;
- an invoice of Q5 at 16:40 with amount 200: it is the correction now (100 -> 200), before any run
  of Q5 ended, and the 17:00 invoice no longer changes the amount: Q5 blames nothing, and its old
  row must go although the build computes no row for the case.

Q4's blame, which batch B does not touch, is tampered with after the first build (its ingest time)
and must still be tampered after the incremental build; every other row equals a full build of A + B, and
``--full-refresh`` equals it exactly.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from scale_support import (
    BUSINESS_EVENTS,
    FLOW_RUNS,
    STEP_RUNS,
    build_selected,
    ingested_at,
    late_batch_builds,
    rows_of,
)

pytestmark = pytest.mark.slow

T_A, T_B = "2024-03-08 00:00:00", "2024-03-08 06:00:00"
CORRECTED = "com.acme.erp.invoice.corrected"
INVOICED = "com.acme.erp.invoice.issued"
SELECT = ["+fct_gray_failures", "+fct_cases", "+fct_case_flow_runs"]
MODELS = {
    "intermediate.int_case_fixes_blamed": "case_key, fix_event_id",
    "intermediate.int_case_gray_failures": "process_name, run_key",
    "marts.fct_gray_failures": "process_name, run_key",
    "marts.fct_cases": "case_key",
    "marts.fct_case_flow_runs": "case_key, run_key",
}
TAMPERED = "quote_to_cash:Q4"
# an ingest time older than any: it feeds no other model and does not move the watermark
TAMPERED_INGESTED_AT = datetime(2000, 1, 1)


def _run(run_id: str, ended: str, business_key: str) -> dict[str, object]:
    run = {**FLOW_RUNS[0], "run_id": run_id, "started_at": ended, "ended_at": ended}
    run.update(
        queued_at=None,
        idempotency_key=None,
        input_digest=None,
        status="success",
        raw_status="SUCCESS",
        business_key=business_key,
    )
    return run


def _event(event_id: str, event_type: str, at: str, data: dict[str, object]) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "erp",
        "type": event_type,
        "time": at,
        "data": json.dumps(data),
    }


def _batches() -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    batch_a = {
        "business_events": [
            *(dict(event) for event in BUSINESS_EVENTS),
            _event("q4-fix", CORRECTED, "2024-03-04 15:10:00", {"quote_id": "Q4"}),
            _event("q5-inv1", INVOICED, "2024-03-04 16:30:00", {"quote_id": "Q5", "amount": 100}),
            _event("q5-inv2", INVOICED, "2024-03-04 17:00:00", {"quote_id": "Q5", "amount": 200}),
        ],
        "flow_runs": [
            *(dict(run) for run in FLOW_RUNS),
            _run("g3", "2024-03-04 13:30:00", "Q3"),
            _run("g4", "2024-03-04 14:40:00", "Q4"),
            _run("g5", "2024-03-04 16:45:00", "Q5"),
        ],
        "step_runs": [dict(step) for step in STEP_RUNS],
    }
    batch_b = {
        "business_events": [
            _event("q3-fix", CORRECTED, "2024-03-04 14:00:00", {"quote_id": "Q3"}),
            _event("q5-late", INVOICED, "2024-03-04 16:40:00", {"quote_id": "Q5", "amount": 200}),
        ],
        "flow_runs": [_run("g2", "2024-03-04 11:05:00", "Q2")],
    }
    return ingested_at(batch_a, T_A), ingested_at(batch_b, T_B)


def _build(data_dir: Path, *args: str) -> None:
    build_selected(data_dir, SELECT, *args)


def _rows(data_dir: Path) -> dict[str, list[tuple]]:
    return rows_of(data_dir, MODELS)


def _tamper_q4(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        "update intermediate.int_case_fixes_blamed set last_ingested_at = ? where case_key = ?",
        [TAMPERED_INGESTED_AT, TAMPERED],
    ).fetchone()[0]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    batch_a, batch_b = _batches()
    base = tmp_path_factory.mktemp("gray_failures")
    return late_batch_builds(base, batch_a, batch_b, _build, _rows, _tamper_q4)


def _blames(rows: list[tuple]) -> set[tuple[str, str, str]]:
    return {(row[1], row[6], row[0]) for row in rows}  # case_key, fix_event_id, run_key


def test_the_late_rows_change_the_blames(builds) -> None:
    assert builds["tampered"] == 1
    assert _blames(builds["first"]["intermediate.int_case_fixes_blamed"]) == {
        ("quote_to_cash:Q4", "q4-fix", "mulesoft:g4:1"),
        ("quote_to_cash:Q5", "q5-inv2", "mulesoft:g5:1"),
    }
    assert _blames(builds["full"]["intermediate.int_case_fixes_blamed"]) == {
        ("quote_to_cash:Q2", "q2-4", "mulesoft:g2:1"),
        ("quote_to_cash:Q3", "q3-fix", "mulesoft:g3:1"),
        ("quote_to_cash:Q4", "q4-fix", "mulesoft:g4:1"),
    }


def _without_tampered(model: str, rows: list[tuple]) -> list[tuple]:
    if model != "intermediate.int_case_fixes_blamed":
        return rows
    return [row for row in rows if row[1] != TAMPERED]


@pytest.mark.parametrize("model", list(MODELS))
def test_incremental_build_equals_full_build_except_the_untouched_tampered_case(
    builds, model
) -> None:
    incremental, full = builds["incremental"][model], builds["full"][model]
    if model == "intermediate.int_case_fixes_blamed":
        kept = [row for row in incremental if row[1] == TAMPERED]
        assert [row[10] for row in kept] == [TAMPERED_INGESTED_AT], "Q4 was recomputed"
    assert _without_tampered(model, incremental) == _without_tampered(model, full)


@pytest.mark.parametrize("model", list(MODELS))
def test_full_refresh_equals_the_full_build(builds, model) -> None:
    assert builds["full_refresh"][model] == builds["full"][model]
