"""Reads for the process and case timeline pages: SQL over the published process marts.

``query_*(con, ...)`` run on an open snapshot connection (testable without Streamlit); the cached
loaders of the same name minus ``query_`` open the newest snapshot via ``data.read_published``.

The process page follows the shared filters, so its reads take a range of UTC days
(``start``..``end``, both included; SQL compares with the half-open ``[start, end + 1)``), with
the cohorts the marts use for their days (``fct_process_periods``, ``fct_process_daily``, and the
leadership page's outcomes):

- cases *started* in the range: cases, rework of each kind, first-pass yield, paths (variants),
  directly-follows pairs and their waits, stuck cases (stuck as of the data, started in range);
- cases *completed* in the range (end event in it): cycle time, its distribution and weekly trend;
- cases whose SLA was *decided* in the range (``sla_decided_at``: when a met SLA's end step
  happened, a missed SLA's deadline, whether the case ended later or is still open).

SQL counts and takes quantiles (``quantile_cont``); the rates of the headline numbers are the
pure :func:`range_kpis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import polars as pl

from dashboards.data import frame, published_loader, read_published
from flowledger.processes.kpis import MEASURES

#: Bars of the process page's cycle-time distribution.
CYCLE_TIME_BINS = 40
#: Paths listed on the process page.
TOP_PATHS = 10

STARTED = "started_at >= $start and started_at < $end + 1"
COMPLETED = "is_complete and ended_at >= $start and ended_at < $end + 1"
SLA_DECIDED = "sla_decided_at >= $start and sla_decided_at < $end + 1"


@dataclass(frozen=True)
class ProcessRangeCounts:
    """What SQL counts for one process over a date range (cohorts in the module docstring)."""

    cases_started: int
    cases_with_repeated_activity: int
    cases_with_field_correction: int
    cases_with_gray_failure: int
    cases_first_pass: int
    stuck_cases: int
    cases_completed: int
    cycle_time_median_seconds: float | None
    cycle_time_p95_seconds: float | None
    sla_cases: int
    sla_met_cases: int
    cycle_measure: str | None
    #: some case of the process has an SLA clock (the process has an SLA), in any range
    has_sla: bool = False


@dataclass(frozen=True)
class ProcessRangeKpis:
    """The process page's headline numbers; a rate is ``None`` when its cohort is empty."""

    cases_started: int
    cases_completed: int
    cycle_time_median_seconds: float | None
    cycle_time_p95_seconds: float | None
    repeated_activity_rate: float | None
    field_correction_rate: float | None
    gray_failure_rate: float | None
    first_pass_yield: float | None
    sla_cases: int
    sla_attainment: float | None
    stuck_cases: int
    cycle_definition: str
    has_sla: bool = False


def share(part: int, whole: int) -> float | None:
    """``part / whole``; ``None`` for an empty cohort (no 0 % that looks like a measurement)."""
    return part / whole if whole else None


def range_kpis(counts: ProcessRangeCounts) -> ProcessRangeKpis:
    """Rework, first-pass and SLA rates from the counts; the rest as counted."""
    measure = counts.cycle_measure
    return ProcessRangeKpis(
        cases_started=counts.cases_started,
        cases_completed=counts.cases_completed,
        cycle_time_median_seconds=counts.cycle_time_median_seconds,
        cycle_time_p95_seconds=counts.cycle_time_p95_seconds,
        repeated_activity_rate=share(counts.cases_with_repeated_activity, counts.cases_started),
        field_correction_rate=share(counts.cases_with_field_correction, counts.cases_started),
        gray_failure_rate=share(counts.cases_with_gray_failure, counts.cases_started),
        first_pass_yield=share(counts.cases_first_pass, counts.cases_started),
        sla_cases=counts.sla_cases,
        sla_attainment=share(counts.sla_met_cases, counts.sla_cases),
        stuck_cases=counts.stuck_cases,
        cycle_definition=MEASURES.get(measure, measure) if measure else "no completed case",
        has_sla=counts.has_sla,
    )


def _range(process: str, start: date, end: date, **more: Any) -> dict[str, Any]:
    return {"process": process, "start": start, "end": end, **more}


def query_range_counts(
    con: duckdb.DuckDBPyConnection, process: str, start: date, end: date
) -> ProcessRangeCounts:
    """The counts behind :func:`range_kpis`, in one scan of the process's cases."""
    cursor = con.execute(
        f"""
        select
            count(*) filter (where {STARTED}) as cases_started,
            count(*) filter (where {STARTED} and has_rework) as cases_with_repeated_activity,
            count(*) filter (where {STARTED} and has_field_correction)
                as cases_with_field_correction,
            count(*) filter (where {STARTED} and has_gray_failure) as cases_with_gray_failure,
            count(*) filter (where {STARTED} and is_first_pass) as cases_first_pass,
            count(*) filter (where {STARTED} and is_stuck) as stuck_cases,
            count(*) filter (where {COMPLETED}) as cases_completed,
            quantile_cont(cycle_time_seconds, [0.5, 0.95]) filter (where {COMPLETED})
                as cycle_time,
            count(*) filter (where {SLA_DECIDED}) as sla_cases,
            count(*) filter (where {SLA_DECIDED} and sla_met) as sla_met_cases,
            any_value(cycle_measure) as cycle_measure,
            coalesce(bool_or(sla_started_at is not null), false) as has_sla
        from fct_cases
        where process_name = $process
        """,
        _range(process, start, end),
    )
    names = [column[0] for column in cursor.description]
    row = dict(zip(names, cursor.fetchone() or (), strict=True))
    median, p95 = row.pop("cycle_time") or (None, None)
    return ProcessRangeCounts(**row, cycle_time_median_seconds=median, cycle_time_p95_seconds=p95)


