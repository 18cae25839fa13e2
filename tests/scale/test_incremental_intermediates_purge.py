"""The incremental intermediate models (step attempts, step executions, flow runs) forget what
``flowledger purge`` deleted: after a purge and late data, an incremental build holds exactly the
rows a from-scratch build of the retained raw rows plus the late ones gives.

The world: the known world of tests/dbt copied onto six days (2024-03-04 … 03-09), 3 days kept
(cut-off 2024-03-08 00:00, as in test_retention.py). Late rows: a failing step attempt of a
retained run, one of a purged run (its run is gone: it keeps its own flow), and a run on a new day.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from scale_support import (
    AUTOMATION_SELECT,
    FLOW_RUNS,
    QUEUE_DEPTH_SAMPLES,
    STEP_RUNS,
    append_rows,
    make_raw_warehouse,
    run_dbt,
    shifted,
)

pytestmark = pytest.mark.slow

T_A, T_C = "2024-03-10 06:00:00", "2024-03-11 06:00:00"
RETENTION = """version: 1
tables:
  flow_runs: {days: 3}
  step_runs: {days: 3}
  queue_depth_samples: {days: 3}
  business_events: {days: 3}
  quarantine: {days: 30}
"""
RAW = ("flow_runs", "step_runs", "queue_depth_samples")
INTERMEDIATES = {
    "int_step_attempts_enriched": "step_attempt_key",
    "int_step_executions_rolled_up": "step_execution_key",
    "int_flow_runs_enriched": "run_key",
}


def _world() -> dict[str, list[dict]]:
    sources = {
        "flow_runs": FLOW_RUNS,
        "step_runs": STEP_RUNS,
        "queue_depth_samples": QUEUE_DEPTH_SAMPLES,
    }
    return {
        t: [r for day in range(6) for r in shifted(rows, day, T_A)] for t, rows in sources.items()
    }


def _late_batch() -> dict[str, list[dict]]:
    kept_day = shifted([STEP_RUNS[0]], 4, T_C)[0]  # r1-d4 s1, 2024-03-08
    kept_day.update(step_id="s9", attempt=1, status="failed", started_at="2024-03-08 09:00:19")
    purged_day = shifted([STEP_RUNS[0]], 1, T_C)[0]  # r1-d1 s1, 2024-03-05 (run purged)
    purged_day.update(step_id="s9", attempt=1, status="failed", started_at="2024-03-05 09:00:19")
    new_day = shifted([FLOW_RUNS[5]], 7, T_C)[0]  # r5 on 2024-03-11
    return {"flow_runs": [new_day], "step_runs": [kept_day, purged_day], "queue_depth_samples": []}


def _raw_rows(warehouse: Path) -> dict[str, list[dict]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in RAW:
            cursor = con.execute(f"select * exclude (_payload_hash) from raw.{table}")
            names = [c[0] for c in cursor.description]
            out[table] = [
                {k: v for k, v in zip(names, row, strict=True) if v is not None}
                for row in cursor.fetchall()
            ]
        return out
    finally:
        con.close()


def _intermediates(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            model: con.execute(f"select * from intermediate.{model} order by {key}").fetchall()
            for model, key in INTERMEDIATES.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[tuple]]]:
    data_dir = tmp_path_factory.mktemp("purged")
    warehouse = make_raw_warehouse(data_dir, _world())
    con = duckdb.connect(str(warehouse))
    try:
        for table in RAW:
            (data_dir / "landing" / table).mkdir(parents=True)
            con.execute(f"copy raw.{table} to '{data_dir / 'landing' / table / 'a.parquet'}'")
    finally:
        con.close()
    (data_dir / "retention.yml").write_text(RETENTION)
    run_dbt(data_dir, ["build", "--select", *AUTOMATION_SELECT])
    before = _intermediates(warehouse)
    purge = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(data_dir), "purge"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert purge.returncode == 0, purge.stdout + purge.stderr
    retained = _raw_rows(warehouse)
    late = _late_batch()
    append_rows(warehouse, late)
    run_dbt(data_dir, ["build", "--select", *AUTOMATION_SELECT])
    incremental = _intermediates(warehouse)

    fresh = tmp_path_factory.mktemp("retained_plus_late")
    make_raw_warehouse(fresh, {t: retained[t] + late[t] for t in RAW})
    run_dbt(fresh, ["build", "--select", *AUTOMATION_SELECT])
    fresh_rows = _intermediates(fresh / "warehouse.duckdb")
    return {"before": before, "incremental": incremental, "fresh": fresh_rows}


def test_the_purge_removed_rows_that_were_built(builds) -> None:
    for model in INTERMEDIATES:
        assert len(builds["fresh"][model]) < len(builds["before"][model]), model


@pytest.mark.parametrize("model", list(INTERMEDIATES))
def test_incremental_after_purge_equals_a_build_of_the_retained_rows(builds, model) -> None:
    assert builds["incremental"][model] == builds["fresh"][model]
