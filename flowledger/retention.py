"""Retention as code: how long raw rows are kept (config/retention.yml) and ``flowledger purge``.

Cut-offs are counted in whole UTC days back from the data's as-of time (the newest event or run
time in the raw tables), never from the wall clock. The purge deletes raw rows older than the
cut-off, the same rows from the row-level marts (``fct_flow_runs``) and from ingest's landing
Parquet, and records the cut-off in ``raw.retention_horizons`` so the incremental daily and hourly
marts never recompute a purged period: their aggregates of purged days stay.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import yaml

from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import (
    MARTS_CATALOG,
    WarehouseBusy,
    connect_for_maintenance,
    mark_purged,
    writer_lock,
)
from flowledger.yaml_text import load_yaml, yaml_problem

if TYPE_CHECKING:
    from flowledger.budgets.config import SloObjective

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "retention.yml"
HORIZONS_TABLE = "raw.retention_horizons"
#: What each purge took away, summed, for the marts that describe the whole history (a flow's
#: first run and run count, a flow version's first run, where an SLO's data starts):
#: macros/retention_horizon.sql `purged_history`.
HISTORY_TABLE = "raw.purged_history"
_HISTORY_SQL = {
    "flow_runs": (
        "select 'flow_runs', flow_id, flow_version, null, count(*), min(started_at), ? "
        "from raw.flow_runs where rowid in (select id from purge_flow_runs) "
        "group by flow_id, flow_version"
    ),
    "business_events": (
        "select 'business_events', null, null, type, count(*), min(time), ? "
        "from raw.business_events where rowid in (select id from purge_business_events) "
        "group by type"
    ),
}

#: table -> (time column, as-of group). "data" tables share one as-of; audit tables use their own.
TABLE_TIME_COLUMNS: dict[str, tuple[str, str]] = {
    "business_events": ("time", "data"),
    "flow_runs": ("started_at", "data"),
    "step_runs": ("started_at", "data"),
    "queue_depth_samples": ("sampled_at", "data"),
    "quarantine": ("quarantined_at", "quarantine"),
    "ingest_collisions": ("seen_at", "ingest_collisions"),
}
#: The natural keys and payload hashes of the rows each purge deleted, per raw table: ingest
#: classifies a row against them as against stored rows, so a producer reusing the key of a
#: purged row for another payload is a collision, not a new row (that put a second event of one
#: id into a case that kept the purged one). Never pruned: it holds no payload.
PURGED_KEYS_TABLE = "raw.purged_{table}_keys"
#: The cases holding business events a purge deleted, until a build has recomputed them: their
#: purged events' values become digests in the case marts (macros/purged_payloads.sql).
PURGED_PAYLOAD_CASES_TABLE = "raw.cases_with_purged_payloads"
#: The model that maps business events to cases (the cases' events are read from it).
CASE_EVENTS_MODEL = ("intermediate", "int_case_events_mapped")
#: The row-level mart that copies raw run attempts (in the marts file): purged with them.
ROW_LEVEL_MART = "fct_flow_runs"
#: Landing Parquet (ingest's landing/<table>/*.parquet) rows are matched on these columns.
LANDING_KEYS: dict[str, list[str]] = {
    "flow_runs": ["source_system", "run_id", "run_attempt", "_payload_hash"],
    "step_runs": ["source_system", "run_id", "run_attempt", "step_id", "attempt", "_payload_hash"],
    "queue_depth_samples": ["source_system", "queue_name", "sampled_at", "_payload_hash"],
    "business_events": ["source", "id", "_payload_hash"],
}


# What ingest refuses after a purge: a row of a purged period. Rows that belong to data a purge
# keeps stay welcome even when they started before the cut-off: a run attempt that ended after
# it, whose steps are stored (its unit was kept because a step ran after the cut-off), or whose
# flow and idempotency key has a stored run (a purge keeps such groups whole); a step attempt of
# a stored run, of a stored step execution (a late retry), or of a run attempt with a step after
# the cut-off, stored or arriving in the same file; and a repeat of a stored row (dedupe
# classifies it). Each condition reads the row as ``staged``, the file's staged rows as $stage
# and the horizon as $horizon. A run arriving after its steps in another file is judged by the
# rows stored by then.
_STORED_RUN = (
    "exists (select 1 from raw.flow_runs as r where r.source_system = staged.source_system "
    "and r.run_id = staged.run_id and r.run_attempt = staged.run_attempt)"
)
_STEPS_OF_THE_RUN = (
    "where t.source_system = staged.source_system and t.run_id = staged.run_id "
    "and t.run_attempt = staged.run_attempt"
)
_PURGED_PERIOD_CONDITIONS: dict[str, str] = {
    "business_events": (
        'staged."time" < $horizon and not exists (select 1 from raw.business_events as e '
        "where e.source = staged.source and e.id = staged.id)"
    ),
    "queue_depth_samples": (
        "staged.sampled_at < $horizon and not exists (select 1 from raw.queue_depth_samples as q "
        "where q.source_system = staged.source_system and q.queue_name = staged.queue_name "
        "and q.sampled_at = staged.sampled_at)"
    ),
    "flow_runs": (
        "greatest(staged.started_at, coalesce(staged.ended_at, staged.started_at)) < $horizon "
        f"and not {_STORED_RUN} "
        f"and not exists (select 1 from raw.step_runs as t {_STEPS_OF_THE_RUN}) "
        "and not exists (select 1 from raw.flow_runs as g where g.flow_id = staged.flow_id "
        "and g.idempotency_key = staged.idempotency_key)"
    ),
    "step_runs": (
        f"staged.started_at < $horizon and not {_STORED_RUN} "
        f"and not exists (select 1 from raw.step_runs as t {_STEPS_OF_THE_RUN} "
        "and (t.step_id = staged.step_id or t.started_at >= $horizon)) "
        f"and not exists (select 1 from $stage as t {_STEPS_OF_THE_RUN} "
        "and t.started_at >= $horizon)"
    ),
}
#: How the reason of every row quarantined for a purged period begins.
PURGED_PERIOD_REASON = "purged period: "


@dataclass(frozen=True)
class PurgedPeriod:
    """A raw table's retention horizon, for ingest: the rows of ``stage`` :meth:`condition`
    selects belong to a period a purge removed."""

    table: str
    time_column: str
    horizon: datetime
    template: str

    def condition(self, stage: str) -> str:
        """SQL over the row ``staged`` of the staged rows ``stage``."""
        return self.template.replace("$horizon", self._horizon_sql).replace("$stage", stage)

    def timed_before(self) -> str:
        """SQL over the row ``staged``: its time is before the horizon. Every row
        :meth:`condition` selects is; a file with no such row needs no other look."""
        return f'staged."{self.time_column}" < {self._horizon_sql}'

    @property
    def _horizon_sql(self) -> str:
        return f"TIMESTAMP '{self.horizon.isoformat(sep=' ')}'"

    def reason(self, time_value: object) -> str:
        return (
            f"{PURGED_PERIOD_REASON}{self.time_column} {time_value} is before the retention "
            f"horizon {self.horizon:%Y-%m-%dT%H:%M:%SZ} of raw.{self.table} "
            "(raw.retention_horizons): `flowledger purge` removed that period, and its marts "
            "keep what they were built from"
        )


def purged_period(con: duckdb.DuckDBPyConnection, table: str) -> PurgedPeriod | None:
    """The purged period of raw table ``table`` (None before its first purge)."""
    template = _PURGED_PERIOD_CONDITIONS.get(table)
    if template is None:
        return None
    try:
        found = con.execute(
            f"select purged_before from {HORIZONS_TABLE} where table_name = ?", [table]
        ).fetchall()
    except duckdb.CatalogException:
        return None  # never purged
    if not found or found[0][0] is None:
        return None
    return PurgedPeriod(table, TABLE_TIME_COLUMNS[table][0], found[0][0], template)


class RetentionError(ValueError):
    """The retention file is missing or invalid; the message says where and what to do."""


@dataclass(frozen=True)
class TablePurge:
    table: str
    cutoff: datetime | None
    rows: int
    #: of ``rows``, those ingested after the last build (or with no build yet): no mart has
    #: counted them, so their periods keep no aggregate (`flowledger build` first, then purge)
    unbuilt: int = 0
    #: business events: the built cases holding purged ones (kept, their values as digests)
    cases: int = 0


def config_path(data_dir: DataDir) -> Path:
    override = data_dir.root / "retention.yml"
    return override if override.exists() else DEFAULT_CONFIG


#: The keys of a retention file and of each table's entry.
_FILE_KEYS = {"version", "enforce_on_build", "tables"}
_ENTRY_KEYS = {"days"}
#: A retention longer than a century is a typo (and beyond what date arithmetic reaches).
MAX_DAYS = 36_600


def _read_document(path: Path) -> object:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RetentionError(f"{path}: no such retention file") from None
    except OSError as error:
        raise RetentionError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as error:
        raise RetentionError(f"{path}: not valid YAML ({yaml_problem(error)})") from None


def load_retention(path: Path) -> dict[str, int]:
    """``{table: days}`` from a retention file; every error names the file and the entry."""
    document = _read_document(path)
    if not isinstance(document, dict) or not isinstance(document.get("tables"), dict):
        raise RetentionError(
            f"{path}: expected a mapping with `tables:` (see config/retention.yml)"
        )
    unknown = set(document) - _FILE_KEYS
    if unknown:
        raise RetentionError(
            f"{path}: unknown key(s) {sorted(map(str, unknown))}; expected {sorted(_FILE_KEYS)}"
        )
    version = document.get("version", 1)
    if type(version) is not int or version != 1:
        raise RetentionError(
            f"{path}: version must be 1 (this flowledger reads retention files of version 1), "
            f"got {document.get('version')!r}"
        )
    _enforce_flag(document, path)
    days: dict[str, int] = {}
    for table, entry in document["tables"].items():
        if table not in TABLE_TIME_COLUMNS:
            raise RetentionError(
                f"{path}: tables.{table}: unknown table; expected one of {sorted(TABLE_TIME_COLUMNS)}"
            )
        if isinstance(entry, dict) and set(entry) - _ENTRY_KEYS:
            raise RetentionError(
                f"{path}: tables.{table}: unknown key(s) {sorted(map(str, set(entry) - _ENTRY_KEYS))};"
                " expected `days`"
            )
        if not isinstance(entry, dict):
            raise RetentionError(
                f"{path}: tables.{table} must be a mapping with `days`, e.g. "
                f"`{table}: {{days: 30}}`, got {entry!r}"
            )
        value = entry.get("days")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            raise RetentionError(
                f"{path}: tables.{table}.days must be a whole number of days from 1 to "
                f"{MAX_DAYS}, got {value!r}"
            )
        days[table] = value
    if not days:
        raise RetentionError(
            f"{path}: `tables:` names no table, so nothing would ever be purged; give each table "
            "to purge its days (see config/retention.yml), or remove the file"
        )
    if days.get("flow_runs") != days.get("step_runs"):
        raise RetentionError(
            f"{path}: flow_runs and step_runs are the run logs and are purged together: give "
            f"them the same days (now {days.get('flow_runs', 'not given')} and "
            f"{days.get('step_runs', 'not given')})"
        )
    return days


def _enforce_flag(document: dict, path: Path) -> bool:
    value = document.get("enforce_on_build", False)
    if not isinstance(value, bool):
        raise RetentionError(f"{path}: enforce_on_build must be true or false, got {value!r}")
    return value


#: The longest calendar period of each unit, in days (a quarter: 92).
_CALENDAR_DAYS = {"day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}
#: Raw tables the error budgets are computed from.
_SLO_TABLES = ("flow_runs", "step_runs", "business_events")


def _slo_tables(slo: SloObjective) -> tuple[str, ...]:
    """The raw tables an SLO's current budget and its attribution are computed from."""
    if slo.indicator == "event_pair":
        return ("business_events",)
    return ("flow_runs", "step_runs")


