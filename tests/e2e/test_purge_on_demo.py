"""`flowledger purge` on a demo, then `flowledger build`: the published marts compared before and
after, as an operator would check a retention change.

The retention keeps 33 days of run logs and business events out of the demo's 45: as much as
the SLOs' current windows need (a calendar month: 31 days and the day of the cut-off), less than
their 90-day history. The error budgets, their series, burn rates, alerts, attribution and
annotations, the flows' first runs and run counts, the daily and hourly aggregates and the case
marts must not change. What describes single raw rows (each flow run, each field write, each
shadow-run comparison) follows the retained rows. A retention shorter than an SLO's window is
refused before anything is deleted.
"""

from __future__ import annotations

import duckdb
import pytest

from flowledger.settings import DataDir

from .conftest import published_tables, run_cli

pytestmark = pytest.mark.slow

RETENTION = """version: 1
tables:
  business_events: {{days: {days}}}
  flow_runs: {{days: {days}}}
  step_runs: {{days: {days}}}
  queue_depth_samples: {{days: {days}}}
"""
#: marts of raw rows (or counting the retained runs): they lose the purged ones
ROW_LEVEL = {
    "fct_flow_runs",
    "fct_record_field_writes",  # write_sequence counts the retained writes of a record
    "fct_ownership_violations",
    "fct_parallel_run_comparison",
    "fct_parallel_run_fields",
    "fct_parallel_run_summary",
    "fct_process_flows",
}


@pytest.fixture(scope="module")
def purged(tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = DataDir(tmp_path_factory.mktemp("purge-demo")).ensure()
    run_cli(data_dir, "generate", "--days", "45", "--target-events", "80000")
    files = sorted(p for p in data_dir.demo.iterdir() if p.suffix in {".ndjson", ".parquet"})
    run_cli(data_dir, "ingest", *map(str, files))
    run_cli(data_dir, "build", "--quiet")
    before = published_tables(data_dir)
    too_short = data_dir.root / "retention-10d.yml"
    too_short.write_text(RETENTION.format(days=10))
    refused = run_cli(data_dir, "purge", "--config", str(too_short), check=False)
    retention = data_dir.root / "retention-33d.yml"
    retention.write_text(RETENTION.format(days=33))
    purge = run_cli(data_dir, "purge", "--config", str(retention))
    run_cli(data_dir, "build", "--quiet")
    after = published_tables(data_dir)
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        history = con.execute(
            "select table_name, sum(purged_rows) from raw.purged_history group by all order by 1"
        ).fetchall()
    finally:
        con.close()
    return {
        "before": before,
        "after": after,
        "purge": purge.stdout,
        "history": history,
        "refused": refused,
    }


def test_a_retention_shorter_than_an_slo_window_is_refused(purged) -> None:
    refused = purged["refused"]
    assert refused.returncode != 0
    assert "needs at least 32 days" in refused.stderr + refused.stdout
    assert "retention-10d.yml: tables." in refused.stderr + refused.stdout


def test_the_purge_deleted_rows(purged) -> None:
    assert dict(purged["history"]).keys() == {"business_events", "flow_runs"}
    assert all(rows > 0 for _, rows in purged["history"])
    assert len(purged["after"]["fct_flow_runs"]) < len(purged["before"]["fct_flow_runs"])


def test_aggregate_marts_do_not_change(purged) -> None:
    before, after = purged["before"], purged["after"]
    assert before.keys() == after.keys()
    changed = [mart for mart in before if mart not in ROW_LEVEL and before[mart] != after[mart]]
    assert changed == []
    for mart in ("fct_error_budget_series", "fct_error_budgets", "dim_flows", "fct_cases"):
        assert before[mart], mart  # compared on rows, not on empty tables


def test_row_level_marts_keep_the_retained_rows(purged) -> None:
    before = set(purged["before"]["fct_flow_runs"])
    after = set(purged["after"]["fct_flow_runs"])
    assert after < before
