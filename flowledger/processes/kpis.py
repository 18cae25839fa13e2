"""The KPIs of one process, read from the published marts (``flowledger kpi process NAME``).

Every figure is computed by the dbt marts; this module only selects and shapes them, and says
which measure each one is (see docs/processes.md).
"""

from __future__ import annotations

import json
import math
import textwrap
from typing import Any

import duckdb

from flowledger.formatting import format_duration, format_mean, format_rate

QUANTILE_METHOD = (
    "continuous quantile with linear interpolation (numpy default, R type 7, DuckDB quantile_cont)"
)
MEASURES = {
    "first_to_last_event": "last minus first event of the case (PM4Py case duration)",
    "start_to_end_event": "first configured end event at or after the configured start event",
}
STUCK_CASES_LISTED = 50
VARIANTS_LISTED = 10
#: the marts the KPI document reads (``--fresh`` computes these and their parents)
MARTS_READ = (
    "fct_cases",
    "fct_process_rework_by_activity",
    "fct_process_variants",
    "fct_process_directly_follows",
    "fct_process_periods",
    "fct_gray_failures",
    "fct_process_effort",
)
PUBLISHED_ORIGIN = ("the published marts", "ingest its events and run `flowledger build`")


class UnknownProcess(LookupError):
    """The published marts hold no case of this process."""


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, Any]:
    return _records(con, sql, params)[0]


def _stats(con: duckdb.DuckDBPyConnection, column: str, where: str, name: str) -> dict[str, Any]:
    # Median and p95 from one sort: quantile_cont with a list of fractions.
    stats = _one(
        con,
        f"""
        select count({column}) as count, avg({column}) as mean,
               quantile_cont({column}, [0.5, 0.95]) as quantiles,
               min({column}) as min, max({column}) as max
        from fct_cases where process_name = ? {where}
        """,
        [name],
    )
    median, p95 = stats["quantiles"] or (None, None)
    return {"count": stats["count"], "mean": stats["mean"], "median": median, "p95": p95,
            "min": stats["min"], "max": stats["max"]}  # fmt: skip


