"""Re-importing the same XES and CSV event logs changes nothing: every event is a duplicate, the
raw tables, the process configuration and every process mart are identical after a rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest
from logs import flowledger_cli, generate, write_csv, write_xes

from flowledger.settings import DataDir
from flowledger.warehouse import connect_warehouse

pytestmark = pytest.mark.slow
BUILD = ("build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs")
MARTS = (
    "fct_cases",
    "fct_case_events",
    "fct_process_directly_follows",
    "fct_process_variants",
    "fct_process_rework_by_activity",
    "fct_process_periods",
    "fct_process_effort",
)


cli = flowledger_cli


def state(home: Path) -> dict[str, object]:
    """Row counts of the raw tables and every row of the process marts, sorted."""
    con = connect_warehouse(DataDir(home), read_only=True)
    try:
        found: dict[str, object] = {
            table: con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
            for table in ("business_events", "quarantine", "ingest_collisions")
        }
        for mart in MARTS:
            found[mart] = sorted(con.execute(f"select * from marts.{mart}").fetchall(), key=repr)
        return found
    finally:
        con.close()


def test_reimporting_the_same_logs_changes_nothing(tmp_path: Path) -> None:
    xes, csv = tmp_path / "log.xes", tmp_path / "log.csv"
    events = write_xes(generate(60, seed=5), xes)
    assert write_csv(generate(60, seed=5), csv) == events
    home = tmp_path / "home"
    imports = (("xes", xes, "again_xes"), ("csv", csv, "again_csv"))
    for fmt, path, process in imports:
        cli(home, "ingest", "--format", fmt, str(path), "--process", process)
    cli(home, *BUILD)
    before = state(home)
    config_before = (home / "processes.yml").read_text()
    assert before["business_events"] == 2 * events
    assert {row[1] for row in before["fct_cases"]} == {"again_xes", "again_csv"}  # type: ignore[union-attr]

    for fmt, path, process in imports:
        output = cli(home, "ingest", "--format", fmt, str(path), "--process", process)
        assert f"0 accepted, {events:,} duplicates" in output, output
    cli(home, *BUILD)
    assert (home / "processes.yml").read_text() == config_before
    assert state(home) == before
