"""Reads for the error-budget page: SQL over the published error-budget marts, nothing else.

``query_*(con, ...)`` run on an open snapshot connection (testable without Streamlit); the cached
loaders of the same name minus ``query_`` open the newest snapshot via ``data.read_published``.
Every number comes from a mart (docs/error-budgets.md); nothing is recomputed here.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from dashboards.data import frame, published_loader, read_published


def query_has_budgets(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_name = 'fct_error_budgets'"
        ).fetchone()[0]
    )


def query_slo_list(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every SLO, lowest remaining budget first (unknown last)."""
    return frame(
        con,
        "select slo_id, display_name, flow_id, target, window_text, method, sli, budget_remaining, "
        "budget_remaining_raw, state, firing_alerts, hours_to_exhaustion, as_of "
        "from fct_error_budgets order by budget_remaining asc nulls last, slo_id",
    )


def query_slo(con: duckdb.DuckDBPyConnection, slo_id: str) -> dict[str, Any] | None:
    cursor = con.execute("select * from fct_error_budgets where slo_id = ?", [slo_id])
    names = [c[0] for c in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def query_burndown(con: duckdb.DuckDBPyConnection, slo_id: str) -> pl.DataFrame:
    """The current period's hourly burn-down with the ideal line."""
    return frame(
        con,
        "select step_at, burndown_remaining, ideal_remaining, budget_remaining_raw, state "
        "from fct_error_budget_series where slo_id = ? and is_current_period order by step_at",
        [slo_id],
    )


def query_annotations(con: duckdb.DuckDBPyConnection, slo_id: str) -> pl.DataFrame:
    return frame(
        con,
        "select kind, label, starts_at, ends_at from fct_error_budget_annotations "
        "where slo_id = ? order by starts_at, label",
        [slo_id],
    )


def query_burn_table(con: duckdb.DuckDBPyConnection, slo_id: str) -> pl.DataFrame:
    """One row per alert: windows, both burn rates, the threshold, firing."""
    return frame(
        con,
        "select alert_name as alert, severity, long_window || ' & ' || short_window as windows, "
        "long_burn_rate, short_burn_rate, burn_rate_threshold as threshold, is_firing as firing "
        "from fct_error_budget_alerts where slo_id = ? order by alert_order",
        [slo_id],
    )


def query_burn_rates(con: duckdb.DuckDBPyConnection, slo_id: str) -> pl.DataFrame:
    return frame(
        con,
        "select window_name as window, good, total, error_ratio, burn_rate, hours_to_exhaustion "
        "from fct_error_budget_burn_rates where slo_id = ? order by window_order",
        [slo_id],
    )


def query_attribution(con: duckdb.DuckDBPyConnection, slo_id: str) -> pl.DataFrame:
    return frame(
        con,
        "select dimension, value, bad_events, budget_consumed, share_of_consumed "
        "from fct_error_budget_attribution where slo_id = ? "
        "order by dimension, rank_in_dimension",
        [slo_id],
    )


def query_state_log(con: duckdb.DuckDBPyConnection, slo_id: str) -> pl.DataFrame:
    return frame(
        con,
        "select changed_at, from_state, to_state, budget_remaining, reason "
        "from fct_error_budget_state_log where slo_id = ? order by changed_at desc",
        [slo_id],
    )


@published_loader
def has_budgets() -> bool:
    return read_published(query_has_budgets)


@published_loader
def slo_list() -> pl.DataFrame:
    return read_published(query_slo_list)


@published_loader
def slo(slo_id: str) -> dict[str, Any] | None:
    return read_published(query_slo, slo_id)


@published_loader
def burndown(slo_id: str) -> pl.DataFrame:
    return read_published(query_burndown, slo_id)


@published_loader
def annotations(slo_id: str) -> pl.DataFrame:
    return read_published(query_annotations, slo_id)


@published_loader
def burn_table(slo_id: str) -> pl.DataFrame:
    return read_published(query_burn_table, slo_id)


@published_loader
def burn_rates(slo_id: str) -> pl.DataFrame:
    return read_published(query_burn_rates, slo_id)


@published_loader
def attribution(slo_id: str) -> pl.DataFrame:
    return read_published(query_attribution, slo_id)


@published_loader
def state_log(slo_id: str) -> pl.DataFrame:
    return read_published(query_state_log, slo_id)