def check_against_slos(
    days: dict[str, int], data_dir: DataDir, where: Path, con: duckdb.DuckDBPyConnection
) -> None:
    """Refuse a retention shorter than an SLO with data needs: a budget's current window (plus
    an event pair's deadline, plus the day the cut-off falls in) is computed, and attributed to
    failing steps and error types, from raw rows. Older periods keep their budget units after a
    purge (int_slo_units). SLOs whose flow (or start event) has no raw row are not counted."""
    from flowledger.budgets.config import ConfigError, load_config
    from flowledger.budgets.config import config_path as slos_path

    try:
        objectives = load_config(slos_path(data_dir)).objectives
    except ConfigError as error:
        # a purge cannot be undone: without the SLOs it cannot tell what they still need
        raise RetentionError(
            f"the SLO file cannot be read, and a purge first checks the retention against "
            f"every SLO's window: {error}"
        ) from None

    def needed_days(slo: SloObjective) -> int:
        window_days = (
            slo.window_seconds / 86400
            if slo.window_seconds
            else _CALENDAR_DAYS.get(slo.calendar_unit or "", 0) * (slo.calendar_count or 1)
        )
        return math.ceil(window_days + (slo.deadline_seconds or 0) / 86400) + 1

    objectives = [slo for slo in objectives if _has_data(con, slo)]
    for table in _SLO_TABLES:
        # each SLO needs the rows of its own data: an event pair the business events, a run
        # SLO the runs and their steps (its attribution)
        reading = [slo for slo in objectives if table in _slo_tables(slo)]
        if table not in days or not reading:
            continue
        strictest = max(reading, key=needed_days)
        needed = needed_days(strictest)
        if days[table] < needed:
            deadline = strictest.deadline_seconds
            raise RetentionError(
                f"{where}: tables.{table}.days is {days[table]}, but SLO {strictest.slo_id!r} "
                f"({strictest.window_text} window"
                + (f", {deadline / 3600:g} h deadline" if deadline else "")
                + f") needs at least {needed} days of raw rows to compute and attribute its "
                "current budget; keep more days or shorten the SLO's window"
            )


