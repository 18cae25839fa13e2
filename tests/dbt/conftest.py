"""One dbt build per session over the known world of ``raw_world.py``, plus one over empty tables.

The raw tables are created with the fixed DDL and filled directly (no ingest involved); then
``dbt build`` (seed, run, data tests, unit tests) runs once per session in a child process, as
``flowledger build`` runs it. Tests read the marts from the warehouse file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from raw_world import (
    BUSINESS_EVENTS,
    FLOW_RUNS,
    QUEUE_DEPTH_SAMPLES,
    STEP_RUNS,
    create_raw_tables,
    insert_rows,
)

from flowledger.dbt_process import run_captured
from flowledger.processes.dbt_tables import dbt_vars as process_dbt_vars
from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import connect_warehouse
from lineage.ownership import dbt_vars as ownership_dbt_vars


@dataclass(frozen=True)
class DbtBuild:
    """A finished ``dbt build`` into ``warehouse`` (and the marts file beside it); ``log`` is
    its console output."""

    warehouse: Path
    target_path: Path
    log: str
    seconds: float

    def rows(self, sql: str) -> list[tuple]:
        con = connect_warehouse(DataDir(self.warehouse.parent), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def records(self, sql: str) -> list[dict[str, object]]:
        con = connect_warehouse(DataDir(self.warehouse.parent), read_only=True)
        try:
            cursor = con.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()

    def one(self, sql: str) -> dict[str, object]:
        records = self.records(sql)
        assert len(records) == 1, f"expected one row from {sql!r}, got {records}"
        return records[0]


def run_dbt_build(data_dir: Path) -> DbtBuild:
    """``dbt build`` the project into ``data_dir/warehouse.duckdb`` (marts: ``marts.duckdb``) the
    way flowledger does."""
    target_path = data_dir / "dbt" / "target"
    command = [
        "build",
        "--project-dir", str(PROJECT_ROOT),
        "--profiles-dir", str(PROJECT_ROOT),
        "--target-path", str(target_path),
        "--log-path", str(data_dir / "dbt" / "logs"),
        # the process configuration, as `flowledger build` passes it
        "--vars", json.dumps({**process_dbt_vars(data_dir), **ownership_dbt_vars()}),
    ]  # fmt: skip
    env = {
        **os.environ,
        "FLOWLEDGER_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "FLOWLEDGER_MARTS": str(DataDir(data_dir).marts),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }
    started = time.monotonic()
    code, log = run_captured(command, env, PROJECT_ROOT, timeout=600)
    seconds = time.monotonic() - started
    if code != 0:
        raise AssertionError(f"dbt build failed (exit {code}) in {data_dir}:\n{log[-8000:]}")
    return DbtBuild(data_dir / "warehouse.duckdb", target_path, log, seconds)


#: When the known world was "ingested": ingest stamps every raw row; rows without a stamp make
#: the sources' not_null test on _ingested_at warn (incremental builds would not see them).
KNOWN_INGESTED_AT = "2024-03-10 06:00:00"


def make_warehouse(data_dir: Path, tables: dict[str, Sequence[dict[str, object]]]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        create_raw_tables(con)
        for table, rows in tables.items():
            insert_rows(con, table, [{"_ingested_at": KNOWN_INGESTED_AT, **row} for row in rows])
    finally:
        con.close()


@pytest.fixture(scope="session")
def known_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtBuild]:
    """The known world, built once per session."""
    data_dir = tmp_path_factory.mktemp("dbt_known")
    make_warehouse(
        data_dir,
        {
            "business_events": BUSINESS_EVENTS,
            "flow_runs": FLOW_RUNS,
            "step_runs": STEP_RUNS,
            "queue_depth_samples": QUEUE_DEPTH_SAMPLES,
        },
    )
    yield run_dbt_build(data_dir)


@pytest.fixture(scope="session")
def empty_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtBuild]:
    """The same project over empty raw tables, built once per session."""
    data_dir = tmp_path_factory.mktemp("dbt_empty")
    make_warehouse(data_dir, {})
    yield run_dbt_build(data_dir)
