"""``flowledger build`` records where its wall time went (dbt stubbed: no project is built)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flowledger import build as build_module
from flowledger.build import build, last_build_path
from flowledger.dbt_forkserver import SOCKET_ENV
from flowledger.dbt_process import DbtChild
from flowledger.settings import DataDir


@pytest.fixture(autouse=True)
def _own_dbt_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the dbt process a build starts itself: no fork server (the suite
    runs one, tests/conftest.py)."""
    monkeypatch.delenv(SOCKET_ENV, raising=False)


def _fake_dbt(data_dir: DataDir, args, echo=None, **_options) -> None:
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

    def failing_dbt(data_dir: DataDir, args, echo=None, **_options) -> None:
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

    def recording_dbt(data_dir: DataDir, args, echo=None, **_options) -> None:
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


def test_a_field_ownership_change_refreshes_in_full(tmp_path: Path, dbt_calls) -> None:
    data_dir = DataDir(tmp_path)
    build(data_dir, echo=None)
    # the data directory's own declaration: an entity beside the contract's
    (tmp_path / "field_ownership.yml").write_text(
        "entities:\n  - {entity: deal, key: deal_id, fields: "
        "[{name: amount, systemOfRecord: /northwind/crm}]}\n"
    )
    messages: list[str] = []
    build(data_dir, echo=messages.append)
    build(data_dir, echo=None)
    assert [_refreshed(args) for args in dbt_calls] == [True, True, False]
    assert any("field ownership changed" in message for message in messages)


def test_a_full_refresh_asked_while_the_build_waits_for_the_lock_is_made(
    tmp_path: Path, dbt_calls
) -> None:
    # `flowledger rescrub` holds the writer lock and asks for a full refresh before it lets go:
    # a build that read the request before waiting for the lock built incrementally, and
    # published the values the rescrub had just replaced
    import threading
    import time

    from flowledger.build import refresh_fully_next
    from flowledger.warehouse import writer_lock

    data_dir = DataDir(tmp_path)
    build(data_dir, echo=None)
    held, release = threading.Event(), threading.Event()

    def rescrub() -> None:
        with writer_lock(data_dir, announce=False):
            held.set()
            release.wait(10)
            refresh_fully_next(data_dir, "stored rows were scrubbed again")

    messages: list[str] = []
    writer = threading.Thread(target=rescrub)
    writer.start()
    assert held.wait(10)
    builder = threading.Thread(target=lambda: build(data_dir, echo=messages.append))
    builder.start()
    time.sleep(1.0)  # the build has read its configuration and waits for the lock
    release.set()
    writer.join(10)
    builder.join(60)
    build(data_dir, echo=None)
    assert [_refreshed(args) for args in dbt_calls] == [True, True, False]
    assert "stored rows were scrubbed again since the last build: --full-refresh" in messages


# The key tests read only the key groups written since the last build (KEYS_VALID_ENV) only
# when that build vouches for every other row (dbt stubbed: it leaves the results of one limited
# key test; tests/scale/test_incremental_tests_scope.py runs the real builds).
def _results_dbt(status: str = "pass"):
    def results_dbt(data_dir: DataDir, args, echo=None, **_options) -> None:
        _fake_dbt(data_dir, args, echo)
        test = "test.flowledger.unique_runs_run_key"
        nodes = {test: {"test_metadata": {"kwargs": {"ingested_column": "ingested_at"}}}}
        invocation = f"invocation-{len(list(data_dir.dbt_target.parent.glob('*.json')))}"
        run_results = {
            "metadata": {"invocation_id": invocation},
            "results": [
                {"unique_id": "model.flowledger.runs", "status": "success"},
                {"unique_id": test, "status": status},
                {"unique_id": "test.flowledger.not_null_runs_status", "status": "warn"},
            ],
        }
        (data_dir.dbt_target / "manifest.json").write_text(json.dumps({"nodes": nodes}))
        (data_dir.dbt_target / "run_results.json").write_text(json.dumps(run_results))

    return results_dbt


def _recording_dbt(calls: list[str | None]):
    """A dbt that passes its key tests and appends the time it got as KEYS_VALID_ENV to
    ``calls`` (None when absent)."""
    results_dbt = _results_dbt()

    def recording_dbt(
        data_dir: DataDir, args, echo=None, keys_valid_through=None, **_options
    ) -> None:
        calls.append(keys_valid_through)
        results_dbt(data_dir, args, echo)

    return recording_dbt


@pytest.fixture
def var_calls(monkeypatch) -> list[str | None]:
    """The time each build passed dbt as KEYS_VALID_ENV, None when absent."""
    calls: list[str | None] = []
    monkeypatch.setattr(build_module, "run_dbt", _recording_dbt(calls))
    return calls


def _land(data_dir: DataDir, ingested_at: str) -> None:
    con = duckdb.connect(str(data_dir.warehouse))
    try:
        con.execute(
            "insert into raw.flow_runs (source_system, run_id, run_attempt, _ingested_at) "
            "values ('n8n', ?, 1, ?)",
            [ingested_at, ingested_at],
        )
    finally:
        con.close()


def test_the_var_is_the_newest_ingest_time_of_the_last_complete_build(
    tmp_path: Path, var_calls
) -> None:
    data_dir = DataDir(tmp_path)
    build(data_dir, echo=None)  # first build: no raw rows yet
    _land(data_dir, "2026-11-01 10:00:00")
    build(data_dir, echo=None)
    _land(data_dir, "2026-11-02 10:00:00")
    build(data_dir, echo=None)
    build(data_dir, full_refresh=True, echo=None)
    build(data_dir, echo=None)
    assert var_calls == [
        None,
        "-infinity",
        "2026-11-01 10:00:00",
        None,
        "2026-11-02 10:00:00",
    ]


