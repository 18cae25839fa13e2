"""Queries over the hand-made snapshot (tests/dashboards/dashboard_snapshot.py).

Cycle times of the cases completed in the default range 2026-09-30..2026-10-29, in hours:
quote_to_cash 1, 2, 3, 4, 10 and cart_to_fulfillment 24, 48. quantile_cont at p interpolates
at position p * (n - 1) of the sorted values.
"""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dashboard_snapshot import MART_DDL, build_published_snapshot
from polars.testing import assert_frame_equal

from dashboards import data, process_charts, process_data
from flowledger.settings import DataDir
from flowledger.warehouse import NothingPublished, open_published

HOUR = 3600.0
START, END = date(2026, 9, 30), date(2026, 10, 29)
PREVIOUS_START, PREVIOUS_END = date(2026, 8, 31), date(2026, 9, 29)
CONTRACT_SYNC = ("q2c-contract-sync",)


@pytest.fixture
def con(published_home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with open_published(DataDir.resolve()) as connection:
        yield connection


def test_meta_and_filter_options(con: duckdb.DuckDBPyConnection) -> None:
    meta = data.query_meta(con)
    assert meta.data_as_of == "2026-10-29T12:00:00Z"
    assert meta.built_at == "2026-10-29T12:05:00Z"
    assert meta.data_as_of_date == date(2026, 10, 29)
    options = data.query_filter_options(con)
    assert (options.first_day, options.last_day) == (date(2026, 9, 10), date(2026, 10, 29))
    assert options.processes == ("cart_to_fulfillment", "quote_to_cash")
    assert options.flows == ("c2f-order-intake", "q2c-contract-sync")
    assert options.flow_names["q2c-contract-sync"] == "Quote to contract sync"
    assert options.default_end == date(2026, 10, 29)


@pytest.mark.parametrize(
    ("data_as_of", "default_end"), [("2026-10-20T00:00:00Z", date(2026, 10, 20)), ("", None)]
)
def test_days_after_data_as_of_stay_selectable(
    empty_home: Path, data_as_of: str, default_end: date | None
) -> None:
    build_published_snapshot(
        empty_home, {"built_at": "2026-10-30T00:00:00Z", "data_as_of": data_as_of}
    )
    with open_published(DataDir.resolve()) as connection:
        options = data.query_filter_options(connection)
    assert options.last_day == date(2026, 10, 28)  # the newest day in fct_process_daily
    assert options.default_end == default_end


def test_range_cycle_time_quantiles_over_all_processes(con: duckdb.DuckDBPyConnection) -> None:
    kpis = data.query_outcome_kpis(con, START, END, None)
    # sorted 1, 2, 3, 4, 10, 24, 48 h: median = 4 h; p95 at 5.7 = 24 + 0.7 * (48 - 24) = 40.8 h
    assert kpis.cycle_time_median_seconds == pytest.approx(4 * HOUR)
    assert kpis.cycle_time_p95_seconds == pytest.approx(40.8 * HOUR)
    assert kpis.cases_completed == 7
    # started in range: Q1..Q6 and O1, O2 = 8; with rework Q2, Q5, O2 = 3
    assert (kpis.cases_started, kpis.cases_with_rework) == (8, 3)
    assert kpis.rework_rate == pytest.approx(3 / 8)


def test_range_quantiles_for_one_process(con: duckdb.DuckDBPyConnection) -> None:
    kpis = data.query_outcome_kpis(con, START, END, "quote_to_cash")
    # 1, 2, 3, 4, 10 h: median 3 h; p95 at 3.8 = 4 + 0.8 * 6 = 8.8 h
    assert kpis.cycle_time_median_seconds == pytest.approx(3 * HOUR)
    assert kpis.cycle_time_p95_seconds == pytest.approx(8.8 * HOUR)
    assert (kpis.cases_completed, kpis.cases_started, kpis.cases_with_rework) == (5, 6, 2)
    assert kpis.rework_rate == pytest.approx(2 / 6)


def test_rework_rate_is_weighted_not_an_average_of_daily_rates(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # cart_to_fulfillment 2026-09-20..2026-10-05: 09-20 started 1 (rate 0), 10-05 started 2 with
    # 1 rework (rate 0.5). Weighted: 1 / 3; the mean of the daily rates would be 0.25.
    kpis = data.query_outcome_kpis(con, date(2026, 9, 20), date(2026, 10, 5), "cart_to_fulfillment")
    assert kpis.rework_rate == pytest.approx(1 / 3)


def test_previous_period(con: duckdb.DuckDBPyConnection) -> None:
    kpis = data.query_outcome_kpis(con, PREVIOUS_START, PREVIOUS_END, None)
    # Q0 6 h and O3 24 h: median 15 h, p95 = 6 + 0.95 * 18 = 23.1 h
    assert kpis.cycle_time_median_seconds == pytest.approx(15 * HOUR)
    assert kpis.cycle_time_p95_seconds == pytest.approx(23.1 * HOUR)
    assert kpis.rework_rate == pytest.approx(1 / 2)


def test_empty_range_has_no_quantiles_and_no_rates(con: duckdb.DuckDBPyConnection) -> None:
    kpis = data.query_outcome_kpis(con, date(2026, 10, 10), date(2026, 10, 20), None)
    assert kpis == data.OutcomeKpis(0, 0, None, None, 0, None)


def test_outcome_daily(con: duckdb.DuckDBPyConnection) -> None:
    daily = data.query_outcome_daily(con, START, END, None)
    assert daily["day"].to_list() == [date(2026, 10, day) for day in (1, 2, 3, 4, 5, 6, 7, 28)]
    assert sum(daily["cases_completed"].to_list()) == 7
    third = daily.row(2, named=True)
    # 2026-10-03: Q3 3 h and Q4 4 h: median 3.5 h, p95 3 + 0.95 = 3.95 h
    assert third["cycle_time_median_seconds"] == pytest.approx(3.5 * HOUR)
    assert third["cycle_time_p95_seconds"] == pytest.approx(3.95 * HOUR)
    fifth = daily.row(4, named=True)
    assert (fifth["cases_started"], fifth["rework_rate"], fifth["cycle_time_median_seconds"]) == (
        2,
        0.5,
        None,
    )


def test_daily_quantiles_match_the_mart_for_one_process(con: duckdb.DuckDBPyConnection) -> None:
    ours = data.query_outcome_daily(con, START, END, "quote_to_cash")
    mart = con.sql(
        "select day, cycle_time_median_seconds, cycle_time_p95_seconds from fct_process_daily "
        "where process_name = 'quote_to_cash' and day between '2026-09-30' and '2026-10-29' "
        "order by day"
    ).pl()
    assert_frame_equal(ours.select(mart.columns), mart, check_exact=False)


def test_health_kpis_all_flows(con: duckdb.DuckDBPyConnection) -> None:
    kpis = data.query_health_kpis(con, START, END, None)
    # ended runs' end-to-end ms sorted: 500, 1000, 1500, 2000, 3000, 4000, 10000
    assert kpis.latency_p50_ms == pytest.approx(2000)
    assert kpis.latency_p95_ms == pytest.approx(4000 + 0.7 * 6000)
    assert (kpis.runs, kpis.failed_runs) == (8, 3)
    assert kpis.failure_rate == pytest.approx(3 / 8)
    assert (kpis.step_retries, kpis.dead_letters, kpis.step_executions) == (6, 3, 17)
    assert kpis.dead_letter_rate == pytest.approx(3 / 17)
    assert kpis.queue_depth_max == 12
    assert kpis.queue_depth_avg == pytest.approx((3.0 + 8.5 + 2.0 + 4.0) / 4)
    assert (kpis.duplicate_deliveries, kpis.idempotency_collisions) == (1, 1)


def test_health_kpis_one_flow_and_no_flows(con: duckdb.DuckDBPyConnection) -> None:
    kpis = data.query_health_kpis(con, START, END, CONTRACT_SYNC)
    assert kpis.latency_p50_ms == pytest.approx(3000)
    assert kpis.latency_p95_ms == pytest.approx(8800)
    assert kpis.failure_rate == pytest.approx(2 / 6)
    assert kpis.dead_letter_rate == pytest.approx(1 / 11)
    assert kpis.queue_depth_avg == pytest.approx(4.5)
    nothing = data.query_health_kpis(con, START, END, ())
    assert (nothing.runs, nothing.failure_rate, nothing.latency_p50_ms) == (0, None, None)


def test_health_daily_recomputes_rates_from_sums(con: duckdb.DuckDBPyConnection) -> None:
    daily = data.query_health_daily(con, START, END, None)
    first = daily.row(0, named=True)
    assert first["day"] == date(2026, 10, 1)
    assert (first["runs"], first["failed_runs"], first["dead_letter_rate"]) == (2, 1, 0.25)
    third = daily.row(2, named=True)
    # 2026-10-03: hours 10:00 (1 run, failed) and 11:00 (1 run, not failed)
    assert (third["runs"], third["failure_rate"], third["step_executions"]) == (2, 0.5, 3)
    fourth = daily.row(3, named=True)
    assert (fourth["runs"], fourth["failure_rate"]) == (0, None)


def test_latency_trend_by_day_and_hour(con: duckdb.DuckDBPyConnection) -> None:
    by_day = data.query_latency_trend(con, START, END, None, "day")
    assert by_day["runs"].to_list() == [2, 2, 1, 2]
    # 2026-10-05: 500 and 1500 ms of the order-intake flow
    assert by_day.row(3, named=True)["latency_p50_ms"] == pytest.approx(1000)
    assert by_day.row(3, named=True)["latency_p95_ms"] == pytest.approx(1450)
    by_hour = data.query_latency_trend(con, date(2026, 10, 1), date(2026, 10, 1), None, "hour")
    assert by_hour["latency_p95_ms"].to_list() == pytest.approx([1950])
    with pytest.raises(ValueError, match="grain"):
        data.query_latency_trend(con, START, END, None, "week")
    assert data.latency_grain(3) == "hour" and data.latency_grain(4) == "day"


def test_queue_depth_hourly_skips_hours_without_samples(con: duckdb.DuckDBPyConnection) -> None:
    queue = data.query_queue_depth_hourly(con, START, END, None)
    assert queue["queue_depth_max"].to_list() == [5, 12, 2, 6]
    assert queue["queue_depth_avg"].to_list() == [3.0, 8.5, 2.0, 4.0]


def test_step_reliability_sums_days(con: duckdb.DuckDBPyConnection) -> None:
    steps = data.query_step_reliability(con, START, END, "q2c-contract-sync")
    assert steps["step_name"].to_list() == ["post contract", "fetch quote"]
    post = steps.row(0, named=True)
    # days 10-01, 10-02, 10-03: attempts 3+2+4, failed attempts 2+0+3, executions 2+2+2
    assert (post["attempts"], post["failed_attempts"], post["executions"]) == (9, 5, 6)
    assert post["attempt_failure_rate"] == pytest.approx(5 / 9)
    assert post["failure_rate"] == pytest.approx(2 / 6)
    assert (post["retries"], post["dead_letters"]) == (3, 1)
    assert post["dead_letter_rate"] == pytest.approx(1 / 6)


def test_flow_hourly_and_failed_runs(con: duckdb.DuckDBPyConnection) -> None:
    hourly = data.query_flow_hourly(con, START, END, "q2c-contract-sync")
    assert hourly["runs"].to_list() == [2, 2, 1, 1, 0]
    failed = data.query_failed_runs(con, START, END, "q2c-contract-sync")
    assert failed["run_id"].to_list() == ["r5", "r2"]
    assert failed["status"].to_list() == ["timed_out", "failed"]
    assert failed["case_key"].to_list() == ["quote_to_cash:Q4", "quote_to_cash:Q2"]


def test_failed_runs_name_the_case_they_worked_on() -> None:
    """An on-call person could not get from a failed run to the case it left broken (its
    events and changed fields): the flow health page had no way to the case timeline."""
    con = duckdb.connect()
    con.execute(f"create table fct_flow_runs ({MART_DDL['fct_flow_runs']})")
    con.execute(f"create table fct_case_flow_runs ({MART_DDL['fct_case_flow_runs']})")
    for run_id in ("a", "b", "c"):
        con.execute(
            "insert into fct_flow_runs (run_key, source_system, run_id, run_attempt, flow_id, "
            "status, is_success, is_failed, started_at) values "
            "(?, 'test', ?, 1, 'f', 'failed', false, true, '2026-10-01 10:00')",
            [f"{run_id}:1", run_id],
        )
    links = [  # a: tied by its trace to one case and by its business key to another
        ("p:trace-case", "a:1", "trace_id"), ("p:key-case", "a:1", "business_key"),
        ("p:b-case", "b:1", "trace_id"),
    ]  # fmt: skip
    con.executemany(
        "insert into fct_case_flow_runs (case_key, run_key, linked_by, started_at) "
        "values (?, ?, ?, '2026-10-01 10:00')",
        links,
    )
    failed = data.query_failed_runs(con, date(2026, 10, 1), date(2026, 10, 1), "f")
    assert sorted(failed.select("run_id", "case_key").rows()) == [
        ("a", "p:key-case"), ("b", "p:b-case"), ("c", None)
    ]  # fmt: skip


def test_failed_runs_say_which_a_later_run_resolved() -> None:
    """An on-call person could not tell the failures re-run since from those still open."""
    con = duckdb.connect()
    con.execute(f"create table fct_flow_runs ({MART_DDL['fct_flow_runs']})")
    con.execute(f"create table fct_case_flow_runs ({MART_DDL['fct_case_flow_runs']})")
    rows = [  # run_id, attempt, idempotency key, hour, status
        ("a", 1, "k-a", 10, "failed"), ("a", 2, "k-a", 11, "success"),  # retried: resolved
        ("b", 1, "k-b", 10, "failed"), ("b2", 1, "k-b", 12, "success"),  # redelivered: resolved
        ("c", 1, "k-c", 10, "failed"), ("c", 2, "k-c", 11, "failed"),  # still open
        ("d", 1, "k-d", 11, "success"), ("d", 2, "k-d", 12, "failed"),  # failed after success
    ]  # fmt: skip
    for run_id, attempt, key, hour, status in rows:
        con.execute(
            "insert into fct_flow_runs (run_key, source_system, run_id, run_attempt, flow_id, "
            "status, is_success, is_failed, started_at, idempotency_key) values "
            "(?, 'test', ?, ?, 'f', ?, ?, ?, ?, ?)",
            [f"{run_id}:{attempt}", run_id, attempt, status, status == "success",
             status == "failed", f"2026-10-01 {hour:02d}:00:00", key],
        )  # fmt: skip
    failed = data.query_failed_runs(con, date(2026, 10, 1), date(2026, 10, 1), "f")
    assert failed.select("run_id", "run_attempt", "succeeded_later").rows() == [
        ("d", 2, False), ("c", 2, False), ("c", 1, False), ("b", 1, True), ("a", 1, True)
    ]  # fmt: skip
    assert data.query_failed_runs(con, date(2026, 10, 1), date(2026, 10, 1), "f", 2).height == 2


def test_flow_scope(con: duckdb.DuckDBPyConnection) -> None:
    by_process = data.query_flows_by_process(con)
    assert data.flows_serving(by_process, "quote_to_cash") == CONTRACT_SYNC
    assert data.flows_serving(by_process, "ticket_escalation") == ()
    assert data.flow_scope("c2f-order-intake", "quote_to_cash", by_process) == ("c2f-order-intake",)
    assert data.flow_scope(None, "quote_to_cash", by_process) == CONTRACT_SYNC
    assert data.flow_scope(None, None, by_process) is None


def test_parse_timestamp() -> None:
    assert str(data.parse_timestamp("2026-10-29T12:00:00Z")) == "2026-10-29 12:00:00"
    assert str(data.parse_timestamp("2026-10-29T14:00:00+02:00")) == "2026-10-29 12:00:00"
    assert data.parse_timestamp("soon") is None
    assert data.parse_timestamp("") is None


def test_cached_loaders_read_the_current_snapshot(published_home: Path) -> None:
    data.pin_snapshot()  # a page render begins
    assert data.outcome_kpis(START, END, None).cases_completed == 7
    assert data.health_kpis(START, END, CONTRACT_SYNC).runs == 6
    assert isinstance(data.step_reliability(START, END, "q2c-contract-sync"), pl.DataFrame)
    newer = {
        "built_at": "2026-10-30T08:00:00Z",
        "data_as_of": "2026-10-30T07:00:00Z",
        "flowledger_version": "0.1.0",
        "dbt_version": "1.11.0",
    }
    build_published_snapshot(published_home, newer)
    # one render reads one snapshot: each loader read CURRENT on its own cache miss, so the
    # "data as of" line read after a publish named another build than the numbers above it
    assert data.snapshot_meta().data_as_of == "2026-10-29T12:00:00Z"
    # the next render reads the newer snapshot at once (no cache to wait out)
    data.pin_snapshot()
    assert data.snapshot_meta().data_as_of == "2026-10-30T07:00:00Z"
    assert data.health_kpis(START, END, CONTRACT_SYNC).runs == 6


def test_loaders_raise_nothing_published(empty_home: Path) -> None:
    with pytest.raises(NothingPublished, match="flowledger build"):
        data.snapshot_meta()


ALL_DAYS = (date(2026, 9, 10), date(2026, 10, 29))


def test_cycle_time_bins(con: duckdb.DuckDBPyConnection) -> None:
    # quote_to_cash completed cases took 6, 1, 2, 3, 4 and 10 h: 3 bins of 3 h from 1 h to 10 h.
    bins = process_data.query_cycle_time_bins(con, "quote_to_cash", *ALL_DAYS, bins=3)
    assert bins.rows() == [(1.0, 4.0, 3), (4.0, 7.0, 2), (7.0, 10.0, 1)]  # 10 h in the last bin
    assert process_data.query_cycle_time_bins(con, "quote_to_cash", *ALL_DAYS)["cases"].sum() == 6
    # cart_to_fulfillment: 24, 48 and 24 h; 2 bins of 12 h.
    assert process_data.query_cycle_time_bins(
        con, "cart_to_fulfillment", *ALL_DAYS, bins=2
    ).rows() == [(24.0, 36.0, 2), (36.0, 48.0, 1)]
    assert process_data.query_cycle_time_bins(con, "ticket_escalation", *ALL_DAYS).is_empty()
    figure = process_charts.cycle_time_histogram(bins)
    assert list(figure.data[0].x) == [2.5, 5.5, 8.5]
    assert list(figure.data[0].width) == [3.0, 3.0, 3.0]
    # completed 2026-10-02..10-04: Q2 2 h, Q3 3 h, Q4 4 h, Q5 10 h; 2 bins of 4 h from 2 h
    in_range = process_data.query_cycle_time_bins(
        con, "quote_to_cash", date(2026, 10, 2), date(2026, 10, 4), bins=2
    )
    assert in_range.rows() == [(2.0, 6.0, 3), (6.0, 10.0, 1)]


# The process page over 2026-10-02..10-04 for quote_to_cash (dashboard_snapshot.CASE_DETAILS):
# started Q2, Q3, Q4, Q5; completed the same four (2, 3, 4, 10 h); SLA decided: Q2, Q3, Q4 met,
# Q5 missed; stuck: only Q6, started 10-28.
OCT_2, OCT_4 = date(2026, 10, 2), date(2026, 10, 4)


def test_process_range_counts(con: duckdb.DuckDBPyConnection) -> None:
    counts = process_data.query_range_counts(con, "quote_to_cash", OCT_2, OCT_4)
    assert counts == process_data.ProcessRangeCounts(
        cases_started=4,
        cases_with_repeated_activity=2,  # Q2, Q5
        cases_with_field_correction=1,  # Q2
        cases_with_gray_failure=1,  # Q5
        cases_first_pass=2,  # Q3, Q4
        stuck_cases=0,
        cases_completed=4,
        cycle_time_median_seconds=3.5 * HOUR,
        cycle_time_p95_seconds=pytest.approx(9.1 * HOUR),  # 4 h + 0.85 * (10 h - 4 h)
        sla_cases=4,
        sla_met_cases=3,
        cycle_measure="start_to_end_event",
        has_sla=True,
    )
    # the default range 09-30..10-29: Q1..Q6 started, Q6 stuck; Q1..Q5 completed and decided
    default = process_data.query_range_counts(con, "quote_to_cash", START, END)
    assert (default.cases_started, default.stuck_cases, default.cases_completed) == (6, 1, 5)
    assert (default.sla_cases, default.sla_met_cases) == (5, 4)
    # a range without cases: every count 0, no quantile
    empty = process_data.query_range_counts(
        con, "quote_to_cash", date(2026, 10, 20), date(2026, 10, 27)
    )
    assert (empty.cases_started, empty.cases_completed, empty.sla_cases) == (0, 0, 0)
    # the process has an SLA, none was decided in the range: "none decided", not "no SLA"
    assert empty.has_sla
    assert empty.cycle_time_median_seconds is None


def test_a_missed_sla_counts_when_its_deadline_passed_not_when_the_case_started() -> None:
    """An open case started 10-01 whose SLA deadline passed on 10-11 is a miss of 10-11: the
    range 10-10..10-12 and its week count it (they counted it on 10-01, before it happened)."""
    con = duckdb.connect()
    con.execute(f"create table fct_cases ({MART_DDL['fct_cases']})")
    con.execute(
        """
        insert into fct_cases (process_name, case_key, started_at, ended_at, is_complete,
            sla_started_at, sla_ended_at, sla_met, sla_decided_at) values
        ('p', 'p:open', '2026-10-01 09:00', null, false, '2026-10-01 09:00', null, false,
            '2026-10-11 09:00'),
        ('p', 'p:met', '2026-10-11 08:00', '2026-10-11 10:00', true, '2026-10-11 08:00',
            '2026-10-11 10:00', true, '2026-10-11 10:00')
        """
    )
    # a cursor per query, as a page runs them
    counts = process_data.query_range_counts(
        con.cursor(), "p", date(2026, 10, 10), date(2026, 10, 12)
    )
    assert (counts.sla_cases, counts.sla_met_cases) == (2, 1)
    early = process_data.query_range_counts(con.cursor(), "p", date(2026, 10, 1), date(2026, 10, 2))
    assert (early.cases_started, early.sla_cases) == (1, 0)
    weekly = process_data.query_weekly(con.cursor(), "p", date(2026, 9, 28), date(2026, 10, 12))
    assert weekly.select("period_start", "sla_cases", "sla_attainment").rows() == [
        (date(2026, 10, 5), 2, 0.5)
    ]


def test_process_range_kpis_are_shares_of_their_cohorts() -> None:
    counts = process_data.ProcessRangeCounts(
        cases_started=8, cases_with_repeated_activity=2, cases_with_field_correction=1,
        cases_with_gray_failure=3, cases_first_pass=4, stuck_cases=1, cases_completed=5,
        cycle_time_median_seconds=60.0, cycle_time_p95_seconds=90.0, sla_cases=5,
        sla_met_cases=4, cycle_measure="first_to_last_event",
    )  # fmt: skip
    kpis = process_data.range_kpis(counts)
    assert (kpis.repeated_activity_rate, kpis.field_correction_rate) == (0.25, 0.125)
    assert (kpis.gray_failure_rate, kpis.first_pass_yield) == (0.375, 0.5)
    assert kpis.sla_attainment == 0.8
    assert (kpis.cases_started, kpis.cases_completed, kpis.stuck_cases) == (8, 5, 1)
    assert kpis.cycle_definition == "last minus first event of the case (PM4Py case duration)"
    nothing = process_data.range_kpis(
        process_data.ProcessRangeCounts(0, 0, 0, 0, 0, 0, 0, None, None, 0, 0, None)
    )
    assert nothing.repeated_activity_rate is None and nothing.sla_attainment is None
    assert nothing.cycle_definition == "no completed case"
    figure = process_charts.rework_by_kind(nothing)
    assert list(figure.data[0].text) == ["n/a"] * 4


def test_process_weekly_trend_keeps_to_the_range(con: duckdb.DuckDBPyConnection) -> None:
    # 2026-10-02 (Fri) .. 10-04 (Sun) lie in the week of Monday 09-28: Q2..Q5 only
    weekly = process_data.query_weekly(con, "quote_to_cash", OCT_2, OCT_4)
    assert weekly.rows() == [(date(2026, 9, 28), 4, 3.5 * HOUR, pytest.approx(9.1 * HOUR), 4, 0.75)]
    # the whole data: also Q0 (week of 09-07) and Q1 (10-01, week of 09-28)
    weekly = process_data.query_weekly(con, "quote_to_cash", *ALL_DAYS)
    assert weekly["period_start"].to_list() == [date(2026, 9, 7), date(2026, 9, 28)]
    assert weekly["cases_completed"].to_list() == [1, 5]
    assert weekly["sla_attainment"].to_list() == [1.0, 0.8]


def test_process_paths_and_directly_follows_of_the_cases_started(
    con: duckdb.DuckDBPyConnection,
) -> None:
    paths = process_data.query_top_paths(con, "quote_to_cash", OCT_2, OCT_4)
    assert paths.rows() == [
        ("quote > approve > approve > sign", 2, 0.5, 6.0 * HOUR),  # Q2 2 h, Q5 10 h
        ("quote > approve > sign", 2, 0.5, 3.5 * HOUR),  # Q3 3 h, Q4 4 h
    ]
    dfg = process_data.query_directly_follows(con, "quote_to_cash", OCT_2, OCT_4)
    # waits in hours: Q2 2/3 each, Q3 1.5, Q4 2, Q5 10/3 each
    rows = {(row[0], row[1]): row[2:5] for row in dfg.rows()}
    assert rows.keys() == {("quote", "approve"), ("approve", "sign"), ("approve", "approve")}
    for pair in (("quote", "approve"), ("approve", "sign")):
        transitions, mean, median = rows[pair]
        assert transitions == 4
        assert mean == pytest.approx(1.875 * HOUR)  # (2/3 + 1.5 + 2 + 10/3) / 4
        assert median == pytest.approx(1.75 * HOUR)  # (1.5 + 2) / 2
    assert rows[("approve", "approve")] == (2, pytest.approx(2 * HOUR), pytest.approx(2 * HOUR))
    assert process_data.query_stuck_cases(con, "quote_to_cash", OCT_2, OCT_4).is_empty()
    stuck = process_data.query_stuck_cases(con, "quote_to_cash", START, END)
    assert stuck["case_id"].to_list() == ["Q6"]
    assert stuck["idle_seconds"].to_list() == [36 * HOUR]