def _has_data(con: duckdb.DuckDBPyConnection, slo: SloObjective) -> bool:
    if slo.indicator == "event_pair":
        sql, value = "select 1 from raw.business_events where type = ? limit 1", slo.start_event
    else:
        sql, value = "select 1 from raw.flow_runs where flow_id = ? limit 1", slo.flow_id
    return con.execute(sql, [value]).fetchone() is not None


def enforced_on_build(path: Path) -> bool:
    """``enforce_on_build`` of a retention file: whether ``flowledger build`` purges after it
    publishes. No
    file: no enforcement; a file that cannot be read or parsed stops the build (it may say
    true)."""
    if not path.exists():
        return False
    document = _read_document(path)
    return _enforce_flag(document, path) if isinstance(document, dict) else False


def enforce_on_build(data_dir: DataDir, echo=print) -> list[TablePurge] | None:
    """The builder's part of retention: purge when the retention file says
    ``enforce_on_build: true`` (None when it does not). Called by ``flowledger build`` once it
    has published (every row purged then was counted by that build) and let go of the writer
    lock (the purge takes it itself)."""
    path = config_path(data_dir)
    if not enforced_on_build(path):
        return None
    plan = purge(data_dir, config=path)
    if echo:
        for item in plan:
            if item.rows:
                echo(
                    f"retention ({path.name}): purged {item.rows} {item.table} rows before {item.cutoff}"
                    + (
                        f" ({item.unbuilt} ingested since the last build: their periods keep "
                        "no aggregate)"
                        if item.unbuilt
                        else ""
                    )
                )
        if any(item.rows for item in plan if item.table in LANDING_KEYS):  # not the audit ones
            echo(
                f"retention ({path.name}): purged after the snapshot was published, which still "
                "holds those rows; the next build publishes without them"
            )
    return plan


