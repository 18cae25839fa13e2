"""The dbt fork server: one process imports dbt, each run is a child forked from it
(flowledger/dbt_forkserver.py). A forked run must behave as a build's own dbt process: the
request's directory and environment, dbt's exit codes and output, the DuckDB file checkpointed,
and no dbt left running when the build that asked is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from tiny_dbt_project import tiny_project

from flowledger.dbt_forkserver import SOCKET_ENV, ForkServer, fork_dbt
from flowledger.dbt_process import DbtChild, run_captured

pytestmark = pytest.mark.slow


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fork server of this test's own (not the session's), named by the environment."""
    started = ForkServer()
    socket_path = started.start()
    assert socket_path is not None
    monkeypatch.setenv(SOCKET_ENV, socket_path)
    yield socket_path
    started.stop()
    assert not Path(socket_path).parent.exists()


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        **extra,
    }


def _args(project: Path, command: str) -> list[str]:
    return [command, "--project-dir", str(project), "--profiles-dir", str(project)]


def test_a_forked_run_uses_the_request_s_directory_and_environment(
    server: str, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    tiny_project(project, {"env.sql": "select '{{ env_var(\"FROM_REQUEST\") }}' as v"})
    code, output = run_captured(
        _args(project, "run"), _env(FROM_REQUEST="sent"), project, timeout=300
    )
    assert code == 0, output[-3000:]
    assert "Completed successfully" in output  # dbt's own output, streamed through the pipe
    assert (project / "target" / "run_results.json").is_file()  # relative to the request's cwd
    assert not (project / "tiny.duckdb.wal").exists()  # closed and checkpointed
    con = duckdb.connect(str(project / "tiny.duckdb"), read_only=True)
    try:
        assert con.execute("select v from main.env").fetchone() == ("sent",)
    finally:
        con.close()


def test_a_forked_run_keeps_dbt_s_exit_codes(server: str, tmp_path: Path) -> None:
    tiny_project(tmp_path, {"broken.sql": "select * from no_such_table"})
    code, output = run_captured(_args(tmp_path, "run"), _env(), tmp_path, timeout=300)
    assert code == 1
    assert "no_such_table" in output
    code, _ = run_captured(["run", "--no-such-option"], _env(), tmp_path, timeout=300)
    assert code == 2


def test_a_run_that_ends_before_its_client_reads_keeps_its_exit_code(
    server: str, tmp_path: Path
) -> None:
    """The pid and the exit code come on one connection: a run that ended before the client
    read its pid had both lines read ahead into a reader that was thrown away (exit -9)."""
    forked = fork_dbt(["--version"], _env(), tmp_path)
    assert forked is not None
    assert forked.stdout is not None
    output = forked.stdout.read()  # to its end: the run is over, its exit code sent
    time.sleep(0.5)
    assert forked.wait() == 0, output


def test_a_dbt_child_is_forked_when_a_server_is_named(server: str, tmp_path: Path) -> None:
    tiny_project(tmp_path, {"ok.sql": "select 1 as n"})
    with DbtChild() as child:
        assert child.process is None  # nothing started before the command: the server forks
        process = child.send(_args(tmp_path, "run"), _env(), tmp_path)
        assert process.stdout is not None
        output = process.stdout.read()
        assert process.wait() == 0, output[-3000:]
    assert process.pid != os.getpid()


def test_without_an_answering_server_the_build_starts_its_own_dbt(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv(SOCKET_ENV, str(tmp_path / "nobody-listens"))
    assert fork_dbt(["--version"], _env(), tmp_path) is None
    tiny_project(tmp_path, {"ok.sql": "select 1 as n"})
    code, output = run_captured(_args(tmp_path, "run"), _env(), tmp_path, timeout=300)
    assert code == 0, output[-3000:]


def test_a_forked_dbt_ends_when_the_client_is_killed(server: str, tmp_path: Path) -> None:
    # a model whose query runs for minutes: the run is still in it when the client is killed
    slow = (
        "{{ config(materialized='table') }} select sum(hash(range)) as n from range(10000000000000)"
    )
    tiny_project(tmp_path, {"slow.sql": slow})
    client = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "from pathlib import Path\n"
            "from flowledger.dbt_forkserver import fork_dbt\n"
            "forked = fork_dbt(['run', '--project-dir', '.', '--profiles-dir', '.'], "
            "dict(os.environ), Path('.').absolute())\n"
            "for line in forked.stdout:\n"
            "    if 'START sql' in line:\n"
            "        break\n"
            "print(forked.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        forked_pid = int(client.stdout.readline())
        time.sleep(1)  # in the model's query, which writes nothing for minutes
        os.kill(forked_pid, 0)  # still running
    finally:
        client.kill()
        client.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(forked_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(forked_pid, signal.SIGKILL)
    raise AssertionError("the forked dbt outlived the client that asked for it")


def test_the_background_builder_forks_its_builds_from_a_server_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`flowledger serve --build-every`: the first build starts the builder's fork server, the
    next reuse it, and stopping the builder stops it."""
    from flowledger.settings import DataDir
    from ingest.server.builder import Builder
    from ingest.server.metrics import Metrics

    monkeypatch.delenv(SOCKET_ENV, raising=False)
    data_dir = DataDir(tmp_path / "home").ensure()
    builder = Builder(data_dir, every_s=3600, metrics=Metrics())
    assert builder.build_once(), (data_dir.root / "logs" / "builder.log").read_text()[-3000:]
    socket_path = builder._fork_server.socket_path
    assert socket_path is not None and Path(socket_path).exists()
    assert builder.build_once()
    assert builder._fork_server.socket_path == socket_path  # the same server
    log = (data_dir.root / "logs" / "builder.log").read_text()
    assert log.count("] published marts-") == 2, log  # --quiet: the builds' last lines
    builder.stop()
    assert not Path(socket_path).exists()
