"""Read the published error-budget marts into plain records for the CLI and the dashboard."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import duckdb

from flowledger.settings import DataDir
from flowledger.warehouse import open_published

BUDGET_TABLES = (
    "fct_error_budgets",
    "fct_error_budget_burn_rates",
    "fct_error_budget_alerts",
    "fct_error_budget_attribution",
    "fct_error_budget_state_log",
)


class BudgetsMissing(RuntimeError):
    """The published snapshot has no error-budget marts."""


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_report(data_dir: DataDir, top: int = 3) -> list[dict[str, Any]]:
    """Every SLO with its windows, alerts, top contributors per dimension and last state change."""
    with open_published(data_dir) as con:
        present = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        }
        missing = [table for table in BUDGET_TABLES if table not in present]
        if missing:
            raise BudgetsMissing(
                f"the published marts have no {', '.join(missing)}: rebuild with `flowledger build`"
            )
        budgets = _records(
            con, "select * from fct_error_budgets order by budget_remaining nulls first, slo_id"
        )
        rates = _records(con, "select * from fct_error_budget_burn_rates order by window_order")
        alerts = _records(con, "select * from fct_error_budget_alerts order by alert_order")
        contributors = _records(
            con,
            "select * from fct_error_budget_attribution where rank_in_dimension <= ? "
            "order by dimension, rank_in_dimension",
            [top],
        )
        changes = _records(con, "select * from fct_error_budget_state_log order by changed_at desc")
    for budget in budgets:
        slo_id = budget["slo_id"]
        budget["burn_rates"] = [r for r in rates if r["slo_id"] == slo_id]
        budget["alerts"] = [a for a in alerts if a["slo_id"] == slo_id]
        budget["top_contributors"] = [c for c in contributors if c["slo_id"] == slo_id]
        budget["last_state_change"] = next((c for c in changes if c["slo_id"] == slo_id), None)
    return budgets


def window_label(budget: Mapping[str, Any]) -> str:
    """The window in words: ``rolling 30d (UTC)``, ``calendar 1M (Europe/Berlin)``, or with the
    anchor of its periods ``calendar 1M (America/New_York, from 2024-01-15 09:00:00)``."""
    anchor = budget.get("calendar_anchor")
    where = f"{budget['time_zone']}, from {anchor}" if anchor else budget["time_zone"]
    return f"{budget['window_kind']} {budget['window_text']} ({where})"


def no_data_note(budget: Mapping[str, Any]) -> str | None:
    """The explanation of an SLO whose period has no units at all, else ``None``.

    No data is not good service (OpenSLO, SRE Workbook; docs/error-budgets.md, "No data"): the
    marts leave its SLI, remaining budget and burn rates NULL and its state INSUFFICIENT_DATA.
    A Timeslices or RatioTimeslices unit is a slice with events; slices without any are no data.
    """
    if budget["total"]:
        return None
    units = (
        "time slices with events"
        if budget["method"] in ("Timeslices", "RatioTimeslices")
        else "units (finished runs or decided cases)"
    )
    return (
        f"No data: no {units} in the period, so the SLI, the budget left and the burn rates "
        "are unknown, not good; no alert fires."
    )


def slice_counts(budget: Mapping[str, Any]) -> str | None:
    """The slice counts behind a Timeslices or RatioTimeslices SLI in words, else ``None``.

    Timeslices: SLI = 1 − bad slices / N, the budget (1 − T) · N slices; slices without data are
    neither good nor bad. RatioTimeslices: the mean ratio of the slices with data."""
    if budget.get("slices_total") is None:
        return None
    n, elapsed = budget["slices_total"], budget["slices_elapsed"]
    ahead = n - elapsed
    tail = f"; {ahead:.0f} still ahead in the period" if ahead > 0 else ""
    if budget["method"] == "Timeslices":
        return (
            f"slices: N = {n:.0f}: {budget['slices_good']:.0f} good, "
            f"{budget['slices_bad']:.0f} bad, {budget['slices_without_data']:.0f} without data "
            f"(neither good nor bad){tail}; SLI = 1 − bad / N, budget (1 − T) · N slices"
        )
    return (
        f"slices: N = {n:.0f}: {budget['slices_with_data']:.0f} with data, "
        f"{budget['slices_without_data']:.0f} without data (not counted){tail}; "
        "SLI = mean ratio of the slices with data, budget (1 − T) · slices with data"
    )


def time_to_exhaustion(
    no_data: bool, hour_units: float | None, hours_to_exhaustion: float | None
) -> str:
    """Time to exhaustion at the 1h burn rate in words, for the report and the page alike: no
    unit in the last hour is no burn rate, not a good hour (docs/error-budgets.md, "No data")."""
    if no_data:
        return "unknown (no data)"
    if hours_to_exhaustion is not None and hours_to_exhaustion <= 0:
        return "0 h (exhausted)"  # whatever the last hour held
    if not hour_units:
        return "unknown (no units in the last hour)"
    if hours_to_exhaustion is None:
        return "never (nothing burns)"
    return f"{hours_to_exhaustion:.1f} h"


#: Significant digits of every JSON number (``budget report --json``, ``budget explain
#: --json``, webhook bodies): a double's noise (``14.399999999999999`` for 14.4,
#: ``99999.99999999999`` for 1 / 0.00001) is gone, and the marts' figures rounded to 12 decimals
#: read the same as explain's.
JSON_DIGITS = 12


def plain(value: Any) -> Any:
    """JSON-safe values: timestamps as ISO 8601 UTC with Z, NaN as null, floats to
    :data:`JSON_DIGITS` significant digits."""
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.{JSON_DIGITS}g}")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