def process_kpis(
    con: duckdb.DuckDBPyConnection, name: str, origin: tuple[str, str] = PUBLISHED_ORIGIN
) -> dict[str, Any]:
    """The KPI document of process ``name`` from a connection to a published snapshot (or to
    marts computed in memory); ``origin`` names them and the remedy when the process has no case."""
    head = _one(
        con,
        """
        select count(*) as cases, coalesce(sum(event_count), 0) as events,
               count(*) filter (where is_complete) as cases_completed,
               any_value(cycle_measure) as cycle_measure,
               count(*) filter (where has_rework) as cases_with_repeated_activity,
               count(*) filter (where has_field_correction) as cases_with_field_correction,
               count(*) filter (where has_gray_failure) as cases_with_gray_failure,
               count(*) filter (where is_first_pass) as cases_first_pass,
               count(*) filter (where sla_met is not null) as sla_cases,
               count(*) filter (where sla_met) as sla_met_cases
        from fct_cases where process_name = ?
        """,
        [name],
    )
    if not head["cases"]:
        known = [
            row[0]
            for row in con.execute(
                "select distinct process_name from fct_cases order by 1"
            ).fetchall()
        ]
        raise UnknownProcess(
            f"no case of process {name!r} in {origin[0]} (processes with cases: "
            f"{', '.join(known) or 'none'}); check the name, {origin[1]}. An event log's "
            "events without a case id, activity or timestamp are not cases: they are in "
            "raw.quarantine (the import said how many)"
        )
    cases = head["cases"]
    measure = head["cycle_measure"]
    meta = _one(con, "select * from _meta", [])
    cycle = _stats(con, "cycle_time_seconds", "and is_complete", name)
    duration = _stats(con, "duration_seconds", "", name)
    by_activity = {
        row["step_name"]: row["rework_cases"]
        for row in _records(
            con,
            "select step_name, rework_cases from fct_process_rework_by_activity "
            "where process_name = ? and rework_cases > 0 order by rework_cases desc, step_name",
            [name],
        )
    }
    variants = _records(
        con,
        "select variant_rank as rank, variant, cases, share_of_cases, cycle_time_mean_seconds, "
        "cycle_time_median_seconds from fct_process_variants where process_name = ? "
        "order by variant_rank limit ?",
        [name, VARIANTS_LISTED],
    )
    variant_count = con.execute(
        "select count(*) from fct_process_variants where process_name = ?", [name]
    ).fetchone()[0]
    dfg = _records(
        con,
        "select from_step, to_step, transitions as count, wait_mean_seconds as mean_seconds, "
        "wait_median_seconds as median_seconds from fct_process_directly_follows "
        "where process_name = ? order by transitions desc, from_step, to_step",
        [name],
    )
    stuck = _records(
        con,
        "select case_id, started_at, last_event_at, idle_seconds, last_step_name, "
        "last_event_source as held_by from fct_cases where process_name = ? and is_stuck "
        "order by idle_seconds desc, case_id limit ?",
        [name, STUCK_CASES_LISTED],
    )
    stuck_count = con.execute(
        "select count(*) from fct_cases where process_name = ? and is_stuck", [name]
    ).fetchone()[0]
    throughput = _one(
        con,
        # every day from the first completion to the last counts, those without one as 0 (over
        # the days with one, a process completing in bursts read as twice as fast as the
        # leadership page's cases per day of the range said)
        "select days, completed / days as mean_per_day, days_with_completions, max_per_day "
        "from (select date_diff('day', min(period_start)::date, max(period_start)::date) + 1 "
        "as days, sum(cases_completed) as completed, count(*) as days_with_completions, "
        "max(cases_completed) as max_per_day from fct_process_periods where process_name = ? "
        "and period_grain = 'day' and segment_name = 'all' and cases_completed > 0)",
        [name],
    )
    gray_runs = con.execute(
        "select count(*) from fct_gray_failures where process_name = ?", [name]
    ).fetchone()[0]
    effort = _one(
        con,
        "select coalesce(sum(cost), 0) as cost, coalesce(sum(successful_events), 0) as successful_events, "
        "coalesce(sum(manual_hours_saved), 0) as manual_hours_saved, "
        "coalesce(sum(manual_hours_spent), 0) as manual_hours_spent "
        "from fct_process_effort where process_name = ?",
        [name],
    )
    effort["cost_per_successful_event"] = (
        effort["cost"] / effort["successful_events"] if effort["successful_events"] else None
    )

    def share(count: int) -> float:
        return count / cases

    return _clean(
        {
            "process": name,
            "data_as_of": meta.get("data_as_of") or None,
            "built_at": meta.get("built_at"),
            "cases": cases,
            "events": head["events"],
            "cases_completed": head["cases_completed"],
            "cases_open": cases - head["cases_completed"],
            "cycle_time_seconds": {
                "measure": measure,
                "definition": MEASURES.get(measure, measure),
                "over": "completed cases",
                "quantiles": QUANTILE_METHOD,
                **cycle,
            },
            "case_duration_seconds": {
                "measure": "first_to_last_event",
                "definition": MEASURES["first_to_last_event"],
                "over": "all cases (PM4Py get_all_case_durations)",
                "quantiles": QUANTILE_METHOD,
                **duration,
            },
            "rework": {
                "definition": "cases in which some activity occurs more than once",
                "cases": head["cases_with_repeated_activity"],
                "share_of_cases": share(head["cases_with_repeated_activity"]),
                "cases_by_activity": by_activity,
                "field_corrections": {
                    "cases": head["cases_with_field_correction"],
                    "share_of_cases": share(head["cases_with_field_correction"]),
                },
                "gray_failures": {
                    "runs": gray_runs,
                    "cases": head["cases_with_gray_failure"],
                    "share_of_cases": share(head["cases_with_gray_failure"]),
                },
                "first_pass_yield": share(head["cases_first_pass"]),
            },
            "variants": {"count": variant_count, "top": variants},
            "directly_follows": dfg,
            "throughput": {
                "definition": "cases completed per UTC day, over every day from the first "
                "completion to the last (days without one count as 0)",
                **throughput,
            },
            "sla": (
                {
                    "cases": head["sla_cases"],
                    "met": head["sla_met_cases"],
                    "attainment": head["sla_met_cases"] / head["sla_cases"],
                }
                if head["sla_cases"]
                else None
            ),
            "stuck_cases": {"count": stuck_count, "listed": stuck},
            "effort": effort,
        }
    )


