"""Every read the dashboard makes: SQL over the published marts snapshot, nowhere else.

Two layers:

- ``query_*(con, ...)`` run one query on an open connection and return a polars DataFrame (or a
  small typed record). They hold the KPI math that is not already in a mart: quantiles over a
  date range (``quantile_cont`` over ``fct_cases`` / ``fct_flow_runs``, median and p95 from one
  sort) and rates over a range as sum(numerators) / sum(denominators), never an average of daily
  rates. A range of UTC days is the half-open timestamp range ``[start, end + 1 day)``, which
  lets DuckDB skip row groups by their min/max.
- the cached loaders with the same name minus ``query_`` (:func:`published_loader`) run the
  query on a cursor of the snapshot the page render reads (:func:`read_published`: one
  connection per snapshot for the whole process, see dashboards/snapshot.py) and cache the
  answer per snapshot for :data:`CACHE_TTL_SECONDS`. A render reads one snapshot: the one
  ``CURRENT`` named at its first read (:func:`pin_snapshot`), so its "data as of" line and its
  numbers come from the same build while builds publish; snapshots are immutable, so a running
  ingest or build never blocks or breaks the dashboard.

They raise :class:`flowledger.warehouse.NothingPublished` before the first build and
:class:`duckdb.Error` when a snapshot cannot be read; pages turn both into a message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import duckdb
import polars as pl
import streamlit as st

from dashboards.filters import FilterOptions
from dashboards.snapshot import SnapshotReader
from flowledger.settings import DataDir
from flowledger.warehouse import current_snapshot

CACHE_TTL_SECONDS = 30
#: Ranges up to this many days get hourly latency points, longer ones daily points.
HOURLY_LATENCY_MAX_DAYS = 3

P = ParamSpec("P")
T = TypeVar("T")

FlowScope = tuple[str, ...] | None
"""Which flows an infrastructure query covers: ``None`` = every flow, else exactly these ids."""


@dataclass(frozen=True)
class SnapshotMeta:
    """The ``_meta`` row of a published snapshot (ISO timestamps in UTC, as written by the build)."""

    built_at: str
    data_as_of: str
    flowledger_version: str
    dbt_version: str
    #: the newest flow run and business event ("" when the snapshot has none, or predates them)
    runs_as_of: str = ""
    events_as_of: str = ""
    #: the retention horizon of the flow runs: the runs before it were purged ("" when none was)
    runs_retained_from: str = ""

    @property
    def data_as_of_date(self) -> date | None:
        parsed = parse_timestamp(self.data_as_of)
        return parsed.date() if parsed else None


@dataclass(frozen=True)
class OutcomeKpis:
    """Business outcomes over a date range (UTC days, both ends included)."""

    cases_started: int
    cases_completed: int
    cycle_time_median_seconds: float | None
    cycle_time_p95_seconds: float | None
    cases_with_rework: int
    rework_rate: float | None


@dataclass(frozen=True)
class HealthKpis:
    """Infrastructure health of a set of flows over a date range."""

    runs: int
    failed_runs: int
    failure_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    step_executions: int
    step_retries: int
    dead_letters: int
    dead_letter_rate: float | None
    queue_depth_max: int | None
    queue_depth_avg: float | None
    duplicate_deliveries: int
    idempotency_collisions: int


def parse_timestamp(text: str | None) -> datetime | None:
    """An ISO timestamp (``Z`` or offset allowed) as a naive UTC datetime; ``None`` if unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def latency_grain(days: int) -> str:
    """``"hour"`` for short ranges (at most :data:`HOURLY_LATENCY_MAX_DAYS` days), else ``"day"``."""
    return "hour" if days <= HOURLY_LATENCY_MAX_DAYS else "day"


def _flow_list(flows: FlowScope) -> list[str] | None:
    return None if flows is None else list(flows)


def frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None
) -> pl.DataFrame:
    """The result of ``sql`` as a polars frame (named or positional parameters)."""
    return con.sql(sql, params=params if params is not None else []).pl()


