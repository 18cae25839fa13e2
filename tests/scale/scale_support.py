"""Helpers of the scale tests: the hand-made raw world of tests/dbt, dbt runs per target.

A module name of its own: `conftest` is shared by every test folder, so `from conftest import …`
would pick whichever folder's conftest was imported first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flowledger import dbt_parse_cache
from flowledger.dbt_process import run_captured
from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import MARTS_CATALOG, connect_warehouse

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

from bench.__main__ import split_newest_percent  # noqa: E402

__all__ = [
    "BUSINESS_EVENTS",
    "CONTRACT_TABLES",
    "FLOW_RUNS",
    "QUEUE_DEPTH_SAMPLES",
    "STEP_RUNS",
    "contract_columns",
    "split_newest_percent",
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
    """Run ``dbt ARGS`` on ``target`` for the data directory ``data_dir`` in a child process
    (as a build does: :func:`flowledger.dbt_process.run_captured`)."""
    command = [
        *args,
        "--target", target,
        "--project-dir", str(PROJECT_ROOT),
        "--profiles-dir", str(PROJECT_ROOT),
        "--target-path", str(data_dir.absolute() / "dbt" / target / "target"),
        "--log-path", str(data_dir.absolute() / "dbt" / target / "logs"),
    ]  # fmt: skip
    # relative to the working directory, as `flowledger build` names them: the DuckDB profile is
    # then the same in every data directory and a first build starts from the saved parse
    full_env = {
        **os.environ,
        "FLOWLEDGER_WAREHOUSE": "warehouse.duckdb",
        "FLOWLEDGER_MARTS": str(DataDir(data_dir).marts.relative_to(data_dir)),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        **(env or {}),
    }
    target_path = data_dir / "dbt" / target / "target"
    dbt_parse_cache.seed(target_path, command)
    started = time.monotonic()
    # cwd: Spark (derby.log, spark-warehouse defaults) must never write into the repository.
    code, log = run_captured(command, full_env, data_dir.absolute(), timeout)
    seconds = time.monotonic() - started
    if code != 0:
        raise AssertionError(
            f"dbt {args[0]} --target {target} failed (exit {code}) in {data_dir}"
            f" (logs: {data_dir / 'dbt' / target / 'logs'}):\n{log[-8000:]}"
        )
    dbt_parse_cache.save(target_path, command)
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


def read_warehouse(home: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``home``'s warehouse with its marts attached (``marts.<table>``)."""
    return connect_warehouse(DataDir(home), read_only=True)


