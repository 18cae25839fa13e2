"""Retention days differ per table: after `flowledger purge` cuts one table further back than
another, the marts that read both still count the late rows of the table that kept them, as a
build without the purge does.

The world (CLI only): warehouse-dispatch runs on 08-01 and 09-09 (the SLO
warehouse-dispatch-success of config/slos.yml counts them), queue samples of that flow and two
business events on the same days. The retention keeps the queue samples 1 day and the business
events 33 days, the runs and steps 400: the purge takes the 08-01 sample and event, no run. Then a
failed run of 08-07 arrives late: before both cut-offs, but its own table keeps that day.

Before the fix, `fct_flow_health_hourly` froze every hour before the newest cut-off of its three
tables (the late run's hour was missing), and `int_slo_units` froze the units of every SLO
before the business events' cut-off (the late failure was not counted in the error budget).

A second world purges the runs (31 days: cut-off 08-10), then failed runs of 08-10 and 08-11
arrive: days the runs keep. `int_slo_units` froze every unit up to two days (the longest
event-pair deadline of any SLO) after the cut-off, so neither failure reached the budget.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scale_support import flowledger, read_warehouse, write_warehouse

pytestmark = pytest.mark.slow

RETENTION = """version: 1
tables:
  business_events: {days: 33}
  flow_runs: {days: 400}
  step_runs: {days: 400}
  queue_depth_samples: {days: 1}
