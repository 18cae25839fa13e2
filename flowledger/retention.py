"""Retention as code: how long raw rows are kept (config/retention.yml) and ``flowledger purge``.

Cut-offs are counted in whole UTC days back from the data's as-of time (the newest event or run
time in the raw tables), never from the wall clock. The purge deletes raw rows older than the
cut-off, the same rows from the row-level marts (``fct_flow_runs``) and from ingest's landing
Parquet, and records the cut-off in ``raw.retention_horizons`` so the incremental daily and hourly
marts never recompute a purged period: their aggregates of purged days stay.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import yaml

from flowledger.settings import PROJECT_ROOT, DataDir

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "retention.yml"
HORIZONS_TABLE = "raw.retention_horizons"

#: table -> (time column, as-of group). "data" tables share one as-of; audit tables use their own.
TABLE_TIME_COLUMNS: dict[str, tuple[str, str]] = {
    "business_events": ("time", "data"),
    "flow_runs": ("started_at", "data"),
    "step_runs": ("started_at", "data"),
    "queue_depth_samples": ("sampled_at", "data"),
    "quarantine": ("quarantined_at", "quarantine"),
    "ingest_collisions": ("seen_at", "ingest_collisions"),
}
#: Row-level marts that copy raw rows: purged with their table (mart, raw table, time column).
ROW_LEVEL_MARTS: list[tuple[str, str, str]] = [("marts.fct_flow_runs", "flow_runs", "started_at")]


class RetentionError(ValueError):
    """The retention file is missing or invalid; the message says where and what to do."""


@dataclass(frozen=True)
class TablePurge:
    table: str
    cutoff: datetime | None
    rows: int


def config_path(data_dir: DataDir) -> Path:
    override = data_dir.root / "retention.yml"
    return override if override.exists() else DEFAULT_CONFIG


def load_retention(path: Path) -> dict[str, int]:
    """``{table: days}`` from a retention file; every error names the file and the entry."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RetentionError(f"{path}: no such retention file") from None
    except yaml.YAMLError as error:
        raise RetentionError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("tables"), dict):
        raise RetentionError(
            f"{path}: expected a mapping with `tables:` (see config/retention.yml)"
        )
    days: dict[str, int] = {}
    for table, entry in document["tables"].items():
        if table not in TABLE_TIME_COLUMNS:
            raise RetentionError(
                f"{path}: tables.{table}: unknown table; expected one of {sorted(TABLE_TIME_COLUMNS)}"
            )
        value = entry.get("days") if isinstance(entry, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RetentionError(
                f"{path}: tables.{table}.days must be a whole number of days >= 1, got {value!r}"
            )
        days[table] = value
    return days


def as_of_times(con: duckdb.DuckDBPyConnection) -> dict[str, datetime | None]:
    """The as-of time of each group: newest data row, newest quarantine row, newest collision."""
    data = " union all ".join(
        f'select max("{column}") as t from raw.{table}'
        for table, (column, group) in TABLE_TIME_COLUMNS.items()
        if group == "data"
    )
    times: dict[str, datetime | None] = {
        "data": con.execute(f"select max(t) from ({data})").fetchone()[0]
    }
    for table, (column, group) in TABLE_TIME_COLUMNS.items():
        if group != "data":
            times[group] = con.execute(f'select max("{column}") from raw.{table}').fetchone()[0]
    return times


def cutoff_for(as_of: datetime | None, days: int) -> datetime | None:
    """UTC midnight ``days`` whole days before the as-of day: rows before it are purged."""
    if as_of is None:
        return None
    as_of_day = datetime(as_of.year, as_of.month, as_of.day)
    return as_of_day - timedelta(days=days - 1)


def plan_purge(con: duckdb.DuckDBPyConnection, days: dict[str, int]) -> list[TablePurge]:
    """Per configured table: its cut-off and how many rows are older than it."""
    times = as_of_times(con)
    plan = []
    for table, keep in days.items():
        column, group = TABLE_TIME_COLUMNS[table]
        cutoff = cutoff_for(times[group], keep)
        rows = 0
        if cutoff is not None:
            rows = con.execute(
                f'select count(*) from raw.{table} where "{column}" < ?', [cutoff]
            ).fetchone()[0]
        plan.append(TablePurge(table, cutoff, rows))
    return plan


def purge(
    data_dir: DataDir, *, dry_run: bool = False, config: Path | None = None
) -> list[TablePurge]:
    """Delete raw rows past retention (under the writer lock); return what was (or would be) purged."""
    from flowledger.warehouse import writer_lock
    from ingest import ensure_raw_tables

    days = load_retention(config or config_path(data_dir))
    data_dir.ensure()
    with writer_lock(data_dir):
        con = duckdb.connect(str(data_dir.warehouse))
        try:
            ensure_raw_tables(con)
            plan = plan_purge(con, days)
            if not dry_run:
                _apply(con, plan)
        finally:
            con.close()
        if not dry_run:
            for item in plan:
                if item.rows and item.table in _landing_tables():
                    _purge_landing(data_dir, item)
    return plan


def _landing_tables() -> set[str]:
    return {t for t, (_, group) in TABLE_TIME_COLUMNS.items() if group == "data"}


def _apply(con: duckdb.DuckDBPyConnection, plan: list[TablePurge]) -> None:
    con.execute(
        f"create table if not exists {HORIZONS_TABLE} "
        "(table_name varchar primary key, purged_before timestamp, purged_rows bigint)"
    )
    con.execute("begin transaction")
    try:
        for item in plan:
            if item.cutoff is None:
                continue
            column = TABLE_TIME_COLUMNS[item.table][0]
            con.execute(f'delete from raw.{item.table} where "{column}" < ?', [item.cutoff])
            for mart, table, mart_column in ROW_LEVEL_MARTS:
                if table == item.table and _exists(con, mart):
                    con.execute(f'delete from {mart} where "{mart_column}" < ?', [item.cutoff])
            con.execute(
                f"insert into {HORIZONS_TABLE} values (?, ?, ?) on conflict (table_name) do update "
                "set purged_before = greatest(purged_before, excluded.purged_before), "
                "purged_rows = purged_rows + excluded.purged_rows",
                [item.table, item.cutoff, item.rows],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def _purge_landing(data_dir: DataDir, item: TablePurge) -> None:
    """Rewrite each landing Parquet file of the table without the purged rows (atomically)."""
    column = TABLE_TIME_COLUMNS[item.table][0]
    con = duckdb.connect()
    try:
        for path in sorted((data_dir.landing / item.table).glob("*.parquet")):
            source = str(path).replace("'", "''")
            old = con.execute(
                f"select count(*) from read_parquet('{source}') where \"{column}\" < ?",
                [item.cutoff],
            ).fetchone()[0]
            if not old:
                continue
            tmp = path.with_name(f".{path.name}.purge.tmp")
            con.execute(
                f"copy (select * from read_parquet('{source}') where \"{column}\" >= ?) "
                f"to '{str(tmp).replace(chr(39), chr(39) * 2)}' (format parquet)",
                [item.cutoff],
            )
            tmp.replace(path)
    finally:
        con.close()


# --- CLI ----------------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "purge", help="delete raw rows past retention (config/retention.yml); marts keep aggregates"
    )
    parser.add_argument("--dry-run", action="store_true", help="only report what would be purged")
    parser.add_argument(
        "--config", type=Path, help="retention file (default: config/retention.yml)"
    )
    parser.set_defaults(handler=purge_command)


def purge_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    try:
        plan = purge(data_dir, dry_run=args.dry_run, config=args.config)
    except RetentionError as error:
        print(f"flowledger purge: {error}", file=sys.stderr)
        return 1
    verb = "would purge" if args.dry_run else "purged"
    for item in plan:
        cutoff = item.cutoff.isoformat(sep=" ") if item.cutoff else "(empty table)"
        print(f"{item.table:<22} rows before {cutoff}: {verb} {item.rows}")
    if not args.dry_run and any(item.rows for item in plan):
        print("run `flowledger build` to publish marts without the purged rows")
    return 0