def steps_seen(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Each process's step names in the published case events."""
    try:
        rows = con.execute(
            "select distinct process_name, step_name from fct_case_events"
        ).fetchall()
    except duckdb.CatalogException:  # a snapshot without the process marts
        return {}
    seen: dict[str, set[str]] = {}
    for process, step in rows:
        seen.setdefault(process, set()).add(step)
    return seen


def _clean(value: Any) -> Any:
    """JSON-ready: timestamps as ISO text, NaN as null."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def _fmt_seconds(value: float | None) -> str:
    """A duration as the dashboard shows it (flowledger.formatting), "-" for none."""
    return "-" if value is None else format_duration(value)


def to_table(document: dict[str, Any]) -> str:
    """A readable summary of the KPI document: every figure of the headline, the activities
    cases repeat, the top variants written out whole (wrapped at their steps) and the stuck
    cases with their age and the system holding them."""
    cycle, duration, rework = (
        document["cycle_time_seconds"],
        document["case_duration_seconds"],
        document["rework"],
    )
    lines = [
        f"process {document['process']}  (data as of {document['data_as_of'] or '-'})",
        "",
        f"  {'cases':<34}{document['cases']:>14,}",
        f"  {'events':<34}{document['events']:>14,}",
        f"  {'completed / open':<34}{document['cases_completed']:>7,} / {document['cases_open']:,}",
        f"  cycle time ({cycle['measure']}, completed cases)",
    ]
    for key in ("mean", "median", "p95"):
        lines.append(f"    {key:<32}{_fmt_seconds(cycle[key]):>14}")
    lines.append("  case duration (first to last event, all cases)")
    for key in ("mean", "median", "p95"):
        lines.append(f"    {key:<32}{_fmt_seconds(duration[key]):>14}")
    throughput = document["throughput"]
    if throughput.get("days"):
        lines.append(
            f"  {'throughput (completed per day)':<34}{format_mean(throughput['mean_per_day']):>14}"
            f"  (max {throughput['max_per_day']:,}, over {throughput['days']:,} days, "
            f"{throughput['days_with_completions']:,} with a completion)"
        )
    lines += [
        f"  {'rework (repeated activity)':<34}{format_rate(rework['share_of_cases']):>13}",
        f"  {'field corrections':<34}{format_rate(rework['field_corrections']['share_of_cases']):>13}",
        f"  {'gray failures':<34}{format_rate(rework['gray_failures']['share_of_cases']):>13}",
        f"  {'first-pass yield':<34}{format_rate(rework['first_pass_yield']):>13}",
    ]
    if document["sla"]:
        sla = document["sla"]
        lines.append(
            f"  {'SLA attainment':<34}{format_rate(sla['attainment']):>13}"
            f"  ({sla['met']:,} of {sla['cases']:,} decided)"
        )
    lines.append(f"  {'variants':<34}{document['variants']['count']:>14,}")
    lines.append(f"  {'stuck cases':<34}{document['stuck_cases']['count']:>14,}")
    by_activity = list(rework["cases_by_activity"].items())
    if by_activity:
        width = max(len(step) for step, _ in by_activity[:15])
        lines += ["", "  cases repeating an activity:"]
        lines += [f"    {step:<{width}}  {count:>8,}" for step, count in by_activity[:15]]
        if len(by_activity) > 15:
            lines.append(f"    … and {len(by_activity) - 15:,} more activities (--json lists all)")
    if document["variants"]["top"]:
        lines += ["", "  top variants (share of cases, then the path):"]
        for variant in document["variants"]["top"][:5]:
            path = textwrap.wrap(
                variant["variant"], width=88, break_long_words=False, break_on_hyphens=False
            )
            lines.append(f"    {format_rate(variant['share_of_cases']):>6}  {path[0]}")
            lines += [f"            {rest}" for rest in path[1:]]
    stuck = document["stuck_cases"]
    if stuck["listed"]:
        lines += ["", "  stuck cases, oldest first (case, idle, last step, held by):"]
        lines += [
            f"    {case['case_id']}  {_fmt_seconds(case['idle_seconds'])}  "
            f"{case['last_step_name']}  {case['held_by']}"
            for case in stuck["listed"][:10]
        ]
        if stuck["count"] > 10:
            lines.append(
                f"    … and {stuck['count'] - 10:,} more (--json lists up to {STUCK_CASES_LISTED})"
            )
    return "\n".join(lines)
