"""``flowledger kpi process NAME --fresh``: the compiled SQL of the dbt models run in memory, without
dbt, gives exactly the document of the built and published marts; its compiled plan is cached and
compiled again when the process configuration or a model changes; clear errors."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flowledger.direct_build import (
    PROJECT_INPUTS,
    DirectBuildFailed,
    Plan,
    plan_from_manifest,
    plan_key,
    plans_dir,
    run_plan,
)
from flowledger.processes.fresh import FRESH_MARTS, fresh_process_kpis
from flowledger.processes.kpis import UnknownProcess, to_table
from flowledger.settings import PROJECT_ROOT, DataDir

PROCESSES = ("gen_xes", "gen_csv", "gen_ends")
ENDS_ON_CSV = """\
  gen_csv_ends:
    case_key: case_id
    event_source: /eventlog/gen_csv
    end: [Pay compensation, Reject request]
"""


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _without_built_at(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "built_at"}


@pytest.fixture(scope="session")
def fresh_documents(imported_logs) -> dict[str, dict]:
    """The --fresh document of each process, through the CLI (the first one compiles)."""
    documents = {}
    for process in PROCESSES:
        result = _cli(imported_logs.home, "kpi", "process", process, "--fresh", "--json")
        assert result.returncode == 0, result.stderr
        documents[process] = json.loads(result.stdout)
    return documents


@pytest.mark.parametrize("process", PROCESSES)
def test_fresh_document_equals_the_published_one(imported_logs, fresh_documents, process):
    published = imported_logs.kpis(process)
    fresh = fresh_documents[process]
    assert fresh["cases"] == 400
    assert _without_built_at(fresh) == _without_built_at(published)


def test_fresh_document_covers_offsets_ties_single_events_and_stuck_cases(fresh_documents):
    csv, ends = fresh_documents["gen_csv"], fresh_documents["gen_ends"]
    assert csv["case_duration_seconds"]["min"] == 0  # single-event cases
    assert csv["rework"]["cases_by_activity"]  # repeated activities
    assert ends["stuck_cases"]["count"] > 0
    assert ends["cycle_time_seconds"]["measure"] == "start_to_end_event"


def test_fresh_table_output(imported_logs, fresh_documents):
    result = _cli(imported_logs.home, "kpi", "process", "gen_csv", "--fresh")
    assert result.returncode == 0, result.stderr
    assert "process gen_csv" in result.stdout
    assert f"{fresh_documents['gen_csv']['cases']:>14,}" in result.stdout


@pytest.fixture()
def copied_home(imported_logs, fresh_documents, tmp_path) -> DataDir:
    """A copy of the imported logs' data directory, its compiled plan included."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("warehouse.duckdb", "processes.yml"):
        shutil.copy(imported_logs.home / name, home / name)
    shutil.copytree(plans_dir(DataDir(imported_logs.home)), plans_dir(DataDir(home)))
    return DataDir(home)


def test_plan_is_cached_and_compiled_again_when_the_configuration_changes(copied_home):
    cached = fresh_process_kpis(copied_home, "gen_csv")
    assert cached.compile_seconds is None
    with (copied_home.root / "processes.yml").open("a") as config:
        config.write(ENDS_ON_CSV)
    changed = fresh_process_kpis(copied_home, "gen_csv_ends")
    assert changed.compile_seconds is not None
    assert changed.document["cases"] == 400
    assert changed.document["cycle_time_seconds"]["measure"] == "start_to_end_event"
    assert 0 < changed.document["cases_completed"] < 400
    assert len(list(plans_dir(copied_home).glob("plan-*.json"))) == 2
    again = fresh_process_kpis(copied_home, "gen_csv")
    assert again.compile_seconds is None
    assert _without_built_at(again.document) == _without_built_at(cached.document)


def test_run_plan_reports_each_models_wall_and_cpu_seconds(copied_home):
    (plan_file,) = plans_dir(copied_home).glob("plan-*.json")
    plan = Plan.from_json(plan_file.read_text())
    lines: list[str] = []
    run_plan(plan, copied_home.warehouse, echo=lines.append).close()
    assert [line.split(": ")[0] for line in lines] == [step.model for step in plan.steps]
    assert all(re.fullmatch(r"\w+: \d+\.\d\ds \(CPU \d+\.\d\ds\)", line) for line in lines)


