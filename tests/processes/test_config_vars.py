"""The process configuration reaches dbt as --vars (SQL models, no dbt Python models): the built
configuration tables hold exactly the validated rows, dbt without the vars says how to pass them,
and a broken file stops `flowledger build` before dbt runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flowledger.processes.config import as_rows, load_config
from flowledger.processes.dbt_tables import VAR_NAMES, dbt_vars
from flowledger.settings import PROJECT_ROOT

MODELS = {
    "processes": "int_processes_configured",
    "event_types": "int_process_event_types_configured",
    "steps": "int_process_steps_configured",
    "segments": "int_process_segments_configured",
}


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_no_python_models_are_left_in_the_project():
    assert not list((PROJECT_ROOT / "models" / "intermediate" / "processes").glob("*.py"))


@pytest.mark.slow
def test_built_configuration_tables_hold_the_validated_rows(imported_logs):
    expected = as_rows(load_config(imported_logs.home))
    assert {p["process_name"] for p in expected["processes"]} >= {"gen_xes", "gen_csv", "gen_ends"}
    con = duckdb.connect(str(imported_logs.home / "warehouse.duckdb"), read_only=True)
    try:
        for kind, model in MODELS.items():
            cursor = con.execute(f"select * from intermediate.{model}")
            names = [c[0] for c in cursor.description]
            built = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            key = lambda row: json.dumps(row, sort_keys=True, default=str)  # noqa: E731
            assert sorted(built, key=key) == sorted(expected[kind], key=key), kind
    finally:
        con.close()


@pytest.mark.slow
def test_processes_vars_prints_what_build_passes_and_dbt_needs_it(imported_logs):
    printed = imported_logs.cli("processes", "vars")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == dbt_vars(imported_logs.home)
    assert set(json.loads(printed.stdout)) == set(VAR_NAMES.values())
    target = imported_logs.home / "dbt-by-hand"
    command = [
        str(Path(sys.executable).parent / "dbt"), "compile", "--select", "int_processes_configured",
        "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
        "--target-path", str(target / "target"), "--log-path", str(target / "logs"),
    ]  # fmt: skip
    env = {
        **os.environ,
        "FLOWLEDGER_WAREHOUSE": str(target / "scratch.duckdb"),
        "FLOWLEDGER_MARTS": str(target / "scratch-marts.duckdb"),
    }
    without = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert without.returncode != 0
    assert "the process configuration was not passed to dbt" in without.stdout
    assert "flowledger processes vars" in without.stdout
    with_vars = subprocess.run(
        [*command, "--vars", printed.stdout], env=env, capture_output=True, text=True, timeout=300
    )
    assert with_vars.returncode == 0, with_vars.stdout[-3000:]
    compiled = next((target / "target").rglob("int_processes_configured.sql")).read_text()
    assert "'gen_ends'" in compiled and "union all" in compiled


def test_a_broken_file_stops_the_build_before_dbt(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "processes.yml").write_text(
        "version: 1\nprocesses:\n  claims:\n    case_key: claim_id\n    event_source: /claims\n    timeout: soon\n"
    )
    result = cli(home, "build", "--quiet")
    assert result.returncode != 0
    assert "claims" in result.stderr and "timeout" in result.stderr, result.stderr
    assert "nothing was built" in result.stderr
    assert not (home / "dbt").exists() or not list((home / "dbt").rglob("run_results.json"))
