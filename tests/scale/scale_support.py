"""Helpers of the scale tests: the hand-made raw world of tests/dbt, dbt runs per target.

A module name of its own: `conftest` is shared by every test folder, so `from conftest import …`
would pick whichever folder's conftest was imported first."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flowledger.settings import PROJECT_ROOT

# tests/dbt/raw_world.py: the raw tables' DDL (from the contracts) and the known world.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dbt"))
# bench/ (the benchmark harness) is a top-level folder, not an installed package.
sys.path.insert(0, str(PROJECT_ROOT))

from raw_world import (  # noqa: E402
    BUSINESS_EVENTS,
    CONTRACT_TABLES,
    FLOW_RUNS,
    QUEUE_DEPTH_SAMPLES,
    STEP_RUNS,
    contract_columns,
    create_raw_tables,
    insert_rows,
)

__all__ = [
    "BUSINESS_EVENTS",
    "CONTRACT_TABLES",
    "FLOW_RUNS",
    "QUEUE_DEPTH_SAMPLES",
    "STEP_RUNS",
    "contract_columns",
]

RAW_WORLD: dict[str, Sequence[dict[str, object]]] = {
    "business_events": BUSINESS_EVENTS,
    "flow_runs": FLOW_RUNS,
    "step_runs": STEP_RUNS,
    "queue_depth_samples": QUEUE_DEPTH_SAMPLES,
}


@dataclass(frozen=True)
class DbtRun:
    """A finished dbt invocation: its console output and wall time."""

    log: str
    seconds: float


def make_raw_warehouse(data_dir: Path, tables: dict[str, Sequence[dict[str, object]]]) -> Path:
    """``data_dir/warehouse.duckdb`` with the raw tables (fixed DDL) holding ``tables``' rows."""
    data_dir.mkdir(parents=True, exist_ok=True)
    warehouse = data_dir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        create_raw_tables(con)
        for table, rows in tables.items():
            insert_rows(con, table, rows)
    finally:
        con.close()
    return warehouse


def run_dbt(
    data_dir: Path,
    args: Sequence[str],
    *,
    target: str = "duckdb",
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> DbtRun:
    """Run ``dbt ARGS`` on ``target`` for the data directory ``data_dir`` in a child process."""
    dbt = Path(sys.executable).parent / "dbt"
    command = [
        str(dbt), *args,
        "--target", target,
        "--project-dir", str(PROJECT_ROOT),
        "--profiles-dir", str(PROJECT_ROOT),
        "--target-path", str(data_dir / "dbt" / target / "target"),
        "--log-path", str(data_dir / "dbt" / target / "logs"),
    ]  # fmt: skip
    full_env = {
        **os.environ,
        "FLOWLEDGER_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        **(env or {}),
    }
    started = time.monotonic()
    # cwd: Spark (derby.log, spark-warehouse defaults) must never write into the repository.
    result = subprocess.run(
        command, cwd=data_dir, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.monotonic() - started
    log = result.stdout + result.stderr
    if result.returncode != 0:
        # dbt's own summary is on stdout; Spark's console noise goes to stderr
        raise AssertionError(
            f"dbt {args[0]} --target {target} failed (exit {result.returncode}) in {data_dir}"
            f" (logs: {data_dir / 'dbt' / target / 'logs'}):\n{result.stdout[-8000:]}"
        )
    return DbtRun(log, seconds)


AUTOMATION_MARTS: dict[str, list[str]] = {
    "fct_flow_runs": ["run_key"],
    "fct_step_reliability_daily": ["flow_id", "step_name", "day"],
    "fct_flow_health_hourly": ["flow_id", "hour"],
    "dim_flows": ["flow_id"],
}
AUTOMATION_SELECT = [f"+{mart}" for mart in AUTOMATION_MARTS]
TIME_FIELDS = ("started_at", "ended_at", "queued_at", "sampled_at")


def shifted(rows: Sequence[dict[str, object]], days: int, ingested_at: str) -> list[dict]:
    """``rows`` of the known world moved ``days`` later, with run ids and idempotency keys made
    unique to the copy (so copies never see each other as duplicates), ingested at ``ingested_at``.
    """
    from datetime import datetime, timedelta

    out = []
    for row in rows:
        copy = dict(row)
        for field in TIME_FIELDS:
            if copy.get(field):
                moved = datetime.fromisoformat(str(copy[field])) + timedelta(days=days)
                copy[field] = moved.isoformat(sep=" ")
        for field in ("run_id", "idempotency_key"):
            if copy.get(field):
                copy[field] = f"{copy[field]}-d{days}"
        copy["_ingested_at"] = ingested_at
        out.append(copy)
    return out


def marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every automation mart's rows, sorted by its key."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            mart: con.execute(f"select * from marts.{mart} order by {', '.join(keys)}").fetchall()
            for mart, keys in AUTOMATION_MARTS.items()
        }
    finally:
        con.close()


def append_rows(warehouse: Path, tables: dict[str, Sequence[dict[str, object]]]) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for table, rows in tables.items():
            insert_rows(con, table, rows)
    finally:
        con.close()
