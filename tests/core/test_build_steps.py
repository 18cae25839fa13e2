"""``flowledger build`` records where its wall time went (dbt stubbed: no project is built)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flowledger import build as build_module
from flowledger.build import build, last_build_path
from flowledger.settings import DataDir


def _fake_dbt(data_dir: DataDir, args, echo=None) -> None:
    """What dbt leaves behind: its target directory and, in the marts file, the two marts
    ``data_as_of`` reads."""
    data_dir.dbt_target.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(data_dir.marts))
    try:
        con.execute(
            "create or replace table main.fct_cases as "
            "select timestamp '2026-11-01 10:00:00' as last_event_at, 'c1' as case_key"
        )
        con.execute(
            "create or replace table main.fct_flow_runs as select "
            "timestamp '2026-11-01 09:00:00' as started_at, "
            "timestamp '2026-11-01 11:00:00' as ended_at, 'r1' as run_key"
        )
    finally:
        con.close()


def test_build_records_the_seconds_of_each_step(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_module, "run_dbt", _fake_dbt)
    data_dir = DataDir(tmp_path)

    result = build(data_dir, echo=None)

    recorded = json.loads(last_build_path(data_dir).read_text())
    assert recorded["steps"] == result.steps
    assert list(result.steps) == [
        "retention",
        "openlineage",
        "vars",
        "raw_tables",
        "dbt",
        "data_as_of",
        "publish",
    ]
    assert all(seconds >= 0 for seconds in result.steps.values())
    assert sum(result.steps.values()) <= recorded["seconds"] + 0.01
    assert result.data_as_of == "2026-11-01T11:00:00Z"


def test_a_failed_build_leaves_the_last_record_alone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build_module, "run_dbt", _fake_dbt)
    data_dir = DataDir(tmp_path)
    build(data_dir, echo=None)
    before = last_build_path(data_dir).read_text()

    def failing_dbt(data_dir: DataDir, args, echo=None) -> None:
        raise build_module.BuildFailed("dbt build failed (exit 1); nothing was published")

    monkeypatch.setattr(build_module, "run_dbt", failing_dbt)
    with pytest.raises(build_module.BuildFailed):
        build(data_dir, echo=None)
    assert last_build_path(data_dir).read_text() == before


def test_a_dbt_failure_names_the_command_without_pages_of_vars(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    data_dir.ensure()
    with pytest.raises(build_module.BuildFailed) as failure:
        build_module.run_dbt(
            data_dir,
            ["no-such-dbt-command", "--vars", json.dumps({"flowledger_slos": ["x" * 5000]})],
            echo=None,
        )
    first_line = str(failure.value).splitlines()[0]
    assert first_line.startswith("dbt no-such-dbt-command --vars <the build's vars> failed")
    assert "x" * 100 not in str(failure.value)


# A full refresh whenever what the incremental models were built under changes: the process
# configuration (case chain) or the contract's field ownership (provenance models).
@pytest.fixture
def dbt_calls(monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def recording_dbt(data_dir: DataDir, args, echo=None) -> None:
        calls.append(list(args))
        _fake_dbt(data_dir, args, echo)

    monkeypatch.setattr(build_module, "run_dbt", recording_dbt)
    return calls


def _refreshed(args: list[str]) -> bool:
    return "--full-refresh" in args


def test_first_build_refreshes_then_an_unchanged_configuration_does_not(
    tmp_path: Path, dbt_calls
) -> None:
    data_dir = DataDir(tmp_path)
    build(data_dir, echo=None)
    build(data_dir, echo=None)
    assert [_refreshed(args) for args in dbt_calls] == [True, False]


def test_a_field_ownership_change_refreshes_in_full(tmp_path: Path, dbt_calls, monkeypatch) -> None:
    data_dir = DataDir(tmp_path)
    build(data_dir, echo=None)
    declared = build_module._ownership_vars()
    rows = next(iter(declared.values()))
    changed = dict(declared)
    changed[next(iter(declared))] = [{**rows[0], "system_of_record": "someone-else"}, *rows[1:]]
    monkeypatch.setattr(build_module, "_ownership_vars", lambda: changed)
    messages: list[str] = []
    build(data_dir, echo=messages.append)
    build(data_dir, echo=None)
    assert [_refreshed(args) for args in dbt_calls] == [True, True, False]
    assert any("field ownership changed" in message for message in messages)