"""
FLOW = "c2f-warehouse-dispatch"
SLO = "warehouse-dispatch-success"


def _run(run_id: str, started_at: str, ended_at: str, status: str = "success") -> dict:
    return {
        "source_system": "n8n",
        "flow_id": FLOW,
        "flow_name": "Warehouse dispatch",
        "run_id": run_id,
        "run_attempt": 1,
        "status": status,
        "started_at": started_at,
        "ended_at": ended_at,
    }


def _sample(sampled_at: str, depth: int) -> dict:
    return {"source_system": "sqs", "queue_name": "wms.dispatch", "flow_id": FLOW,
            "sampled_at": sampled_at, "depth": depth}  # fmt: skip


def _event(event_id: str, time: str) -> dict:
    return {"specversion": "1.0", "id": event_id, "source": "/acme/shop",
            "type": "com.acme.shop.order.placed", "time": time,
            "data": {"order_id": f"O-{event_id}", "amount": 10}}  # fmt: skip


BASE = {
    "runs": [
        _run("d-1", "2026-08-01T07:31:00Z", "2026-08-01T07:32:00Z"),
        _run("d-3", "2026-09-09T21:55:00Z", "2026-09-09T21:56:00Z"),
    ],
    "samples": [_sample("2026-08-01T07:30:00Z", 4), _sample("2026-09-09T21:50:00Z", 2)],
    "events": [_event("e-1", "2026-08-01T06:00:00Z"), _event("e-2", "2026-09-09T23:56:00Z")],
}
LATE = {"runs": [_run("d-2", "2026-08-07T06:58:00Z", "2026-08-07T07:00:00Z", "failed")]}

HOURLY = (
    "select flow_id, flow_name, hour, runs, failed_runs, latency_p50_ms, step_executions, "
    "queue_depth_avg, queue_depth_max from marts.fct_flow_health_hourly order by flow_id, hour"
)
SERIES = (
    "select slo_id, step_at, good, total, budget_remaining from marts.fct_error_budget_series "
    f"where slo_id = '{SLO}' order by step_at"
)


RUNS_31_DAYS = RETENTION.replace("business_events: {days: 33}", "business_events: {days: 400}")
RUNS_31_DAYS = RUNS_31_DAYS.replace("flow_runs: {days: 400}", "flow_runs: {days: 31}")
RUNS_31_DAYS = RUNS_31_DAYS.replace("step_runs: {days: 400}", "step_runs: {days: 31}")
RUNS_31_DAYS = RUNS_31_DAYS.replace(
    "queue_depth_samples: {days: 1}", "queue_depth_samples: {days: 400}"
)
LATE_AFTER_CUTOFF = {
    "runs": [
        _run("d-10", "2026-08-10T06:58:00Z", "2026-08-10T07:00:00Z", "failed"),  # cut-off day
        _run("d-11", "2026-08-11T06:58:00Z", "2026-08-11T07:00:00Z", "failed"),
    ]
}
BUDGET = f"select good, total from marts.fct_error_budgets where slo_id = '{SLO}'"


def _write(directory: Path, prefix: str, tables: dict[str, list[dict]]) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in tables.items():
        path = directory / f"{prefix}_{name}.ndjson"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        paths.append(str(path))
    return paths


def _read(data_dir: Path, **queries: str) -> dict[str, list[tuple]]:
    con = read_warehouse(data_dir)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        con.close()


def _marts(data_dir: Path) -> dict[str, list[tuple]]:
    return _read(data_dir, hourly=HOURLY, series=SERIES)


def _whole_and_purged(
    root: Path,
    base_tables: dict[str, list[dict]],
    late_tables: dict[str, list[dict]],
    retention: str,
) -> tuple[Path, Path, str, str]:
    """Two data directories: `whole` ingests every row and builds once, never purged; `purged`
    ingests the base rows, builds, purges with ``retention``, builds, then ingests the late rows
    and builds (incrementally). Returns both, the purge's report and the late ingest's."""
    base = _write(root / "files", "base", base_tables)
    late = _write(root / "files", "late", late_tables)
    whole = root / "whole"
    flowledger(whole, "ingest", *base, *late)
    flowledger(whole, "build", "--quiet")
    purged = root / "purged"
    flowledger(purged, "ingest", *base)
    flowledger(purged, "build", "--quiet")
    (purged / "retention.yml").write_text(retention)
    report = flowledger(purged, "purge")
    flowledger(purged, "build", "--quiet")
    ingested = flowledger(purged, "ingest", *late)
    flowledger(purged, "build", "--quiet")
    return whole, purged, report, ingested


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[tuple]]]:
    root = tmp_path_factory.mktemp("retention_per_table")
    whole, purged, report, ingested = _whole_and_purged(root, BASE, LATE, RETENTION)
    incremental = _marts(purged)
    flowledger(purged, "build", "--quiet", "--full-refresh")
    return {
        "whole": _marts(whole),
        "incremental": incremental,
        "full_refresh": _marts(purged),
        "report": {"purge": [(report,)], "ingest": [(ingested,)]},
    }


def test_the_purge_took_the_sample_and_the_event_but_no_run(worlds) -> None:
    (report,) = worlds["report"]["purge"][0]
    lines = {line.split()[0]: line for line in report.splitlines() if line.strip()}
    assert "purged 1" in lines["queue_depth_samples"], report
    assert "purged 1" in lines["business_events"], report
    assert "purged 0" in lines["flow_runs"], report
    (ingested,) = worlds["report"]["ingest"][0]
    assert "late_runs.ndjson" in ingested and " 1 " in ingested, ingested


@pytest.mark.parametrize("build", ["incremental", "full_refresh"])
def test_hourly_health_counts_the_late_run_and_keeps_the_purged_queue_hour(worlds, build) -> None:
    hours = {row[2].isoformat(): row for row in worlds[build]["hourly"]}
    late_hour = hours["2026-08-07T06:00:00"]
    assert late_hour[3:5] == (1, 1)  # runs, failed_runs
    assert hours["2026-08-01T07:00:00"][7:] == (4.0, 4)  # the purged sample's hour, as built
    assert worlds[build]["hourly"] == worlds["whole"]["hourly"]


@pytest.mark.parametrize("build", ["incremental", "full_refresh"])
def test_run_slo_counts_the_late_failure_after_an_events_only_purge(worlds, build) -> None:
    series = worlds[build]["series"]
    after_late = [row for row in series if row[1].isoformat() >= "2026-08-08"]
    assert after_late and all(row[3] >= 2 for row in after_late[:24]), after_late[:3]
    assert series == worlds["whole"]["series"]


@pytest.fixture(scope="module")
def runs_purged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[tuple]]]:
    root = tmp_path_factory.mktemp("runs_purged")
    whole, purged, report, _ = _whole_and_purged(
        root, {"runs": BASE["runs"]}, LATE_AFTER_CUTOFF, RUNS_31_DAYS
    )
    assert "rows before 2026-08-10 00:00:00: purged 1" in report, report
    return {
        "expected": _read(whole, series=SERIES, budget=BUDGET),
        "got": _read(purged, series=SERIES, budget=BUDGET),
    }


def test_late_runs_just_after_the_runs_cut_off_reach_the_budget(runs_purged) -> None:
    expected, got = runs_purged["expected"], runs_purged["got"]
    on_the_12th = [row for row in got["series"] if row[1].isoformat().startswith("2026-08-12")]
    assert on_the_12th and all(row[3] == 3 for row in on_the_12th), on_the_12th[:2]  # total
    assert got["series"] == expected["series"]
    assert got["budget"] == expected["budget"]


def test_a_purge_of_tables_no_slo_reads_leaves_the_budgets_alone(tmp_path: Path) -> None:
    # A retention for the quarantine alone made raw.retention_horizons exist; the horizon of the
    # run tables, with no row there, was a subquery answering NULL, and `not (… < NULL)` dropped
    # every unit: every SLO INSUFFICIENT_DATA, `budget gate` answering "ship".
    base = _write(tmp_path / "files", "base", BASE)
    home = tmp_path / "home"
    flowledger(home, "ingest", *base)
    flowledger(home, "build", "--quiet")
    before = _read(home, budget=BUDGET, series=SERIES)
    (home / "retention.yml").write_text("version: 1\ntables:\n  quarantine: {days: 30}\n")
    flowledger(home, "purge")
    flowledger(home, "build", "--quiet")
    after = _read(home, budget=BUDGET, series=SERIES)
    assert after == before
    assert after["budget"][0][1] > 0  # the SLO's units are there


def test_a_purge_of_the_quarantine_alone_leaves_no_bytes_of_its_records(tmp_path: Path) -> None:
    # A purge of the quarantine alone marked nothing: no build rewrote the warehouse, whose
    # freed blocks keep the deleted raw records (a bad row's payload) until DuckDB reuses them.
    # (In a warehouse this small the build's own writes happen to reuse them; the rewrite is
    # what guarantees it, tests/core/test_warehouse.py and tests/e2e/test_purge_on_demo.py.)
    marker = "quarantined-payload-7f3c2a91d4e8b605"
    bad = _run("d-bad", "2026-09-09T21:55:00Z", "2026-09-09T21:56:00Z", status=marker)
    home = tmp_path / "home"
    flowledger(home, "ingest", *_write(tmp_path / "files", "base", {**BASE, "bad": [bad]}))
    flowledger(home, "build", "--quiet")
    warehouse = home / "warehouse.duckdb"
    con = write_warehouse(home)
    try:  # quarantined 40 days ago: past the quarantine's retention
        con.execute("update raw.quarantine set quarantined_at = quarantined_at - interval 40 day")
        con.execute("checkpoint")
    finally:
        con.close()
    assert marker.encode() in warehouse.read_bytes()
    (home / "retention.yml").write_text("version: 1\ntables:\n  quarantine: {days: 30}\n")
    purge = flowledger(home, "purge")
    assert "purged 1" in purge
    assert "fresh files" in purge  # what the next build does
    flowledger(home, "build", "--quiet")
    steps = json.loads((home / "dbt" / "last_build.json").read_text())["steps"]
    assert "rewrite" in steps
    con = read_warehouse(home)
    try:
        assert con.execute("select count(*) from raw.quarantine").fetchone()[0] == 0
        assert con.execute("select count(*) from marts.fct_flow_runs").fetchone()[0] == 2
    finally:
        con.close()
    assert marker.encode() not in warehouse.read_bytes()
    flowledger(home, "build", "--quiet")  # no purge since: no rewrite
    assert "rewrite" not in json.loads((home / "dbt" / "last_build.json").read_text())["steps"]
