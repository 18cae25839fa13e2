"""Pure figure builders for the process pages: ``fn(frame) -> plotly Figure``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import polars as pl

from dashboards.charts import dates_on_x, log_axis_for_outliers
from dashboards.formatting import format_rate, rounded

if TYPE_CHECKING:
    from dashboards.process_data import ProcessRangeKpis

HOUR = 3600.0


def cycle_time_histogram(bins: pl.DataFrame) -> go.Figure:
    """Distribution of cycle times of completed cases, in hours, from
    ``process_data.query_cycle_time_bins`` (one bar per non-empty bin)."""
    starts, ends = bins["bin_start_hours"].to_list(), bins["bin_end_hours"].to_list()
    figure = go.Figure(
        go.Bar(
            x=[(start + end) / 2 for start, end in zip(starts, ends, strict=True)],
            y=bins["cases"].to_list(),
            width=[end - start for start, end in zip(starts, ends, strict=True)],
            customdata=list(zip(starts, ends, strict=True)),
            hovertemplate="%{customdata[0]:.1f}–%{customdata[1]:.1f} h: %{y} cases<extra></extra>",
            name="cases",
        )
    )
    figure.update_layout(
        xaxis_title="cycle time (hours)", yaxis_title="cases", height=320, margin=dict(t=30)
    )
    return figure


def cycle_time_trend(weekly: pl.DataFrame) -> go.Figure:
    """Weekly median and p95 cycle time (hours) of the cases completed in the week, from
    ``process_data.query_weekly``."""
    figure = go.Figure()
    for column, label in (
        ("cycle_time_median_seconds", "median"),
        ("cycle_time_p95_seconds", "p95"),
    ):
        figure.add_trace(
            go.Scatter(
                x=weekly["period_start"].to_list(),
                y=[None if v is None else v / HOUR for v in weekly[column].to_list()],
                mode="lines+markers",
                name=label,
            )
        )
    figure.update_layout(
        xaxis_title="week", yaxis_title="cycle time (hours)", height=320, margin=dict(t=30)
    )
    dates_on_x(figure, weekly["period_start"].to_list(), step_days=7)
    log_axis_for_outliers(
        figure, [value for trace in figure.data for value in trace.y if value is not None]
    )
    return figure


def rework_by_kind(kpis: ProcessRangeKpis) -> go.Figure:
    """Share of the cases started in the range with each kind of rework, and first-pass yield
    (no bar, and "n/a", when no case started)."""
    labels = ["repeated activity", "field correction", "gray failure", "first pass"]
    values = [
        kpis.repeated_activity_rate,
        kpis.field_correction_rate,
        kpis.gray_failure_rate,
        kpis.first_pass_yield,
    ]
    figure = go.Figure(
        go.Bar(x=labels, y=values, text=["n/a" if v is None else format_rate(v) for v in values])
    )
    figure.update_layout(
        yaxis_tickformat=".0%", yaxis_title="share of cases", height=300, margin=dict(t=30)
    )
    return figure


def directly_follows_graph(dfg: pl.DataFrame, max_links: int = 40) -> go.Figure:
    """The directly-follows graph as a Sankey: one node per step, one link per step pair, its
    width the number of transitions; hovering a link shows its median and p95 wait. The
    ``max_links`` most frequent pairs are drawn (the table lists them all)."""
    top = dfg.sort(["transitions", "from_step", "to_step"], descending=[True, False, False]).head(
        max_links
    )
    steps = sorted(set(top["from_step"].to_list()) | set(top["to_step"].to_list()))
    index = {step: position for position, step in enumerate(steps)}
    waits = [
        f"median wait {_hours(median)}, p95 {_hours(p95)}"
        for median, p95 in zip(
            top["wait_median_seconds"].to_list(), top["wait_p95_seconds"].to_list(), strict=True
        )
    ]
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node=dict(label=steps, pad=18, thickness=14),
            link=dict(
                source=[index[s] for s in top["from_step"].to_list()],
                target=[index[s] for s in top["to_step"].to_list()],
                value=top["transitions"].to_list(),
                customdata=waits,
                hovertemplate="%{source.label} → %{target.label}<br>"
                "%{value} transitions<br>%{customdata}<extra></extra>",
            ),
        )
    )
    figure.update_layout(height=420, margin=dict(t=30, l=10, r=10))
    return figure


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{rounded(seconds / HOUR, 1):.1f} h"


def sla_attainment_trend(weekly: pl.DataFrame) -> go.Figure:
    """Weekly SLA attainment (share of the week's cases with an SLA outcome that met it)."""
    figure = go.Figure(
        go.Scatter(
            x=weekly["period_start"].to_list(),
            y=weekly["sla_attainment"].to_list(),
            mode="lines+markers",
            name="SLA attainment",
        )
    )
    figure.update_layout(
        xaxis_title="week",
        yaxis_title="SLA attainment",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.05],
        height=320,
        margin=dict(t=30),
    )
    dates_on_x(figure, weekly["period_start"].to_list(), step_days=7)
    return figure
