from datetime import date, datetime

import plotly.graph_objects as go
import polars as pl
import pytest

from dashboards import charts, process_charts

DAYS = [date(2026, 10, 1), date(2026, 10, 2)]
HOURS = [datetime(2026, 10, 1, 8), datetime(2026, 10, 1, 9)]


def _traces(figure: go.Figure) -> dict[str, go.Scatter | go.Bar]:
    return {trace.name: trace for trace in figure.data}


def _says_no_data(figure: go.Figure) -> bool:
    return not figure.data and figure.layout.annotations[0].text == charts.NO_DATA_TEXT


def test_cycle_time_trend_in_hours() -> None:
    daily = pl.DataFrame(
        {
            "day": DAYS + [date(2026, 10, 3)],
            "cycle_time_median_seconds": [3600.0, 9000.0, None],
            "cycle_time_p95_seconds": [7200.0, 36000.0, None],
        }
    )
    figure = charts.cycle_time_trend(daily)
    traces = _traces(figure)
    assert list(traces) == ["median", "p95"]
    assert list(traces["median"].x) == DAYS  # the day without completed cases is left out
    assert list(traces["median"].y) == [1.0, 2.5]
    assert list(traces["p95"].y) == [2.0, 10.0]
    assert figure.layout.yaxis.title.text == "cycle time (h)"


def test_cycle_time_trend_switches_to_days_for_long_cycles() -> None:
    daily = pl.DataFrame(
        {
            "day": DAYS,
            "cycle_time_median_seconds": [86400.0, 1.5 * 86400],
            "cycle_time_p95_seconds": [2 * 86400.0, 3 * 86400.0],
        }
    )
    figure = charts.cycle_time_trend(daily)
    assert list(_traces(figure)["p95"].y) == [2.0, 3.0]
    assert figure.layout.yaxis.title.text == "cycle time (d)"


def test_throughput_and_rework() -> None:
    daily = pl.DataFrame({"day": DAYS, "cases_completed": [3, 5], "rework_rate": [0.25, None]})
    bars = _traces(charts.throughput_bars(daily))["completed"]
    assert isinstance(bars, go.Bar)
    assert list(bars.y) == [3, 5]
    rework = _traces(charts.rework_rate_trend(daily))["rework rate"]
    assert list(rework.x) == DAYS[:1] and list(rework.y) == [0.25]


def test_latency_trend_in_seconds_with_any_time_column() -> None:
    latency = pl.DataFrame(
        {"hour": HOURS, "latency_p50_ms": [1500.0, 3000.0], "latency_p95_ms": [1950.0, 9000.0]}
    )
    figure = charts.latency_trend(latency, time_column="hour")
    traces = _traces(figure)
    assert list(traces["p50"].y) == [1.5, 3.0]
    assert list(traces["p95"].y) == [1.95, 9.0]
    assert list(traces["p95"].x) == HOURS
    assert figure.layout.yaxis.title.text == "latency (s)"


def test_one_outlier_puts_duration_trends_on_a_log_axis() -> None:
    """One 3-hour p95 among 2-second ones drew the other days as a flat line at zero."""
    hours = [datetime(2026, 10, 1, h) for h in range(6)]
    latency = pl.DataFrame(
        {
            "hour": hours,
            "latency_p50_ms": [1000.0, 1200.0, 900.0, 1100.0, 5000.0, 1000.0],
            "latency_p95_ms": [2000.0, 2100.0, 1900.0, 2000.0, 3 * 3600 * 1000.0, 2000.0],
        }
    )
    figure = charts.latency_trend(latency, time_column="hour")
    assert figure.layout.yaxis.type == "log"
    assert figure.layout.yaxis.title.text == "latency (h), log scale"
    steady = latency.with_columns(pl.col("latency_p95_ms").clip(upper_bound=9000.0))
    assert charts.latency_trend(steady, time_column="hour").layout.yaxis.type is None

    daily = pl.DataFrame(
        {
            "day": [date(2026, 10, d) for d in range(1, 6)],
            "cycle_time_median_seconds": [3600.0] * 5,
            "cycle_time_p95_seconds": [7200.0, 7200.0, 40 * 86400.0, 7200.0, 7200.0],
        }
    )
    assert charts.cycle_time_trend(daily).layout.yaxis.type == "log"
    weekly = daily.rename({"day": "period_start"})
    assert process_charts.cycle_time_trend(weekly).layout.yaxis.type == "log"