def as_of_times(
    con: duckdb.DuckDBPyConnection, now: datetime | None = None
) -> dict[str, datetime | None]:
    """The as-of time of each group: for the data tables their newest row, among the rows not
    later than ``now`` (the wall clock, UTC) plus a day, as the marts' "data
    as of" and the budgets' as-of: one record dated in the future (a producer's clock set a year
    ahead, a year typed 2027) would otherwise set it, and put every real row past retention
    (capping it at the wall clock did the same to data older than the retention). Data of the
    past is never near the bound: the same rows today and next year. For the audit tables
    (quarantine, collisions), whose times are when ingest wrote them, ``now`` itself (None for
    an empty table)."""
    from flowledger.build import DATA_AS_OF_SKEW

    cap = (now or datetime.now(UTC).replace(tzinfo=None)) + DATA_AS_OF_SKEW

    def newest(table: str, column: str) -> str:
        return f'select max("{column}") filter (where "{column}" <= $cap) as t from raw.{table}'

    data = " union all ".join(
        newest(table, column)
        for table, (column, group) in TABLE_TIME_COLUMNS.items()
        if group == "data"
    )
    times: dict[str, datetime | None] = {
        "data": con.execute(f"select max(t) from ({data})", {"cap": cap}).fetchone()[0]
    }
    wall_clock = cap - DATA_AS_OF_SKEW
    for table, (_, group) in TABLE_TIME_COLUMNS.items():
        if group != "data":
            # the audit tables are stamped by ingest's own clock: they count back from the wall
            # clock (from their newest row, nothing was ever purged while nothing new came in)
            (rows,) = con.execute(f"select count(*) from raw.{table}").fetchone()
            times[group] = wall_clock if rows else None
    return times


