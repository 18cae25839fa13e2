"""Process: one process's cycle times, paths with waiting times, rework by kind, SLA and stuck
cases. The process is in the URL (``?process=NAME``); every stuck case links to its timeline."""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from dashboards import process_charts, process_data, ui
from dashboards.formatting import format_count, format_duration, format_rate

RATE = st.column_config.NumberColumn(format="percent")


def render() -> None:
    st.title("Process")
    ui.show_data_as_of()
    names = process_data.processes()
    if not names:
        st.info(
            "No process has cases yet: ingest business events or an event log, then `flowledger build`."
        )
        return
    index = ui.url_choice("process", names, "process")
    process = st.selectbox("Process", names, index=index, key="process_choice")
    st.query_params["process"] = process
    kpis = process_data.kpis(process)
    cycle = kpis["cycle_time_seconds"]
    st.caption(
        f"Cycle time = {cycle['definition']} ({cycle['measure']}); quantiles: {cycle['quantiles']}."
    )
    columns = st.columns(6)
    with columns[0]:
        ui.kpi("Cases", format_count(kpis["cases"]))
    with columns[1]:
        ui.kpi("Median cycle time", format_duration(cycle["median"]))
    with columns[2]:
        ui.kpi("p95 cycle time", format_duration(cycle["p95"]))
    with columns[3]:
        ui.kpi("Rework (repeated activity)", format_rate(kpis["rework"]["share_of_cases"]))
    with columns[4]:
        sla = kpis["sla"]
        ui.kpi("SLA attainment", format_rate(sla["attainment"]) if sla else "no SLA")
    with columns[5]:
        ui.kpi("Stuck cases", format_count(kpis["stuck_cases"]["count"]))

    left, right = st.columns(2)
    with left:
        st.subheader("Cycle-time distribution")
        ui.chart(process_charts.cycle_time_histogram(process_data.cycle_time_bins(process)))
    with right:
        st.subheader("Weekly trend")
        ui.chart(process_charts.cycle_time_trend(process_data.weekly(process)))

    left, right = st.columns(2)
    with left:
        st.subheader("Rework by kind")
        ui.chart(process_charts.rework_by_kind(kpis))
    with right:
        st.subheader("Top paths")
        variants = kpis["variants"]["top"]
        st.dataframe(
            [
                {
                    "share": v["share_of_cases"],
                    "cases": v["cases"],
                    "median cycle time": format_duration(v["cycle_time_median_seconds"]),
                    "path": v["variant"],
                }
                for v in variants
            ],
            column_config={"share": RATE},
            hide_index=True,
        )

    st.subheader("Directly-follows steps with waiting times")
    dfg = process_data.directly_follows(process)
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

    if kpis["sla"]:
        st.subheader("SLA attainment by week")
        ui.chart(process_charts.sla_attainment_trend(process_data.weekly(process)))

    parallel = process_data.parallel_runs(process)
    if parallel.height:
        st.subheader("Parallel runs (shadow mode)")
        st.caption(
            "A new flow version run beside the live one on the same business keys; its outputs "
            "compared field by field. Gate a cutover with "
            "`flowledger kpi parallel-runs FLOW --max-mismatch-rate RATE`."
        )
        st.dataframe(parallel, column_config={"mismatch_rate": RATE}, hide_index=True)

    st.subheader("Stuck cases")
    stuck = process_data.stuck_cases(process)
    if not stuck.height:
        st.write("No stuck case (no timeout configured, or every open case moved recently).")
    else:
        st.dataframe(
            stuck.with_columns(
                (
                    stuck["case_key"].map_elements(
                        lambda k: f"case-timeline?case={quote(k)}", return_dtype=str
                    )
                ).alias("timeline"),
                stuck["idle_seconds"].map_elements(format_duration, return_dtype=str).alias("idle"),
            ).drop("case_key", "idle_seconds"),
            column_config={"timeline": st.column_config.LinkColumn(display_text="open timeline")},
            hide_index=True,
        )


ui.run_page(render)