def query_cycle_time_bins(
    con: duckdb.DuckDBPyConnection,
    process: str,
    start: date,
    end: date,
    bins: int = CYCLE_TIME_BINS,
) -> pl.DataFrame:
    """The cycle times of the process's cases completed in the range counted in ``bins``
    equal-width bins from the shortest to the longest (the last bin includes the longest); empty
    bins are left out.

    Columns: ``bin_start_hours``, ``bin_end_hours``, ``cases``. One bin of width 1 h when every
    case took the same time. Binned here, so a page never loads one row per case.
    """
    return frame(
        con,
        f"""
        with completed as (
            select cycle_time_seconds / 3600.0 as hours
            from fct_cases
            where process_name = $process and {COMPLETED} and cycle_time_seconds is not null
        ),
        bounds as (
            select
                min(hours) as low,
                case when max(hours) > min(hours) then (max(hours) - min(hours)) / $bins
                     else 1.0 end as width
            from completed
        ),
        binned as (
            select least(cast(floor((hours - low) / width) as bigint), $bins - 1) as bin
            from completed, bounds
        )
        select
            low + bin * width as bin_start_hours,
            low + (bin + 1) * width as bin_end_hours,
            count(*) as cases
        from binned, bounds
        group by bin, low, width
        order by bin
        """,
        _range(process, start, end, bins=bins),
    )


def query_weekly(
    con: duckdb.DuckDBPyConnection, process: str, start: date, end: date
) -> pl.DataFrame:
    """Per week (starting Monday) of the range: cycle time median and p95 of the cases completed
    in it, and the SLA attainment of the cases whose SLA was decided in it. The first and last
    week count only their days inside the range.

    Columns: ``period_start``, ``cases_completed``, ``cycle_time_median_seconds``,
    ``cycle_time_p95_seconds``, ``sla_cases``, ``sla_attainment``.
    """
    return frame(
        con,
        f"""
        with cases as (
            select * from fct_cases where process_name = $process
        ),
        completed as (
            select
                cast(date_trunc('week', ended_at) as date) as period_start,
                count(*) as cases_completed,
                quantile_cont(cycle_time_seconds, [0.5, 0.95]) as cycle_time
            from cases
            where {COMPLETED}
            group by 1
        ),
        sla as (
            select
                cast(date_trunc('week', sla_decided_at) as date) as period_start,
                count(*) as sla_cases,
                count(*) filter (where sla_met) as sla_met_cases
            from cases
            where {SLA_DECIDED}
            group by 1
        )
        select
            period_start,
            coalesce(completed.cases_completed, 0) as cases_completed,
            completed.cycle_time[1] as cycle_time_median_seconds,
            completed.cycle_time[2] as cycle_time_p95_seconds,
            coalesce(sla.sla_cases, 0) as sla_cases,
            sla.sla_met_cases / nullif(sla.sla_cases, 0) as sla_attainment
        from completed
        full join sla using (period_start)
        order by period_start
        """,
        _range(process, start, end),
    )


def query_top_paths(
    con: duckdb.DuckDBPyConnection, process: str, start: date, end: date, limit: int = TOP_PATHS
) -> pl.DataFrame:
    """The most frequent paths (variants) of the cases started in the range; ``share_of_cases``
    of those cases, ``cycle_time_median_seconds`` of the completed ones (ties: path text)."""
    return frame(
        con,
        f"""
        with paths as (
            select
                variant,
                count(*) as cases,
                quantile_cont(cycle_time_seconds, 0.5) filter (where is_complete)
                    as cycle_time_median_seconds
            from fct_cases
            where process_name = $process and {STARTED}
            group by variant
        )
        select variant, cases, cases / sum(cases) over () as share_of_cases,
               cycle_time_median_seconds
        from paths
        order by cases desc, variant
        limit $limit
        """,
        _range(process, start, end, limit=limit),
    )


def query_directly_follows(
    con: duckdb.DuckDBPyConnection, process: str, start: date, end: date
) -> pl.DataFrame:
    """Directly-follows pairs of the cases started in the range, with the waits between the two
    events, as ``fct_process_directly_follows`` computes them for all cases (consecutive events
    by ``event_sequence``, each event carrying the pair it starts; continuous quantiles)."""
    return frame(
        con,
        f"""
        with cases as (
            select case_key from fct_cases where process_name = $process and {STARTED}
        )
        select
            step_name as from_step,
            next_step_name as to_step,
            count(*) as transitions,
            avg(seconds_to_next_event) as wait_mean_seconds,
            quantile_cont(seconds_to_next_event, 0.5) as wait_median_seconds,
            quantile_cont(seconds_to_next_event, 0.95) as wait_p95_seconds
        from fct_case_events
        where process_name = $process
            and case_key in (select case_key from cases)
            and next_step_name is not null
        group by from_step, to_step
        order by transitions desc, from_step, to_step
        """,
        _range(process, start, end),
    )


