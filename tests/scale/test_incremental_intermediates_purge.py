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
    RUN_LOG_TABLES,
    append_rows,
    late_rows_around_the_cutoff,
    make_raw_warehouse,
    raw_rows,
    run_dbt,
    six_day_data_dir,
)

pytestmark = pytest.mark.slow

INTERMEDIATES = {
    "int_step_attempts_enriched": "step_attempt_key",
    "int_step_executions_rolled_up": "step_execution_key",
    "int_flow_runs_enriched": "run_key",
}


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
    warehouse = six_day_data_dir(data_dir)
    run_dbt(data_dir, ["build", "--select", *AUTOMATION_SELECT])
    before = _intermediates(warehouse)
    purge = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(data_dir), "purge"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert purge.returncode == 0, purge.stdout + purge.stderr
    retained = raw_rows(warehouse)
    late = late_rows_around_the_cutoff()
    append_rows(warehouse, late)
    run_dbt(data_dir, ["build", "--select", *AUTOMATION_SELECT])
    incremental = _intermediates(warehouse)

    fresh = tmp_path_factory.mktemp("retained_plus_late")
    make_raw_warehouse(fresh, {t: retained[t] + late[t] for t in RUN_LOG_TABLES})
    run_dbt(fresh, ["build", "--select", *AUTOMATION_SELECT])
    fresh_rows = _intermediates(fresh / "warehouse.duckdb")
    return {"before": before, "incremental": incremental, "fresh": fresh_rows}


def test_the_purge_removed_rows_that_were_built(builds) -> None:
    for model in INTERMEDIATES:
        assert len(builds["fresh"][model]) < len(builds["before"][model]), model


@pytest.mark.parametrize("model", list(INTERMEDIATES))
def test_incremental_after_purge_equals_a_build_of_the_retained_rows(builds, model) -> None:
    assert builds["incremental"][model] == builds["fresh"][model]
