"""``python -m flowledger.dbt_process`` runs dbt's command line with the ``dbt`` command's exit
codes, and leaves the DuckDB files checkpointed (no write-ahead log) although it skips Python's
teardown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from tiny_dbt_project import tiny_project

from flowledger import cli
from flowledger.build import dbt_command, dbt_launcher
from flowledger.dbt_forkserver import SOCKET_ENV
from flowledger.dbt_process import AWAIT_REQUEST, DbtChild
from flowledger.settings import DataDir


@pytest.fixture(autouse=True)
def _own_dbt_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the dbt process a build starts itself: no fork server (the suite
    runs one, tests/conftest.py)."""
    monkeypatch.delenv(SOCKET_ENV, raising=False)


def _dbt(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    return subprocess.run(
        [*dbt_launcher(), *args, "--project-dir", str(root), "--profiles-dir", str(root)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_launcher_is_this_interpreter_running_dbt_s_command_line() -> None:
    assert dbt_launcher() == [sys.executable, "-P", "-m", "flowledger.dbt_process"]


def test_a_run_that_passes_exits_0_with_the_database_checkpointed(tmp_path: Path) -> None:
    tiny_project(tmp_path, {"ok.sql": "select range as n from range(5)"})
    done = _dbt(tmp_path, "run")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Completed successfully" in done.stdout
    assert (tmp_path / "target" / "run_results.json").is_file()
    # dbt-duckdb closes the database at interpreter exit, which this process skips: it closes it
    # itself, so every row is in the database file, none left in a write-ahead log to replay
    assert not (tmp_path / "tiny.duckdb.wal").exists()
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from main.ok").fetchone() == (5,)
    finally:
        con.close()


def test_a_failing_model_exits_1_and_says_why(tmp_path: Path) -> None:
    tiny_project(tmp_path, {"broken.sql": "select * from no_such_table"})
    done = _dbt(tmp_path, "run")
    assert done.returncode == 1
    assert "no_such_table" in done.stdout


@pytest.mark.parametrize("args", [["run", "--no-such-option"], ["no-such-command"]])
def test_dbt_that_cannot_run_exits_2(tmp_path: Path, args: list[str]) -> None:
    tiny_project(tmp_path, {"ok.sql": "select 1 as n"})
    done = _dbt(tmp_path, *args)
    assert done.returncode == 2


# --await-request: the process imports dbt first and runs what it is sent on stdin.
def _request(root: Path, *args: str) -> dict:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    argv = [*args, "--project-dir", str(root), "--profiles-dir", str(root)]
    return {"argv": argv, "env": env, "cwd": str(root)}


def _awaiting(cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*dbt_launcher(), AWAIT_REQUEST], cwd=cwd, env={**os.environ, **env},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_an_awaiting_process_runs_the_request_in_its_directory_and_environment(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    tiny_project(project, {"env.sql": "select '{{ env_var(\"FROM_REQUEST\") }}' as v"})
    request = _request(project, "run")
    request["env"]["FROM_REQUEST"] = "sent"
    child = _awaiting(tmp_path, FROM_REQUEST="at start")  # started elsewhere, another value
    out, _ = child.communicate(json.dumps(request) + "\n", timeout=300)
    assert child.returncode == 0, out[-3000:]
    assert (project / "target" / "run_results.json").is_file()  # relative to the request's cwd
    con = duckdb.connect(str(project / "tiny.duckdb"), read_only=True)
    try:
        assert con.execute("select v from main.env").fetchone() == ("sent",)
    finally:
        con.close()


def test_an_awaiting_process_keeps_the_exit_codes(tmp_path: Path) -> None:
    tiny_project(tmp_path, {"broken.sql": "select * from no_such_table"})
    child = _awaiting(tmp_path)
    out, _ = child.communicate(json.dumps(_request(tmp_path, "run")) + "\n", timeout=300)
    assert child.returncode == 1
    assert "no_such_table" in out


def test_an_awaiting_process_sent_nothing_ends_having_run_nothing(tmp_path: Path) -> None:
    tiny_project(tmp_path, {"ok.sql": "select 1 as n"})
    child = _awaiting(tmp_path)
    out, _ = child.communicate("", timeout=300)
    assert child.returncode == 0
    assert out == ""
    assert not (tmp_path / "target").exists()
    assert not (tmp_path / "tiny.duckdb").exists()


def test_a_build_stopped_before_dbt_leaves_no_dbt_process(tmp_path: Path) -> None:
    with DbtChild() as child:
        pid = child.process.pid
    assert child.process.returncode is not None  # ended and reaped, not left importing dbt
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_dbt_child_runs_one_command_only(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    data_dir.ensure()
    dbt = dbt_command(data_dir, ["--version"])
    with DbtChild() as child:
        child.send(dbt.dbt_args, dbt.env, dbt.cwd)
        with pytest.raises(RuntimeError, match="run its command already"):
            child.send(dbt.dbt_args, dbt.env, dbt.cwd)


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["build"], "build"),
        (["--data-dir", "build", "ingest", "x"], "ingest"),  # a data directory named build
        (["--data-dir=/d", "build", "--quiet"], "build"),
        (["--version"], None),
        ([], None),
    ],
)
def test_the_command_line_knows_a_build_before_parsing_its_options(argv, word) -> None:
    assert cli._command_word(argv) == word


def test_flowledger_build_hands_the_build_the_dbt_process_it_started_first(
    tmp_path: Path, monkeypatch
) -> None:
    import flowledger.build as build_module

    handed: list[DbtChild] = []

    def build(data_dir, *, dbt_child=None, **_options):
        assert dbt_child is not None and dbt_child.process.poll() is None  # awaiting
        handed.append(dbt_child)
        raise build_module.BuildFailed("stopped before dbt")

    monkeypatch.setattr(build_module, "build", build)
    assert cli.main(["--data-dir", str(tmp_path), "build", "--quiet"]) == cli.EXIT_FAILED
    assert handed and handed[0].process.returncode is not None  # not left importing dbt


def test_dbt_ends_when_the_build_that_started_it_is_killed(tmp_path: Path) -> None:
    """A build killed (kill -9) or stopped left its dbt process running, orphaned, holding
    DuckDB's lock after the writers' lock was gone. The dbt process follows its parent now."""
    import signal
    import time

    from flowledger.dbt_process import PARENT_PID

    dbt_like = (
        "import sys, time; from flowledger.dbt_process import _end_with_parent; "
        "_end_with_parent(); print('running', flush=True); time.sleep(120)"
    )
    build_like = (
        "import os, subprocess, sys, time; "
        f"child = subprocess.Popen([sys.executable, '-c', {dbt_like!r}], "
        f"env={{**os.environ, {PARENT_PID!r}: str(os.getpid())}}, stdout=subprocess.PIPE, text=True); "
        "child.stdout.readline(); print(child.pid, flush=True); time.sleep(120)"
    )
    build = subprocess.Popen([sys.executable, "-c", build_like], stdout=subprocess.PIPE, text=True)
    assert build.stdout is not None
    dbt_pid = int(build.stdout.readline())
    os.kill(build.pid, signal.SIGKILL)
    build.wait(timeout=10)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{dbt_pid}").exists() and "Z" not in _state(dbt_pid):
        assert time.monotonic() < deadline, "the dbt process outlived its build"
        time.sleep(0.1)


def _state(pid: int) -> str:
    """A process's state letter (``Z``: ended, not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "Z"


def test_a_warehouse_another_program_holds_is_a_clear_error(tmp_path: Path) -> None:
    from flowledger.warehouse import WarehouseBusy, connect_warehouse

    data_dir = DataDir(tmp_path).ensure()
    duckdb.connect(str(data_dir.warehouse)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); time.sleep(60)", str(data_dir.warehouse)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseBusy, match=rf"open in another process \(PID {holder.pid}\)"):
            connect_warehouse(data_dir, attach_marts=False)
    finally:
        holder.kill()
        holder.wait()
