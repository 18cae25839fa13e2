"""Leadership — outcomes and health: business outcomes beside the health of the flows behind them."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, data, ui
from dashboards.filters import Filters
from dashboards.formatting import (
    count_delta,
    duration_delta,
    duration_ms_delta,
    format_count,
    format_duration,
    format_duration_ms,
    format_mean,
    format_rate,
    mean_delta,
    rate_delta,
)


def render() -> None:
    st.title("Leadership — outcomes and health")
    ui.show_data_as_of()
    options = data.filter_options()
    if not options.processes and not options.flows:
        st.info(
            "The published marts hold no cases and no flow runs yet: ingest business events or "
            "flow run logs, then `flowledger build`."
        )
        return
    filters = ui.filter_bar(options, page="leadership")
    previous = filters.comparable_period(options.first_day)
    purged = ui.purged_runs_text(
        data.snapshot_meta(), previous.start if previous is not None else filters.start
    )
    if purged:
        st.info(purged)
    outcomes, health = st.columns(2, gap="large")
    with outcomes:
        render_outcomes(filters, previous)
        if previous is not None and previous.start < options.first_day:
            st.caption(
                f"The previous {_days(previous.days)} start before the data does "
                f"({options.first_day}): their counts cover part of them only."
            )
    with health:
        render_health(filters, previous)


class _NoComparison:
    """The KPIs of a previous period the data does not cover: every one unknown, so no delta."""

    def __getattr__(self, name: str) -> None:
        return None


def render_outcomes(filters: Filters, previous: Filters | None) -> None:
    st.subheader(f"Outcomes — {filters.process or 'all processes'}")
    st.caption(
        f"{filters.start} to {filters.end} ({_days(filters.days)}); "
        + (
            f"deltas against the previous {_days(filters.days)}."
            if previous is not None
            else f"no deltas: the data starts after the previous {_days(filters.days)}."
        )
    )
    now = data.outcome_kpis(filters.start, filters.end, filters.process)
    before = (
        data.outcome_kpis(previous.start, previous.end, previous.process)
        if previous is not None
        else _NoComparison()
    )
    per_day_now = now.cases_completed / filters.days
    # the delta is of the two rates as they are: each rounded first, 0.75 vs 1.25 a day read
    # -0.4 (the shown 0.8 less 1.25), not -0.5
    per_day_before = before.cases_completed / previous.days if previous is not None else None

    left, right = st.columns(2)
    with left:
        ui.kpi(
            "Cycle time median",
            format_duration(now.cycle_time_median_seconds),
            duration_delta(now.cycle_time_median_seconds, before.cycle_time_median_seconds),
            lower_is_better=True,
            help="Median time from a case's start event to its end event, over the cases "
            "completed in the range.",
            lineage=("fct_cases.cycle_time_seconds",),
        )
        ui.kpi(
            "Cases completed",
            format_count(now.cases_completed),
            count_delta(now.cases_completed, before.cases_completed),
            help="Throughput: cases whose end event falls in the range.",
            lineage=("fct_process_daily.cases_completed",),
        )
        ui.kpi(
            "Rework rate",
            format_rate(now.rework_rate),
            rate_delta(now.rework_rate, before.rework_rate),
            lower_is_better=True,
            help="Cases started in the range that repeat a step, divided by cases started.",
            lineage=("fct_process_daily.cases_with_rework", "fct_process_daily.cases_started"),
        )
    with right:
        ui.kpi(
            "Cycle time p95",
            format_duration(now.cycle_time_p95_seconds),
            duration_delta(now.cycle_time_p95_seconds, before.cycle_time_p95_seconds),
            lower_is_better=True,
            help="95th percentile (interpolated) of the cycle times of the cases completed "
            "in the range.",
            lineage=("fct_cases.cycle_time_seconds",),
        )
        ui.kpi(
            "Throughput per day",
            format_mean(per_day_now),
            mean_delta(per_day_now, per_day_before),
            help="Cases completed in the range divided by its number of days.",
            lineage=("fct_process_daily.cases_completed",),
        )
        ui.kpi(
            "Cases started",
            format_count(now.cases_started),
            lineage=("fct_process_daily.cases_started",),
        )

    daily = data.outcome_daily(filters.start, filters.end, filters.process)
    ui.chart(charts.cycle_time_trend(daily))
    ui.chart(charts.throughput_bars(daily))
    ui.chart(charts.rework_rate_trend(daily))


def render_health(filters: Filters, previous: Filters | None) -> None:
    flows = data.flow_scope(filters.flow_id, filters.process, data.flows_by_process())
    st.subheader(f"Infrastructure health — {_scope_label(filters, flows)}")
    st.caption(
        "Runs started in the range. A chosen flow wins; with only a process chosen, the flows "
        "that ran for its cases."
    )
    now = data.health_kpis(filters.start, filters.end, flows)
    before = (
        data.health_kpis(previous.start, previous.end, flows)
        if previous is not None
        else _NoComparison()
    )

    left, right = st.columns(2)
    with left:
        ui.kpi(
            "Latency p50",
            format_duration_ms(now.latency_p50_ms),
            duration_ms_delta(now.latency_p50_ms, before.latency_p50_ms),
            lower_is_better=True,
            help="Median end-to-end latency (queued to ended) of the runs that ended.",
            lineage=("fct_flow_runs.end_to_end_ms",),
        )
        ui.kpi(
            "Failure rate",
            format_rate(now.failure_rate),
            rate_delta(now.failure_rate, before.failure_rate),
            lower_is_better=True,
            help=f"Failed or timed-out runs: {format_count(now.failed_runs)} of "
            f"{format_count(now.runs)}.",
            lineage=("fct_flow_health_hourly.failed_runs", "fct_flow_health_hourly.runs"),
        )
        ui.kpi(
            "Step retries",
            format_count(now.step_retries),
            count_delta(now.step_retries, before.step_retries),
            lower_is_better=True,
            lineage=("fct_flow_health_hourly.step_retries",),
        )
        ui.kpi(
            "Queue depth max",
            format_count(now.queue_depth_max),
            count_delta(now.queue_depth_max, before.queue_depth_max),
            lower_is_better=True,
            lineage=("fct_flow_health_hourly.queue_depth_max",),
        )
        ui.kpi(
            "Duplicate deliveries",
            format_count(now.duplicate_deliveries),
            count_delta(now.duplicate_deliveries, before.duplicate_deliveries),
            lower_is_better=True,
            help="Runs with an idempotency key and input already seen in an earlier run.",
            lineage=("fct_flow_health_hourly.duplicate_deliveries",),
        )
    with right:
        ui.kpi(
            "Latency p95",
            format_duration_ms(now.latency_p95_ms),
            duration_ms_delta(now.latency_p95_ms, before.latency_p95_ms),
            lower_is_better=True,
            lineage=("fct_flow_runs.end_to_end_ms",),
        )
        ui.kpi(
            "Dead-letter rate",
            format_rate(now.dead_letter_rate),
            rate_delta(now.dead_letter_rate, before.dead_letter_rate),
            lower_is_better=True,
            help=f"Step executions dead-lettered: {format_count(now.dead_letters)} of "
            f"{format_count(now.step_executions)}.",
            lineage=(
                "fct_flow_health_hourly.dead_letters",
                "fct_flow_health_hourly.step_executions",
            ),
        )
        ui.kpi(
            "Runs",
            format_count(now.runs),
            count_delta(now.runs, before.runs),
            lineage=("fct_flow_health_hourly.runs",),
        )
        ui.kpi(
            "Queue depth avg",
            format_mean(now.queue_depth_avg),
            help="Mean of the hourly average queue depths.",
            lineage=("fct_flow_health_hourly.queue_depth_avg",),
        )
        ui.kpi(
            "Idempotency collisions",
            format_count(now.idempotency_collisions),
            count_delta(now.idempotency_collisions, before.idempotency_collisions),
            lower_is_better=True,
            help="Runs reusing an idempotency key with a different input.",
            lineage=("fct_flow_health_hourly.idempotency_collisions",),
        )

    grain = data.latency_grain(filters.days)
    ui.chart(charts.latency_trend(data.latency_trend(filters.start, filters.end, flows, grain)))
    ui.chart(charts.queue_depth_trend(data.queue_depth_hourly(filters.start, filters.end, flows)))
    daily = data.health_daily(filters.start, filters.end, flows)
    ui.chart(charts.reliability_rates_trend(daily))
    ui.chart(charts.reliability_counts(daily))


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _scope_label(filters: Filters, flows: data.FlowScope) -> str:
    if filters.flow_id is not None:
        return filters.flow_id
    if filters.process is not None:
        count = len(flows or ())
        return f"{count} flow{'' if count == 1 else 's'} serving {filters.process}"
    return "all flows"


ui.run_page(render)