def write_warehouse(home: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to ``home``'s warehouse with its marts attached."""
    return connect_warehouse(DataDir(home))


def marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every automation mart's rows, sorted by its key."""
    con = read_warehouse(warehouse.parent)
    try:
        return {
            mart: con.execute(f"select * from marts.{mart} order by {', '.join(keys)}").fetchall()
            for mart, keys in AUTOMATION_MARTS.items()
        }
    finally:
        con.close()


def late_batch_builds(
    base: Path,
    batch_a: dict[str, list[dict]],
    batch_b: dict[str, list[dict]],
    build: Callable[..., None],
    read: Callable[[Path], object],
    tamper: Callable[[duckdb.DuckDBPyConnection], object],
) -> dict[str, object]:
    """The late-data scenario of the incremental tests, what ``read(data_dir)`` gives at each step.

    In ``base/incremental``: batch A is built (``first``), ``tamper`` changes a row batch B will
    not touch (its result is ``tampered``), batch B is appended and built incrementally
    (``incremental``), then ``--full-refresh`` (``full_refresh``). In ``base/full``: A + B built
    at once (``full``). ``build(data_dir, *args)`` runs the dbt build of the models under test.
    """
    incremental, full = base / "incremental", base / "full"
    warehouse = make_raw_warehouse(incremental, batch_a)
    build(incremental)
    first = read(incremental)
    con = write_warehouse(incremental)
    try:
        tampered = tamper(con)
    finally:
        con.close()
    append_rows(warehouse, batch_b)
    build(incremental)
    after_incremental = read(incremental)
    build(incremental, "--full-refresh")
    after_full_refresh = read(incremental)
    tables = batch_a.keys() | batch_b.keys()
    make_raw_warehouse(full, {t: [*batch_a.get(t, []), *batch_b.get(t, [])] for t in tables})
    build(full)
    return {
        "tampered": tampered,
        "first": first,
        "incremental": after_incremental,
        "full_refresh": after_full_refresh,
        "full": read(full),
    }


def tamper_case_links(case_key: str) -> Callable[[duckdb.DuckDBPyConnection], int]:
    """A ``tamper`` for :func:`late_batch_builds`: marks ``case_key``'s case-run links (their
    flow name), which a build that recomputes the case rewrites."""

    def tamper(con: duckdb.DuckDBPyConnection) -> int:
        return con.execute(
            "update intermediate.int_case_flow_runs set flow_name = 'tampered' where case_key = ?",
            [case_key],
        ).fetchone()[0]

    return tamper


def case_run_links(rows: Sequence[tuple]) -> set[tuple[str, str]]:
    """(case_key, run_key) of ``int_case_flow_runs`` rows."""
    return {(row[0], row[3]) for row in rows}


def assert_incremental_equals_full_but_the_tampered_case(
    builds: dict, model: str, case_key: str
) -> None:
    """The incremental build's rows of ``model`` equal the full build's, except the tampered
    links of ``case_key``, which it must not have recomputed (:func:`tamper_case_links`)."""
    incremental, full = builds["incremental"][model], builds["full"][model]
    if model == "intermediate.int_case_flow_runs":
        assert builds["tampered"] > 0
        kept = [row for row in incremental if row[0] == case_key]
        assert kept and {row[5] for row in kept} == {"tampered"}, f"{case_key} was recomputed"
        incremental = [row for row in incremental if row[0] != case_key]
        full = [row for row in full if row[0] != case_key]
    assert incremental == full


def append_rows(warehouse: Path, tables: dict[str, Sequence[dict[str, object]]]) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for table, rows in tables.items():
            insert_rows(con, table, rows)
    finally:
        con.close()


# A six-day world for the retention tests: purge, late data, then builds compared.
WORLD_INGESTED_AT, LATE_INGESTED_AT = "2024-03-10 06:00:00", "2024-03-11 06:00:00"
RETAIN_3_DAYS = """version: 1
tables:
  flow_runs: {days: 3}
  step_runs: {days: 3}
  queue_depth_samples: {days: 3}
  business_events: {days: 3}
  quarantine: {days: 30}
"""
RUN_LOG_TABLES = ("flow_runs", "step_runs", "queue_depth_samples")


def six_day_world() -> dict[str, list[dict]]:
    """The known world of tests/dbt copied onto six days (2024-03-04 … 03-09); with
    :data:`RETAIN_3_DAYS` the purge cut-off is 2024-03-08 00:00."""
    sources = {
        "flow_runs": FLOW_RUNS,
        "step_runs": STEP_RUNS,
        "queue_depth_samples": QUEUE_DEPTH_SAMPLES,
    }
    return {
        t: [r for day in range(6) for r in shifted(rows, day, WORLD_INGESTED_AT)]
        for t, rows in sources.items()
    }


def late_rows_around_the_cutoff() -> dict[str, list[dict]]:
    """A step attempt for a retained day's run, one for a purged day's run, a run on a new day."""
    kept_day = shifted([STEP_RUNS[0]], 4, LATE_INGESTED_AT)[0]  # r1-d4 s1, 2024-03-08
    kept_day.update(step_id="s9", attempt=1, status="failed", started_at="2024-03-08 09:00:19")
    purged_day = shifted([STEP_RUNS[0]], 1, LATE_INGESTED_AT)[
        0
    ]  # r1-d1 s1, 2024-03-05 (run purged)
    purged_day.update(step_id="s9", attempt=1, status="failed", started_at="2024-03-05 09:00:19")
    new_day = shifted([FLOW_RUNS[5]], 7, LATE_INGESTED_AT)[0]  # r5 on 2024-03-11
    return {"flow_runs": [new_day], "step_runs": [kept_day, purged_day], "queue_depth_samples": []}


def raw_rows(warehouse: Path) -> dict[str, list[dict]]:
    """The run-log raw tables' rows (without payload hashes), NULL fields left out."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in RUN_LOG_TABLES:
            cursor = con.execute(f"select * exclude (_payload_hash) from raw.{table}")
            names = [c[0] for c in cursor.description]
            out[table] = [
                {k: v for k, v in zip(names, row, strict=True) if v is not None}
                for row in cursor.fetchall()
            ]
        return out
    finally:
        con.close()


def six_day_data_dir(data_dir: Path) -> Path:
    """A data directory holding :func:`six_day_world` as raw tables and as ingest's landing
    Parquet, with :data:`RETAIN_3_DAYS` as its retention file; returns the warehouse."""
    warehouse = make_raw_warehouse(data_dir, six_day_world())
    con = duckdb.connect(str(warehouse))
    try:
        for table in RUN_LOG_TABLES:
            (data_dir / "landing" / table).mkdir(parents=True)
            con.execute(f"copy raw.{table} to '{data_dir / 'landing' / table / 'a.parquet'}'")
    finally:
        con.close()
    (data_dir / "retention.yml").write_text(RETAIN_3_DAYS)
    without_slos(data_dir)
    return warehouse


def short_window_slos(data_dir: Path) -> None:
    """The project's SLOs (config/slos.yml) with 2-day rolling windows, in ``data_dir``: a
    retention of a week keeps what their current budgets need (`flowledger purge` refuses a
    retention shorter than an SLO's window)."""
    import re

    text = (PROJECT_ROOT / "config" / "slos.yml").read_text()
    text = re.sub(r"duration: \d+d, isRolling: true", "duration: 2d, isRolling: true", text)
    text = re.sub(
        r"- duration: 1M\n\s+isRolling: false\n\s+calendar: \{[^}]*\}",
        "- {duration: 2d, isRolling: true}",
        text,
    )
    (data_dir / "slos.yml").write_text(text)


def without_slos(data_dir: Path) -> None:
    """An SLO file with no objective in ``data_dir``: these worlds keep a few days, and
    `flowledger purge` refuses a retention shorter than an SLO's window."""
    (data_dir / "slos.yml").write_text("# no SLOs: a retention of days is tested here\n")


# Incremental-versus-full comparisons through the real CLI.
#: Columns that record when ingest landed a row: they differ between builds of the same data.
INGEST_TIME_COLUMNS = {"ingested_at", "last_ingested_at"}


def flowledger(home: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, f"flowledger {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def marts_without_ingest_times(home: Path) -> dict[str, list[tuple]]:
    """Every mart of the marts file (not the last publish's ``_meta``): its rows without
    ingest-time columns, sorted."""
    con = read_warehouse(home)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = ? and table_schema = 'main' and table_name != '_meta' "
                "order by 1",
                [MARTS_CATALOG],
            ).fetchall()
        ]
        assert tables, f"no marts in {home}"
        return {
            table: _rows_without_ingest_times(con, MARTS_CATALOG, "main", table, "all")
            for table in tables
        }
    finally:
        con.close()


def ingested_at(
    batch: dict[str, list[dict[str, object]]], at: str
) -> dict[str, list[dict[str, object]]]:
    """``batch`` (table -> raw rows) with every row landed at ``at`` (its ``_ingested_at``)."""
    return {table: [{**row, "_ingested_at": at} for row in rows] for table, rows in batch.items()}


def build_selected(data_dir: Path, select: Sequence[str], *args: str) -> DbtRun:
    """``dbt build`` of ``select`` (tests of other models left out: cautious indirect selection)
    with the process configuration of ``data_dir`` as vars, the unit tests left to tests/dbt."""
    from flowledger.processes.dbt_tables import dbt_vars

    return run_dbt(
        data_dir,
        [
            "build",
            "--select", *select,
            "--indirect-selection", "cautious",
            "--exclude-resource-type", "unit_test",
            "--vars", json.dumps(dbt_vars(data_dir)),
            *args,
        ],
    )  # fmt: skip


def rows_of(data_dir: Path, relations: dict[str, str]) -> dict[str, list[tuple]]:
    """Every row of each relation (as the warehouse connection names it), ordered by its value
    in ``relations``."""
    con = read_warehouse(data_dir)
    try:
        return {
            relation: con.execute(f"select * from {relation} order by {keys}").fetchall()
            for relation, keys in relations.items()
        }
    finally:
        con.close()


def table_rows(home: Path, relation: str, order_by: str) -> list[tuple]:
    """The rows of ``relation`` (schema.table of the warehouse, or marts.table) in ``home``'s
    warehouse without ingest-time columns, ordered by ``order_by``."""
    schema, table = relation.split(".")
    con = read_warehouse(home)
    try:
        if schema == MARTS_CATALOG:
            return _rows_without_ingest_times(con, MARTS_CATALOG, "main", table, order_by)
        database = con.execute("select current_database()").fetchone()[0]
        return _rows_without_ingest_times(con, database, schema, table, order_by)
    finally:
        con.close()


def _rows_without_ingest_times(
    con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str, order_by: str
) -> list[tuple]:
    columns = [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_catalog = ? "
            "and table_schema = ? and table_name = ? order by ordinal_position",
            [database, schema, table],
        ).fetchall()
        if row[0] not in INGEST_TIME_COLUMNS
    ]
    assert columns, f"no table {database}.{schema}.{table}"
    listed = ", ".join(f'"{column}"' for column in columns)
    relation = f'"{database}"."{schema}"."{table}"'
    return con.execute(f"select {listed} from {relation} order by {order_by}").fetchall()
