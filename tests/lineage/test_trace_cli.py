"""`flowledger lineage trace` through the real CLI on the built project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lineage_support import copy_data_dir

from flowledger.cli import main
from flowledger.settings import DataDir

pytestmark = pytest.mark.slow
RAW = "warehouse.raw."
ATTEMPTS = "warehouse.intermediate.int_step_attempts_enriched"


@pytest.fixture(scope="module")
def data_dir(built_project: DataDir, tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    return copy_data_dir(built_project, tmp_path_factory.mktemp("trace"))


def run(data_dir: DataDir, *args: str, capsys) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir.root), "lineage", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_trace_count_star_down_to_source_fields(data_dir: DataDir, capsys) -> None:
    code, out, _ = run(
        data_dir, "trace", "fct_step_reliability_daily.attempts", "--json", capsys=capsys
    )
    assert code == 0
    result = json.loads(out)
    assert result["direction"] == "upstream"
    first = {
        (c["dataset"], c["field"], c["transformation"]["type"], c["transformation"]["subtype"])
        for c in result["tree"]["children"]
    }
    assert first == {
        (ATTEMPTS, "flow_id", "INDIRECT", "GROUP_BY"),
        (ATTEMPTS, "step_name", "INDIRECT", "GROUP_BY"),
        (ATTEMPTS, "started_at", "INDIRECT", "GROUP_BY"),
    }
    leaves = {(leaf["dataset"], leaf["field"]) for leaf in result["leaves"]}
    # step_name and started_at are renamed only; flow_id is coalesce(run's flow_id, step's flow_id)
    assert {
        (RAW + "step_runs", "step_name"),
        (RAW + "step_runs", "started_at"),
        (RAW + "step_runs", "flow_id"),
        (RAW + "flow_runs", "flow_id"),
    } <= leaves
    assert all(
        dataset.startswith(("warehouse.raw.", "warehouse.seeds.")) or "configured" in dataset
        for dataset, _ in leaves
    )
    assert any("count(*)" in sql.lower() for sql in result["sql"].values())


def test_trace_text_and_sql(data_dir: DataDir, capsys) -> None:
    code, out, _ = run(data_dir, "trace", "dim_flows.flow_name", "--sql", capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "marts.main.dim_flows.flow_name"
    assert "DIRECT/IDENTITY" in lines[1] and "int_flows_summarized.flow_name" in lines[1]
    assert "warehouse.raw.flow_runs.flow_name" in out
    assert "-- SQL of job flowledger:marts.main.flowledger.dim_flows" in out


def test_trace_downstream(data_dir: DataDir, capsys) -> None:
    code, out, _ = run(
        data_dir,
        "trace",
        "warehouse.raw.step_runs.started_at",
        "--downstream",
        "--json",
        capsys=capsys,
    )
    assert code == 0
    reached = {(e["output"]["dataset"], e["output"]["field"]) for e in json.loads(out)["edges"]}
    assert ("marts.main.fct_step_reliability_daily", "day") in reached
    assert ("warehouse.staging.stg_flowledger__step_runs", "started_at") in reached
    # the text's last line named the columns nothing reads further "sources reached"
    code, out, _ = run(
        data_dir, "trace", "warehouse.raw.step_runs.started_at", "--downstream", capsys=capsys
    )
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert last.startswith("columns reached (read by nothing further): ")
    assert "fct_step_reliability_daily.day" in last


def test_trace_errors(data_dir: DataDir, capsys) -> None:
    code, _, err = run(data_dir, "trace", "fct_nothing.nope", capsys=capsys)
    assert code == 1 and "no column 'fct_nothing.nope'" in err
    code, _, err = run(data_dir, "trace", "started_at", capsys=capsys)
    assert code == 1 and "is not MODEL.COLUMN" in err
    code, _, err = run(data_dir, "trace", "run_id", capsys=capsys)
    assert code == 1
    # a time that is none traced an empty lineage (no sources) and exited 0
    code, _, err = run(
        data_dir, "trace", "fct_cases.cycle_time_seconds", "--as-of", "yesterday", capsys=capsys
    )
    assert code == 1 and "--as-of 'yesterday' is not an ISO 8601 date-time" in err
    # a time before any lineage: said, not a bare column name
    code, out, _ = run(
        data_dir, "trace", "fct_cases.cycle_time_seconds", "--as-of", "2001-01-01T00:00:00Z",
        capsys=capsys,
    )  # fmt: skip
    assert code == 0
    assert "(no upstream lineage is known for this column as of 2001-01-01T00:00:00Z" in out


def test_trace_without_build(tmp_path: Path, capsys) -> None:
    code, _, err = run(DataDir(tmp_path), "trace", "fct_cases.case_id", capsys=capsys)
    assert code == 1
    assert "run `flowledger build`" in err


def test_case_id_traced_down_to_the_event_fields(data_dir: DataDir, capsys) -> None:
    # case_id = data_json ->> case_key_field of the process configuration: the configured keys
    # (quote_id, order_id, ticket_id) become the event fields it reads.
    code, out, _ = run(
        data_dir, "trace", "fct_cases.case_id", "--direct-only", "--json", capsys=capsys
    )
    assert code == 0
    leaves = {(leaf["dataset"], leaf["field"]) for leaf in json.loads(out)["leaves"]}
    assert {
        (RAW + "business_events", "data.quote_id"),
        (RAW + "business_events", "data.order_id"),
        (RAW + "business_events", "data.ticket_id"),
    } <= leaves
    edges = json.loads(out)["edges"]
    assert all(edge["type"] == "DIRECT" for edge in edges)


def test_a_trace_while_a_writer_is_busy_says_so(
    built_project: DataDir, tmp_path: Path, capsys
) -> None:
    """With the last build's lineage not read in yet and a build or ingest holding the
    warehouse, the trace said "no column … run `flowledger build`": the wrong fix."""
    import subprocess
    import sys

    fresh = copy_data_dir(built_project, tmp_path / "busy")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from flowledger.settings import DataDir; "
         "from flowledger.warehouse import writer_lock\n"
         "with writer_lock(DataDir(Path(sys.argv[1]))):\n"
         "    print('held', flush=True); time.sleep(60)", str(fresh.root)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, _, err = run(fresh, "trace", "fct_cases.cycle_time_seconds", capsys=capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    assert "keeps the warehouse busy" in err and "run `flowledger build`" not in err
    # once the writer is done, the same trace is answered
    code, out, _ = run(fresh, "trace", "fct_cases.cycle_time_seconds", capsys=capsys)
    assert code == 0 and "fct_cases.cycle_time_seconds" in out
