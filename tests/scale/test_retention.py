"""Retention: ``flowledger purge`` deletes raw rows past retention; the marts keep the aggregates
of purged periods, and the KPIs of retained periods do not change.

The world: the known world of tests/dbt copied onto six days (2024-03-04 … 03-09; the last
copy's b2 step ends 2024-03-10 00:00:30, the as-of time). Keeping 3 days puts the cut-off at
2024-03-08 00:00. Purged by hand count: flow runs 4 copies x 9 - 1 = 35 (day 3's b2 started
03-07 23:59 but its step ran after midnight, so it stays with its steps); step attempts
3 x 13 + 11 = 50 (13 per copy: r1 3, r2 4 + 2, b1 1, b2 2, the run-less ghost 1); queue samples
4 x 5 = 20.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from scale_support import (
    AUTOMATION_SELECT,
    RUN_LOG_TABLES,
    append_rows,
    late_rows_around_the_cutoff,
    make_raw_warehouse,
    marts,
    raw_rows,
    run_dbt,
    six_day_data_dir,
)

from flowledger.retention import cutoff_for

pytestmark = pytest.mark.slow

CUTOFF = datetime(2024, 3, 8)


def _period(mart: str, row: tuple) -> datetime | None:
    if mart == "fct_step_reliability_daily":
        return datetime.combine(row[3], datetime.min.time())
    if mart == "fct_flow_health_hourly":
        return row[2]
    return None


def _split(mart_rows: dict[str, list[tuple]], retained: bool) -> dict[str, list[tuple]]:
    return {
        mart: [row for row in rows if (_period(mart, row) >= CUTOFF) == retained]
        for mart, rows in mart_rows.items()
        if mart in ("fct_step_reliability_daily", "fct_flow_health_hourly")
    }


def _flowledger(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def purged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    data_dir = tmp_path_factory.mktemp("retention")
    warehouse = six_day_data_dir(data_dir)
    run_dbt(data_dir, ["build", "--select", *AUTOMATION_SELECT])
    before = marts(warehouse)
    raw_before = raw_rows(warehouse)
    dry = _flowledger(data_dir, "purge", "--dry-run")
    raw_after_dry = raw_rows(warehouse)
    done = _flowledger(data_dir, "purge")
    raw_after = raw_rows(warehouse)
    after_purge = marts(warehouse)

    # What the retained raw rows give on their own, built from scratch.
    fresh = tmp_path_factory.mktemp("retained_only")
    make_raw_warehouse(fresh, raw_after)
    run_dbt(fresh, ["build", "--select", *AUTOMATION_SELECT])

    # Late data after the purge, then the incremental build.
    late = late_rows_around_the_cutoff()
    append_rows(warehouse, late)
    run_dbt(data_dir, ["build", "--select", *AUTOMATION_SELECT])
    after_late = marts(warehouse)
    run_dbt(data_dir, ["build", "--full-refresh", "--select", *AUTOMATION_SELECT])
    after_full_refresh = marts(warehouse)
    fresh_late = tmp_path_factory.mktemp("retained_plus_late")
    make_raw_warehouse(fresh_late, {t: raw_after[t] + late[t] for t in RUN_LOG_TABLES})
    run_dbt(fresh_late, ["build", "--select", *AUTOMATION_SELECT])
    return {
        "data_dir": data_dir,
        "dry": dry,
        "done": done,
        "raw_before": raw_before,
        "raw_after_dry": raw_after_dry,
        "raw_after": raw_after,
        "before": before,
        "after_purge": after_purge,
        "retained_only": marts(fresh / "warehouse.duckdb"),
        "after_late": after_late,
        "after_full_refresh": after_full_refresh,
        "retained_plus_late": marts(fresh_late / "warehouse.duckdb"),
    }


def test_dry_run_reports_and_deletes_nothing(purged) -> None:
    assert purged["dry"].returncode == 0, purged["dry"].stderr
    out = purged["dry"].stdout
    assert "flow_runs" in out and "would purge 35" in out
    assert "would purge 50" in out and "would purge 20" in out
    assert "2024-03-08 00:00:00" in out
    assert purged["raw_after_dry"] == purged["raw_before"]


def test_purge_deletes_the_hand_counted_rows(purged) -> None:
    assert purged["done"].returncode == 0, purged["done"].stderr
    before, after = purged["raw_before"], purged["raw_after"]
    assert (len(before["flow_runs"]), len(after["flow_runs"])) == (54, 19)
    assert (len(before["step_runs"]), len(after["step_runs"])) == (78, 28)
    assert (len(before["queue_depth_samples"]), len(after["queue_depth_samples"])) == (30, 10)
    assert {r["run_id"] for r in after["flow_runs"]} >= {"b2-d3", "r1-d4", "b2-d5"}
    assert all(r["sampled_at"] >= CUTOFF for r in after["queue_depth_samples"])
    # fct_flow_runs copies raw run attempts: it loses exactly the purged ones
    assert len(purged["after_purge"]["fct_flow_runs"]) == 19


def test_landing_parquet_holds_exactly_the_retained_rows(purged) -> None:
    con = duckdb.connect()
    try:
        for table in RUN_LOG_TABLES:
            path = purged["data_dir"] / "landing" / table / "a.parquet"
            landed = con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
            assert landed == len(purged["raw_after"][table]), table
            assert not list(path.parent.glob(".*tmp"))
    finally:
        con.close()


def test_retained_periods_are_what_the_retained_raw_rows_give(purged) -> None:
    """Nothing a kept day or hour was computed from was purged: building the retained raw rows
    from scratch gives the same rows for every period from the cut-off on."""
    assert _split(purged["retained_only"], True) == _split(purged["before"], True)
    assert len(_split(purged["before"], True)["fct_flow_health_hourly"]) > 0


def _without_flow_name(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {
        mart: sorted(row[:1] + row[2:] for row in mart_rows) for mart, mart_rows in rows.items()
    }


def test_purged_periods_keep_their_aggregates_even_after_late_data(purged) -> None:
    """A late step of a purged day is not counted; only the flow's latest name follows the
    newest run (r5 on 2024-03-11 names it 'Invoice posting' again), as a full build would."""
    kept = _split(purged["after_late"], False)
    assert _without_flow_name(kept) == _without_flow_name(_split(purged["before"], False))
    invoice_names = {
        row[1] for row in kept["fct_step_reliability_daily"] if row[0] == "q2c-invoice-post"
    }
    assert invoice_names == {"Invoice posting"}
    days = {row[3] for row in kept["fct_step_reliability_daily"]}
    assert {date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 7)} <= days


def test_retained_periods_after_late_data_equal_a_full_build(purged) -> None:
    after, full = purged["after_late"], purged["retained_plus_late"]
    assert _split(after, True) == _split(full, True)
    assert after["fct_flow_runs"] == full["fct_flow_runs"]
    # the late failed attempt on the kept day 2024-03-08 was counted
    fetch = [
        r
        for r in after["fct_step_reliability_daily"]
        if r[3] == date(2024, 3, 8) and r[2] == "fetch quote"
    ]
    before = [
        r
        for r in purged["before"]["fct_step_reliability_daily"]
        if r[3] == date(2024, 3, 8) and r[2] == "fetch quote"
    ]
    assert (before[0][4], fetch[0][4]) == (3, 4)  # attempts: s1 of r1, r2, r2 attempt 2 + late
    assert (before[0][5], fetch[0][5]) == (0, 1)  # failed attempts


def test_cutoff_counts_whole_days_back_from_the_as_of_time() -> None:
    assert cutoff_for(datetime(2024, 3, 10, 0, 0, 30), 3) == datetime(2024, 3, 8)
    assert cutoff_for(datetime(2024, 3, 10, 23, 59), 1) == datetime(2024, 3, 10)
    assert cutoff_for(None, 3) is None


def test_run_logs_must_share_one_retention(tmp_path: Path) -> None:
    (tmp_path / "retention.yml").write_text("tables: {flow_runs: {days: 3}, step_runs: {days: 5}}")
    result = _flowledger(tmp_path, "purge")
    assert result.returncode == 1
    assert "flow_runs and step_runs are the run logs" in result.stderr


def test_full_refresh_after_a_purge_keeps_the_purged_history(purged) -> None:
    """--full-refresh recomputes the retained periods and keeps the purged ones as they were."""
    for mart in ("fct_step_reliability_daily", "fct_flow_health_hourly", "fct_flow_runs"):
        assert sorted(purged["after_full_refresh"][mart]) == sorted(purged["after_late"][mart]), (
            mart
        )


def test_a_purge_of_rows_no_build_counted_says_so(purged) -> None:
    # the fixture's marts were built by dbt alone, never published: no build counted the rows,
    # so their periods keep no aggregate; the purge deleted them without a word
    assert purged["done"].returncode == 0
    assert (
        "warning: 35 of the flow_runs rows purged were ingested after the last build"
        in purged["done"].stderr
    )


def test_a_row_dated_in_the_future_does_not_move_the_as_of_time(tmp_path: Path) -> None:
    # one queue sample dated 2027 made the as-of 2027: every real row was past a 400-day
    # retention, and the horizon blocked current data for months
    from flowledger.retention import as_of_times
    from ingest import ensure_raw_tables

    warehouse = six_day_data_dir(tmp_path)
    con = duckdb.connect(str(warehouse))
    try:
        ensure_raw_tables(con)
        newest = as_of_times(con)["data"]
        con.execute(
            "update raw.queue_depth_samples set sampled_at = timestamp '2027-12-01' "
            "where rowid = (select min(rowid) from raw.queue_depth_samples)"
        )
        # the newest real row, not the future one, and not the wall clock either: capped at
        # now, a data set older than its retention was purged whole by one row dated 2027
        assert as_of_times(con)["data"] == newest
        assert as_of_times(con, now=newest)["data"] == newest
    finally:
        con.close()
