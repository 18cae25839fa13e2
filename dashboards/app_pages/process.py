"""Process: one process's cycle times, paths with waiting times, rework by kind, SLA and stuck
cases over a date range. It follows the shared filters (``?from=&to=&process=``, kept across
pages); every stuck case links to its timeline. Which cases each number counts:
dashboards/process_data.py."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import data, process_charts, process_data, ui
from dashboards.formatting import format_count, format_duration, format_rate
from flowledger.processes.kpis import QUANTILE_METHOD

RATE = st.column_config.NumberColumn(format="percent")


def render() -> None:
    st.title("Process")
    ui.show_data_as_of()
    options = data.filter_options()
    if not options.processes:
        st.info(
            "No process has cases yet: ingest business events or an event log, then `flowledger build`."
        )
        return
    filters = ui.filter_bar(options, page="process", with_flow=False, process_required=True)
    process, start, end = filters.process, filters.start, filters.end
    assert process is not None, "process_required always picks a process"
    kpis = process_data.range_kpis(process_data.range_counts(process, start, end))
    st.caption(
        f"{start} to {end}. Cases started in the range; cycle times of the cases completed in "
        f"it ({kpis.cycle_definition}; quantiles: {QUANTILE_METHOD}); SLA of the cases whose SLA "
        "was decided in it."
    )
    columns = st.columns(6)
    with columns[0]:
        ui.kpi("Cases started", format_count(kpis.cases_started), lineage=("fct_cases.started_at",))
    with columns[1]:
        ui.kpi(
            "Median cycle time",
            format_duration(kpis.cycle_time_median_seconds),
            help=f"Over the {format_count(kpis.cases_completed)} cases completed in the range.",
            lineage=("fct_cases.cycle_time_seconds",),
        )
    with columns[2]:
        ui.kpi(
            "p95 cycle time",
            format_duration(kpis.cycle_time_p95_seconds),
            lineage=("fct_cases.cycle_time_seconds",),
        )
    with columns[3]:
        ui.kpi(
            "Rework (repeated activity)",
            format_rate(kpis.repeated_activity_rate),
            lineage=("fct_cases.has_rework", "fct_cases.started_at"),
        )
    with columns[4]:
        ui.kpi(
            "SLA attainment",
            format_rate(kpis.sla_attainment)
            if kpis.sla_cases
            else ("none decided" if kpis.has_sla else "no SLA"),
            help=f"Met of the {format_count(kpis.sla_cases)} cases whose SLA was decided in the "
            "range.",
            lineage=("fct_cases.sla_met",),
        )
    with columns[5]:
        ui.kpi(
            "Stuck cases",
            format_count(kpis.stuck_cases),
            help="Cases started in the range that are stuck as of the data.",
            lineage=("fct_cases.is_stuck", "fct_cases.started_at"),
        )

    weekly = process_data.weekly(process, start, end)
    left, right = st.columns(2)
    with left:
        st.subheader("Cycle-time distribution")
        ui.chart(
            process_charts.cycle_time_histogram(process_data.cycle_time_bins(process, start, end))
        )
    with right:
        st.subheader("Weekly trend")
        ui.chart(process_charts.cycle_time_trend(weekly))

    left, right = st.columns(2)
    with left:
        st.subheader("Rework by kind")
        ui.chart(process_charts.rework_by_kind(kpis))
    with right:
        st.subheader("Top paths")
        paths = process_data.top_paths(process, start, end)
        st.dataframe(
            [
                {
                    "share": path["share_of_cases"],
                    "cases": path["cases"],
                    "median cycle time": format_duration(path["cycle_time_median_seconds"]),
                    "path": path["variant"],
                }
                for path in paths.iter_rows(named=True)
            ],
            column_config={"share": RATE},
            hide_index=True,
        )

    st.subheader("Directly-follows steps with waiting times")
    dfg = process_data.directly_follows(process, start, end)
    if dfg.height:
        ui.chart(process_charts.directly_follows_graph(dfg))
    st.dataframe(
        dfg.with_columns(
            [
                dfg[c].map_elements(format_duration, return_dtype=str).alias(c)
                for c in ("wait_mean_seconds", "wait_median_seconds", "wait_p95_seconds")
            ]
        )
        if dfg.height
        else dfg,
        hide_index=True,
    )

    if kpis.sla_cases:
        st.subheader("SLA attainment by week")
        ui.chart(process_charts.sla_attainment_trend(weekly))

    parallel = process_data.parallel_runs(process)
    if parallel.height:
        st.subheader("Parallel runs (shadow mode)")
        st.caption(
            "A new flow version run beside the live one on the same business keys; its outputs "
            "compared field by field (all runs, whatever the date range). Gate a cutover with "
            "`flowledger kpi parallel-runs FLOW --max-mismatch-rate RATE`."
        )
        st.dataframe(parallel, column_config={"mismatch_rate": RATE}, hide_index=True)

    st.subheader("Gray failures")
    gray = process_data.gray_failures(process, start, end)
    if not gray.height:
        st.write("No gray failure among the cases started in this range.")
    else:
        st.caption(
            "Runs that reported success whose case was corrected or fixed by hand afterwards "
            "(docs/processes.md), blamed on the flow version that ran."
        )
        _case_table(gray, "seconds_to_fix", "fixed after")

    st.subheader("Stuck cases")
    stuck = process_data.stuck_cases(process, start, end)
    if not stuck.height:
        st.write(
            "No stuck case started in this range (no timeout configured, or every open case "
            "moved recently)."
        )
    else:
        _case_table(stuck, "idle_seconds", "idle")


def _case_table(cases: pl.DataFrame, seconds: str, label: str) -> None:
    """A table of cases, its ``seconds`` column as a duration under ``label``, each case linked
    to its timeline."""
    shown = cases.with_columns(
        cases[seconds].map_elements(format_duration, return_dtype=str).alias(label)
    ).drop(seconds)
    st.dataframe(
        ui.with_timeline_links(shown),
        column_config={"timeline": ui.TIMELINE_COLUMN},
        hide_index=True,
    )


ui.run_page(render)