def test_hourly_health_charts_share_their_hours() -> None:
    """Runs from 08:00, queue samples from 10:00, latency only where runs ended: the four charts
    of the flow page still start and end at the same hour."""
    hours = [datetime(2026, 10, 1, h) for h in range(8, 13)]
    hourly = pl.DataFrame(
        {
            "hour": hours,
            "runs": [4, 2, 0, 3, 1],
            "failed_runs": [1, 0, 0, 0, 0],
            "step_retries": [0, 0, 2, 0, 0],
            "dead_letters": [0, 0, 1, 0, 0],
            "duplicate_deliveries": [0, 0, 0, 0, 0],
            "latency_p50_ms": [900.0, 800.0, None, 700.0, 1000.0],
            "latency_p95_ms": [1500.0, 1200.0, None, 900.0, 1100.0],
            "queue_depth_max": [None, None, 40, 12, 3],
            "queue_depth_avg": [None, None, 20.0, 6.0, 1.5],
        }
    )
    figures = charts.hourly_health(hourly)
    assert len(figures) == 4
    expected = (datetime(2026, 10, 1, 7, 30), datetime(2026, 10, 1, 12, 30))
    assert {tuple(figure.layout.xaxis.range) for figure in figures} == {expected}
    assert list(_traces(figures[3])["max"].x) == hours[2:]  # drawn where there are samples


def test_queue_depth_trend() -> None:
    queue = pl.DataFrame(
        {"hour": HOURS, "queue_depth_max": [5, None], "queue_depth_avg": [3.0, None]}
    )
    traces = _traces(charts.queue_depth_trend(queue))
    assert list(traces["max"].y) == [5] and list(traces["avg"].y) == [3.0]


def test_reliability_rates_and_counts() -> None:
    daily = pl.DataFrame(
        {
            "day": DAYS,
            "failure_rate": [0.5, 0.0],
            "dead_letter_rate": [0.25, None],
            "step_retries": [1, 0],
            "dead_letters": [1, 0],
            "duplicate_deliveries": [0, 1],
            "idempotency_collisions": [0, 0],
        }
    )
    rates = _traces(charts.reliability_rates_trend(daily))
    assert list(rates["run failure rate"].y) == [0.5, 0.0]
    assert list(rates["dead-letter rate"].y) == [0.25, None]
    counts = charts.reliability_counts(daily)
    assert [trace.name for trace in counts.data] == list(charts.RELIABILITY_COUNT_SERIES.values())
    assert list(_traces(counts)["duplicate deliveries"].y) == [0, 1]
    assert counts.layout.barmode == "group"


def test_flow_runs_hourly_stacks_failed_on_the_rest() -> None:
    hourly = pl.DataFrame(
        {"hour": HOURS + [datetime(2026, 10, 1, 10)], "runs": [2, 1, 0], "failed_runs": [1, 1, 0]}
    )
    figure = charts.flow_runs_hourly(hourly)
    traces = _traces(figure)
    assert list(traces["not failed"].y) == [1, 0]
    assert list(traces["failed"].y) == [1, 1]
    assert list(traces["failed"].x) == HOURS  # the queue-only hour without runs is left out
    assert figure.layout.barmode == "stack"


def test_step_failure_bars() -> None:
    steps = pl.DataFrame(
        {
            "step_name": ["post contract", "fetch quote"],
            "failure_rate": [1 / 3, 0.0],
            "dead_letter_rate": [1 / 6, 0.0],
        }
    )
    figure = charts.step_failure_bars(steps)
    traces = _traces(figure)
    assert list(traces["failure rate"].y) == ["post contract", "fetch quote"]
    assert list(traces["failure rate"].x) == pytest.approx([1 / 3, 0.0])
    assert traces["dead-letter rate"].orientation == "h"
    # a rate is never below zero: the axis showed -100 % when every rate was 0
    assert figure.layout.xaxis.rangemode == "tozero"


def test_a_daily_chart_of_one_day_is_labelled_by_date() -> None:
    """Over one day Plotly labelled the axis in fractions of a second (23:59:59.9996 Nov 8)."""
    daily = pl.DataFrame({"day": [date(2026, 11, 9)], "cases_completed": [3]})
    axis = charts.throughput_bars(daily).layout.xaxis
    assert (axis.tickformat, axis.dtick) == ("%Y-%m-%d", 86_400_000)
    months = pl.DataFrame({"day": [date(2026, 9, 1), date(2026, 11, 9)], "cases_completed": [1, 2]})
    axis = charts.throughput_bars(months).layout.xaxis
    assert (axis.tickformat, axis.dtick) == ("%Y-%m-%d", None)  # Plotly spaces the ticks


