"""OpenLineage run events become flow runs: landed in raw.flow_runs by ingest and read by the
run-log mart fct_flow_runs (status, error message, times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowledger.build import run_dbt
from flowledger.cli import main
from flowledger.settings import DataDir
from flowledger.warehouse import connect_warehouse
from lineage.runs import flow_run_records
from lineage.store import LineageStore

OK_RUN = "0190a7f0-0000-7000-8000-000000000001"
FAILED_RUN = "0190a7f0-0000-7000-8000-000000000002"
RUNNING = "0190a7f0-0000-7000-8000-000000000003"


def event(run_id: str, kind: str, when: str, facets: dict | None = None) -> dict:
    return {
        "eventType": kind,
        "eventTime": when,
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": facets or {}},
        "job": {"namespace": "airflow", "name": "etl.daily_load"},
    }


EVENTS = [
    event(OK_RUN, "START", "2026-03-01T10:00:00Z"),
    event(OK_RUN, "COMPLETE", "2026-03-01T10:02:30Z"),
    event(FAILED_RUN, "START", "2026-03-01T11:00:00+01:00"),
    event(
        FAILED_RUN,
        "FAIL",
        "2026-03-01T11:00:05+01:00",
        {"errorMessage": {"message": "division by zero", "programmingLanguage": "python"}},
    ),
    event(RUNNING, "START", "2026-03-01T12:00:00Z"),
]


def test_mapping_by_hand() -> None:
    records = {r["run_id"]: r for r in flow_run_records(EVENTS)}
    assert set(records) == {OK_RUN, FAILED_RUN}  # the running one waits for its end
    ok, failed = records[OK_RUN], records[FAILED_RUN]
    assert (ok["source_system"], ok["flow_id"], ok["flow_name"]) == (
        "openlineage:airflow", "etl.daily_load", "daily_load",
    )  # fmt: skip
    assert (ok["status"], ok["started_at"], ok["ended_at"]) == (
        "success", "2026-03-01T10:00:00Z", "2026-03-01T10:02:30Z",
    )  # fmt: skip
    assert (failed["status"], failed["raw_status"], failed["error_message"]) == (
        "failed", "FAIL", "division by zero",
    )  # fmt: skip
    assert failed["started_at"] == "2026-03-01T10:00:00Z"  # +01:00 converted to UTC


@pytest.mark.slow
def test_runs_reach_the_run_log_mart(tmp_path: Path, capsys) -> None:
    data_dir = DataDir(tmp_path).ensure()
    LineageStore(data_dir).append(EVENTS)
    assert main(["--data-dir", str(tmp_path), "lineage", "ingest-runs"]) == 0
    assert "accepted" in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path), "lineage", "ingest-runs"]) == 0  # idempotent
    run_dbt(data_dir, ["run", "--select", "+fct_flow_runs"], echo=None)
    con = connect_warehouse(data_dir, read_only=True)
    try:
        rows = con.execute(
            "select run_id, status, error_message, duration_ms from marts.fct_flow_runs order by run_id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        (OK_RUN, "success", None, 150_000.0),
        (FAILED_RUN, "failed", "division by zero", 5_000.0),
    ]


@pytest.mark.slow
def test_build_lands_received_runs_without_a_separate_command(tmp_path: Path) -> None:
    """`flowledger build` (and so the server's builder) turns received OpenLineage runs into
    flow runs by itself."""
    from flowledger.query import run_query

    data_dir = DataDir(tmp_path).ensure()
    LineageStore(data_dir).append(EVENTS)
    assert main(["--data-dir", str(tmp_path), "build", "--quiet"]) == 0
    rows = run_query(
        data_dir, "select run_id, status, error_message from fct_flow_runs order by run_id"
    ).rows
    assert rows == [(OK_RUN, "success", None), (FAILED_RUN, "failed", "division by zero")]