def _last_built_at(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the marts were last published (UTC): every raw row ingested before it was counted
    by that build (ingest waits for the writer lock a build holds); None before a first build."""
    try:
        row = con.execute("select built_at from marts._meta limit 1").fetchone()
    except duckdb.Error:
        return None
    if not row or not row[0]:
        return None
    return datetime.fromisoformat(str(row[0])).astimezone(UTC).replace(tzinfo=None)


def _unbuilt(
    con: duckdb.DuckDBPyConnection, table: str, selection: str, built_at: datetime | None
) -> int:
    """Rows of ``selection`` (rowids of ``raw.table``) ingested after ``built_at``."""
    if table not in ("flow_runs", "step_runs", "business_events", "queue_depth_samples"):
        return 0  # the quarantine and collisions feed no aggregate
    if built_at is None:
        return con.execute(f"select count(*) from {selection}").fetchone()[0]
    return con.execute(
        f"select count(*) from raw.{table} where rowid in (select id from {selection}) "
        "and _ingested_at > ?",
        [built_at],
    ).fetchone()[0]


def cutoff_for(as_of: datetime | None, days: int) -> datetime | None:
    """UTC midnight ``days`` whole days before the as-of day: rows before it are purged."""
    if as_of is None:
        return None
    as_of_day = datetime(as_of.year, as_of.month, as_of.day)
    try:
        return as_of_day - timedelta(days=days - 1)
    except OverflowError:  # before year 1: nothing is that old
        return datetime.min


def plan_purge(con: duckdb.DuckDBPyConnection, days: dict[str, int]) -> list[TablePurge]:
    """Per configured table: its cut-off and how many rows the purge deletes.

    Leaves temporary tables ``purge_<table>`` (the rowids to delete), and ``purge_cases`` for the
    business events, on ``con`` for :func:`_apply`.
    Run logs are purged by run attempt: a run attempt goes with all its step attempts, and only
    when the run, every step attempt of it and every run sharing its flow and idempotency key
    are older than the cut-off, so no period that is kept loses a row it was computed from (a
    step after midnight of a run started before it, a first delivery before midnight). Step
    attempts without a run go by execution (all attempts of the step in the run attempt).
    """
    times = as_of_times(con)
    built_at = _last_built_at(con)
    plan = []
    for table, keep in days.items():
        if table == "step_runs":
            continue  # planned with flow_runs, below
        column, group = TABLE_TIME_COLUMNS[table]
        cutoff = cutoff_for(times[group], keep)
        selection = f"purge_{table}"
        if cutoff is None:
            con.execute(
                f"create or replace temp table {selection} as select 0::bigint as id where false"
            )
            if table == "flow_runs":  # the step selection reads it
                con.execute(
                    "create or replace temp table purged_run_keys as select source_system, "
                    "run_id, run_attempt from raw.flow_runs where false"
                )
        elif table == "flow_runs":
            con.execute(_RUN_UNITS_SQL, [cutoff, cutoff])
            con.execute(
                f"create or replace temp table {selection} as select r.rowid as id "
                "from raw.flow_runs as r semi join purged_run_keys as k "
                "on r.source_system = k.source_system and r.run_id = k.run_id "
                "and r.run_attempt = k.run_attempt"
            )
        else:
            con.execute(
                f"create or replace temp table {selection} as "
                f'select rowid as id from raw.{table} where "{column}" < ?',
                [cutoff],
            )
        rows = con.execute(f"select count(*) from {selection}").fetchone()[0]
        unbuilt = _unbuilt(con, table, selection, built_at)
        cases = _select_cases_with_purged_payloads(con) if table == "business_events" else 0
        plan.append(TablePurge(table, cutoff, rows, unbuilt, cases))
        if table == "flow_runs":
            con.execute(_STEP_SELECTION_SQL, [cutoff])
            rows = con.execute("select count(*) from purge_step_runs").fetchone()[0]
            unbuilt = _unbuilt(con, "step_runs", "purge_step_runs", built_at)
            plan.append(TablePurge("step_runs", cutoff, rows, unbuilt))
    return plan


# Run attempts (with their steps) whose newest time, and that of every run sharing their flow and
# idempotency key, is before the cut-off.
_RUN_UNITS_SQL = """
create or replace temp table purged_run_keys as
with units as (
    select r.source_system, r.run_id, r.run_attempt, r.flow_id, r.idempotency_key,
        greatest(r.started_at, coalesce(max(s.started_at), r.started_at)) as newest
    from raw.flow_runs as r
    left join raw.step_runs as s
        on r.source_system = s.source_system and r.run_id = s.run_id
        and r.run_attempt = s.run_attempt
    group by r.source_system, r.run_id, r.run_attempt, r.flow_id, r.idempotency_key, r.started_at
),
key_groups as (
    select flow_id, idempotency_key, max(newest) as newest
    from units where idempotency_key is not null
    group by all
)
select units.source_system, units.run_id, units.run_attempt
from units
left join key_groups
    on units.flow_id = key_groups.flow_id and units.idempotency_key = key_groups.idempotency_key
where units.newest < ? and coalesce(key_groups.newest, units.newest) < ?
"""

# Step attempts of purged run attempts, and step executions without a run that ended before the
# cut-off (all their attempts).
_STEP_SELECTION_SQL = """
create or replace temp table purge_step_runs as
with steps as (
    select
        s.rowid as id,
        s.source_system,
        s.run_id,
        s.run_attempt,
        r.run_id is null as has_no_run,
        max(s.started_at) over (
            partition by s.source_system, s.run_id, s.run_attempt, s.step_id
        ) as execution_newest
    from raw.step_runs as s
    left join raw.flow_runs as r
        on s.source_system = r.source_system and s.run_id = r.run_id
        and s.run_attempt = r.run_attempt
)
select steps.id
from steps
left join purged_run_keys as k
    on steps.source_system = k.source_system and steps.run_id = k.run_id
    and steps.run_attempt = k.run_attempt
where k.run_id is not null or (steps.has_no_run and steps.execution_newest < ?)
"""


def purge(
    data_dir: DataDir, *, dry_run: bool = False, config: Path | None = None
) -> list[TablePurge]:
    """Delete raw rows past retention (under the writer lock); return what was (or would be) purged."""
    from ingest import ensure_raw_tables

    path = config or config_path(data_dir)
    days = load_retention(path)
    if not data_dir.warehouse.exists():  # nothing ingested yet: nothing to purge, nothing to create
        return [TablePurge(table, None, 0) for table in days]
    data_dir.ensure()
    with writer_lock(data_dir):
        con = connect_for_maintenance(data_dir, "Nothing was purged.")
        try:
            ensure_raw_tables(con)
            check_against_slos(days, data_dir, path, con)
            plan = plan_purge(con, days)
            if not dry_run:
                _purge_landing(con, data_dir, plan)
                _apply(con, plan)
        finally:
            con.close()
        if not dry_run and any(item.rows for item in plan):
            # the snapshots published so far hold the purged rows, and the warehouse file the
            # bytes of every deleted row (the quarantine's and the collisions' too) until the
            # next build writes it afresh
            mark_purged(data_dir)
    return plan


def purged_keys_table(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """``raw.purged_<table>_keys`` when a purge has written it (None before any purge of
    ``table``)."""
    name = PURGED_KEYS_TABLE.format(table=table)
    schema, table_name = name.split(".", 1)
    return name if _table_exists(con, None, schema, table_name) else None


def _record_purged_keys(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Keep the natural keys and payload hashes of the rows about to be purged."""
    if table not in LANDING_KEYS:
        return  # quarantine and collisions are audit tables: no key ingest classifies against
    columns = ", ".join(f'"{name}"' for name in LANDING_KEYS[table])
    ledger = PURGED_KEYS_TABLE.format(table=table)
    con.execute(f"create table if not exists {ledger} as select {columns} from raw.{table} limit 0")
    con.execute(
        f"insert into {ledger} select {columns} from raw.{table} "
        f"where rowid in (select id from purge_{table})"
    )


def _select_cases_with_purged_payloads(con: duckdb.DuckDBPyConnection) -> int:
    """Select the built cases holding the business events the purge selected
    (``purge_business_events``) into temporary table ``purge_cases`` for :func:`_apply`; return
    how many (none before any case is built)."""
    if not _table_exists(con, None, *CASE_EVENTS_MODEL):
        con.execute("create or replace temp table purge_cases (case_key varchar)")
        return 0
    schema, model = CASE_EVENTS_MODEL
    con.execute(
        "create or replace temp table purge_cases as "
        f"select distinct mapped.case_key from {schema}.{model} as mapped "
        "semi join (select source, id from raw.business_events "
        "where rowid in (select id from purge_business_events)) as purged "
        "on mapped.event_source = purged.source and mapped.event_id = purged.id"
    )
    return con.execute("select count(*) from purge_cases").fetchone()[0]


def _list_cases_with_purged_payloads(con: duckdb.DuckDBPyConnection) -> None:
    """List the cases :func:`_select_cases_with_purged_payloads` selected: the next build
    recomputes them, replacing the values of those events by digests (no case built yet: the
    first build writes digests for what is before the cut-off)."""
    if not con.execute("select count(*) from purge_cases").fetchone()[0]:
        return
    con.execute(
        f"create table if not exists {PURGED_PAYLOAD_CASES_TABLE} (case_key varchar primary key)"
    )
    con.execute(
        f"insert into {PURGED_PAYLOAD_CASES_TABLE} select case_key from purge_cases "
        "on conflict do nothing"
    )


def forget_cases_with_purged_payloads(con: duckdb.DuckDBPyConnection) -> None:
    """After a build that recomputed every case model: the listed cases are done."""
    schema, table = PURGED_PAYLOAD_CASES_TABLE.split(".", 1)
    if _table_exists(con, None, schema, table):
        con.execute(f"delete from {PURGED_PAYLOAD_CASES_TABLE}")


def _apply(con: duckdb.DuckDBPyConnection, plan: list[TablePurge]) -> None:
    con.execute(
        f"create table if not exists {HORIZONS_TABLE} "
        "(table_name varchar primary key, purged_before timestamp, purged_rows bigint)"
    )
    # The mart lives in the marts file, and a DuckDB transaction writes to one file: its rows go
    # first, in a transaction of their own. Should the purge of the raw rows then fail, the
    # next purge selects the same runs again, and a build recomputes the rest.
    if any(item.table == "flow_runs" for item in plan) and _table_exists(
        con, MARTS_CATALOG, "main", ROW_LEVEL_MART
    ):
        con.execute(
            f"delete from {MARTS_CATALOG}.main.{ROW_LEVEL_MART} where run_key in (select "
            "source_system || ':' || run_id || ':' || cast(run_attempt as varchar) "
            "from purged_run_keys)"
        )
    con.execute(
        f"create table if not exists {HISTORY_TABLE} (table_name varchar, flow_id varchar, "
        "flow_version varchar, event_type varchar, purged_rows bigint, first_at timestamp, "
        "purged_before timestamp)"
    )
    con.execute("begin transaction")
    try:
        for item in plan:
            if item.cutoff is None:
                continue
            if item.table in _HISTORY_SQL:
                con.execute(
                    f"insert into {HISTORY_TABLE} {_HISTORY_SQL[item.table]}", [item.cutoff]
                )
            _record_purged_keys(con, item.table)
            if item.table == "business_events":
                _list_cases_with_purged_payloads(con)
            con.execute(
                f"delete from raw.{item.table} where rowid in (select id from purge_{item.table})"
            )
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


def _table_exists(
    con: duckdb.DuckDBPyConnection, catalog: str | None, schema: str, name: str
) -> bool:
    """Whether table ``catalog.schema.name`` exists (``catalog`` None: the connection's own)."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = coalesce(?, current_database()) and table_schema = ? "
            "and table_name = ?",
            [catalog, schema, name],
        ).fetchone()[0]
    )


def _purge_landing(
    con: duckdb.DuckDBPyConnection, data_dir: DataDir, plan: list[TablePurge]
) -> None:
    """Rewrite each landing Parquet file without the rows the purge deletes (atomic replace).

    A landing row is the raw row with the same natural key and payload hash.
    """
    for item in plan:
        if not item.rows or item.table not in LANDING_KEYS:
            continue
        keys = LANDING_KEYS[item.table]
        on = " and ".join(f'l."{key}" is not distinct from p."{key}"' for key in keys)
        con.execute(
            f"create or replace temp table purged_{item.table} as select "
            + ", ".join(f'"{key}"' for key in keys)
            + f" from raw.{item.table} where rowid in (select id from purge_{item.table})"
        )
        for path in sorted((data_dir.landing / item.table).glob("*.parquet")):
            source = _literal(str(path))
            rows = f"read_parquet({source}) as l"
            gone = con.execute(
                f"select count(*) from {rows} semi join purged_{item.table} as p on {on}"
            ).fetchone()[0]
            if not gone:
                continue
            tmp = path.with_name(f".{path.name}.purge.tmp")
            con.execute(
                f"copy (select l.* from {rows} anti join purged_{item.table} as p on {on}) "
                f"to {_literal(str(tmp))} (format parquet)"
            )
            tmp.replace(path)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- CLI ----------------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "purge", help="delete raw rows past retention (config/retention.yml); marts keep aggregates"
    )
    parser.add_argument("--dry-run", action="store_true", help="only report what would be purged")
    parser.add_argument(
        "--config",
        type=Path,
        help="retention file (default: <data dir>/retention.yml if present, else config/retention.yml)",
    )
    parser.set_defaults(handler=purge_command)


def purge_command(args: argparse.Namespace, data_dir: DataDir) -> int:
    try:
        plan = purge(data_dir, dry_run=args.dry_run, config=args.config)
    except (RetentionError, WarehouseBusy) as error:
        print(f"flowledger purge: {error}", file=sys.stderr)
        return 1
    verb = "would purge" if args.dry_run else "purged"
    for item in plan:
        cutoff = item.cutoff.isoformat(sep=" ") if item.cutoff else "(empty table)"
        print(f"{item.table:<22} rows before {cutoff}: {verb} {item.rows}")
    for item in plan:
        if item.unbuilt:
            print(
                f"warning: {item.unbuilt} of the {item.table} rows {verb} were ingested after "
                "the last build (or nothing is built yet): no mart counted them, so their "
                "periods keep no aggregate; run `flowledger build` before a purge",
                file=sys.stderr,
            )
    cases = sum(item.cases for item in plan)
    if cases:
        print(
            f"{cases} cases hold business events it {verb}: the case marts keep those events "
            "(the cases' KPIs do not change); the next `flowledger build` replaces their data "
            "values by digests, except the fields the cases are built from (until then the "
            "published marts show them)"
        )
    planned = {item.table for item in plan}  # the tables the retention file sets
    audit = [table for table in ("quarantine", "ingest_collisions") if table not in planned]
    if audit and any(item.rows for item in plan if item.table in LANDING_KEYS):
        print(
            f"note: no retention is set for {' and '.join(audit)}: the raw records they hold "
            "(payloads included, also of rows purged now) stay until one is set",
            file=sys.stderr,
        )
    if not args.dry_run and any(item.rows for item in plan):
        print(
            "run `flowledger build` to publish marts without the purged rows (the aggregates "
            "and the cases keep what they counted) and to write the warehouse and the marts "
            "into fresh files: until then `warehouse.duckdb` holds the deleted rows' bytes"
        )
    return 0