def test_retries_dead_letters_and_duplicates_per_hour() -> None:
    hourly = pl.DataFrame(
        {
            "hour": HOURS + [datetime(2026, 10, 1, 10)],
            "step_retries": [3, 0, 0],
            "dead_letters": [1, None, 0],
            "duplicate_deliveries": [0, 2, 0],
        }
    )
    figure = charts.retries_hourly(hourly)
    traces = {trace.name: trace for trace in figure.data}
    # hours with none of them are left out
    assert list(traces["step retries"].x) == HOURS
    assert list(traces["step retries"].y) == [3, 0]
    assert list(traces["dead letters"].y) == [1, 0]
    assert list(traces["duplicate deliveries"].y) == [0, 2]
    assert traces["dead letters"].marker.color == charts.ALARM
    quiet = hourly.with_columns(pl.lit(0).alias(c) for c in ("step_retries", "dead_letters"))
    quiet = quiet.with_columns(pl.lit(0).alias("duplicate_deliveries"))
    assert [a.text for a in charts.retries_hourly(quiet).layout.annotations] == [
        charts.NONE_IN_RANGE_TEXT
    ]
    # failed runs in the alarm colour, not a lighter shade of the others
    runs = charts.flow_runs_hourly(
        pl.DataFrame({"hour": HOURS, "runs": [2, 1], "failed_runs": [1, 1]})
    )
    assert {t.name: t.marker.color for t in runs.data}["failed"] == charts.ALARM


def test_a_weekly_chart_of_one_week_is_labelled_by_date() -> None:
    """Over one week the process page's weekly charts were labelled 23:59:59.9995."""
    from dashboards import process_charts

    week = {"period_start": [datetime(2026, 11, 30)], "sla_attainment": [0.5]}
    week |= {"cycle_time_median_seconds": [3600.0], "cycle_time_p95_seconds": [7200.0]}
    for chart in (process_charts.sla_attainment_trend, process_charts.cycle_time_trend):
        axis = chart(pl.DataFrame(week)).layout.xaxis
        assert (axis.tickformat, axis.dtick) == ("%Y-%m-%d", 7 * 86_400_000)


def test_small_rates_keep_their_digits() -> None:
    """A rate axis of 0-1.5 % read 0%, 0%, 0%, 1%, 1%, 1%: two decimals, zeros trimmed."""
    daily = pl.DataFrame({"day": [date(2026, 11, 9)], "rework_rate": [0.015]})
    assert charts.rework_rate_trend(daily).layout.yaxis.tickformat == ".2~%"


@pytest.mark.parametrize(
    ("chart", "columns"),
    [
        (charts.cycle_time_trend, ["day", "cycle_time_median_seconds", "cycle_time_p95_seconds"]),
        (charts.throughput_bars, ["day", "cases_completed"]),
        (charts.rework_rate_trend, ["day", "rework_rate"]),
        (charts.latency_trend, ["bucket", "latency_p50_ms", "latency_p95_ms"]),
        (charts.queue_depth_trend, ["hour", "queue_depth_max", "queue_depth_avg"]),
        (charts.reliability_rates_trend, ["day", "failure_rate", "dead_letter_rate"]),
        (charts.reliability_counts, ["day", *charts.RELIABILITY_COUNT_SERIES]),
        (charts.flow_runs_hourly, ["hour", "runs", "failed_runs"]),
        (charts.step_failure_bars, ["step_name", "failure_rate", "dead_letter_rate"]),
    ],
)
def test_empty_frames_say_no_data(chart, columns: list[str]) -> None:
    empty = pl.DataFrame(schema={column: pl.Float64 for column in columns})
    assert _says_no_data(chart(empty))


def test_days_without_runs_or_without_incidents_say_so() -> None:
    """Hours with queue samples only give days of the hourly mart without a run or an execution:
    no rate to draw; and days without a retry, dead letter or duplicate draw no bar."""
    quiet = pl.DataFrame(
        {
            "day": DAYS,
            "failure_rate": [None, None],
            "dead_letter_rate": [None, None],
            **dict.fromkeys(charts.RELIABILITY_COUNT_SERIES, [0, 0]),
        }
    )
    assert _says_no_data(charts.reliability_rates_trend(quiet))
    counts = charts.reliability_counts(quiet)
    assert not counts.data
    assert counts.layout.annotations[0].text == charts.NONE_IN_RANGE_TEXT


def test_a_rate_change_too_small_to_show_is_no_change() -> None:
    """31 vs 30 cases over 30 days: +0.03 a day read "+0.0", an increase to the page."""
    from dashboards.formatting import count_delta, is_no_change

    assert count_delta(31 / 30, 30 / 30) == "±0"
    assert is_no_change(count_delta(31 / 30, 30 / 30))
    assert count_delta(0.75, 1.25) == "-0.5" and count_delta(12, 9) == "+3"
