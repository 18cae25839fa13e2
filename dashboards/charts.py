"""Figures for the dashboard: pure ``fn(df) -> plotly Figure``, testable without a browser.

Each function takes the DataFrame the matching loader in :mod:`dashboards.data` returns and
reads only the columns named in its docstring. An empty frame gives an empty figure that says
so instead of a blank plot.
"""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import polars as pl

from dashboards.formatting import duration_axis

NO_DATA_TEXT = "No data in this range"
NONE_IN_RANGE_TEXT = "None in this range"
_HEIGHT = 300
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def _figure(title: str, y_title: str, *, percent: bool = False) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        title={"text": title},
        height=_HEIGHT,
        margin=_MARGIN,
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
    )
    # ".2~%": small rates keep their digits (0.5 %, not a second "0%" or "1%" tick)
    figure.update_yaxes(
        title_text=y_title, rangemode="tozero", tickformat=PERCENT_TICKS if percent else ""
    )
    return figure


_DAY_MS = 86_400_000
#: series colours: what is fine, what needs a look, what failed
CALM, WARNING, ALARM = "#4c78a8", "#f58518", "#d62728"
#: percent ticks with up to two decimals, trailing zeros trimmed (0.25%, 0.5%, 1%)
PERCENT_TICKS = ".2~%"


def dates_on_x(figure: go.Figure, dates: list, step_days: int = 1) -> None:
    """Label a chart's x axis of days (or weeks: ``step_days`` 7) with dates, one tick per
    step over a short range: over one or a few points Plotly labelled fractions of a second
    ("23:59:59.9996 Nov 8")."""
    present = [value for value in dates if value is not None]
    short = not present or (max(present) - min(present)).days < 14 * step_days
    figure.update_xaxes(tickformat="%Y-%m-%d", **({"dtick": _DAY_MS * step_days} if short else {}))


def no_data(figure: go.Figure, text: str = NO_DATA_TEXT) -> go.Figure:
    """``figure`` with a centred note saying there is nothing to draw."""
    figure.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return figure


def _values(df: pl.DataFrame, column: str, divisor: float = 1.0) -> list[float | None]:
    return [None if value is None else value / divisor for value in df[column].to_list()]


#: a point this many times the median of a duration series flattens the others on a linear axis
OUTLIER_FACTOR = 20.0


