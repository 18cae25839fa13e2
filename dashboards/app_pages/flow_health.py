"""Flow health: reliability of one flow — its steps' failures, retries and dead letters, and its
hourly health."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import charts, data, ui
from dashboards.formatting import (
    format_count,
    format_duration_ms,
    format_rate,
)

RATE_COLUMN = st.column_config.NumberColumn(format="percent")


def render() -> None:
    st.title("Flow health")
    ui.show_data_as_of()
    options = data.filter_options()
    if not options.flows:
        st.info("No flow runs are published yet: ingest flow run logs, then `flowledger build`.")
        return
    filters = ui.filter_bar(
        options,
        page="flow_health",
        with_process=False,
        flow_required=True,
        flows_of_process=lambda process: data.flows_serving(data.flows_by_process(), process),
    )
    flow_id = filters.flow_id
    assert flow_id is not None, "flow_required always picks a flow"
    st.subheader(options.flow_label(flow_id))
    purged = ui.purged_runs_text(data.snapshot_meta(), filters.start)
    if purged:
        st.info(purged)

    health = data.health_kpis(filters.start, filters.end, (flow_id,))
    columns = st.columns(3) + st.columns(3)
    hourly = "fct_flow_health_hourly"
    tiles = [
        ("Runs", format_count(health.runs), (f"{hourly}.runs",)),
        (
            "Failure rate",
            format_rate(health.failure_rate),
            (f"{hourly}.failed_runs", f"{hourly}.runs"),
        ),
        (
            "Latency p95",
            format_duration_ms(health.latency_p95_ms),
            ("fct_flow_runs.end_to_end_ms",),
        ),
        ("Step retries", format_count(health.step_retries), (f"{hourly}.step_retries",)),
        (
            "Dead-letter rate",
            format_rate(health.dead_letter_rate),
            (f"{hourly}.dead_letters", f"{hourly}.step_executions"),
        ),
        (
            "Duplicates / collisions",
            f"{format_count(health.duplicate_deliveries)} / "
            f"{format_count(health.idempotency_collisions)}",
            (f"{hourly}.duplicate_deliveries", f"{hourly}.idempotency_collisions"),
        ),
    ]
    for column, (label, value, lineage) in zip(columns, tiles, strict=True):
        with column:
            ui.kpi(label, value, lineage=lineage)

    st.markdown("#### Steps")
    steps = data.step_reliability(filters.start, filters.end, flow_id)
    st.dataframe(
        steps,
        hide_index=True,
        column_config={
            "attempt_failure_rate": RATE_COLUMN,
            "failure_rate": RATE_COLUMN,
            "dead_letter_rate": RATE_COLUMN,
        },
    )
    ui.chart(charts.step_failure_bars(steps))

    st.markdown("#### Hourly health")
    hourly = data.flow_hourly(filters.start, filters.end, flow_id)
    for figure in charts.hourly_health(hourly):
        ui.chart(figure)

    st.markdown("#### Recent failed runs")
    failed = data.failed_runs(filters.start, filters.end, flow_id)
    if failed.is_empty():
        st.caption("No failed or timed-out runs in this range.")
    else:
        open_failures = failed.filter(~pl.col("succeeded_later")).height
        st.caption(
            f"{open_failures:,} of these {failed.height:,} not followed by a successful run of "
            "the same run or idempotency key (succeeded_later: re-run since). A timeline link "
            "opens the case the run worked on: its events, runs and changed fields."
            + (
                f" The {data.FAILED_RUNS_SHOWN} newest of the range: narrow it to see older ones."
                if failed.height >= data.FAILED_RUNS_SHOWN
                else ""
            )
        )
        st.dataframe(
            ui.with_timeline_links(failed),
            column_config={"timeline": ui.TIMELINE_COLUMN},
            hide_index=True,
        )


ui.run_page(render)
