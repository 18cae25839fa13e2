"""The incremental intermediate models (step attempts, step executions, flow runs) forget what
``flowledger purge`` deleted: after a purge and late data, an incremental build holds exactly the
rows a from-scratch build of the retained raw rows plus the late ones gives.

The world: the known world of tests/dbt copied onto six days (2024-03-04 … 03-09), 3 days kept
(cut-off 2024-03-08 00:00, as in test_retention.py). Late rows: a failing step attempt of a
retained run, one of a purged run (its run is gone: it keeps its own flow), and a run on a new day.
Beside the world, a flow whose only run falls on a purged day while a run-less step attempt of
it is retained: after the purge nothing names the flow any more, so a full build shows its
flow_id where the first build showed its name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scale_support import (
    AUTOMATION_SELECT,
    FLOW_RUNS,
    RUN_LOG_TABLES,
    STEP_RUNS,
    WORLD_INGESTED_AT,
    append_rows,
    late_rows_around_the_cutoff,
    make_raw_warehouse,
    raw_rows,
    read_warehouse,
    run_dbt,
    shifted,
    six_day_data_dir,
)

pytestmark = pytest.mark.slow

INTERMEDIATES = {
    "int_step_attempts_enriched": "step_execution_key, attempt",
    "int_flow_runs_enriched": "run_key",
}


def _flow_gone_by_the_purge() -> dict[str, list[dict]]:
    """A run of flow 'f-gone' on 2024-03-04 (purged) and a step attempt of it on 2024-03-09
    (retained) whose run never arrives."""
    run = {**FLOW_RUNS[0], "flow_id": "f-gone", "flow_name": "Gone flow", "run_id": "gone-1"}
    run.update(idempotency_key="k-gone", business_key="QG")
    step = {**STEP_RUNS[0], "flow_id": "f-gone", "run_id": "gone-2"}
    step.update(started_at="2024-03-09 09:00:11")
    return {
        "flow_runs": shifted([run], 0, WORLD_INGESTED_AT),
        "step_runs": shifted([step], 0, WORLD_INGESTED_AT),
    }


def _gone_flow_names(warehouse: Path) -> set[tuple[str, str]]:
    con = read_warehouse(warehouse.parent)
    try:
        rows = con.execute(
            "select distinct flow_id, flow_name from intermediate.int_step_attempts_enriched "
            "where flow_id = 'f-gone'"
        ).fetchall()
        return set(rows)
    finally:
        con.close()


def _intermediates(warehouse: Path) -> dict[str, list[tuple]]:
    con = read_warehouse(warehouse.parent)
    try:
        return {
            model: con.execute(f"select * from intermediate.{model} order by {key}").fetchall()
            for model, key in INTERMEDIATES.items()
        }
    finally:
        con.close()


def _flows(warehouse: Path) -> list[tuple]:
    """int_flows_summarized, whose counts include the purged runs (raw.purged_history)."""
    con = read_warehouse(warehouse.parent)
    try:
        return con.execute(
            "select * from intermediate.int_flows_summarized order by flow_id"
        ).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[tuple]]]:
    data_dir = tmp_path_factory.mktemp("purged")
    warehouse = six_day_data_dir(data_dir)
    append_rows(warehouse, _flow_gone_by_the_purge())
    run_dbt(data_dir, ["build", "--select", *AUTOMATION_SELECT])
    before = _intermediates(warehouse)
    names_before = _gone_flow_names(warehouse)
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
    flows = {"incremental": _flows(warehouse)}
    run_dbt(data_dir, ["build", "--select", "int_flows_summarized", "--full-refresh"])
    flows["full_refresh"] = _flows(warehouse)

    fresh = tmp_path_factory.mktemp("retained_plus_late")
    make_raw_warehouse(fresh, {t: retained[t] + late[t] for t in RUN_LOG_TABLES})
    run_dbt(fresh, ["build", "--select", *AUTOMATION_SELECT])
    fresh_rows = _intermediates(fresh / "warehouse.duckdb")
    names = {"before": names_before, "fresh": _gone_flow_names(fresh / "warehouse.duckdb")}
    return {
        "before": before, "incremental": incremental, "fresh": fresh_rows, "names": names,
        "flows": flows,
    }  # fmt: skip


def test_the_gone_flow_was_named_before_the_purge_and_is_its_id_after(builds) -> None:
    names = builds["names"]
    assert ("f-gone", "Gone flow") in names["before"]
    assert ("f-gone", "f-gone") in names["fresh"]
    assert ("f-gone", "Gone flow") not in names["fresh"]


def test_the_purge_removed_rows_that_were_built(builds) -> None:
    for model in INTERMEDIATES:
        assert len(builds["fresh"][model]) < len(builds["before"][model]), model


@pytest.mark.parametrize("model", list(INTERMEDIATES))
def test_incremental_after_purge_equals_a_build_of_the_retained_rows(builds, model) -> None:
    assert builds["incremental"][model] == builds["fresh"][model]


def test_flow_summaries_merged_after_a_purge_equal_a_full_refresh(builds) -> None:
    """The incremental build summarizes again the flows the purge took runs from (all of them
    here) and drops the flow it took every run of, as ``--full-refresh`` does."""
    flows = builds["flows"]
    assert flows["incremental"] == flows["full_refresh"]
    assert "f-gone" not in {row[0] for row in flows["incremental"]}
    assert all(row[-1] > 0 for row in flows["incremental"]), "every flow lost runs to the purge"