def _record(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    row = cursor.fetchone()
    assert row is not None, "an aggregate query always returns one row"
    return dict(zip(names, row, strict=True))


# ---------------------------------------------------------------------------------------------
# Queries over an open connection (pure SQL; tested against a hand-made snapshot)
# ---------------------------------------------------------------------------------------------


def query_meta(con: duckdb.DuckDBPyConnection) -> SnapshotMeta:
    """The snapshot's ``_meta`` row; missing columns read as empty strings."""
    cursor = con.execute("select * from _meta limit 1")
    names = [column[0] for column in cursor.description]
    row = cursor.fetchone() or tuple("" for _ in names)
    values = {
        name: ("" if value is None else str(value)) for name, value in zip(names, row, strict=True)
    }
    return SnapshotMeta(
        built_at=values.get("built_at", ""),
        data_as_of=values.get("data_as_of", ""),
        flowledger_version=values.get("flowledger_version", ""),
        dbt_version=values.get("dbt_version", ""),
        runs_as_of=values.get("runs_as_of", ""),
        events_as_of=values.get("events_as_of", ""),
        runs_retained_from=values.get("runs_retained_from", ""),
    )


def query_filter_options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    """Processes, flows and the days the data covers; the default range ends at ``data_as_of``.

    The last selectable day is the later of ``data_as_of`` and the last day in the marts (queue
    samples can be newer than the last event or run ``data_as_of`` is computed from).
    """
    first_day, last_data_day = con.execute(
        """
        with days as (
            select day from fct_process_daily
            union all
            select cast(hour as date) from fct_flow_health_hourly
        )
        select min(day), max(day) from days
        """
    ).fetchone() or (None, None)
    as_of = query_meta(con).data_as_of_date
    known = [day for day in (as_of, last_data_day) if day is not None]
    last_day = max(known) if known else date.today()
    first_day = min(first_day or last_day, last_day)
    processes = tuple(
        row[0]
        for row in con.execute(
            """
            select process_name from fct_process_daily
            union
            select process_name from fct_cases
            order by 1
            """
        ).fetchall()
    )
    flow_names = dict(
        con.execute(
            "select flow_id, coalesce(flow_name, flow_id) from dim_flows order by flow_id"
        ).fetchall()
    )
    return FilterOptions(
        first_day=first_day,
        last_day=last_day,
        processes=processes,
        flow_names=flow_names,
        default_end=as_of,
    )


def query_flows_by_process(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Which flows serve which process: flows with runs linked to a case of the process (the
    ``fct_process_flows`` mart).

    Columns: ``process_name``, ``flow_id``, ``runs``.
    """
    return frame(
        con,
        "select process_name, flow_id, runs from fct_process_flows order by process_name, flow_id",
    )


def flows_serving(flows_by_process: pl.DataFrame, process: str) -> tuple[str, ...]:
    """The flow ids that ran for at least one case of ``process``, sorted."""
    chosen = flows_by_process.filter(pl.col("process_name") == process)
    return tuple(sorted(set(chosen["flow_id"].to_list())))


def flow_scope(flow_id: str | None, process: str | None, by_process: pl.DataFrame) -> FlowScope:
    """The flows infrastructure KPIs cover: the chosen flow, else the flows serving the chosen
    process, else every flow."""
    if flow_id is not None:
        return (flow_id,)
    if process is not None:
        return flows_serving(by_process, process)
    return None


def query_outcome_kpis(
    con: duckdb.DuckDBPyConnection, start: date, end: date, process: str | None
) -> OutcomeKpis:
    """Cycle time median/p95 of the cases completed in the range, throughput and rework rate.

    Quantiles are ``quantile_cont`` over every case completed in the range (not an average of
    daily quantiles); rework rate is sum(cases_with_rework) / sum(cases_started) over the days.
    """
    record = _record(
        con,
        """
        with completed as (
            select cycle_time_seconds
            from fct_cases
            where is_complete
              and ended_at >= $start and ended_at < $end + 1
              and ($process is null or process_name = $process)
        ),
        quantiles as (
            select quantile_cont(cycle_time_seconds, [0.5, 0.95]) as cycle_time from completed
        ),
        daily as (
            select
                coalesce(cast(sum(cases_started) as bigint), 0) as cases_started,
                coalesce(cast(sum(cases_completed) as bigint), 0) as cases_completed,
                coalesce(cast(sum(cases_with_rework) as bigint), 0) as cases_with_rework
            from fct_process_daily
            where day between $start and $end
              and ($process is null or process_name = $process)
        )
        select
            daily.cases_started,
            daily.cases_completed,
            quantiles.cycle_time[1] as cycle_time_median_seconds,
            quantiles.cycle_time[2] as cycle_time_p95_seconds,
            daily.cases_with_rework,
            daily.cases_with_rework / nullif(daily.cases_started, 0) as rework_rate
        from daily, quantiles
        """,
        {"start": start, "end": end, "process": process},
    )
    return OutcomeKpis(**record)


def query_outcome_daily(
    con: duckdb.DuckDBPyConnection, start: date, end: date, process: str | None
) -> pl.DataFrame:
    """One row per day: throughput, cases started, rework rate, cycle time median and p95.

    Columns: ``day``, ``cases_started``, ``cases_completed``, ``cases_with_rework``,
    ``rework_rate``, ``cycle_time_median_seconds``, ``cycle_time_p95_seconds``. Across several
    processes the daily quantiles are computed over their cases together.
    """
    return frame(
        con,
        """
        with daily as (
            select
                day,
                cast(sum(cases_started) as bigint) as cases_started,
                cast(sum(cases_completed) as bigint) as cases_completed,
                cast(sum(cases_with_rework) as bigint) as cases_with_rework
            from fct_process_daily
            where day between $start and $end
              and ($process is null or process_name = $process)
            group by day
        ),
        cycle_times as (
            select
                cast(ended_at as date) as day,
                quantile_cont(cycle_time_seconds, [0.5, 0.95]) as cycle_time
            from fct_cases
            where is_complete
              and ended_at >= $start and ended_at < $end + 1
              and ($process is null or process_name = $process)
            group by 1
        )
        select
            daily.day,
            daily.cases_started,
            daily.cases_completed,
            daily.cases_with_rework,
            daily.cases_with_rework / nullif(daily.cases_started, 0) as rework_rate,
            cycle_times.cycle_time[1] as cycle_time_median_seconds,
            cycle_times.cycle_time[2] as cycle_time_p95_seconds
        from daily
        left join cycle_times using (day)
        order by daily.day
        """,
        {"start": start, "end": end, "process": process},
    )


def query_health_kpis(
    con: duckdb.DuckDBPyConnection, start: date, end: date, flows: FlowScope
) -> HealthKpis:
    """Latency p50/p95 over every ended run started in the range, and range totals and rates.

    Rates are sum(numerators) / sum(denominators) over the hourly mart; queue depth max is the
    largest sample, queue depth avg the mean of the hourly averages (a time average).
    """
    record = _record(
        con,
        """
        with hourly as (
            select *
            from fct_flow_health_hourly
            where hour >= $start and hour < $end + 1
              and ($flows is null or list_contains($flows, flow_id))
        ),
        latency as (
            select quantile_cont(end_to_end_ms, [0.5, 0.95]) as latency_ms
            from fct_flow_runs
            where ended_at is not null
              and started_at >= $start and started_at < $end + 1
              and ($flows is null or list_contains($flows, flow_id))
        ),
        totals as (
            select
                coalesce(cast(sum(runs) as bigint), 0) as runs,
                coalesce(cast(sum(failed_runs) as bigint), 0) as failed_runs,
                coalesce(cast(sum(step_executions) as bigint), 0) as step_executions,
                coalesce(cast(sum(step_retries) as bigint), 0) as step_retries,
                coalesce(cast(sum(dead_letters) as bigint), 0) as dead_letters,
                cast(max(queue_depth_max) as bigint) as queue_depth_max,
                avg(queue_depth_avg) as queue_depth_avg,
                coalesce(cast(sum(duplicate_deliveries) as bigint), 0) as duplicate_deliveries,
                coalesce(cast(sum(idempotency_collisions) as bigint), 0)
                    as idempotency_collisions
            from hourly
        )
        select
            totals.runs,
            totals.failed_runs,
            totals.failed_runs / nullif(totals.runs, 0) as failure_rate,
            latency.latency_ms[1] as latency_p50_ms,
            latency.latency_ms[2] as latency_p95_ms,
            totals.step_executions,
            totals.step_retries,
            totals.dead_letters,
            totals.dead_letters / nullif(totals.step_executions, 0) as dead_letter_rate,
            totals.queue_depth_max,
            totals.queue_depth_avg,
            totals.duplicate_deliveries,
            totals.idempotency_collisions
        from totals, latency
        """,
        {"start": start, "end": end, "flows": _flow_list(flows)},
    )
    return HealthKpis(**record)


def query_health_daily(
    con: duckdb.DuckDBPyConnection, start: date, end: date, flows: FlowScope
) -> pl.DataFrame:
    """One row per day of the hourly flow-health mart, summed, with rates recomputed from sums.

    Columns: ``day``, ``runs``, ``failed_runs``, ``failure_rate``, ``step_executions``,
    ``step_retries``, ``dead_letters``, ``dead_letter_rate``, ``duplicate_deliveries``,
    ``idempotency_collisions``.
    """
    return frame(
        con,
        """
        select
            cast(hour as date) as day,
            cast(sum(runs) as bigint) as runs,
            cast(sum(failed_runs) as bigint) as failed_runs,
            sum(failed_runs) / nullif(sum(runs), 0) as failure_rate,
            cast(sum(step_executions) as bigint) as step_executions,
            cast(sum(step_retries) as bigint) as step_retries,
            cast(sum(dead_letters) as bigint) as dead_letters,
            sum(dead_letters) / nullif(sum(step_executions), 0) as dead_letter_rate,
            cast(sum(duplicate_deliveries) as bigint) as duplicate_deliveries,
            cast(sum(idempotency_collisions) as bigint) as idempotency_collisions
        from fct_flow_health_hourly
        where hour >= $start and hour < $end + 1
          and ($flows is null or list_contains($flows, flow_id))
        group by 1
        order by 1
        """,
        {"start": start, "end": end, "flows": _flow_list(flows)},
    )


def query_latency_trend(
    con: duckdb.DuckDBPyConnection, start: date, end: date, flows: FlowScope, grain: str
) -> pl.DataFrame:
    """End-to-end latency p50/p95 per ``grain`` ("hour" or "day") of run start.

    Columns: ``bucket`` (timestamp), ``runs`` (ended runs), ``latency_p50_ms``, ``latency_p95_ms``.
    """
    if grain not in ("hour", "day"):
        raise ValueError(f"latency grain must be 'hour' or 'day', got {grain!r}")
    return frame(
        con,
        f"""
        with buckets as (
            select
                date_trunc('{grain}', started_at) as bucket,
                count(*) as runs,
                quantile_cont(end_to_end_ms, [0.5, 0.95]) as latency_ms
            from fct_flow_runs
            where ended_at is not null
              and started_at >= $start and started_at < $end + 1
              and ($flows is null or list_contains($flows, flow_id))
            group by 1
        )
        select bucket, runs, latency_ms[1] as latency_p50_ms, latency_ms[2] as latency_p95_ms
        from buckets
        order by bucket
        """,
        {"start": start, "end": end, "flows": _flow_list(flows)},
    )


def query_queue_depth_hourly(
    con: duckdb.DuckDBPyConnection, start: date, end: date, flows: FlowScope
) -> pl.DataFrame:
    """Queue depth per hour with samples: the largest sample and the mean of the flows' averages.

    Columns: ``hour``, ``queue_depth_max``, ``queue_depth_avg``.
    """
    return frame(
        con,
        """
        select
            hour,
            cast(max(queue_depth_max) as bigint) as queue_depth_max,
            avg(queue_depth_avg) as queue_depth_avg
        from fct_flow_health_hourly
        where queue_depth_max is not null
          and hour >= $start and hour < $end + 1
          and ($flows is null or list_contains($flows, flow_id))
        group by hour
        order by hour
        """,
        {"start": start, "end": end, "flows": _flow_list(flows)},
    )


def query_step_reliability(
    con: duckdb.DuckDBPyConnection, start: date, end: date, flow_id: str
) -> pl.DataFrame:
    """Per step of one flow over the range, with rates recomputed from the summed counts.

    Columns: ``step_name``, ``attempts``, ``failed_attempts``, ``attempt_failure_rate``,
    ``executions``, ``failed_executions``, ``failure_rate``, ``retries``, ``dead_letters``,
    ``dead_letter_rate``; worst failure rate first.
    """
    return frame(
        con,
        """
        select
            step_name,
            cast(sum(attempts) as bigint) as attempts,
            cast(sum(failed_attempts) as bigint) as failed_attempts,
            sum(failed_attempts) / nullif(sum(attempts), 0) as attempt_failure_rate,
            cast(sum(executions) as bigint) as executions,
            cast(sum(failed_executions) as bigint) as failed_executions,
            sum(failed_executions) / nullif(sum(executions), 0) as failure_rate,
            cast(sum(retries) as bigint) as retries,
            cast(sum(dead_letters) as bigint) as dead_letters,
            sum(dead_letters) / nullif(sum(executions), 0) as dead_letter_rate
        from fct_step_reliability_daily
        where flow_id = $flow_id and day between $start and $end
        group by step_name
        order by failure_rate desc nulls last, dead_letter_rate desc nulls last, step_name
        """,
        {"start": start, "end": end, "flow_id": flow_id},
    )


def query_flow_hourly(
    con: duckdb.DuckDBPyConnection, start: date, end: date, flow_id: str
) -> pl.DataFrame:
    """The hourly health rows of one flow in the range, oldest first (the mart's columns)."""
    return frame(
        con,
        """
        select
            hour, runs, failed_runs, failure_rate, latency_p50_ms, latency_p95_ms,
            step_retries, dead_letters, step_executions, dead_letter_rate,
            queue_depth_avg, queue_depth_max, duplicate_deliveries, idempotency_collisions
        from fct_flow_health_hourly
        where flow_id = $flow_id and hour >= $start and hour < $end + 1
        order by hour
        """,
        {"start": start, "end": end, "flow_id": flow_id},
    )


#: how many failed runs the flow health page lists (the newest of its range)
FAILED_RUNS_SHOWN = 50


def query_failed_runs(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    flow_id: str,
    limit: int = FAILED_RUNS_SHOWN,
) -> pl.DataFrame:
    """The most recent failed or timed-out runs of one flow in the range, newest first, each
    with whether a later run of it (another attempt, or a run with its idempotency key)
    succeeded: a failure re-run since is resolved, one still open is not; and the case the run
    touched (``case_key``, None for a run no process ties to a case), so an incident can be
    followed to the business events and fields around it. A run tied to several cases shows
    the first, by its business key before its trace id."""
    return frame(
        con,
        """
        with failed as (
            select
                run_key, source_system, idempotency_key, started_at, run_id, run_attempt,
                status, error_type, error_message, step_failures, step_retries, dead_letters,
                business_key
            from fct_flow_runs
            where flow_id = $flow_id and is_failed
              and started_at >= $start and started_at < $end + 1
            order by started_at desc, run_key desc
            limit $limit
        ),
        -- two equi-joins, not one join on an `or` (a nested loop over the flow's runs)
        successes as (
            select source_system, run_id, idempotency_key, started_at
            from fct_flow_runs
            -- only what started after the oldest failure shown can resolve one: the busiest
            -- flow's successes at 10M events are 600k rows, these a few thousand (p95 241 ->
            -- 116 ms)
            where flow_id = $flow_id and is_success
              and started_at > (select min(started_at) from failed)
        ),
        resolved as (
            select failed.run_key
            from failed
            inner join successes as later
                on later.source_system = failed.source_system and later.run_id = failed.run_id
            where later.started_at > failed.started_at
            union
            select failed.run_key
            from failed
            inner join successes as later
                on later.idempotency_key = failed.idempotency_key
            where later.started_at > failed.started_at
        ),
        cases as (
            select
                run_key,
                coalesce(
                    min(case_key) filter (where linked_by = 'business_key'), min(case_key)
                ) as case_key
            from fct_case_flow_runs
            -- the failed runs' time window first: DuckDB skips the row groups outside it (at
            -- 10M events a filter on run_key alone read all 1.9M rows, 400 ms)
            where started_at >= (select min(started_at) from failed)
              and started_at <= (select max(started_at) from failed)
              and run_key in (select run_key from failed)
            group by run_key
        )
        select
            failed.started_at, failed.run_id, failed.run_attempt, failed.status,
            resolved.run_key is not null as succeeded_later,
            failed.error_type, failed.error_message, failed.step_failures, failed.step_retries,
            failed.dead_letters, failed.business_key, cases.case_key
        from failed
        left join resolved using (run_key)
        left join cases using (run_key)
        order by failed.started_at desc, failed.run_key desc
        """,
        {"start": start, "end": end, "flow_id": flow_id, "limit": limit},
    )


# ---------------------------------------------------------------------------------------------
# Cached loaders the pages call: a cursor on the current snapshot, query, close the cursor.
# ---------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, on_release=SnapshotReader.close)
def snapshot_reader() -> SnapshotReader:
    """The process's open snapshots (one connection each), shared by every session and page."""
    return SnapshotReader()


#: the session-state key of the snapshot the current page render reads
PINNED_SNAPSHOT = "_flowledger_pinned_snapshot"


def pin_snapshot() -> None:
    """Start a page render: its first read pins the snapshot ``CURRENT`` names then, and every
    loader of the render reads that one (each loader read ``CURRENT`` on its own cache miss: a
    publish in between showed one build's "data as of" above another build's numbers)."""
    st.session_state[PINNED_SNAPSHOT] = None


def pinned_snapshot() -> Path:
    """The snapshot of this render (:func:`pin_snapshot`); the current one when none is pinned
    yet, or when the pinned one is gone."""
    pinned = st.session_state.get(PINNED_SNAPSHOT)
    if pinned is None or not Path(pinned).is_file():
        pinned = str(current_snapshot(DataDir.resolve()))
        st.session_state[PINNED_SNAPSHOT] = pinned
    return Path(pinned)


def read_published(
    query: Callable[Concatenate[duckdb.DuckDBPyConnection, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run ``query`` on a cursor of the snapshot this render reads (:func:`pinned_snapshot`)."""
    with snapshot_reader().cursor(DataDir.resolve(), pinned_snapshot()) as con:
        return query(con, *args, **kwargs)


def published_loader(load: Callable[P, T]) -> Callable[P, T]:
    """``load`` (a reader of :func:`read_published`) cached per snapshot: the answer of one
    snapshot is never served for another."""

    def by_snapshot(snapshot: str, *args: Any, **kwargs: Any) -> T:
        return load(*args, **kwargs)

    # Streamlit keys a cache by the function's module, qualified name and source: the source
    # is the same for every loader, the name is not
    by_snapshot.__module__ = load.__module__
    by_snapshot.__qualname__ = f"{load.__qualname__}.by_snapshot"
    cached = st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)(by_snapshot)

    @functools.wraps(load)
    def loader(*args: P.args, **kwargs: P.kwargs) -> T:
        return cached(str(pinned_snapshot()), *args, **kwargs)

    return loader


@published_loader
def snapshot_meta() -> SnapshotMeta:
    return read_published(query_meta)


@published_loader
def filter_options() -> FilterOptions:
    return read_published(query_filter_options)


@published_loader
def flows_by_process() -> pl.DataFrame:
    return read_published(query_flows_by_process)


@published_loader
def outcome_kpis(start: date, end: date, process: str | None) -> OutcomeKpis:
    return read_published(query_outcome_kpis, start, end, process)


@published_loader
def outcome_daily(start: date, end: date, process: str | None) -> pl.DataFrame:
    return read_published(query_outcome_daily, start, end, process)


@published_loader
def health_kpis(start: date, end: date, flows: FlowScope) -> HealthKpis:
    return read_published(query_health_kpis, start, end, flows)


@published_loader
def health_daily(start: date, end: date, flows: FlowScope) -> pl.DataFrame:
    return read_published(query_health_daily, start, end, flows)


@published_loader
def latency_trend(start: date, end: date, flows: FlowScope, grain: str) -> pl.DataFrame:
    return read_published(query_latency_trend, start, end, flows, grain)


@published_loader
def queue_depth_hourly(start: date, end: date, flows: FlowScope) -> pl.DataFrame:
    return read_published(query_queue_depth_hourly, start, end, flows)


@published_loader
def step_reliability(start: date, end: date, flow_id: str) -> pl.DataFrame:
    return read_published(query_step_reliability, start, end, flow_id)


@published_loader
def flow_hourly(start: date, end: date, flow_id: str) -> pl.DataFrame:
    return read_published(query_flow_hourly, start, end, flow_id)


@published_loader
def failed_runs(start: date, end: date, flow_id: str) -> pl.DataFrame:
    return read_published(query_failed_runs, start, end, flow_id)