def log_axis_for_outliers(figure: go.Figure, values: list[float | None]) -> bool:
    """Put ``figure``'s y axis on a log scale when one of ``values`` is at least
    :data:`OUTLIER_FACTOR` times their median, and say so in the axis title: on a linear axis
    one bad day (a 3-hour p95 among 2-second ones) drew every other point as a flat line at
    zero. Returns whether it did. Durations only: a log axis drops zeros, which a duration
    series does not hold in practice (a rate series does)."""
    positive = sorted(value for value in values if value is not None and value > 0)
    if len(positive) < 3:
        return False
    median = positive[len(positive) // 2]
    if positive[-1] < OUTLIER_FACTOR * median:
        return False
    title = figure.layout.yaxis.title.text or ""
    figure.update_yaxes(type="log", rangemode="normal", title_text=f"{title}, log scale")
    return True


def cycle_time_trend(daily: pl.DataFrame) -> go.Figure:
    """Daily cycle time median and p95 as two lines.

    Reads ``day``, ``cycle_time_median_seconds``, ``cycle_time_p95_seconds``; the y unit (s, min,
    h or d) follows the largest value.
    """
    rows = daily.filter(pl.col("cycle_time_median_seconds").is_not_null())
    if rows.is_empty():
        return no_data(_figure("Cycle time per day (completed cases)", "cycle time"))
    unit, divisor = duration_axis(rows["cycle_time_p95_seconds"].max())
    figure = _figure("Cycle time per day (completed cases)", f"cycle time ({unit})")
    days = rows["day"].to_list()
    figure.add_trace(
        go.Scatter(
            x=days,
            y=_values(rows, "cycle_time_median_seconds", divisor),
            name="median",
            mode="lines+markers",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=_values(rows, "cycle_time_p95_seconds", divisor),
            name="p95",
            mode="lines+markers",
            line={"dash": "dash"},
        )
    )
    dates_on_x(figure, days)
    log_axis_for_outliers(
        figure,
        [*_values(rows, "cycle_time_median_seconds"), *_values(rows, "cycle_time_p95_seconds")],
    )
    return figure


def throughput_bars(daily: pl.DataFrame) -> go.Figure:
    """Cases completed per day as bars. Reads ``day``, ``cases_completed``."""
    figure = _figure("Throughput: cases completed per day", "cases")
    if daily.is_empty():
        return no_data(figure)
    figure.add_trace(
        go.Bar(x=daily["day"].to_list(), y=daily["cases_completed"].to_list(), name="completed")
    )
    dates_on_x(figure, daily["day"].to_list())
    return figure


def rework_rate_trend(daily: pl.DataFrame) -> go.Figure:
    """Share of the cases started each day that repeat a step. Reads ``day``, ``rework_rate``."""
    figure = _figure("Rework rate (cases started per day)", "rework rate", percent=True)
    rows = daily.filter(pl.col("rework_rate").is_not_null())
    if rows.is_empty():
        return no_data(figure)
    figure.add_trace(
        go.Scatter(
            x=rows["day"].to_list(),
            y=rows["rework_rate"].to_list(),
            name="rework rate",
            mode="lines+markers",
        )
    )
    dates_on_x(figure, rows["day"].to_list())
    return figure


def latency_trend(latency: pl.DataFrame, time_column: str = "bucket") -> go.Figure:
    """End-to-end latency p50 and p95 over time as two lines.

    Reads ``time_column`` (``bucket`` from ``latency_trend``, ``hour`` from ``flow_hourly``),
    ``latency_p50_ms``, ``latency_p95_ms``; the y unit follows the largest value.
    """
    rows = latency.filter(pl.col("latency_p50_ms").is_not_null())
    if rows.is_empty():
        return no_data(_figure("End-to-end latency", "latency"))
    unit, divisor = duration_axis(rows["latency_p95_ms"].max() / 1000.0)
    divisor *= 1000.0
    figure = _figure("End-to-end latency", f"latency ({unit})")
    times = rows[time_column].to_list()
    figure.add_trace(
        go.Scatter(
            x=times, y=_values(rows, "latency_p50_ms", divisor), name="p50", mode="lines+markers"
        )
    )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=_values(rows, "latency_p95_ms", divisor),
            name="p95",
            mode="lines+markers",
            line={"dash": "dash"},
        )
    )
    log_axis_for_outliers(
        figure, [*_values(rows, "latency_p50_ms"), *_values(rows, "latency_p95_ms")]
    )
    return figure


def queue_depth_trend(queue: pl.DataFrame) -> go.Figure:
    """Queue depth per hour: the largest sample and the average. Reads ``hour``,
    ``queue_depth_max``, ``queue_depth_avg``."""
    figure = _figure("Queue depth per hour", "messages waiting")
    rows = queue.filter(pl.col("queue_depth_max").is_not_null())
    if rows.is_empty():
        return no_data(figure)
    hours = rows["hour"].to_list()
    figure.add_trace(
        go.Scatter(x=hours, y=rows["queue_depth_max"].to_list(), name="max", mode="lines")
    )
    figure.add_trace(
        go.Scatter(
            x=hours,
            y=rows["queue_depth_avg"].to_list(),
            name="avg",
            mode="lines",
            line={"dash": "dot"},
        )
    )
    return figure


def reliability_rates_trend(daily: pl.DataFrame) -> go.Figure:
    """Run failure rate and step dead-letter rate per day. Reads ``day``, ``failure_rate``,
    ``dead_letter_rate``."""
    figure = _figure("Failure and dead-letter rate per day", "rate", percent=True)
    # days of queue samples only have neither rate
    rows = daily.filter(
        pl.col("failure_rate").is_not_null() | pl.col("dead_letter_rate").is_not_null()
    )
    if rows.is_empty():
        return no_data(figure)
    days = rows["day"].to_list()
    figure.add_trace(
        go.Scatter(
            x=days, y=rows["failure_rate"].to_list(), name="run failure rate", mode="lines+markers"
        )
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=rows["dead_letter_rate"].to_list(),
            name="dead-letter rate",
            mode="lines+markers",
        )
    )
    dates_on_x(figure, days)
    return figure


RELIABILITY_COUNT_SERIES = {
    "step_retries": "step retries",
    "dead_letters": "dead letters",
    "duplicate_deliveries": "duplicate deliveries",
    "idempotency_collisions": "idempotency collisions",
}


