"""Reads for the process and case timeline pages: SQL over the published process marts.

``query_*(con, ...)`` run on an open snapshot connection (testable without Streamlit); the cached
loaders of the same name minus ``query_`` open the newest snapshot via ``data.read_published``.
Every KPI comes from a mart (docs/processes.md); nothing is recomputed here.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
import streamlit as st

from dashboards.data import CACHE_TTL_SECONDS, frame, read_published
from flowledger.processes.kpis import process_kpis

#: Bars of the process page's cycle-time distribution.
CYCLE_TIME_BINS = 40


def query_processes(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute("select distinct process_name from fct_cases order by 1").fetchall()
    ]


def query_kpis(con: duckdb.DuckDBPyConnection, process: str) -> dict[str, Any]:
    return process_kpis(con, process)


def query_cycle_time_bins(
    con: duckdb.DuckDBPyConnection, process: str, bins: int = CYCLE_TIME_BINS
) -> pl.DataFrame:
    """The cycle times of the process's completed cases counted in ``bins`` equal-width bins
    from the shortest to the longest (the last bin includes the longest); empty bins are left out.

    Columns: ``bin_start_hours``, ``bin_end_hours``, ``cases``. One bin of width 1 h when every
    case took the same time. Binned here, so a page never loads one row per case.
    """
    return frame(
        con,
        """
        with completed as (
            select cycle_time_seconds / 3600.0 as hours
            from fct_cases
            where process_name = $process and is_complete and cycle_time_seconds is not null
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
        {"process": process, "bins": bins},
    )


def query_weekly(con: duckdb.DuckDBPyConnection, process: str) -> pl.DataFrame:
    return frame(
        con,
        "select period_start, cases_completed, cycle_time_median_seconds, cycle_time_p95_seconds, "
        "sla_attainment, repeated_step_rate, field_correction_rate, gray_failure_rate, "
        "first_pass_yield from fct_process_periods where process_name = ? and period_grain = 'week' "
        "and segment_name = 'all' order by period_start",
        [process],
    )


def query_directly_follows(con: duckdb.DuckDBPyConnection, process: str) -> pl.DataFrame:
    return frame(
        con,
        "select from_step, to_step, transitions, wait_mean_seconds, wait_median_seconds, "
        "wait_p95_seconds from fct_process_directly_follows where process_name = ? "
        "order by transitions desc, from_step, to_step",
        [process],
    )


def query_stuck_cases(con: duckdb.DuckDBPyConnection, process: str) -> pl.DataFrame:
    return frame(
        con,
        "select case_key, case_id, started_at, last_event_at, idle_seconds, last_step_name, "
        "last_event_source as held_by from fct_cases where process_name = ? and is_stuck "
        "order by idle_seconds desc, case_id",
        [process],
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


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def processes() -> list[str]:
    return read_published(query_processes)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def kpis(process: str) -> dict[str, Any]:
    return read_published(query_kpis, process)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def cycle_time_bins(process: str) -> pl.DataFrame:
    return read_published(query_cycle_time_bins, process)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def weekly(process: str) -> pl.DataFrame:
    return read_published(query_weekly, process)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def directly_follows(process: str) -> pl.DataFrame:
    return read_published(query_directly_follows, process)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def stuck_cases(process: str) -> pl.DataFrame:
    return read_published(query_stuck_cases, process)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def case(case_key: str) -> dict[str, Any] | None:
    return read_published(query_case, case_key)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def case_events(case_key: str) -> pl.DataFrame:
    return read_published(query_case_events, case_key)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def case_runs(case_key: str) -> pl.DataFrame:
    return read_published(query_case_runs, case_key)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def parallel_runs(process: str) -> pl.DataFrame:
    return read_published(query_parallel_runs, process)
