"""Pure figure builders for the process pages: ``fn(frame) -> plotly Figure``."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

HOUR = 3600.0


def cycle_time_histogram(cycle_times: pl.DataFrame, bins: int = 40) -> go.Figure:
    """Distribution of cycle times of completed cases, in hours."""
    hours = (cycle_times["cycle_time_seconds"] / HOUR).to_list() if cycle_times.height else []
    figure = go.Figure(go.Histogram(x=hours, nbinsx=bins, name="cases"))
    figure.update_layout(
        xaxis_title="cycle time (hours)", yaxis_title="cases", height=320, margin=dict(t=30)
    )
    return figure


def cycle_time_trend(weekly: pl.DataFrame) -> go.Figure:
    """Weekly median and p95 cycle time (hours) of the cases completed in the week."""
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
    return figure


def rework_by_kind(kpis: dict) -> go.Figure:
    """Share of cases with each kind of rework, and first-pass yield."""
    rework = kpis["rework"]
    labels = ["repeated activity", "field correction", "gray failure", "first pass"]
    values = [
        rework["share_of_cases"],
        rework["field_corrections"]["share_of_cases"],
        rework["gray_failures"]["share_of_cases"],
        rework["first_pass_yield"],
    ]
    figure = go.Figure(go.Bar(x=labels, y=values, text=[f"{v:.1%}" for v in values]))
    figure.update_layout(
        yaxis_tickformat=".0%", yaxis_title="share of cases", height=300, margin=dict(t=30)
    )
    return figure