def reliability_counts(daily: pl.DataFrame) -> go.Figure:
    """Retries, dead letters, duplicate deliveries and idempotency collisions per day as grouped
    bars. Reads ``day`` and the columns named in :data:`RELIABILITY_COUNT_SERIES`."""
    figure = _figure("Retries, dead letters, duplicates per day", "count")
    if daily.is_empty():
        return no_data(figure)
    if not any(daily[column].fill_null(0).sum() for column in RELIABILITY_COUNT_SERIES):
        return no_data(figure, NONE_IN_RANGE_TEXT)
    days = daily["day"].to_list()
    for column, name in RELIABILITY_COUNT_SERIES.items():
        figure.add_trace(go.Bar(x=days, y=daily[column].to_list(), name=name))
    figure.update_layout(barmode="group")
    dates_on_x(figure, days)
    return figure


def flow_runs_hourly(hourly: pl.DataFrame) -> go.Figure:
    """Runs per hour of one flow, split into succeeded-or-running and failed, stacked.

    Reads ``hour``, ``runs``, ``failed_runs``.
    """
    figure = _figure("Runs per hour", "runs")
    rows = hourly.filter(pl.col("runs") > 0)
    if rows.is_empty():
        return no_data(figure)
    hours = rows["hour"].to_list()
    other = (rows["runs"] - rows["failed_runs"]).to_list()
    figure.add_trace(go.Bar(x=hours, y=other, name="not failed", marker_color=CALM))
    figure.add_trace(
        go.Bar(x=hours, y=rows["failed_runs"].to_list(), name="failed", marker_color=ALARM)
    )
    figure.update_layout(barmode="stack")
    return figure


def hourly_health(hourly: pl.DataFrame) -> list[go.Figure]:
    """The hourly health charts of one flow (runs, retries, latency, queue depth), all over the
    same hours: each draws only the hours it has values for, so alone the four started and
    ended at different hours, and one page's charts did not line up. Reads ``hour`` and what
    each chart reads."""
    figures = [
        flow_runs_hourly(hourly),
        retries_hourly(hourly),
        latency_trend(hourly, time_column="hour"),
        queue_depth_trend(hourly),
    ]
    hours = [hour for hour in hourly["hour"].to_list() if hour is not None] if len(hourly) else []
    if hours:
        # half an hour either side: a bar on the first or last hour is drawn whole
        half = timedelta(minutes=30)
        for figure in figures:
            figure.update_xaxes(range=[min(hours) - half, max(hours) + half])
    return figures


def retries_hourly(hourly: pl.DataFrame) -> go.Figure:
    """Step retries, dead letters and duplicate deliveries per hour of one flow: the hours an
    incident piled them up.

    Reads ``hour``, ``step_retries``, ``dead_letters``, ``duplicate_deliveries``.
    """
    figure = _figure("Retries, dead letters and duplicates per hour", "count")
    counted = ("step_retries", "dead_letters", "duplicate_deliveries")
    rows = hourly.filter(pl.sum_horizontal(pl.col(counted).fill_null(0)) > 0)
    if rows.is_empty():
        return no_data(figure, NONE_IN_RANGE_TEXT)
    hours = rows["hour"].to_list()
    for column, name, color in (
        ("step_retries", "step retries", WARNING),
        ("dead_letters", "dead letters", ALARM),
        ("duplicate_deliveries", "duplicate deliveries", CALM),
    ):
        figure.add_trace(
            go.Bar(x=hours, y=rows[column].fill_null(0).to_list(), name=name, marker_color=color)
        )
    figure.update_layout(barmode="group")
    return figure


def step_failure_bars(steps: pl.DataFrame) -> go.Figure:
    """Failure rate and dead-letter rate of each step as horizontal bars.

    Reads ``step_name``, ``failure_rate``, ``dead_letter_rate``.
    """
    figure = _figure("Step failure and dead-letter rate", "")
    figure.update_yaxes(title_text="", rangemode="normal", tickformat="")
    figure.update_xaxes(title_text="rate", tickformat=PERCENT_TICKS, rangemode="tozero")
    if steps.is_empty():
        return no_data(figure)
    names = steps["step_name"].to_list()
    figure.add_trace(
        go.Bar(y=names, x=steps["failure_rate"].to_list(), name="failure rate", orientation="h")
    )
    figure.add_trace(
        go.Bar(
            y=names,
            x=steps["dead_letter_rate"].to_list(),
            name="dead-letter rate",
            orientation="h",
        )
    )
    figure.update_layout(barmode="group", hovermode="y unified")
    return figure