def test_no_var_after_a_warned_key_test_a_purge_a_project_change_a_selection_or_dbt_by_hand(
    tmp_path: Path, var_calls, monkeypatch
) -> None:
    data_dir = DataDir(tmp_path)
    build(data_dir, echo=None)
    _land(data_dir, "2026-11-01 10:00:00")
    build(data_dir, echo=None)  # var: -infinity
    build(data_dir, echo=None)  # var: 10:00
    # a limited key test warned (a source test's severity): the next build checks every row
    monkeypatch.setattr(build_module, "run_dbt", _results_dbt("warn"))
    build(data_dir, echo=None)
    monkeypatch.undo()
    calls: list[str | None] = []
    monkeypatch.setattr(build_module, "run_dbt", _recording_dbt(calls))
    build(data_dir, echo=None)  # after the warning: none
    build(data_dir, echo=None)  # vouched again
    con = duckdb.connect(str(data_dir.warehouse))
    con.execute("delete from raw.flow_runs")  # a purge
    con.close()
    build(data_dir, echo=None)
    build(data_dir, select=["fct_flow_runs"], echo=None)  # a selection forgets the record
    build(data_dir, echo=None)
    (data_dir.dbt_target / "run_results.json").write_text(
        json.dumps({"metadata": {"invocation_id": "by-hand"}, "results": []})
    )  # dbt run by hand into the data directory
    build(data_dir, echo=None)
    monkeypatch.setattr(build_module, "project_fingerprint", lambda variables: "edited")
    build(data_dir, echo=None)
    build(data_dir, echo=None)
    assert var_calls[:3] == [None, "-infinity", "2026-11-01 10:00:00"]
    assert calls == [
        None,  # the last build's limited key test warned
        "2026-11-01 10:00:00",
        None,  # the raw rows through the var changed (purge)
        None,  # --select
        None,  # after a selection
        None,  # dbt ran by hand since
        None,  # another project
        "-infinity",  # vouched again: every raw row was purged
    ]


def test_dbt_gets_the_time_in_its_environment_and_never_an_inherited_one(
    tmp_path: Path, monkeypatch
) -> None:
    # not a dbt var: a var that changes on every build makes dbt parse the whole project again
    data_dir = DataDir(tmp_path)
    monkeypatch.setenv(build_module.KEYS_VALID_ENV, "2000-01-01 00:00:00")
    command, env, _ = build_module.dbt_command(data_dir, ["build"])
    assert build_module.KEYS_VALID_ENV not in env
    assert not any("keys_valid" in part for part in command)
    _, env, _ = build_module.dbt_command(data_dir, ["build"], "2026-11-01 10:00:00")
    assert env[build_module.KEYS_VALID_ENV] == "2026-11-01 10:00:00"


def test_duckdb_threads_share_the_cores_among_dbt_threads(tmp_path: Path, monkeypatch) -> None:
    import yaml

    assert [build_module.duckdb_threads_per_query(c) for c in (1, 2, 3, 8)] == [1, 1, 1, 4]
    monkeypatch.delenv(build_module.DUCKDB_THREADS_ENV, raising=False)
    _, env, _ = build_module.dbt_command(DataDir(tmp_path), ["build"])
    assert env[build_module.DUCKDB_THREADS_ENV] == str(build_module.duckdb_threads_per_query())
    monkeypatch.setenv(build_module.DUCKDB_THREADS_ENV, "3")  # an operator's choice is kept
    _, env, _ = build_module.dbt_command(DataDir(tmp_path), ["build"])
    assert env[build_module.DUCKDB_THREADS_ENV] == "3"
    profile = yaml.safe_load((build_module.PROJECT_ROOT / "profiles.yml").read_text())
    target = profile["flowledger"]["outputs"]["duckdb"]
    assert target["threads"] == build_module.DBT_THREADS
    assert build_module.DUCKDB_THREADS_ENV in target["settings"]["threads"]


def test_dbt_logs_to_its_file_at_info_unless_the_operator_asks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    _, env, _ = build_module.dbt_command(DataDir(tmp_path), ["build"])
    assert env["DBT_LOG_LEVEL_FILE"] == "info"
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # every statement, for a slow build
    _, env, _ = build_module.dbt_command(DataDir(tmp_path), ["build"])
    assert env["DBT_LOG_LEVEL_FILE"] == "debug"


def test_the_build_starts_dbt_s_process_before_its_first_step(tmp_path: Path, monkeypatch) -> None:
    """dbt's imports (~2 s) overlap the steps that ready the warehouse: the process dbt runs in
    is started first and still waits for its command when the build hands it to run_dbt."""
    order: list[str] = []
    real_retention = build_module._retention_enforced

    def retention(data_dir):
        order.append("retention")
        return real_retention(data_dir)

    def handed(data_dir: DataDir, args, echo=None, dbt_child=None, **_options) -> None:
        assert isinstance(dbt_child, DbtChild)
        assert not dbt_child.sent and dbt_child.process.poll() is None  # awaiting its request
        order.append(f"dbt started before: {dbt_child.started_before}")
        _fake_dbt(data_dir, args, echo)

    real_init = DbtChild.__init__

    def recording_init(self):
        real_init(self)
        self.started_before = list(order) == []

    monkeypatch.setattr(build_module, "_retention_enforced", retention)
    monkeypatch.setattr(DbtChild, "__init__", recording_init)
    monkeypatch.setattr(build_module, "run_dbt", handed)
    build(DataDir(tmp_path), echo=None)
    assert order == ["retention", "dbt started before: True"]