def query_stuck_cases(
    con: duckdb.DuckDBPyConnection, process: str, start: date, end: date
) -> pl.DataFrame:
    """The cases started in the range that are stuck as of the data, longest idle first."""
    return frame(
        con,
        f"""
        select case_key, case_id, started_at, last_event_at, idle_seconds, last_step_name,
               last_event_source as held_by
        from fct_cases
        where process_name = $process and is_stuck and {STARTED}
        order by idle_seconds desc, case_id
        """,
        _range(process, start, end),
    )


def query_gray_failures(
    con: duckdb.DuckDBPyConnection, process: str, start: date, end: date
) -> pl.DataFrame:
    """The gray failures of the cases started in the range (a run that reported success, its
    case fixed after it), newest fix first: which case, which run and version it is blamed on,
    and what fixed it, when."""
    return frame(
        con,
        """
        select gray.case_key, cases.case_id, gray.flow_id, gray.flow_version, gray.run_key,
               gray.run_ended_at, gray.fix_kind, gray.fix_step_name, gray.fixed_at,
               gray.seconds_to_fix
        from fct_gray_failures as gray
        inner join fct_cases as cases using (case_key)
        where gray.process_name = $process
          and cases.started_at >= $start and cases.started_at < $end + 1
        order by gray.fixed_at desc, gray.run_key
        """,
        _range(process, start, end),
    )


def query_parallel_runs(con: duckdb.DuckDBPyConnection, process: str) -> pl.DataFrame:
    """Version pairs run side by side (shadow mode) of the flows whose live runs touched the
    process's cases; empty when the snapshot predates the parallel-run marts."""
    published = con.execute(
        "select count(*) from information_schema.tables where table_name = 'fct_parallel_run_summary'"
    ).fetchall()
    if not published[0][0]:
        return pl.DataFrame()
    return frame(
        con,
        "select flow_id, baseline_version, candidate_version, keys_compared, keys_mismatched, "
        "mismatch_rate, differing_fields, first_candidate_run_at, last_candidate_run_at "
        "from fct_parallel_run_summary where flow_id in "
        "(select distinct flow_id from fct_case_flow_runs where process_name = ?) "
        "order by flow_id, first_candidate_run_at",
        [process],
    )


def query_case(con: duckdb.DuckDBPyConnection, case_key: str) -> dict[str, Any] | None:
    cursor = con.execute("select * from fct_cases where case_key = ?", [case_key])
    names = [c[0] for c in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def query_case_events(con: duckdb.DuckDBPyConnection, case_key: str) -> pl.DataFrame:
    return frame(
        con,
        "select event_sequence, occurred_at, step_name, event_source, resource, lifecycle, "
        "event_id, trace_id, field_changes, has_correction from fct_case_events "
        "where case_key = ? order by event_sequence",
        [case_key],
    )


def query_case_runs(con: duckdb.DuckDBPyConnection, case_key: str) -> pl.DataFrame:
    return frame(
        con,
        "select started_at, ended_at, flow_name, flow_version, status, is_gray_failure, linked_by, "
        "run_key, steps from fct_case_flow_runs where case_key = ? order by started_at, run_key",
        [case_key],
    )


@published_loader
def range_counts(process: str, start: date, end: date) -> ProcessRangeCounts:
    return read_published(query_range_counts, process, start, end)


@published_loader
def cycle_time_bins(process: str, start: date, end: date) -> pl.DataFrame:
    return read_published(query_cycle_time_bins, process, start, end)


@published_loader
def weekly(process: str, start: date, end: date) -> pl.DataFrame:
    return read_published(query_weekly, process, start, end)


@published_loader
def top_paths(process: str, start: date, end: date) -> pl.DataFrame:
    return read_published(query_top_paths, process, start, end)


@published_loader
def directly_follows(process: str, start: date, end: date) -> pl.DataFrame:
    return read_published(query_directly_follows, process, start, end)


@published_loader
def stuck_cases(process: str, start: date, end: date) -> pl.DataFrame:
    return read_published(query_stuck_cases, process, start, end)


@published_loader
def gray_failures(process: str, start: date, end: date) -> pl.DataFrame:
    return read_published(query_gray_failures, process, start, end)


@published_loader
def case(case_key: str) -> dict[str, Any] | None:
    return read_published(query_case, case_key)


@published_loader
def case_events(case_key: str) -> pl.DataFrame:
    return read_published(query_case_events, case_key)


@published_loader
def case_runs(case_key: str) -> pl.DataFrame:
    return read_published(query_case_runs, case_key)


@published_loader
def parallel_runs(process: str) -> pl.DataFrame:
    return read_published(query_parallel_runs, process)
