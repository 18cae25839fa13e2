"""Figures for the error-budget page: pure ``fn(df) -> plotly Figure``, testable without a browser."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.charts import no_data

NO_DATA_TEXT = "No budget data for this period"


def burndown_chart(series: pl.DataFrame, annotations: pl.DataFrame) -> go.Figure:
    """Remaining budget over the current period (``step_at``, ``burndown_remaining``,
    ``ideal_remaining``, ``budget_remaining_raw``) with flow-version markers (dotted lines) and
    adjustment windows (shaded), from ``annotations`` (``kind``, ``label``, ``starts_at``,
    ``ends_at``)."""
    figure = go.Figure()
    figure.update_layout(
        title={"text": "Budget burn-down (current period)"},
        height=340,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
    )
    figure.update_yaxes(title_text="budget remaining", tickformat=".0%")
    if series.is_empty():
        return no_data(figure, NO_DATA_TEXT)
    x = series["step_at"].to_list()
    figure.add_trace(
        go.Scatter(x=x, y=series["burndown_remaining"].to_list(), name="remaining", mode="lines")
    )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=series["ideal_remaining"].to_list(),
            name="ideal (spent evenly)",
            mode="lines",
            line={"dash": "dash", "color": "grey"},
        )
    )
    figure.add_hline(y=0, line={"color": "firebrick", "width": 1})
    first, last = min(x), max(x)
    for row in annotations.iter_rows(named=True):
        if row["kind"] == "flow_version":
            if first <= row["starts_at"] <= last:
                figure.add_vline(x=row["starts_at"], line={"dash": "dot", "color": "purple"})
                figure.add_annotation(
                    x=row["starts_at"], y=1, yref="paper", text=f"v{row['label']}", showarrow=False
                )
        elif row["ends_at"] is not None and row["ends_at"] >= first and row["starts_at"] <= last:
            figure.add_vrect(
                x0=max(row["starts_at"], first),
                x1=min(row["ends_at"], last),
                fillcolor="orange",
                opacity=0.2,
                line_width=0,
                annotation_text=row["kind"],
            )
    return figure


def attribution_bars(attribution: pl.DataFrame, dimension: str) -> go.Figure:
    """Pareto bars of the budget consumed per value of one dimension (``dimension``, ``value``,
    ``budget_consumed``)."""
    rows = attribution.filter(pl.col("dimension") == dimension).sort(
        "budget_consumed", descending=True
    )
    figure = go.Figure(
        go.Bar(x=rows["value"].to_list(), y=rows["budget_consumed"].to_list(), name=dimension)
    )
    figure.update_layout(
        title={"text": f"Budget consumed by {dimension.replace('_', ' ')}"},
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    figure.update_yaxes(title_text="share of the budget", tickformat=".0%")
    return figure
