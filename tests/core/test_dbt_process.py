"""``python -m flowledger.dbt_process`` runs dbt's command line with the ``dbt`` command's exit
codes, and leaves the DuckDB files checkpointed (no write-ahead log) although it skips Python's
teardown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flowledger.build import dbt_launcher


def _tiny_project(root: Path, models: dict[str, str]) -> None:
    (root / "models").mkdir(parents=True)
    for name, sql in models.items():
        (root / "models" / name).write_text(sql)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\n"
    )
    (root / "profiles.yml").write_text(
        f"tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'tiny.duckdb'}\n      threads: 1\n"
    )


def _dbt(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    return subprocess.run(
        [*dbt_launcher(), *args, "--project-dir", str(root), "--profiles-dir", str(root)],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_launcher_is_this_interpreter_running_dbt_s_command_line() -> None:
    assert dbt_launcher() == [sys.executable, "-P", "-m", "flowledger.dbt_process"]


def test_a_run_that_passes_exits_0_with_the_database_checkpointed(tmp_path: Path) -> None:
    _tiny_project(tmp_path, {"ok.sql": "select range as n from range(5)"})
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
    _tiny_project(tmp_path, {"broken.sql": "select * from no_such_table"})
    done = _dbt(tmp_path, "run")
    assert done.returncode == 1
    assert "no_such_table" in done.stdout


@pytest.mark.parametrize("args", [["run", "--no-such-option"], ["no-such-command"]])
def test_dbt_that_cannot_run_exits_2(tmp_path: Path, args: list[str]) -> None:
    _tiny_project(tmp_path, {"ok.sql": "select 1 as n"})
    done = _dbt(tmp_path, *args)
    assert done.returncode == 2