def test_plan_key_changes_with_a_model_a_macro_the_vars_or_the_marts(tmp_path):
    for name in PROJECT_INPUTS:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    dbt_vars = {"flowledger_processes": [{"process_name": "p"}]}
    key = plan_key(FRESH_MARTS, dbt_vars, tmp_path)
    assert plan_key(FRESH_MARTS, dbt_vars, tmp_path) == key
    assert plan_key(FRESH_MARTS, {"flowledger_processes": []}, tmp_path) != key
    assert plan_key(FRESH_MARTS[:1], dbt_vars, tmp_path) != key
    model = tmp_path / "models" / "marts" / "processes" / "fct_cases.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    edited = plan_key(FRESH_MARTS, dbt_vars, tmp_path)
    assert edited != key
    macro = tmp_path / "macros" / "seconds_between.sql"
    macro.write_text(macro.read_text() + "\n")
    assert plan_key(FRESH_MARTS, dbt_vars, tmp_path) != edited


def test_unknown_process_is_a_clear_error(imported_logs, fresh_documents):
    result = _cli(imported_logs.home, "kpi", "process", "no_such_process", "--fresh", "--json")
    assert result.returncode == 1
    assert "process 'no_such_process' is not declared" in result.stderr
    assert "gen_csv" in result.stderr  # the declared ones are listed


def test_declared_process_without_events_is_a_clear_error(copied_home):
    # cart_to_fulfillment is declared by config/processes.yml; these logs have none of its events
    with pytest.raises(
        UnknownProcess, match="no case of process 'cart_to_fulfillment' in the landed"
    ):
        fresh_process_kpis(copied_home, "cart_to_fulfillment")


def test_nothing_ingested_is_a_clear_error(tmp_path):
    result = _cli(tmp_path / "empty", "kpi", "process", "cart_to_fulfillment", "--fresh")
    assert result.returncode == 1
    assert "nothing was ingested" in result.stderr
    assert not (tmp_path / "empty" / "warehouse.duckdb").exists()


def _node(name: str, parents: list[str], kind: str = "model", materialized: str = "table") -> dict:
    return {
        "name": name,
        "alias": name,
        # as dbt-duckdb places them: marts in the marts file (schema main), the rest in the warehouse
        "schema": "main" if name.startswith("fct") else "staging",
        "database": "marts" if name.startswith("fct") else "warehouse",
        "resource_type": kind,
        "config": {"materialized": materialized},
        "depends_on": {"nodes": parents},
        "compiled_code": f"select 1 as {name}_column" if kind == "model" else None,
    }


def test_plan_from_manifest_orders_parents_first_and_keeps_only_what_the_marts_need():
    manifest = {
        "sources": {
            "source.p.raw.events": {
                "database": "warehouse",
                "schema": "raw",
                "identifier": "events",
            }
        },
        "nodes": {
            "model.p.stg": _node("stg", ["source.p.raw.events"], materialized="view"),
            "seed.p.codes": _node("codes", [], kind="seed"),
            "model.p.fct_b": _node("fct_b", ["model.p.fct_a", "seed.p.codes"]),
            "model.p.fct_a": _node("fct_a", ["model.p.stg"], materialized="incremental"),
            "model.p.fct_other": _node("fct_other", ["model.p.stg"]),
        },
    }
    plan = plan_from_manifest(manifest, ["fct_b"])
    assert [(step.model, step.database, step.materialized) for step in plan.steps] == [
        ("stg", "warehouse", "view"),
        ("fct_a", "marts", "table"),
        ("fct_b", "marts", "table"),
    ]
    assert plan.sources == (("raw", "events"), ("staging", "codes"))
    assert plan.database == "warehouse"
    assert Plan.from_json(plan.to_json()) == plan
    with pytest.raises(DirectBuildFailed, match="no dbt model named fct_missing"):
        plan_from_manifest(manifest, ["fct_b", "fct_missing"])


def test_the_table_reads_numbers_as_the_dashboard_does(fresh_documents):
    """`kpi process` had its own units (36 h where the process page said 1.5 d) and Python's
    rounding (1.65 d read 1.6 d, 1.25 % read 1.2 %): one format for both now."""
    document = copy.deepcopy(fresh_documents["gen_csv"])
    document["cycle_time_seconds"].update(median=90.0, p95=1.65 * 86400, mean=36 * 3600.0)
    document["rework"]["share_of_cases"] = 0.0125
    document["throughput"].update(days=3, mean_per_day=10.0)
    lines = to_table(document).splitlines()

    def line(label: str) -> str:
        return next(text for text in lines if text.strip().startswith(label))

    assert line("median").split()[-2:] == ["1.5", "min"]
    assert line("p95").split()[-2:] == ["1.7", "d"]
    assert line("mean").split()[-2:] == ["1.5", "d"]
    assert line("rework (repeated activity)").split()[-1] == "1.3%"
    assert line("throughput (completed per day)").split()[4] == "10.0"
